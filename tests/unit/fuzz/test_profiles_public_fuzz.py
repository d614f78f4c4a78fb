"""Fuzzing the profiles service's public face: the signed mall webhook (one JSON event, or NDJSON in bulk)
and the H5 forms members submit (the interest page, a survey). Whatever arrives, the answer is 2xx or 4xx
with a reason, never 5xx and never an unhandled exception (the test client re-raises those). Requests are
validly signed, so the parsing behind the signature is what is exercised."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st

from services.profiles.adapters.memory import InMemoryProfileStore
from services.profiles.bootstrap import Profiles
from services.profiles.domain.h5_links import seal_link
from services.profiles.domain.mall_webhook import sign
from services.profiles.domain.profile import Profile
from services.profiles.domain.surveys import Question, QuestionKind, SurveyOption, SurveyStatus
from services.profiles.entrypoints.http import create_public_app
from services.profiles.service_layer.surveys import define_survey, move_survey
from services.profiles.settings import ProfilesSettings
from tests.accounts import account
from tests.fakes.publisher import FakePublisher

APPID = "wx1"
SHOP_SECRET = "fuzz-shop-secret"
LINK_SECRET = "fuzz-h5-link-secret"
NOW = datetime.now(UTC).replace(microsecond=0)
_MEMBERS = itertools.count()

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
_TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda at: at.isoformat()),
    st.datetimes().map(lambda at: at.isoformat()),  # no zone
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-13-01T00:00:00Z", "today"]),
    st.text(max_size=30),
)
_AMOUNTS = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(),
    st.decimals().map(str),
    st.sampled_from(["12.5", "1e400", "NaN", "sNaN", "-0", "0.001"]),
)


@st.composite
def mall_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event near the documented shape: known or unknown values in each field, fields left out or added."""
    event: dict[str, Any] = {
        "event_id": draw(st.one_of(st.text(max_size=20), json_values)),
        "appid": draw(st.sampled_from([APPID, APPID, "wx2", ""])),
        "openid": draw(st.one_of(st.text(max_size=140), json_values)),
        "type": draw(st.one_of(st.sampled_from(["view", "add_to_cart", "order", "refund"]), json_values)),
        "category": draw(st.one_of(st.sampled_from(["toys", "diapers_newborn", "formula"]), json_values)),
        "occurred_at": draw(st.one_of(_TIMES, json_values)),
    }
    if draw(st.booleans()):
        event[draw(st.sampled_from(["amount", "amount_fen"]))] = draw(st.one_of(_AMOUNTS, json_values))
    for name in draw(st.lists(st.sampled_from(["unionid", "order_id"]), max_size=2, unique=True)):
        event[name] = draw(st.one_of(st.text(max_size=140), json_values))
    for name in draw(st.lists(st.sampled_from(list(event)), max_size=2, unique=True)):
        del event[name]
    return event


@dataclass
class Public:
    client: TestClient
    profiles: Profiles
    publisher: FakePublisher
    store: InMemoryProfileStore
    survey_id: str

    def post_mall(self, body: bytes, *, bulk: bool) -> int:
        now = int(time.time())
        headers = {"X-Mall-Timestamp": str(now), "X-Mall-Signature": sign(SHOP_SECRET.encode(), now, body)}
        path = "/events/mall/bulk" if bulk else "/events/mall"
        return self.client.post(path, content=body, headers=headers).status_code

    def new_member(self) -> str:
        """A member who follows the account: each example answers as someone new (a survey takes one answer)."""
        openid = f"oFuzz{next(_MEMBERS)}"
        profile = Profile(APPID, openid)
        changes = profile.followed(NOW - timedelta(days=1), "qrscene_1")
        self.client.portal.call(self.store.save, profile, changes)  # type: ignore[union-attr]
        return openid

    def post_form(self, page: str, path: str, body: bytes) -> int:
        token = seal_link(LINK_SECRET.encode(), APPID, self.new_member(), int(time.time()) + 3600, page)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.client.post(f"{path}?t={token}", content=body, headers=headers).status_code


@pytest.fixture(scope="module")
def public() -> Iterator[Public]:
    settings = ProfilesSettings(
        environment="development",
        wechat_accounts=[account(APPID)],
        mall_webhook_secret=SHOP_SECRET,
        h5_link_secret=LINK_SECRET,
    )
    store, publisher = InMemoryProfileStore(), FakePublisher()
    app = create_public_app(settings, store=store, publisher=publisher)
    with TestClient(app) as client:
        profiles: Profiles = app.state.service

        async def publish_a_survey() -> str:
            questions = [
                Question(
                    "stage", QuestionKind.SINGLE, "您的情况", (SurveyOption("a", "怀孕中"), SurveyOption("b", "已出生"))
                ),
                Question("kids", QuestionKind.MULTIPLE, "关注", (SurveyOption("x", "奶粉"), SurveyOption("y", "玩具"))),
                Question("due", QuestionKind.DATE, "预产期", required=False),
                Question("note", QuestionKind.TEXT, "想说的话", required=False),
            ]
            survey = await define_survey(profiles.surveys, profiles.taxonomy, APPID, "问卷", questions, [], NOW)
            await move_survey(profiles.surveys, APPID, survey.id, SurveyStatus.PUBLISHED)
            return survey.id

        survey_id = client.portal.call(publish_a_survey)  # type: ignore[union-attr]
        yield Public(client, profiles, publisher, store, survey_id)


