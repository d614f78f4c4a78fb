"""Every route of the campaigns API declares the permission it needs (deny by default), and the one
the issue asks for: the table below is the reviewed list; a new route fails here until it is added."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.campaigns.entrypoints.http import (
    campaigns,
    create_app,
    graph,
    payouts,
    pools,
    results,
    review,
    review_export,
    templates,
    variants,
)
from services.campaigns.settings import CampaignsSettings
from shared.identity import Permission
from tests.accounts import account
from tests.identities import Callers

P = Permission
ONE = "/accounts/{appid}/campaigns/{campaign_id}"
POOLS = ONE + "/reward-pools"
SHOTS = ONE + "/screenshots"
DESK = "/accounts/{appid}/screenshots"
VARIANTS = ONE + "/variants"
GRAPH = "/accounts/{appid}/referral-graph"

#: (method, path) -> the permission the route must declare.
EXPECTED: dict[tuple[str, str], Permission] = {
    ("GET", "/accounts/{appid}/campaigns"): P.CAMPAIGN_VIEW,
    ("POST", "/accounts/{appid}/campaigns"): P.CAMPAIGN_EDIT,
    ("GET", ONE): P.CAMPAIGN_VIEW,
    ("PATCH", ONE): P.CAMPAIGN_EDIT,
    ("POST", ONE + "/activate"): P.CAMPAIGN_LAUNCH,
    ("POST", ONE + "/pause"): P.CAMPAIGN_LAUNCH,
    ("POST", ONE + "/end"): P.CAMPAIGN_LAUNCH,
    ("POST", ONE + "/archive"): P.CAMPAIGN_LAUNCH,
    ("DELETE", ONE): P.CAMPAIGN_EDIT,
    # What activation would refuse and warn about, without activating: the review step reads it.
    ("GET", ONE + "/activation-check"): P.CAMPAIGN_VIEW,
    ("POST", ONE + "/template"): P.CAMPAIGN_EDIT,
    ("GET", ONE + "/poster-preview"): P.CAMPAIGN_VIEW,
    ("POST", ONE + "/clone"): P.CAMPAIGN_EDIT,
    ("GET", ONE + "/compliance"): P.CAMPAIGN_VIEW,
    ("POST", "/accounts/{appid}/campaigns/compliance"): P.CAMPAIGN_VIEW,
    ("GET", POOLS): P.CAMPAIGN_VIEW,
    ("POST", POOLS + "/{pool}/codes"): P.CAMPAIGN_EDIT,
    ("POST", POOLS + "/{pool}/generate"): P.CAMPAIGN_EDIT,
    # Makes (or renews) a QR code on WeChat: part of publishing the campaign, not of reading it.
    ("GET", ONE + "/join-qr"): P.CAMPAIGN_LAUNCH,
    ("GET", ONE + "/stats"): P.STATS_VIEW,
    ("GET", ONE + "/leaderboard"): P.STATS_VIEW,
    # The issued coupon codes and every participant's openid: exports of members' data.
    ("GET", ONE + "/rewards"): P.MEMBER_EXPORT,
    ("GET", ONE + "/participants.csv"): P.MEMBER_EXPORT,
    # The console's pages: a campaign's participants, and a member's campaigns (masked codes).
    ("GET", ONE + "/participants"): P.CAMPAIGN_VIEW,
    ("GET", "/accounts/{appid}/members/{openid}/campaigns"): P.MEMBER_VIEW,
    # The queue (status, reasons, counts) is the backlog campaign operators watch; the evidence (OCR
    # text of a member's post), the picture and the decisions are the reviewers'.
    ("GET", SHOTS): P.CAMPAIGN_VIEW,
    ("GET", SHOTS + "/{submission_id}"): P.REVIEW_DECIDE,
    ("GET", SHOTS + "/{submission_id}/image"): P.REVIEW_DECIDE,
    ("POST", SHOTS + "/{submission_id}/approve"): P.REVIEW_DECIDE,
    ("POST", SHOTS + "/{submission_id}/reject"): P.REVIEW_DECIDE,
    # The account-wide review desk: the queue and the reason codes are the backlog again; claims
    # (working on a submission) and the evidence are the reviewers'.
    ("GET", DESK): P.CAMPAIGN_VIEW,
    ("GET", DESK + "/reasons"): P.CAMPAIGN_VIEW,
    ("POST", DESK + "/claim-next"): P.REVIEW_DECIDE,
    ("GET", DESK + "/{submission_id}"): P.REVIEW_DECIDE,
    ("POST", DESK + "/{submission_id}/claim"): P.REVIEW_DECIDE,
    ("DELETE", DESK + "/{submission_id}/claim"): P.REVIEW_DECIDE,
    ("POST", DESK + "/{submission_id}/approve"): P.REVIEW_DECIDE,
    ("POST", DESK + "/{submission_id}/reject"): P.REVIEW_DECIDE,
    # Decided submissions with members' pictures, leaving the platform as a labelled set.
    ("GET", DESK + "/export"): P.SCREENSHOT_EXPORT,
    # Poster A/B variants: read with the campaign, changed as the campaign is.
    ("GET", VARIANTS): P.CAMPAIGN_VIEW,
    ("PATCH", VARIANTS): P.CAMPAIGN_EDIT,
    ("POST", VARIANTS + "/{key}/template"): P.CAMPAIGN_EDIT,
    ("DELETE", VARIANTS + "/{key}"): P.CAMPAIGN_EDIT,
    # The referral graph: reading it is the campaign's; freezing an inviter and reviewing a flag are a
    # reviewer's decisions; the export carries every inviter's and invitee's openid.
    ("GET", GRAPH + "/inviters"): P.CAMPAIGN_VIEW,
    ("GET", GRAPH + "/flags"): P.CAMPAIGN_VIEW,
    ("GET", GRAPH + "/freezes"): P.CAMPAIGN_VIEW,
    ("POST", GRAPH + "/inviters/{openid}/freeze"): P.REVIEW_DECIDE,
    ("POST", GRAPH + "/inviters/{openid}/release"): P.REVIEW_DECIDE,
    ("POST", GRAPH + "/flags/{flag_id}/review"): P.REVIEW_DECIDE,
    ("POST", GRAPH + "/backfill"): P.CAMPAIGN_EDIT,
    ("GET", GRAPH + "/export"): P.MEMBER_EXPORT,
    # Delayed share-reward payouts: read with the campaign (they move by the sweep, never by hand).
    ("GET", ONE + "/share-payouts"): P.CAMPAIGN_VIEW,
    ("GET", ONE + "/share-payouts/{openid}"): P.CAMPAIGN_VIEW,
}

_BY_CHECK_NAME = {f"require_{permission.name.lower()}": permission for permission in Permission}


def operator_routes() -> Iterator[APIRoute]:
    """The routes of every router the app serves as operator routes (the app's own list)."""
    for module in (campaigns, templates, pools, results, review, review_export, variants, graph, payouts):
        for route in module.router.routes:
            assert isinstance(route, APIRoute), route
            yield route


def declared_permissions(dependant: Dependant) -> set[Permission]:
    """The permissions ``shared.identity.require`` checks anywhere in a route's dependencies."""
    found: set[Permission] = set()
    for dependency in dependant.dependencies:
        call: Any = dependency.call
        if (permission := _BY_CHECK_NAME.get(getattr(call, "__name__", ""))) is not None:
            found.add(permission)
        found |= declared_permissions(dependency)
    return found


def route_permissions() -> dict[tuple[str, str], set[Permission]]:
    table: dict[tuple[str, str], set[Permission]] = {}
    for route in operator_routes():
        for method in route.methods or ():
            table[(method, route.path)] = declared_permissions(route.dependant)
    return table


def test_every_route_declares_exactly_one_permission() -> None:
    undeclared = [key for key, found in route_permissions().items() if len(found) != 1]
    assert undeclared == []


def test_every_route_declares_the_permission_the_issue_asks_for() -> None:
    declared = {key: next(iter(found)) for key, found in route_permissions().items() if len(found) == 1}
    assert declared == EXPECTED


def test_the_app_serves_no_operation_outside_this_table() -> None:
    """What the built app serves (its OpenAPI, not the routers above): a new router fails here too."""
    app = create_app(CampaignsSettings(wechat_accounts=[account("wx1")]), identity=Callers.on("wx1").config)
    served = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if path not in {"/healthz", "/readyz", "/metrics"}
    }
    assert served == set(EXPECTED)
