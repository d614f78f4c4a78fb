"""The profiles use cases the HTTP routes call, over in-memory ports: ops tags, receiving mall events,
managing surveys and answering one (with the result messaged once)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from services.profiles.adapters.memory import InMemoryProfileStore, InMemoryProfilesUnitOfWork, InMemorySurveys
from services.profiles.adapters.repository import from_document
from services.profiles.domain.mall_webhook import SignatureRejected, sign
from services.profiles.domain.profile import Profile, ProfileError
from services.profiles.domain.surveys import (
    Prize,
    PrizeKind,
    Question,
    QuestionKind,
    SurveyClosed,
    SurveyError,
    SurveyOption,
    SurveyStatus,
)
from services.profiles.domain.tags import TagSource
from services.profiles.service_layer import mall_webhook, profile_ops, surveys
from services.profiles.service_layer.ports import Messenger, SurveyStore, SurveysUnitOfWork
from shared.contracts import CATALOG, MALL_EVENTS, MallEventReceived
from shared.maternal_infant import DEFAULT_TAXONOMY, parse_taxonomy
from shared.wechat_client import CustomMessage, OutsideCustomerServiceWindow, Text
from tests.fakes.publisher import FakePublisher

TAXONOMY = parse_taxonomy(json.loads(DEFAULT_TAXONOMY.read_text(encoding="utf-8")))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = b"shop-secret"


class MemoryUnitOfWork(InMemoryProfilesUnitOfWork):
    """:class:`SurveysUnitOfWork`: the in-memory profiles unit of work, with the survey store."""

    def __init__(self, store: InMemoryProfileStore, survey_store: InMemorySurveys) -> None:
        super().__init__(store)
        self._surveys = survey_store

    @property
    def surveys(self) -> SurveyStore:
        return self._surveys


@dataclass
class World:
    store: InMemoryProfileStore = field(default_factory=InMemoryProfileStore)
    survey_store: InMemorySurveys = field(default_factory=InMemorySurveys)

    def uow(self) -> SurveysUnitOfWork:
        return MemoryUnitOfWork(self.store, self.survey_store)

    @property
    def saved(self) -> dict[tuple[str, str], Profile]:
        """The committed profiles."""
        return {key: from_document(document) for key, document in self.store.documents.items()}


@dataclass
class Inbox:
    """A :class:`Messenger` that keeps what it sends, or refuses like a member's closed 48-hour window."""

    closed: bool = False
    sent: list[tuple[str, CustomMessage]] = field(default_factory=list)

    async def send_custom_message(self, openid: str, message: CustomMessage) -> None:
        if self.closed:
            raise OutsideCustomerServiceWindow(45015, "response out of time limit", api="message/custom/send")
        self.sent.append((openid, message))


# ops tags


async def test_ops_add_a_tag_to_a_new_profile_and_remove_it() -> None:
    world = World()
    added = await profile_ops.add_tag(world.uow(), TAXONOMY, "wx1", "o1", "interest.toys", 2.0, "alice", NOW)
    assert ("interest.toys", TagSource.OPS) in added.tags
    assert ("interest.toys", TagSource.OPS) in world.saved[("wx1", "o1")].tags
    removed = await profile_ops.remove_tag(world.uow(), "wx1", "o1", "interest.toys", TagSource.OPS, "alice", NOW)
    assert removed.tags == {} and world.saved[("wx1", "o1")].tags == {}


async def test_ops_tags_refuse_what_is_not_there_or_not_theirs() -> None:
    world = World()
    with pytest.raises(ProfileError):
        await profile_ops.add_tag(world.uow(), TAXONOMY, "wx1", "o1", "interest.nope", 1.0, "alice", NOW)
    assert world.saved == {}  # nothing committed
    with pytest.raises(profile_ops.NoProfile, match="no profile for 'o1' in 'wx1'"):
        await profile_ops.remove_tag(world.uow(), "wx1", "o1", "interest.toys", TagSource.OPS, "alice", NOW)
    await profile_ops.add_tag(world.uow(), TAXONOMY, "wx1", "o1", "interest.toys", 1.0, "alice", NOW)
    with pytest.raises(profile_ops.NoSuchTag, match=r"no mall tag 'interest\.toys' on this profile"):
        await profile_ops.remove_tag(world.uow(), "wx1", "o1", "interest.toys", TagSource.MALL, "alice", NOW)


# receiving mall events


def _event(event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "appid": "wx1",
        "openid": "o_mom",
        "type": "view",
        "category": "formula_stage1",
        "occurred_at": NOW.isoformat(),
        **extra,
    }


async def _receive(body: bytes, publisher: FakePublisher, *, signed_with: bytes = SECRET, bulk: bool = True) -> int:
    sent = int(NOW.timestamp())
    return await mall_webhook.receive_mall_events(
        body,
        bulk=bulk,
        timestamp=str(sent),
        signature=sign(signed_with, sent, body),
        secret=SECRET,
        known_account={"wx1"}.__contains__,
        categories=TAXONOMY.categories,
        publisher=publisher,
        now=sent + 1,
    )


