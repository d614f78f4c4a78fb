"""The push pipeline against SecantusDB and the WeChat simulator (in this process, over ASGI): the live
index freezes a segment's audience, the dispatcher decides every member and sends through the real
client, and the platform's answers (closed windows, used-up quotas, job-finish pushes) do what the
rules say."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.profiles.adapters.repository import INDEXES as PROFILE_INDEXES
from services.profiles.adapters.repository import PROFILES, to_document
from services.profiles.domain.profile import ConsentKind, Follow, Profile
from services.profiles.domain.tags import Tag, TagSource
from services.segments.adapters.store import DELIVERIES, MEMBER_SENDS, TEMPLATE_MSGS, TEST_SENDS
from services.segments.adapters.wechat_sender import WeChatSender
from services.segments.bootstrap import SegmentsService, bootstrap_api, bootstrap_worker, send_config
from services.segments.domain.click_links import open_click
from services.segments.domain.pushes import BEIJING, MessageContent, TemplateContent, Variant
from services.segments.entrypoints.http.deps import push_use_cases
from services.segments.service_layer.audience import freeze_next
from services.segments.service_layer.job_finish import mass_finished, template_finished
from services.segments.settings import SegmentsSettings
from services.wechat_sim.entrypoints.http import create_app as create_sim
from services.wechat_sim.settings import WeChatSimSettings
from shared.contracts import MassSendFinished, TemplateSendFinished
from shared.maternal_infant import Basis, StageDeclaration
from shared.storage import ensure_indexes
from shared.wechat_client import MemoryTokenStore, WeChatApiConfig, WeChatClients
from tests.accounts import AES_KEY, account
from tests.fakes.push_sender import AckSender
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

APPID = "wxpush0001"
SECRET = "push-app-secret-0123"
SIM_URL = "http://wechat-sim.test"
CLICK_SECRET = "click-links-for-tests"
RULE = {"all": [{"stage_in": ["stage.pregnancy.late"]}, {"has_tag": "interest.feeding.formula"}]}
TEXT = "孕晚期奶粉指南 https://brand.example/guide 点击查看"


@dataclass
class Harness:
    api: SegmentsService
    worker: SegmentsService
    sim: httpx.AsyncClient
    database: Any

    async def inbox(self, openid: str) -> list[dict[str, Any]]:
        answer = await self.sim.get(f"/sim/accounts/{APPID}/members/{openid}/inbox")
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages

    async def send_all(self) -> None:
        assert self.api.live is not None and self.worker.dispatcher is not None
        while await freeze_next(self.api.pushes, self.api.segments, self.api.live, datetime.now(UTC), 3):
            pass
        while await self.worker.dispatcher.run_once():
            pass

    async def push(self, name: str, segment_id: str, **fields: Any) -> str:
        doc = {
            "_id": f"push_{name}",
            "appid": APPID,
            "name": name,
            "segment_id": segment_id,
            "variants": [
                {"name": "A", "weight": 1, "message": {"kind": "text", "text": TEXT}, "template": TEMPLATE},
                {"name": "B", "weight": 1, "message": {"kind": "text", "text": "B " + TEXT}, "template": TEMPLATE},
            ],
            "send_at": datetime.now(UTC) - timedelta(seconds=1),
            "quiet_hours": None,
            "cap": {"per_day": 1, "per_week": 3},
            "broadcast": False,
            "status": "scheduled",
            "created_at": datetime.now(UTC),
            "resume_at": None,
            "lease_until": None,
            "stats": {"total": {"targeted": 0, "sent": 0}},
        } | fields
        await self.api.pushes.insert(doc)
        return str(doc["_id"])

    async def push_doc(self, push_id: str) -> dict[str, Any]:
        found = await self.api.pushes.get(push_id)
        assert found is not None
        return found


TEMPLATE = {"template_id": "tpl_guide", "data": {"first": "孕晚期奶粉指南"}, "url": "https://brand.example/guide"}


def profile(
    openid: str,
    *,
    late: bool = True,
    formula: bool = True,
    following: bool = True,
    consent: bool = True,
    active_hours_ago: float = 1.0,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    p = Profile(APPID, openid)
    due = now.date() + timedelta(days=30 if late else 200)
    p.declarations.append(StageDeclaration(Basis.DUE_DATE, now.date(), due))
    if formula:
        code = "interest.feeding.formula"
        p.tags[(code, TagSource.DECLARED)] = Tag(code, TagSource.DECLARED, 1.0, now, now)
    followed = now - timedelta(days=40)
    p.follow = Follow(followed, followed, None if following else now - timedelta(days=1))
    p.last_active_at = now - timedelta(hours=active_hours_ago)
    if consent:
        p.set_consent(ConsentKind.MARKETING, True, followed, "h5_form")
    return to_document(p)


@asynccontextmanager
async def running(service_settings: LoadSettings, database: Any) -> AsyncIterator[Harness]:
    accounts = [account(APPID, token="push-token", encoding_aes_key=AES_KEY, secret=SECRET)]
    sim_settings = WeChatSimSettings(environment="test", wechat_accounts=accounts, job_push_delay_seconds=3600)
    sim_app = create_sim(sim_settings, sender=AckSender())
    settings = service_settings(
        SegmentsSettings,
        wechat_accounts=accounts,
        wechat_api=WeChatApiConfig(base_url=SIM_URL, qr_image_base_url=SIM_URL),
        click_link_secret=CLICK_SECRET,
        send_retry_seconds=0.01,
        dispatch_chunk=2,  # several slices even for a handful of members
    )
    await ensure_indexes(database, PROFILE_INDEXES)
    async with sim_app.router.lifespan_context(sim_app):
        transport = httpx.ASGITransport(app=sim_app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=SIM_URL) as sim,
            bootstrap_api(settings, follow_changes=False) as api,
            WeChatClients.for_accounts(
                settings.wechat_accounts, MemoryTokenStore(), send_config(settings), transport=transport
            ) as clients,
            bootstrap_worker(settings, sender=WeChatSender(clients), dispatch=False) as worker,
        ):
            yield Harness(api, worker, sim, database)


@pytest.fixture
async def h(service_settings: LoadSettings, database: Any) -> AsyncIterator[Harness]:
    async with running(service_settings, database) as harness:
        yield harness


async def members(h: Harness, docs: list[dict[str, Any]], *, talk: tuple[str, ...] = ()) -> None:
    await h.database[PROFILES].insert_many(docs)
    for doc in docs:
        following = doc["follow"]["following"]
        answer = await h.sim.post(
            f"/sim/accounts/{APPID}/members", json={"openid": doc["openid"], "following": following}
        )
        assert answer.status_code == 201, answer.text
    for openid in talk:  # opens the platform's interaction window
        answer = await h.sim.post(f"/sim/accounts/{APPID}/members/{openid}/text", json={"content": "你好"})
        assert answer.status_code == 200, answer.text
    assert h.api.live is not None
    await h.api.live.refresh([(APPID, d["openid"]) for d in docs], datetime.now(UTC))


async def test_a_push_reaches_its_segment_through_the_right_channel_once(h: Harness) -> None:
    await members(
        h,
        [
            profile("o_active"),  # talked an hour ago: a customer-service message
            profile("o_quiet", active_hours_ago=100),  # outside the window: the template
            profile("o_stale"),  # our record says active, the platform's window is closed: 45015 → template
            profile("o_left", following=False),
            profile("o_no_consent", consent=False),
            profile("o_capped"),
            profile("o_early", late=False),  # outside the segment
            profile("o_no_formula", formula=False),  # outside the segment
        ],
        talk=("o_active", "o_capped"),
    )
    await h.database[MEMBER_SENDS].insert_one(
        {"_id": f"{APPID}:o_capped", "openid": "o_capped", "recent": [datetime.now(UTC) - timedelta(hours=3)]}
    )
    segment = await h.api.segments.create(APPID, "late pregnancy, formula", "", RULE)
    push_id = await h.push("guide", segment.id)
    await h.send_all()

    push = await h.push_doc(push_id)
    assert push["status"] == "finished"
    assert push["audience_size"] == 6 and push["segment_version"] == 1
    total = push["stats"]["total"]
    assert total["targeted"] == 6
    assert total["sent"] == 3
    assert total["skipped"] == {"unfollowed": 1, "no_consent": 1, "frequency_cap": 1}
    assert total["channels"] == {"customer_service": 1, "template": 2}
    variants = push["stats"]["variants"]
    assert sum(v["targeted"] for v in variants.values()) == 6

    active = await h.inbox("o_active")
    [custom] = [m for m in active if m["channel"] == "custom"]
    link = re.search(r"http://\S+/r/(\S+)", custom["payload"]["content"])
    assert link is not None
    click = open_click(CLICK_SECRET.encode(), link.group(1))
    assert (click.push_id, click.openid, click.url) == (push_id, "o_active", "https://brand.example/guide")
    for openid in ("o_quiet", "o_stale"):
        [template] = [m for m in await h.inbox(openid) if m["channel"] == "template"]
        assert "/r/" in template["payload"]["url"]
    for openid in ("o_left", "o_no_consent", "o_capped", "o_early", "o_no_formula"):
        assert not [m for m in await h.inbox(openid) if m["channel"] in ("custom", "template")], openid

    stale = await h.database[DELIVERIES].find_one({"_id": f"{push_id}:o_stale"})
    assert stale["status"] == "sent" and stale["channel"] == "template"
    assert await h.database[TEMPLATE_MSGS].count_documents({"delivery_id": f"{push_id}:o_stale"}) == 1

    # Run again, and after a crash left nothing claimed: nobody gets it twice.
    await h.database["pushes"].update_one(
        {"_id": push_id}, {"$set": {"status": "sending", "cursor": {"chunk": 0, "offset": 0}}}
    )
    await h.send_all()
    assert len([m for m in await h.inbox("o_active") if m["channel"] == "custom"]) == 1

    # The platform's job-finish push settles a template delivery once.
    event = TemplateSendFinished(
        openid="o_quiet",
        finished_at=datetime.now(UTC),
        msg_id=str(
            (await h.database[TEMPLATE_MSGS].find_one({"delivery_id": f"{push_id}:o_quiet"}))["_id"].split(":")[1]
        ),
        status="success",
    )
    assert await template_finished(h.worker.pushes, APPID, event)
    assert not await template_finished(h.worker.pushes, APPID, event)
    push = await h.push_doc(push_id)
    assert push["stats"]["total"]["delivered"] == 1


async def test_a_used_up_quota_pauses_the_push_until_it_resets(h: Harness) -> None:
    await members(h, [profile(f"o_q{i}", active_hours_ago=100) for i in range(4)])
    segment = await h.api.segments.create(APPID, "late pregnancy, formula", "", RULE)
    fault = {"api": "message/template/send", "errcode": 45009, "count": 1}
    assert (await h.sim.post(f"/sim/accounts/{APPID}/faults", json=fault)).status_code == 201
    push_id = await h.push("quota", segment.id)
    await h.send_all()

    push = await h.push_doc(push_id)
    assert push["status"] == "waiting_quota"
    assert push["resume_at"].replace(tzinfo=UTC) > datetime.now(UTC)
    sent_before = push["stats"]["total"].get("sent", 0)
    assert sent_before < 4

    await h.database["pushes"].update_one({"_id": push_id}, {"$set": {"resume_at": datetime.now(UTC)}})
    await h.send_all()
    push = await h.push_doc(push_id)
    assert push["status"] == "finished"
    assert push["stats"]["total"]["sent"] == 4
    for i in range(4):
        assert len([m for m in await h.inbox(f"o_q{i}") if m["channel"] == "template"]) == 1


async def test_transient_errors_are_retried_and_lasting_ones_recorded_with_their_code(h: Harness) -> None:
    await members(h, [profile("o_busy", active_hours_ago=100), profile("o_blocked", active_hours_ago=100)])
    segment = await h.api.segments.create(APPID, "late pregnancy, formula", "", RULE)
    # -1 twice (the client retries it itself, then the dispatcher), then 43004 for the next member.
    for fault in ({"api": "message/template/send", "errcode": -1, "count": 5},):
        assert (await h.sim.post(f"/sim/accounts/{APPID}/faults", json=fault)).status_code == 201
    push_id = await h.push("busy", segment.id)
    await h.send_all()
    push = await h.push_doc(push_id)
    assert push["status"] == "finished"
    assert push["stats"]["total"]["sent"] == 2  # both got there in the end


async def test_a_broadcast_goes_out_as_one_mass_send_by_tag_within_the_monthly_four(h: Harness) -> None:
    await members(
        h, [profile(f"o_m{i}", active_hours_ago=100) for i in range(4)] + [profile("o_m_left", following=False)]
    )
    month = datetime.now(BEIJING).strftime("%Y-%m")
    await h.database[MEMBER_SENDS].insert_one(
        {"_id": f"{APPID}:o_m3", "openid": "o_m3", "recent": [], "mass": {month: 4}}  # this month's four are used
    )
    segment = await h.api.segments.create(APPID, "late pregnancy, formula", "", RULE)
    variant = {"name": "A", "weight": 1, "message": {"kind": "text", "text": TEXT}}
    push_id = await h.push("broadcast", segment.id, broadcast=True, variants=[variant])
    await h.send_all()

    push = await h.push_doc(push_id)
    assert push["status"] == "sending" and push["mass"]["msg_id"] and push["cursor"]["done"]
    assert push["stats"]["total"]["queued"] == 3
    assert push["stats"]["total"]["skipped"] == {"unfollowed": 1, "mass_budget": 1}
    for i in range(3):
        [mass] = [m for m in await h.inbox(f"o_m{i}") if m["channel"] == "mass"]
        assert "/r/" in mass["payload"]["content"]
    assert not [m for m in await h.inbox("o_m3") if m["channel"] == "mass"]
    assert h.worker.dispatcher is not None
    assert await h.worker.dispatcher.run_once() is False  # waits for the job's end, not claimed again

    event = MassSendFinished(
        openid="mphelper", finished_at=datetime.now(UTC), msg_id=str(push["mass"]["msg_id"]), status="send success",
        total_count=3, filter_count=3, sent_count=3, error_count=0,
    )  # fmt: skip
    assert await mass_finished(h.worker.pushes, h.worker.sender, APPID, event)
    assert not await mass_finished(h.worker.pushes, h.worker.sender, APPID, event)
    push = await h.push_doc(push_id)
    assert push["status"] == "finished" and push["stats"]["total"]["sent"] == 3
    sent = await h.worker.pushes.deliveries_of(push_id, "sent")
    assert sorted(d["openid"] for d in sent) == ["o_m0", "o_m1", "o_m2"]


async def test_the_breakdown_foretells_the_send_and_test_sends_reach_testers_only(h: Harness) -> None:
    """The console's push use cases as the API builds them, over MongoDB and the simulator: the
    eligibility breakdown counts what the dispatcher then does, and a test send goes through the WeChat
    client to the testers (each variant, each channel) without becoming a delivery."""
    await members(
        h,
        [
            profile("o_active"),
            profile("o_quiet", active_hours_ago=100),
            profile("o_left", following=False),
            profile("o_no_consent", consent=False),
            profile("o_capped"),
        ],
        talk=("o_active", "o_capped"),
    )
    await h.database[MEMBER_SENDS].insert_one(
        {"_id": f"{APPID}:o_capped", "openid": "o_capped", "recent": [datetime.now(UTC) - timedelta(hours=3)]}
    )
    segment = await h.api.segments.create(APPID, "late pregnancy, formula", "", RULE)
    h.api.sender = h.worker.sender  # the API's own WeChat sender, over the simulator
    use = push_use_cases(h.api)
    variants = [
        Variant("A", 1, MessageContent("text", text=TEXT), template=TemplateContent("tpl_guide", {"first": "hi"}))
    ]
    draft = await use.create(
        APPID, name="guide", segment_id=segment.id, variants=variants, quiet_hours=None, draft=True
    )
    seen = await use.eligibility_of(APPID, draft["_id"])
    steps = {step["step"]: step["count"] for step in seen["steps"]}
    assert (steps["not_following"], steps["no_consent"], steps["capped"], steps["template_fallback"]) == (1, 1, 1, 1)
    assert seen["will_receive"] == 2 and seen["channels"] == {"customer_service": 1, "template": 1}

    await use.set_testers(APPID, [{"openid": "o_active", "label": "Ann"}, {"openid": "o_left", "label": "Bo"}])
    results = await use.test_send_of(APPID, draft["_id"], "op_1")
    assert [(r["openid"], r["channel"], r["ok"], r["errcode"]) for r in results] == [
        ("o_active", "customer_service", True, 0),
        ("o_active", "template", True, 0),
        ("o_left", "customer_service", False, 45015),
        ("o_left", "template", False, 43004),
    ]
    assert [m["msgtype"] for m in await h.inbox("o_active")] == ["text", "template"]
    assert await h.database[DELIVERIES].count_documents({}) == 0
    assert await h.database[TEST_SENDS].count_documents({"push_id": draft["_id"]}) == 4

    await use.send(APPID, draft["_id"])
    await h.send_all()
    total = (await h.push_doc(draft["_id"]))["stats"]["total"]
    assert total["sent"] == seen["will_receive"] and total["channels"] == seen["channels"]
    assert total["skipped"] == {"unfollowed": 1, "no_consent": 1, "frequency_cap": 1}
    [delivery] = await use.of_member(APPID, "o_active", 5)
    assert (delivery["push_id"], delivery["status"], delivery["channel"]) == (draft["_id"], "sent", "customer_service")
