"""The profiles API against SecantusDB: the signed mall webhook, the worker's handler applying what it
published, profiles with stage and tags as of a controllable now, and ops tags with their history."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from services.profiles.bootstrap import Profiles
from services.profiles.domain.mall_webhook import sign
from services.profiles.domain.profile import ConsentKind, Profile
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.http import create_app, create_public_app
from services.profiles.service_layer import activity, mall
from services.profiles.settings import ProfilesSettings
from shared.contracts import (
    CATALOG,
    MALL_EVENTS,
    PROFILE_CHANGES,
    MallEventReceived,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    TextMessageReceived,
)
from shared.events import Envelope, Message
from shared.identity import AuditQuery, Role
from shared.maternal_infant import Basis, Confidence, Stage, StageDeclaration
from shared.messaging import InMemoryEventPublisher, PermanentHandlerError
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

SECRET = "shop-secret-for-tests"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T = TypeVar("T")


@dataclass
class Harness:
    #: The operator API.
    http: TestClient
    #: The public app (mall webhook, H5 pages) over the same database and publisher.
    public: TestClient
    #: The API's publisher: what it would have sent to Kafka (the worker's handler applies these).
    publisher: InMemoryEventPublisher
    clock: list[datetime]
    #: The operators calling the API (the client sends an admin's token unless told).
    callers: Callers
    #: profile.changed envelopes published after the worker's commits.
    announced: list[Envelope] = field(default_factory=list)

    @property
    def profiles(self) -> Profiles:
        found: Profiles = self.http.app.state.service  # type: ignore[attr-defined]
        return found

    def post(self, body: bytes, *, bulk: bool = False, secret: str = SECRET, sent: int | None = None) -> Any:
        timestamp = int(time.time()) if sent is None else sent
        headers = {"X-Mall-Timestamp": str(timestamp), "X-Mall-Signature": sign(secret.encode(), timestamp, body)}
        return self.public.post("/events/mall/bulk" if bulk else "/events/mall", content=body, headers=headers)

    def run(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``function(*args)`` on the app's event loop (where its MongoDB client lives)."""
        assert self.http.portal is not None
        return self.http.portal.call(function, *args)

    def work(self) -> None:
        """The profiles worker's handler on everything published so far (and clears it)."""
        taken, self.publisher.published = self.publisher.published, []
        for topic, envelope in taken:
            if topic == PROFILE_CHANGES:  # the worker's own announcements, not its input
                self.announced.append(envelope)
                continue
            self.run(self.profiles.handle, envelope, CATALOG.decode(envelope))


@pytest.fixture
def h(service_settings: LoadSettings) -> Iterator[Harness]:
    settings = service_settings(ProfilesSettings, mall_webhook_secret=SECRET, h5_link_secret="h5-links-for-tests-0")
    captured = InMemoryEventPublisher()
    clock = [NOW]
    callers = Callers.on("wx1")
    app = create_app(settings, clock=lambda: clock[0], publisher=captured, identity=callers.config)
    with (
        TestClient(app, headers=callers.headers(Role.ADMIN)) as client,
        TestClient(create_public_app(settings, clock=lambda: clock[0], publisher=captured)) as public,
    ):
        yield Harness(client, public, captured, clock, callers)


def event(event_id: str, kind: str, category: str, days_ago: float = 0, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "appid": "wx1",
        "openid": "o_mom",
        "type": kind,
        "category": category,
        "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(),
        **extra,
    }


def body(*events: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(e, ensure_ascii=False) for e in events).encode()