def _no_server_error(status: int) -> None:
    assert status < 500, f"answered {status}"


@given(event=st.one_of(mall_events(), json_values))
def test_any_single_mall_event_is_accepted_or_refused_never_a_server_error(public: Public, event: Any) -> None:
    _no_server_error(public.post_mall(json.dumps(event).encode(), bulk=False))


@given(events=st.lists(st.one_of(mall_events(), json_values), min_size=1, max_size=6))
def test_any_ndjson_batch_is_accepted_or_refused_never_a_server_error(public: Public, events: list[Any]) -> None:
    _no_server_error(public.post_mall("\n".join(json.dumps(e) for e in events).encode(), bulk=True))


@given(body=st.binary(max_size=1024), bulk=st.booleans())
# Regressions: each was a 500 (an overflow converting the time to UTC; JSON nested past the parser's
# recursion limit; an integer beyond the digits Python converts).
@example(
    body=b'{"event_id":"e","appid":"wx1","openid":"o","type":"view","category":"toys",'
    b'"occurred_at":"0001-01-01T00:00:00+01:00"}',
    bulk=False,
)
@example(body=b"[" * 100_000, bulk=True)
@example(body=b'{"amount_fen": ' + b"9" * 5000 + b"}", bulk=False)
def test_any_signed_bytes_to_the_mall_webhook_are_not_a_server_error(public: Public, body: bytes, bulk: bool) -> None:
    _no_server_error(public.post_mall(body, bulk=bulk))


_FORM_KEYS = st.sampled_from(["basis", "on", "interests", "marketing", "data_use", "stage", "kids", "due", "note"])
_FORM_VALUES = st.one_of(
    st.sampled_from(["due_date", "birthday", "preparing", "yes", "a", "b", "x", "y", "interest.feeding.formula"]),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["0000-00-00", "2026-02-30", "99999-01-01", "２０２６-０１-０１"]),
    st.text(max_size=40),
)
form_fields = st.lists(st.tuples(_FORM_KEYS, _FORM_VALUES), max_size=10)


@given(fields=form_fields, raw=st.binary(max_size=300), use_raw=st.booleans())
def test_any_interest_form_is_answered_with_a_page_never_a_server_error(
    public: Public, fields: list[tuple[str, str]], raw: bytes, use_raw: bool
) -> None:
    body = raw if use_raw else urlencode(fields).encode()
    _no_server_error(public.post_form("interests", f"/h5/{APPID}/interests", body))


@given(fields=form_fields, raw=st.binary(max_size=300), use_raw=st.booleans())
def test_any_survey_answer_is_answered_with_a_page_never_a_server_error(
    public: Public, fields: list[tuple[str, str]], raw: bytes, use_raw: bool
) -> None:
    body = raw if use_raw else urlencode(fields).encode()
    page = f"surveys/{public.survey_id}"
    _no_server_error(public.post_form(page, f"/h5/{APPID}/{page}", body))


# -- what the fuzzing found, as plain regressions: each was a 500 ----------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"event_id":"e","appid":"wx1","openid":"o","type":"view","category":"toys",'
         b'"occurred_at":"0001-01-01T00:00:00+01:00"}', "occurred_at"),
        (b"[" * 100_000, ""),
        (b'{"amount_fen": ' + b"9" * 5000 + b"}", ""),
    ],
)  # fmt: skip
def test_what_a_mall_event_cannot_hold_is_a_422_naming_the_line(public: Public, body: bytes, field: str) -> None:
    now = int(time.time())
    headers = {"X-Mall-Timestamp": str(now), "X-Mall-Signature": sign(SHOP_SECRET.encode(), now, body)}
    reply = public.client.post("/events/mall", content=body, headers=headers)
    assert reply.status_code == 422
    assert ["body", 1, field] in [e["loc"] for e in reply.json()["detail"]]


@given(
    token=st.one_of(
        st.text(max_size=700), st.from_regex(r"v\d\.[A-Za-z0-9_=-]{0,40}(\.[A-Za-z0-9_=-]{0,40}){4}", fullmatch=True)
    ),
    page=st.sampled_from(["interests", "surveys/s1", "surveys/..", "surveys/%00", "x"]),
    appid=st.sampled_from([APPID, "wx2", "w" * 70, "%E4%B8%AD"]),
)
def test_any_link_opens_a_page_or_the_refusal_page_never_a_server_error(
    public: Public, token: str, page: str, appid: str
) -> None:
    reply = public.client.get(f"/h5/{appid}/{page}", params={"t": token})
    _no_server_error(reply.status_code)
