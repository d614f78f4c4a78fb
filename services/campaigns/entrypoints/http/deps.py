"""What every campaigns router takes: the service object, the clock, the caller and their permission,
path parameters and version checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError

from services.campaigns.bootstrap_api import CampaignsApi
from services.campaigns.domain.campaign import POOL_NAME
from services.campaigns.service_layer.management import as_stored
from shared.identity import Identity, Permission, require
from shared.request_bodies import FormPart
from shared.web import now, service_of

__all__ = [
    "ID_PATTERN",
    "VERSION_REQUIRED",
    "ApiDep",
    "AppId",
    "CampaignId",
    "CanDecide",
    "CanEdit",
    "CanExport",
    "CanLaunch",
    "IfMatch",
    "Now",
    "PoolName",
    "SubmissionId",
    "by_name",
    "expected_version",
    "field_error",
    "needs",
    "required_version",
]

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="The account's appid")]
CampaignId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
PoolName = Annotated[str, Path(pattern=POOL_NAME.pattern, description="Reward pool, as named by the tiers")]
SubmissionId = Annotated[str, Path(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9_:.-]+$")]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=40, description='The version edited, e.g. "3" (the ETag)')
]


def _api(request: Request) -> CampaignsApi:
    api: CampaignsApi = service_of(request)
    return api


def _now(request: Request) -> datetime:
    return as_stored(now(request))


ApiDep = Annotated[CampaignsApi, Depends(_api)]

#: The caller, once checked for the permission (for the routes that write or export: audit and
#: decisions name them). Read-only routes declare theirs with :func:`needs`.
CanEdit = Annotated[Identity, Depends(require(Permission.CAMPAIGN_EDIT))]
CanLaunch = Annotated[Identity, Depends(require(Permission.CAMPAIGN_LAUNCH))]
CanExport = Annotated[Identity, Depends(require(Permission.MEMBER_EXPORT))]
CanDecide = Annotated[Identity, Depends(require(Permission.REVIEW_DECIDE))]
#: The API's clock (tests move it), to the millisecond as stored.
Now = Annotated[datetime, Depends(_now)]


def needs(permission: Permission) -> list[Any]:
    """A route's ``dependencies=``: 403 unless the caller holds ``permission`` on the path's account."""
    return [Depends(require(permission))]


def field_error(loc: list[str | int], message: str) -> RequestValidationError:
    """A 422 naming the body field at fault, in pydantic's shape."""
    return RequestValidationError([{"type": "value_error", "loc": ["body", *loc], "msg": message, "input": None}])


def expected_version(if_match: str | None, body_version: int | None = None) -> int | None:
    """The version an edit is based on: from ``If-Match`` (``"3"``, ``W/"3"``), else from the body."""
    if if_match is None:
        return body_version
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise RequestValidationError(
            [{"type": "value_error", "loc": ["header", "If-Match"], "msg": 'expected a version like "3"'}]
        )
    return int(text)


def required_version(if_match: str | None, body_version: int | None = None) -> int:
    """:func:`expected_version`, which an edit of what members get must send: 428 without one, so two
    people editing at once get a conflict (409) instead of one silently undoing the other."""
    expected = expected_version(if_match, body_version)
    if expected is None:
        raise HTTPException(428, detail=VERSION_REQUIRED)
    return expected


#: The 428's detail: what to send.
VERSION_REQUIRED = 'send the version you edit: If-Match: "<version>" (the ETag of the campaign you read)'


def by_name(parts: list[FormPart]) -> dict[str, FormPart]:
    """Multipart form fields by name; the first of a repeated name wins."""
    fields: dict[str, FormPart] = {}
    for part in parts:
        fields.setdefault(part.name, part)
    return fields