def test_mall_events_build_a_profile_once_each(h: Harness) -> None:
    events = [
        event("e1", "view", "formula_stage1", days_ago=3),
        event("e2", "add_to_cart", "formula_stage1", days_ago=2),
        event("e3", "order", "diapers_newborn", days_ago=1, amount=899.5),
        event("e4", "order", "stroller", amount_fen=300_000),
    ]
    accepted = h.post(body(*events), bulk=True)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"accepted": 4}
    assert {topic for topic, _ in h.publisher.published} == {MALL_EVENTS}
    again = list(h.publisher.published)
    h.work()
    h.work()  # what the first round announced
    assert {(e.appid, e.payload["openid"]) for e in h.announced} == {("wx1", "o_mom")}  # after the commit
    announced = len(h.announced)
    h.publisher.published.extend(again)  # Kafka redelivers all of it
    h.work()
    h.work()
    assert len(h.announced) == announced  # nothing written again, nothing announced
    assert h.post(body(events[2])).status_code == 202  # the shop resends one
    h.work()

    profile = h.http.get("/accounts/wx1/members/o_mom/profile/reveal").json()
    tags = {(t["code"], t["source"]): t for t in profile["tags"]}
    assert ("purchase.diapers", "mall") in tags and ("purchase.gear", "mall") in tags
    assert ("spend.a", "mall") in tags  # 899.5 + 3000 yuan this year
    formula = tags[("interest.feeding.formula", "mall")]["weight"]
    assert 0 < formula < 3 * (0.2 + 0.6)  # faded since
    # Newborn diapers ordered yesterday: a baby of about 0 months, inferred.
    assert profile["stage"]["code"] == "stage.baby.0_6m" and profile["stage"]["confidence"] == "inferred"
    history = h.http.get("/accounts/wx1/members/o_mom/profile/history").json()
    assert sum(1 for change in history if change["kind"] == "mall_event") == 4  # once each


def test_a_batch_builds_the_same_profiles_as_one_event_at_a_time(h: Harness) -> None:
    def script(openid: str) -> list[dict[str, Any]]:
        return [
            dict(event(f"{openid}-1", "view", "formula_stage1", days_ago=3), openid=openid),
            dict(event(f"{openid}-2", "order", "diapers_newborn", days_ago=1, amount=899.5), openid=openid),
            dict(event(f"{openid}-3", "add_to_cart", "toys", days_ago=1), openid=openid, unionid=f"u-{openid}"),
            dict(event(f"{openid}-4", "refund", "diapers_newborn", amount=120), openid=openid),
        ]

    shoppers = [f"o_batch{n}" for n in range(3)]
    assert h.post(body(*script("o_single")), bulk=True).status_code == 202
    h.work()
    assert h.post(body(*(e for openid in shoppers for e in script(openid))), bulk=True).status_code == 202
    batch = [(envelope, CATALOG.decode(envelope)) for _, envelope in h.publisher.published]
    h.publisher.published.clear()
    # Redeliveries inside the batch and of the whole batch apply nothing twice.
    h.run(h.profiles.handle_batch, [*batch, batch[0], batch[5]])
    h.run(h.profiles.handle_batch, batch)

    def seen(openid: str) -> tuple[Any, ...]:
        profile = h.http.get(f"/accounts/wx1/members/{openid}/profile/reveal").json()
        tags = sorted((t["code"], t["source"], round(t["weight"], 6)) for t in profile["tags"])
        history = h.http.get(f"/accounts/wx1/members/{openid}/profile/history").json()
        kinds = sorted(change["kind"] for change in history)
        return tags, profile["stage"], profile["unionid"] is not None, kinds

    single = seen("o_single")
    assert any(code == "purchase.diapers" for code, _, _ in single[0]) and single[2]
    for openid in shoppers:
        assert seen(openid) == single


