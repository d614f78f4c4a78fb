"""Members' data rights: every collection has a decision, and export/erase do what the registry says.

The collections are found in the code (as for retention), so a new collection that holds openids and
has no entry in ``shared.datarights.MEMBER_DATA`` fails here.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from shared.contracts import WECHAT_PUSHES
from shared.datarights import (
    BY_COLLECTION,
    ERASURES,
    FOLLOW,
    MEMBER_DATA,
    Action,
    InMemoryMemberRights,
    erasure_id,
    gated,
    passing,
)
from shared.events import Envelope, Message
from shared.messaging import Batching, Subscription
from shared.storage import RETENTIONS, IndexSpec
from tests.unit.shared.test_retention import ROOT, _storage_modules, collections_in_code

APPID, OPENID, OTHER = "wx_rights", "o_member_0123456789abcdefghij", "o_other_0123456789abcdefghijk"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
#: Index keys that name a member.
_MEMBER_KEYS = re.compile(r"openid|invitee|inviter")


def _self_call_constants(source: str) -> set[str]:
    """Collection names a module passes to its own helpers (``self._insert(FOLLOWERS, ...)``), which the
    retention scan (database subscripts, index declarations) does not see."""
    tree = ast.parse(source)
    constants = {
        target.id: statement.value.value
        for statement in tree.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        and re.fullmatch(r"[a-z][a-z0-9_]+", statement.value.value)
        for target in statement.targets
        if isinstance(target, ast.Name) and target.id.isupper()
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            holder = ast.unparse(node.func.value)
            first = node.args[0]
            if holder == "self" and isinstance(first, ast.Name) and first.id in constants:
                found.add(constants[first.id])
    return found


def all_collections() -> set[str]:
    found = set(collections_in_code())
    for name in _storage_modules():
        path = ROOT / (name.replace(".", "/") + ".py")
        if path.exists():
            found |= _self_call_constants(path.read_text(encoding="utf-8"))
    return found


def test_every_collection_has_a_data_rights_decision() -> None:
    found = all_collections()
    assert {"campaign_known_followers", "profiles", "push_deliveries", "deadletters"} <= found
    missing = sorted(found - set(BY_COLLECTION))
    assert not missing, f"say how shared.datarights.MEMBER_DATA exports and erases: {missing}"
    retained = {retention.collection for retention in RETENTIONS}
    assert set(BY_COLLECTION) == retained, "MEMBER_DATA and RETENTIONS name the same collections"
    assert len(BY_COLLECTION) == len(MEMBER_DATA)


def test_a_collection_indexed_by_a_member_is_not_declared_memberless() -> None:
    import importlib

    indexed: set[str] = set()
    for name in _storage_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            specs = value if isinstance(value, tuple | list) else (value,)
            for spec in specs:
                if isinstance(spec, IndexSpec) and any(_MEMBER_KEYS.search(key) for key, _ in spec.keys):
                    indexed.add(spec.collection)
    assert {"profiles", "campaign_invitations", "push_clicks"} <= indexed
    wrong = sorted(c for c in indexed if BY_COLLECTION[c].action is Action.NONE)
    assert not wrong, f"indexed by a member but declared as holding no member data: {wrong}"


def test_a_new_collection_with_a_helper_is_noticed() -> None:
    source = 'VISITS = "member_visits"\nclass A:\n    async def f(self):\n        await self._put(VISITS, {})\n'
    assert _self_call_constants(source) == {"member_visits"}


def _stores() -> dict[str, list[dict[str, Any]]]:
    """One document per store shaped as its adapter writes it, for the member and for someone else."""
    stores: dict[str, list[dict[str, Any]]] = {}
    for who in (OPENID, OTHER):
        rows: dict[str, dict[str, Any]] = {
            "members": {"_id": f"m-{who}", "appid": APPID, "openid": who, "following": True},
            "profiles": {"_id": f"{APPID}:{who}", "appid": APPID, "openid": who, "consents": {"data_use": True}},
            "profile_history": {"_id": f"h-{who}", "appid": APPID, "openid": who, "at": T0, "kind": "consent"},
            "survey_responses": {
                "_id": f"s1:{APPID}:{who}",
                "survey_id": "s1",
                "appid": APPID,
                "openid": who,
                "answers": {"q": "a"},
            },
            "push_deliveries": {"_id": f"p1:{who}", "push_id": "p1", "appid": APPID, "openid": who, "status": "sent"},
            "push_template_msgs": {"_id": f"{APPID}:msg-{who}", "delivery_id": f"p1:{who}", "sent_at": T0},
            "push_clicks": {"_id": f"p1:a:{who}", "push_id": "p1", "openid": who, "url": "https://x", "first_at": T0},
            "campaign_participants": {
                "_id": f"c1:{who}",
                "campaign_id": "c1",
                "appid": APPID,
                "openid": who,
                "code": f"code-{who[:8]}",
                "qr_url": "https://qr",
            },
            "campaign_invitations": {"_id": f"c1:{who}", "campaign_id": "c1", "inviter": OTHER, "invitee": who},
            "campaign_known_followers": {"_id": f"{APPID}:{who}", "first_followed_at": T0},
            "referral_edges": {
                "_id": f"c1:{who}",
                "appid": APPID,
                "campaign_id": "c1",
                "inviter": OTHER,
                "invitee": who,
                "credited_at": T0,
            },
            "referral_freezes": {"_id": f"{APPID}:{who}", "appid": APPID, "openid": who, "status": "frozen"},
            "referral_flags": {
                "_id": f"{APPID}:ring:{who}",
                "appid": APPID,
                "kind": "ring",
                "inviter": who,
                "status": "dismissed",
                "detail": "2 members invited each other (2 credits, 2 campaigns)",
            },
            "campaign_poster_assignments": {"_id": f"c1:{who}", "campaign_id": "c1", "openid": who, "variant": "a"},
            "share_payouts": {
                "_id": f"c1:{who}",
                "campaign_id": "c1",
                "appid": APPID,
                "openid": who,
                "state": "waiting",
                "due_at": T0,
            },
            "share_submissions": {
                "_id": f"sub-{who}",
                "campaign_id": "c1",
                "appid": APPID,
                "openid": who,
                "decision": "approved",
                "evidence": {"text": "nick"},
            },
            "share_submission_images": {"_id": f"sub-{who}", "image": b"\x89PNG", "decided_at": T0},
            "share_submission_audit": {
                "_id": f"au-{who[:9]}",
                "submission_id": f"sub-{who}",
                "at": T0,
                "decision": "approved",
            },
            "deadletters": {
                "_id": f"dl-{who}",
                "appid": APPID,
                "original_key": who,
                "original": json.dumps({"payload": {"openid": who}}),
                "status": "open",
            },
            "h5_invitations_held": {"_id": f"{APPID}:{who}", "appid": APPID, "openid": who, "held_at": T0},
            "wechat_tag_members": {"_id": f"{APPID}:t1:{who}", "appid": APPID, "code": "t1", "openid": who},
            "survey_draws": {
                "_id": f"s1:{APPID}:{who}",
                "survey_id": "s1",
                "appid": APPID,
                "openid": who,
                "prize": "p",
            },
            "segment_participation": {"_id": f"{APPID}:{who}:c1", "appid": APPID, "openid": who, "campaign_id": "c1"},
            "subscription_consents": {
                "_id": f"{APPID}:{who}:tpl",
                "appid": APPID,
                "openid": who,
                "template_id": "tpl",
                "status": "accepted",
                "credits": 1,
            },
            # as count_sends writes it: no appid field
            "push_member_sends": {"_id": f"{APPID}:{who}", "openid": who, "recent": [T0]},
            "push_test_sends": {"_id": f"t-{who}", "push_id": "p1", "openid": who, "at": T0},
            "campaign_rewards": {"_id": f"c1:{who}:1", "campaign_id": "c1", "inviter": who, "tier": 1},
            "campaign_rejections": {"_id": f"r-{who}", "campaign_id": "c1", "inviter": OTHER, "invitee": who, "at": T0},
            "campaign_notices": {"_id": f"n-{who}", "appid": APPID, "openid": who, "status": "held"},
            "analytics_followers": {"_id": f"{APPID}|{who}", "appid": APPID, "openid": who, "following": True},
            "audit_log": {"_id": f"a-{who}", "action": "member.pii_revealed", "object_id": who, "actor_name": "ada"},
        }
        for collection, document in rows.items():
            stores.setdefault(collection, []).append(document)
    stores["push_audiences"] = [{"_id": "p1:000000", "push_id": "p1", "openids": [OPENID, OTHER]}]
    stores["push_testers"] = [{"_id": APPID, "testers": [{"openid": OPENID, "label": "me"}, {"openid": OTHER}]}]
    return stores


def test_the_stores_below_cover_every_store_with_member_data() -> None:
    held = {entry.collection for entry in MEMBER_DATA if entry.action is not Action.NONE}
    assert not held - set(_stores()), "add a representative document of the new store to _stores()"


def _mentions(stores: dict[str, list[dict[str, Any]]], openid: str) -> list[str]:
    return [name for name, docs in stores.items() for doc in docs if openid in repr(doc)]


async def test_the_export_holds_every_store_of_the_member_and_nobody_else() -> None:
    rights = InMemoryMemberRights(_stores())
    exported = await rights.export(APPID, OPENID, now=T0)
    json.dumps(exported)  # one JSON document
    held = exported["collections"]
    assert set(held) == set(_stores())
    assert held["share_submission_images"][0]["image"] == {"base64": "iVBORw=="}
    assert OTHER not in json.dumps(held)  # an inviter, a fellow audience member: not this member's data
    assert held["campaign_invitations"][0]["inviter"] == "(another member)"
    assert held["push_audiences"][0]["openids"] == [OPENID]
    assert exported["erased_at"] is None


async def test_erasure_leaves_no_trace_of_the_member_and_keeps_the_counts() -> None:
    stores = _stores()
    rights = InMemoryMemberRights(stores)
    before = {name: len(docs) for name, docs in stores.items()}
    report = await rights.erase(APPID, OPENID, by="ada", now=T0)

    assert _mentions(stores, OPENID) == []
    # someone else's data untouched
    assert set(_mentions(stores, OTHER)) >= {"members", "profiles", "push_deliveries", "campaign_participants"}
    # counts and facts kept (anonymised), personal data deleted
    for kept in ("push_deliveries", "push_clicks", "campaign_participants", "survey_responses", "share_submissions"):
        assert len(stores[kept]) == before[kept], kept
    for gone in ("members", "profiles", "profile_history", "campaign_known_followers", "share_submission_images"):
        assert len(stores[gone]) == before[gone] - 1, gone
    participant = next(d for d in stores["campaign_participants"] if d["_id"].startswith("c1:erased-"))
    assert "qr_url" not in participant and participant["code"].startswith("erased-")
    response = next(d for d in stores["survey_responses"] if "answers" not in d)
    assert response["openid"].startswith("erased-")
    letter = next(d for d in stores["deadletters"] if d["status"] == "discarded")
    assert letter["original"] == "" and letter["note"] == "member data erased"
    assert stores["push_audiences"][0]["openids"] == [OTHER]
    # the record holds a hash and counts, never the member
    (record,) = stores[ERASURES]
    assert record["_id"] == erasure_id(APPID, OPENID) == report.id
    assert OPENID not in repr(record) and record["counts"]["profiles"] == {"deleted": 1}
    assert report.total >= 15
    # a second erasure is harmless
    again = await rights.erase(APPID, OPENID, by="ada", now=T0 + timedelta(minutes=1))
    assert again.total == 0 and _mentions(stores, OPENID) == []


async def test_after_an_erasure_events_are_dropped_until_the_member_follows_again() -> None:
    rights = InMemoryMemberRights(_stores())
    assert not await rights.suppressed(APPID, OPENID, T0, follow=False)
    await rights.erase(APPID, OPENID, by="ada", now=T0)
    # in flight or later: dropped; an old follow (a redelivery) too
    assert await rights.suppressed(APPID, OPENID, T0 - timedelta(hours=1), follow=False)
    assert await rights.suppressed(APPID, OPENID, T0 + timedelta(hours=1), follow=False)
    assert await rights.suppressed(APPID, OPENID, T0 - timedelta(hours=1), follow=True)
    assert not await rights.suppressed(APPID, OTHER, T0 + timedelta(hours=1), follow=False)
    # a new follow lifts it for what follows it
    assert not await rights.suppressed(APPID, OPENID, T0 + timedelta(hours=2), follow=True)
    assert not await rights.suppressed(APPID, OPENID, T0 + timedelta(hours=3), follow=False)
    assert await rights.suppressed(APPID, OPENID, T0 + timedelta(hours=1), follow=False)  # before the re-follow


@pytest.mark.parametrize("entry", [e for e in MEMBER_DATA if e.action is Action.ANONYMISE], ids=lambda e: e.collection)
def test_anonymised_stores_name_the_member_somewhere(entry: Any) -> None:
    assert entry.match or entry.ids or entry.via, entry.collection


# -- the gate: consumers drop an erased member's events ------------------------------------------------------


def _event(type_: str, openid: str, at: datetime, event_id: str) -> tuple[Envelope, Message]:
    payload = {"openid": openid}
    return Envelope(
        event_id=event_id, type=type_, version=1, occurred_at=at, appid=APPID, key=openid, payload=payload
    ), cast(Message, None)


async def test_the_gate_drops_an_erased_members_events_until_a_newer_follow() -> None:
    rights = InMemoryMemberRights(_stores())
    await rights.erase(APPID, OPENID, by="ada", now=T0)
    batch = [
        _event("member.unfollowed", OPENID, T0 + timedelta(minutes=1), "e1"),  # after the erasure: dropped
        _event("mall.event_received", OTHER, T0 + timedelta(minutes=1), "e2"),  # someone else: kept
        _event(FOLLOW, OPENID, T0 - timedelta(minutes=1), "e3"),  # an old follow (redelivered): dropped
        _event(FOLLOW, OPENID, T0 + timedelta(minutes=5), "e4"),  # came back: kept
        _event("mall.event_received", OPENID, T0 + timedelta(minutes=6), "e5"),  # theirs again: kept
    ]
    assert [envelope.event_id for envelope, _ in await passing(rights, batch)] == ["e2", "e4", "e5"]
    # the re-follow is on record: a later batch passes too, an event from before it does not
    later = [_event("mall.event_received", OPENID, T0 + timedelta(minutes=9), "e6"), batch[0]]
    assert [envelope.event_id for envelope, _ in await passing(rights, later)] == ["e6"]


async def test_gated_subscriptions_filter_records_and_batches() -> None:
    rights = InMemoryMemberRights(_stores())
    await rights.erase(APPID, OPENID, by="ada", now=T0)
    seen: list[str] = []

    async def handler(resources: object, envelope: Envelope, message: Message) -> None:
        seen.append(envelope.event_id)

    async def batch_handler(resources: object, events: Sequence[tuple[Envelope, Message]]) -> None:
        seen.extend(envelope.event_id for envelope, _ in events)

    subscription = Subscription("s", WECHAT_PUSHES, handler, Batching(batch_handler, 7, 0.1))
    (wrapped,) = gated([subscription], lambda resources: rights)
    assert wrapped.batch is not None and wrapped.batch.max_records == 7
    mine, theirs = (_event("x.y", who, T0 + timedelta(minutes=1), who[:4]) for who in (OPENID, OTHER))
    await wrapped.handler(None, *mine)
    await wrapped.handler(None, *theirs)
    await wrapped.batch.handler(None, [mine, theirs])
    await wrapped.batch.handler(None, [mine])  # nothing left: the batch handler is not called
    assert seen == ["o_ot", "o_ot"]
    (ungated,) = gated([subscription], lambda resources: None)  # memory-only: nothing to check
    await ungated.handler(None, *mine)
    assert seen[-1] == "o_me"


def test_every_worker_that_writes_member_data_is_gated() -> None:
    for service in ("members", "profiles", "campaigns", "segments", "analytics"):
        source = (ROOT / "services" / service / "entrypoints" / "consumer.py").read_text(encoding="utf-8")
        assert "subscriptions=gated(" in source, service