async def test_signed_events_are_published_once_each_with_the_shops_id_making_the_envelopes() -> None:
    publisher = FakePublisher()
    body = b"\n".join(json.dumps(e).encode() for e in (_event("m1"), _event("m2"), _event("m1")))
    assert await _receive(body, publisher) == 2
    assert [topic for topic, _ in publisher.published] == [MALL_EVENTS, MALL_EVENTS]
    first = CATALOG.decode(publisher.published[0][1])
    assert isinstance(first, MallEventReceived) and first.mall_event_id == "m1"
    again = FakePublisher()
    await _receive(json.dumps(_event("m1")).encode(), again, bulk=False)
    assert again.published[0][1].event_id == publisher.published[0][1].event_id  # a resend is the same event


async def test_a_bad_signature_or_one_bad_event_publishes_nothing() -> None:
    publisher = FakePublisher()
    body = json.dumps(_event("m1")).encode()
    with pytest.raises(SignatureRejected):
        await _receive(body, publisher, signed_with=b"not-the-secret")
    bad = body + b"\n" + json.dumps(_event("m2", appid="wx-other", category="lawnmowers")).encode()
    with pytest.raises(mall_webhook.EventsRejected) as refused:
        await _receive(bad, publisher)
    assert {(p.line, p.field) for p in refused.value.problems} == {(2, "appid"), (2, "category")}
    assert publisher.published == []


async def test_events_kafka_did_not_take_ask_for_a_resend() -> None:
    with pytest.raises(mall_webhook.EventsNotStored, match="resend the request"):
        await _receive(json.dumps(_event("m1")).encode(), FakePublisher(failures=1))


# surveys

FEEDING = Question(
    "feeding",
    QuestionKind.SINGLE,
    "怎么喂养？",
    (SurveyOption("formula", "奶粉", ("interest.feeding.formula",)), SurveyOption("breast", "母乳", ())),
)
COUPON = Prize("c10", "10元券", PrizeKind.COUPON, 1.0, 1)


async def test_a_survey_is_defined_as_a_draft_published_and_closed_for_good() -> None:
    store = InMemorySurveys()
    with pytest.raises(SurveyError) as refused:
        await surveys.define_survey(store, TAXONOMY, "wx1", "", [FEEDING], [], NOW)
    assert refused.value.field == "title" and store.surveys == {}
    survey = await surveys.define_survey(store, TAXONOMY, "wx1", "小调查", [FEEDING], [COUPON], NOW)
    assert survey.status is SurveyStatus.DRAFT and store.stock == {(survey.id, "c10"): 1}
    published = await surveys.move_survey(store, "wx1", survey.id, SurveyStatus.PUBLISHED)
    assert published.status is SurveyStatus.PUBLISHED
    assert (await surveys.move_survey(store, "wx1", survey.id, SurveyStatus.CLOSED)).status is SurveyStatus.CLOSED
    with pytest.raises(SurveyClosed, match="a closed survey stays closed"):
        await surveys.move_survey(store, "wx1", survey.id, SurveyStatus.PUBLISHED)
    with pytest.raises(surveys.SurveyNotFound, match=f"no survey '{survey.id}' in 'wx2'"):
        await surveys.survey_of(store, "wx2", survey.id)


async def test_an_answer_draws_once_and_the_member_hears_the_result_once() -> None:
    world = World()
    survey = await surveys.define_survey(world.survey_store, TAXONOMY, "wx1", "小调查", [FEEDING], [COUPON], NOW)
    survey = await surveys.move_survey(world.survey_store, "wx1", survey.id, SurveyStatus.PUBLISHED)
    inbox = Inbox()
    messenger: Messenger = inbox
    first = await surveys.answer_survey(
        world.uow, TAXONOMY, messenger, survey, "wx1", "o_mom", {"feeding": ["formula"]}, NOW, lambda: 0.5
    )
    assert first.first and first.prize_name == "10元券" and first.code is not None
    again = await surveys.answer_survey(
        world.uow, TAXONOMY, messenger, survey, "wx1", "o_mom", {"feeding": ["breast"]}, NOW, lambda: 0.5
    )
    assert not again.first and again.code == first.code  # the first draw, not a second
    [(openid, message)] = inbox.sent
    assert openid == "o_mom" and isinstance(message, Text) and message.content == surveys.result_text(first)
    assert ("interest.feeding.formula", TagSource.SURVEY) in world.saved[("wx1", "o_mom")].tags


async def test_a_closed_window_leaves_the_result_on_the_page_only() -> None:
    world = World()
    survey = await surveys.define_survey(world.survey_store, TAXONOMY, "wx1", "小调查", [FEEDING], [], NOW)
    survey = await surveys.move_survey(world.survey_store, "wx1", survey.id, SurveyStatus.PUBLISHED)
    result = await surveys.answer_survey(
        world.uow, TAXONOMY, Inbox(closed=True), survey, "wx1", "o_mom", {"feeding": ["breast"]}, NOW
    )
    assert result.first and result.prize_name is None
    assert surveys.result_text(result) == "感谢参与问卷！这次没有抽中奖品。"


def test_the_secure_roll_stays_in_the_unit_interval() -> None:
    assert all(0 <= surveys.secure_roll() < 1 for _ in range(100))