def test_a_batch_with_a_category_the_taxonomy_dropped_writes_nothing(h: Harness) -> None:
    def envelope(event_id: str, category: str) -> tuple[Envelope, MallEventReceived]:
        message = MallEventReceived(
            mall_event_id=event_id, openid="o_mom", kind="view", category=category, occurred_at=NOW
        )
        return Envelope.wrap(message, appid="wx1", key="o_mom", event_id=event_id), message

    batch = [envelope("d1", "toys"), envelope("d2", "lawnmowers")]
    profiles = h.profiles
    with pytest.raises(PermanentHandlerError, match="lawnmowers"):
        h.run(mall.apply_mall_events, batch, profiles.uow(), profiles.taxonomy, profiles.half_life)
    assert h.http.get("/accounts/wx1/members/o_mom/profile").status_code == 404
    # Alone, the good event still applies: its claim was rolled back with the batch.
    assert h.run(mall.apply_mall_event, *batch[0], profiles.uow(), profiles.taxonomy, profiles.half_life)


def test_bad_requests_change_nothing(h: Harness) -> None:
    good = event("g1", "view", "toys")
    assert h.post(body(good), secret="not-the-secret").status_code == 401
    assert h.post(body(good), sent=int(time.time()) - 3600).status_code == 401  # a replay
    assert h.public.post("/events/mall", content=body(good)).status_code == 401  # unsigned
    unknown = h.post(body(good, event("g2", "view", "lawnmowers")), bulk=True)
    assert unknown.status_code == 422
    [problem] = unknown.json()["detail"]
    assert problem["loc"] == ["body", 2, "category"] and "lawnmowers" in problem["msg"]
    malformed = h.post(body(event("g3", "order", "toys"), {"event_id": "g4"}), bulk=True)
    assert malformed.status_code == 422
    fields = {tuple(p["loc"]) for p in malformed.json()["detail"]}
    assert ("body", 1, "amount") in fields and ("body", 2, "openid") in fields
    assert h.post(b"{not json").status_code == 422
    assert h.post(body(dict(good, appid="wx-unknown"))).status_code == 422
    assert h.publisher.published == []  # nothing half-accepted
    assert h.http.get("/accounts/wx1/members/o_mom/profile").status_code == 404


def test_life_stage_moves_with_time_and_ops_tags_are_audited(h: Harness) -> None:
    # Stage-1 formula (for about two-month-olds) ordered two months ago: a baby of three full months now.
    assert h.post(body(event("s1", "order", "formula_stage1", days_ago=61, amount=300))).status_code == 202
    h.work()
    assert h.http.get("/accounts/wx1/members/o_mom/profile/reveal").json()["stage"]["age_months"] == 3
    h.clock[0] = NOW + timedelta(days=75)
    later = h.http.get("/accounts/wx1/members/o_mom/profile/reveal").json()
    assert later["stage"]["code"] == "stage.baby.6_12m" and later["stage"]["age_months"] == 6

    # The actor is the caller's identity: an old client's "actor" field is ignored.
    tagger = h.callers.headers(Role.CAMPAIGN_OPERATOR)
    added = h.http.post(
        "/accounts/wx1/members/o_mom/profile/tags",
        json={"code": "interest.toys", "weight": 2, "actor": "ops-li"},
        headers=tagger,
    )
    assert added.status_code == 200, added.text
    assert any(t["code"] == "interest.toys" and t["source"] == "ops" for t in added.json()["tags"])
    assert added.json()["masked"] and added.json()["stage"] is None  # a tagger may not see the stage
    refused = h.http.post("/accounts/wx1/members/o_mom/profile/tags", json={"code": "interest.nope"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "code"]
    stage_tag = h.http.post("/accounts/wx1/members/o_mom/profile/tags", json={"code": "stage.baby"})
    assert stage_tag.status_code == 422
    removed = h.http.delete("/accounts/wx1/members/o_mom/profile/tags/interest.toys", params={"actor": "ops-wang"})
    assert removed.status_code == 200
    assert h.http.delete("/accounts/wx1/members/o_mom/profile/tags/interest.toys").status_code == 404
    history = h.http.get("/accounts/wx1/members/o_mom/profile/history").json()
    by_ops = [
        (c["kind"], c["actor"].split("#")[0]) for c in history if c["kind"].startswith("tag_") and "#" in c["actor"]
    ]
    assert by_ops == [("tag_removed", "admin-op"), ("tag_added", "campaign_operator-op")]
    entries = h.run(h.callers.directory.audit_entries, AuditQuery(appid="wx1", object_type="member"))
    assert [(e.action, e.actor_name, e.object_id) for e in entries] == [
        ("profile.tag_removed", "admin-op", "o_mom"),
        ("profile.tag_added", "campaign_operator-op", "o_mom"),
        ("member.pii_revealed", "admin-op", "o_mom"),
        ("member.pii_revealed", "admin-op", "o_mom"),
    ]
    assert entries[1].after == {"code": "interest.toys", "weight": 2.0}
    unknown = h.http.get("/accounts/wx-unknown/members/o_mom/profile")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "unknown account 'wx-unknown'"}
    survey = h.http.post("/accounts/wx-unknown/surveys", json={"title": "x", "questions": []})
    assert survey.status_code == 404 and survey.json() == {"detail": "unknown account 'wx-unknown'"}


def test_the_h5_interest_page_records_stage_interests_and_consent(h: Harness) -> None:
    link = h.profiles.link("wx1", "o_new", datetime.now(UTC))
    path = link.split("127.0.0.1:8013", 1)[1]
    page = h.public.get(path)
    assert page.status_code == 200 and "预产期" in page.text and "奶粉" in page.text
    form = "basis=due_date&on=2027-03-01&interests=interest.feeding.formula&interests=interest.diapers&marketing=yes"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    done = h.public.post(path, content=form.encode(), headers=headers)
    assert done.status_code == 200 and "提交成功" in done.text
    profile = h.http.get("/accounts/wx1/members/o_new/profile/reveal").json()
    assert profile["stage"]["code"] == "stage.pregnancy.mid" and profile["stage"]["confidence"] == "declared"
    declared = {t["code"] for t in profile["tags"] if t["source"] == "declared"}
    assert declared == {"interest.feeding.formula", "interest.diapers"}
    assert profile["consents"]["marketing"]["given"] and not profile["consents"]["data_use"]["given"]
    assert profile["consents"]["marketing"]["via"] == "h5_form"

    # Impossible answers come back as the form with the reason; nothing is recorded.
    past_due = h.public.post(path, content=b"basis=due_date&on=2020-01-01", headers=headers)
    assert past_due.status_code == 422 and "due date" in past_due.text
    assert h.public.post(path, content=b"basis=twins", headers=headers).status_code == 422
    nonsense = h.public.post(path, content=b"basis=preparing&interests=interest.lawnmowers", headers=headers)
    assert nonsense.status_code == 422

    # Forged, expired, or another account's: a page saying so.
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert h.public.get(forged).status_code == 403
    expired = h.profiles.link("wx1", "o_new", datetime.now(UTC) - timedelta(days=30)).split("8013", 1)[1]
    assert h.public.get(expired).status_code == 403
    assert h.public.get(path.replace("/h5/wx1/", "/h5/wx2/")).status_code == 403


def test_stats_by_index_agree_with_reading_every_profile_as_days_pass(h: Harness) -> None:
    rng = random.Random(3)
    today = NOW.date()
    profiles = []
    for n in range(240):
        profile = Profile("wx1", f"o_stats_{n}")
        for _ in range(rng.randrange(3)):  # none, one or two declarations, declared or inferred
            basis = rng.choice(list(Basis))
            days = rng.choice([rng.randrange(-1500, 0), rng.randrange(-300, 320)])
            on = None if basis is Basis.PREPARING else today + timedelta(days=days)
            confidence = rng.choice(list(Confidence))
            declared_on = today - timedelta(days=rng.randrange(0, 300))
            profile.declare_stage(StageDeclaration(basis, declared_on, on, confidence, "test"), NOW)
        if rng.random() < 0.3:
            profile.add_tag(h.profiles.taxonomy, "interest.toys", TagSource.OPS, NOW, actor="test")
        if rng.random() < 0.6:
            profile.followed(NOW - timedelta(days=rng.randrange(400)), via="test")
            if rng.random() < 0.3:
                profile.unfollowed(NOW - timedelta(days=rng.randrange(10)))
        if rng.random() < 0.5:
            profile.set_consent(ConsentKind.MARKETING, rng.random() < 0.7, NOW, "test")
        profiles.append(profile)

    async def store() -> None:
        async with h.profiles.uow() as uow:
            await uow.profiles.save_many([(profile, []) for profile in profiles])
            await uow.commit()

    h.run(store)

    async def walked(day: date) -> dict[str, Any]:
        by_stage: dict[str, int] = {}
        tagged = marketing = following = 0
        async for profile in h.profiles.profiles.each("wx1"):
            following += profile.follow.following
            stage = profile.stage(day)
            if stage is not None:
                by_stage[stage.stage.value] = by_stage.get(stage.stage.value, 0) + 1
            tagged += bool(profile.tags) or stage is not None
            marketing += profile.consented(ConsentKind.MARKETING)
        counts = {"tagged": tagged, "by_stage": by_stage, "consented_marketing": marketing}
        return {"profiles": 240, "following": following, **counts}

    for days_later in (0, 1, 45, 200, 800):
        h.clock[0] = NOW + timedelta(days=days_later)
        expected = h.run(walked, h.clock[0].date())
        assert h.http.get("/accounts/wx1/profiles/stats").json() == expected
        if days_later == 0:
            assert len(expected["by_stage"]) == len(Stage)  # the sample covers every stage


def test_follows_unfollows_and_interactions_land_on_the_profile_once(h: Harness) -> None:
    def push(message: Message, event_id: str) -> tuple[Envelope, Message]:
        return Envelope.wrap(message, appid="wx1", key="o_fan", event_id=event_id), message

    day = timedelta(days=1)
    follow = push(MemberFollowed(openid="o_fan", followed_at=NOW - 5 * day, scene="poster-1"), "p1")
    text = push(TextMessageReceived(openid="o_fan", received_at=NOW - 4 * day, msg_id="m1", content="你好"), "p2")
    leave = push(MemberUnfollowed(openid="o_fan", unfollowed_at=NOW - 3 * day), "p3")
    back = push(MemberFollowed(openid="o_fan", followed_at=NOW - 2 * day), "p4")
    menu = push(MenuClicked(openid="o_fan", clicked_at=NOW - day, key="NOT_A_TAG_KEY"), "p5")
    # Out of order, with a redelivery inside the batch and of the whole batch. (The worker's handle_batch
    # would also invite the followers, through the platform this test has not got.)
    assert h.run(activity.record_activity, [back, follow, text, menu, leave, follow], h.profiles.uow()) == 5
    assert h.run(activity.record_activity, [leave, back], h.profiles.uow()) == 0

    profile = h.http.get("/accounts/wx1/members/o_fan/profile").json()
    assert profile["follow"]["following"] is True
    assert profile["follow"]["first_followed_at"].startswith((NOW - 5 * day).date().isoformat())
    assert profile["follow"]["last_unfollowed_at"].startswith((NOW - 3 * day).date().isoformat())
    assert profile["last_active_at"].startswith((NOW - day).date().isoformat())
    history = h.http.get("/accounts/wx1/members/o_fan/profile/history").json()
    assert sorted(change["kind"] for change in history) == ["followed", "unfollowed"]  # the rest was in order
    assert h.http.get("/accounts/wx1/profiles/stats").json()["following"] == 1

    h.run(h.profiles.handle, *push(MemberUnfollowed(openid="o_fan", unfollowed_at=NOW), "p6"))
    assert h.http.get("/accounts/wx1/members/o_fan/profile").json()["follow"]["following"] is False
    assert h.http.get("/accounts/wx1/profiles/stats").json()["following"] == 0
