"""Runs a :mod:`~tests.faults.scenario` against the real platform while injecting its faults.

The stack is the campaign stack of the e2e tests (gateway, members and campaigns workers and APIs,
the WeChat simulator) on a broker and a MongoDB-protocol server of its own, the latter keeping its data
on disk so that it can be restarted. Members act through the simulator, which signs and pushes to the
gateway and retries as the platform does; when it gives up (the gateway was down), the suite sends the
same signed push again until it is acknowledged. Afterwards the stores are compared with the model.

Plays the supervisor: a process it stopped or killed is started again. Nothing else is restarted:
a process that stops making progress by itself after a MongoDB or broker restart is a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import re
import signal
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from PIL import Image
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from scrm_dev.launcher import ServiceProcess
from scrm_dev.topics import read_records
from services.profiles.domain.mall_webhook import sign as sign_mall
from shared.contracts import WECHAT_PUSHES
from shared.localinfra import LocalInfrastructure, free_port
from tests.e2e.campaign_stack import APPID, BASE, MALL_SECRET, operator_token, platform_env, profiles_env, scrm
from tests.faults.scenario import DURING_SEND, KEYWORD, Expected, Fault, Scenario, Step

PROCESSES = (
    *("wechat-sim", "gateway", "members-worker", "members-api", "campaigns-worker", "campaigns-api"),
    *("profiles-worker", "profiles-public", "profiles-api", "segments-api", "segments-worker"),
)
#: The targeted push: members in late pregnancy (declared on the H5 page) who consented to marketing.
PUSH_RULE = {"stage_in": ["stage.pregnancy.late"]}
PUSH_TEXT = "孕晚期待产包清单"
COUPON = "20元券"
#: Members acting at once (each member's own pushes stay in order, in one lane).
LANES = 12
#: Two pushes of one member are at least this far apart: the platform's CreateTime has whole seconds,
#: and a follow's identity is (member, CreateTime, event): the same second would be the same push.
SAME_MEMBER_GAP_S = 1.1
#: How long the platform's sending of one push is repeated before the suite counts it refused.
PUSH_DEADLINE_S = 180.0
#: The stores are compared once they match the model, or once no consumer made progress for
#: ``STALL_S`` (a stall is a finding), or at the latest after this long: the campaigns worker renders a
#: poster for every new participant and falls minutes behind a long run on a busy machine.
SETTLE_TIMEOUT_S = 3600.0
STALL_S = 120.0
#: Pushes keep arriving while a fault is injected, but at most this many beyond its point before the
#: fault has begun: a restart takes seconds, pushing is faster, and each fault must land mid-stream.
FAULT_SLACK = 25


@dataclass
class Figures:
    seed: int
    pushes: int = 0
    retries: int = 0
    redelivered: int = 0
    refused: int = 0
    #: Messages a member wrote, beyond the scenario, because an invitation waited for her interaction.
    nudges: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    recovered: int = 0
    lost: int = 0
    doubled: int = 0
    #: What differed from the model (at most a few lines each).
    findings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    load: str = ""

    @property
    def injected(self) -> int:
        return sum(self.faults.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items()))
        lines = [
            f"fault-injection run, seed {self.seed}: {self.elapsed_s:.0f} s, load {self.load}",
            f"  pushes {self.pushes} acknowledged ({self.refused} refused), platform retries {self.retries}, "
            f"Kafka redeliveries {self.redelivered} records, nudges {self.nudges}",
            f"  faults injected {self.injected} ({kinds}), recovered {self.recovered}",
            f"  lost {self.lost}, doubled {self.doubled}",
        ]
        lines += [f"  ! {finding}" for finding in self.findings[:40]]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "pushes": self.pushes,
            "retries": self.retries,
            "redelivered": self.redelivered,
            "refused": self.refused,
            "nudges": self.nudges,
            "faults": dict(self.faults),
            "injected": self.injected,
            "recovered": self.recovered,
            "lost": self.lost,
            "doubled": self.doubled,
            "findings": self.findings,
            "elapsed_s": round(self.elapsed_s, 1),
            "load": self.load,
        }


def run(scenario: Scenario, workdir: Path, *, log: Callable[[str], None] = print) -> Figures:
    """Start the stack, play ``scenario`` with its faults, compare, stop everything; the figures."""
    started = time.monotonic()
    figures = Figures(scenario.seed)
    infra = LocalInfrastructure(
        workdir / "infra", kafka=("127.0.0.1", free_port()), mongodb=("127.0.0.1", free_port()), persistent=True
    )
    infra.up()
    stack: Stack | None = None
    try:
        stack = Stack(infra, workdir)
        stack.start()
        headers = {"Authorization": f"Bearer {operator_token(stack.env)}"}
        asyncio.run(_Driver(scenario, stack, headers, figures, log).play())
    finally:
        try:
            if stack is not None:
                stack.stop()
        finally:
            infra.down()  # even when interrupted while stopping the processes
    figures.elapsed_s = time.monotonic() - started
    figures.load = _load()
    return figures


class Stack:
    """The processes of one run, on fixed ports, restartable one by one."""

    def __init__(self, infra: LocalInfrastructure, workdir: Path) -> None:
        self.infra = infra
        self.logs = workdir / "logs"
        run_id = uuid.uuid4().hex[:8]
        self.database = f"faults_{run_id}"
        self.topic_prefix = f"f{run_id}."
        self.ports = {name: free_port() for name in PROCESSES}
        base = {
            "ENVIRONMENT": "test",
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "MONGODB_URL": infra.mongodb_url,
            "MONGODB_DATABASE": self.database,
            "TOPIC_PREFIX": self.topic_prefix,
            "LOG_FORMAT": "json",
            "KAFKA_SESSION_TIMEOUT_SECONDS": "3",
        }
        self.env = (
            platform_env(base, self.ports)
            | profiles_env(self.ports)
            | {
                "POSTER_CACHE_DIR": str(workdir / "posters"),
                "POSTER_WORKERS": "1",
                "SCREENSHOT_WORKERS": "1",
                # Click links lead to segments-public, which this run does not start: nobody clicks.
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{free_port()}",
                "CLICK_LINK_SECRET": "click-links-faults-0123",
                "POLL_SECONDS": "0.2",
                "SEND_RETRY_SECONDS": "0.05",
            }
        )
        self.processes: dict[str, ServiceProcess] = {}
        self._generation: Counter[str] = Counter()
        #: Exit codes of processes stopped with SIGTERM (each must be 0).
        self.stop_codes: list[tuple[str, int | None]] = []

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def _new(self, name: str) -> ServiceProcess:
        self._generation[name] += 1
        log = self.logs / f"{name}-{self._generation[name]}.log"
        return ServiceProcess(name, self.ports[name], self.env, log)

    def start(self) -> None:
        for name in PROCESSES:
            self.processes[name] = self._new(name)
            self.processes[name].start()
        for process in self.processes.values():
            process.wait_ready(timeout=120)

    def restart(self, name: str, *, kill: bool) -> None:
        """What a supervisor does after a crash (``kill``) or a stop: start the process again."""
        process = self.processes[name]
        if kill:
            process.kill()
        else:
            self.stop_codes.append((name, process.stop(timeout=60)))
        self.processes[name] = self._new(name)
        self.processes[name].start()
        self.processes[name].wait_ready(timeout=180)

    def stop(self) -> None:
        for name, process in reversed(self.processes.items()):
            self.stop_codes.append((name, process.stop(timeout=60)))

    def crash_server(self, name: str, down_for: float) -> None:
        """SIGKILL the broker or the MongoDB-protocol server, and start it again ``down_for`` s later."""
        pid = getattr(self.infra.status(), name).pid
        assert pid is not None, f"{name} is not ours to crash"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        self.infra.down(only=[name])  # reaps the child
        time.sleep(down_for)
        self.infra.up()


class _Driver:
    def __init__(
        self, scenario: Scenario, stack: Stack, headers: dict[str, str], figures: Figures, log: Callable[[str], None]
    ) -> None:
        self.scenario = scenario
        self.stack = stack
        self.headers = headers
        self.figures = figures
        self.log = log
        self.rng = random.Random(scenario.seed ^ 0x5EED)
        self.tickets: dict[str, str] = {}
        self.acknowledged = 0
        #: Whether rewards are compared yet (only once the credits were confirmed).
        self.rewards_due = False
        self.last_push: dict[str, float] = {}
        self.accepted: list[Step] = []
        self.started = time.monotonic()
        #: When each member's pushes were acknowledged and each fault ran (s since the start): what a
        #: difference is explained with.
        self.push_times: dict[str, list[str]] = {}
        self.fault_times: list[str] = []
        #: Whether the page answering a member's survey showed the coupon.
        self.coupon_shown: dict[str, bool] = {}
        #: Faults begun so far (pushes past the next one's point wait for it).
        self.faults_begun = 0
        self.gated = False

    async def play(self) -> None:
        async with (
            httpx.AsyncClient(base_url=self.stack.url("wechat-sim"), timeout=60) as self.sim,
            httpx.AsyncClient(base_url=self.stack.url("gateway"), timeout=30) as self.gateway,
            httpx.AsyncClient(base_url=self.stack.url("profiles-public"), timeout=30) as self.mall,
            httpx.AsyncClient(
                base_url=self.stack.url("segments-api"), headers=self.headers, timeout=60
            ) as self.segments,
            httpx.AsyncClient(
                base_url=self.stack.url("profiles-api"), headers=self.headers, timeout=60
            ) as self.profiles,
            httpx.AsyncClient(base_url=self.stack.url("campaigns-api"), headers=self.headers, timeout=60) as self.api,
            AsyncMongoClient[dict[str, Any]](self.stack.infra.mongodb_url, tz_aware=True) as mongo,
        ):
            self.db = mongo[self.stack.database]
            self.campaign_id = await self._set_up_campaign()
            self.survey_id = await self._set_up_survey()
            self.log(f"campaign {self.campaign_id}; {self.scenario.pushes} pushes, {len(self.scenario.faults)} faults")
            await self._lanes(self.scenario.setup)
            await self._learn_tickets()
            faults = asyncio.create_task(self._inject(self.scenario.faults))
            self.gated = True
            await self._lanes(self.scenario.steps)
            self.gated = False
            await faults
            self.figures.pushes = self.acknowledged
            expected = self.scenario.expected()
            await self._settle(expected)
            # Credits are pending for the 48-hour revocation window (verified_followers): confirm the
            # ones still standing as the worker's sweep would two days later, then compare the rewards.
            await self._confirm_credits()
            self.rewards_due = True
            await self._settle(expected)
            await self._flush_rewards(expected)
            await self._send_push(expected)
            await self._check_draws(expected)
            await self._check_recovered()

    # -- set-up ---------------------------------------------------------------------------------------
    async def _set_up_campaign(self) -> str:
        now = datetime.now(UTC)
        created = await self.api.post(
            BASE,
            json={
                "name": "故障演练邀请有礼",
                "starts_at": (now - timedelta(minutes=5)).isoformat(),
                "ends_at": (now + timedelta(days=7)).isoformat(),
                "join": {"follow_qr": True, "keywords": [KEYWORD]},
                "tiers": [{"count": 3, "pool": "A"}],
                "rules": {"revoke_if_unfollowed_within_hours": 48},
            },
        )
        assert created.status_code == 201, created.text
        campaign_id: str = created.json()["id"]
        buffer = io.BytesIO()
        Image.new("RGB", (750, 1334), (255, 240, 245)).save(buffer, format="PNG")
        uploaded = await self.api.post(
            f"{BASE}/{campaign_id}/template",
            files={"image": ("bg.png", buffer.getvalue(), "image/png")},
            data={"layout": json.dumps({"qr": {"x": 475, "y": 1059, "size": 240}, "text_slots": []})},
            headers={"If-Match": created.headers["etag"]},
        )
        assert uploaded.status_code in (200, 201), uploaded.text
        codes = len(self.scenario.expected().rewarded) + 5
        generated = await self.api.post(f"{BASE}/{campaign_id}/reward-pools/A/generate", json={"count": codes})
        assert generated.status_code == 201, generated.text
        version = (await self.api.get(f"{BASE}/{campaign_id}")).headers["etag"]
        activated = await self.api.post(f"{BASE}/{campaign_id}/activate", headers={"If-Match": version})
        assert activated.status_code == 200, activated.text
        return campaign_id

    async def _set_up_survey(self) -> str:
        """A survey with a lottery: one coupon, drawn with certainty while the stock lasts."""
        survey = {
            "title": "待产准备小调查",
            "questions": [
                {
                    "id": "care",
                    "kind": "multiple",
                    "text": "您关心哪些？",
                    "options": [
                        {"id": "bath", "label": "洗浴", "tags": ["interest.care.bath"]},
                        {"id": "toys", "label": "玩具", "tags": ["interest.toys"]},
                    ],
                }
            ],
            "prizes": [
                {"id": "c20", "name": COUPON, "kind": "coupon", "probability": 1.0, "stock": self.scenario.prize_stock}
            ],
        }
        created = await self.profiles.post(f"/accounts/{APPID}/surveys", json=survey)
        assert created.status_code == 201, created.text
        survey_id: str = created.json()["id"]
        published = await self.profiles.post(f"/accounts/{APPID}/surveys/{survey_id}/publish")
        assert published.status_code == 200, published.text
        return survey_id

    async def _learn_tickets(self) -> None:
        """Each inviter's poster code, as the simulator issued it to the campaign for that inviter."""

        async def known() -> bool:
            participants = {
                doc["openid"]: doc.get("qr_url")
                async for doc in self.db["campaign_participants"].find({"campaign_id": self.campaign_id})
            }
            issued = (await self.sim.get(f"/sim/accounts/{APPID}/qrcodes")).json()["qrcodes"]
            by_url = {code["url"]: code["ticket"] for code in issued}
            for inviter in self.scenario.inviters:
                url = participants.get(inviter)
                if url in by_url:
                    self.tickets[inviter] = by_url[url]
            return len(self.tickets) == len(self.scenario.inviters)

        await _eventually(known, "every inviter's poster code", within=240)

    # -- pushing --------------------------------------------------------------------------------------
    async def _lanes(self, steps: tuple[Step, ...]) -> None:
        lanes: list[list[Step]] = [[] for _ in range(LANES)]
        for step in steps:
            lanes[zlib.crc32(step.openid.encode()) % LANES].append(step)
        await asyncio.gather(*(self._lane(lane) for lane in lanes))

    async def _lane(self, steps: list[Step]) -> None:
        for step in steps:
            await self._push(step)

    async def _push(self, step: Step) -> None:
        faults = [fault for fault in self.scenario.faults if fault.after != DURING_SEND]
        while self.gated and self.faults_begun < len(faults):
            if self.acknowledged < faults[self.faults_begun].after + FAULT_SLACK:
                break
            await asyncio.sleep(0.1)
        wait = self.last_push.get(step.openid, 0.0) + SAME_MEMBER_GAP_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if step.action == "mall":
            await self._order(step)
            return
        if step.action == "h5":
            await self._h5(step)
            return
        if step.action == "survey":
            await self._survey(step)
            return
        body: dict[str, str] | None = None
        if step.action in ("follow", "scan") and step.via is not None:
            body = {"ticket": self.tickets[step.via]}
        elif step.action == "text":
            body = {"content": step.content}
        outcome = await self._act(step.openid, step.action, body)
        self.last_push[step.openid] = time.monotonic()
        if outcome is None:
            self.figures.refused += 1
            self.figures.findings.append(f"{step.action} of {step.openid} refused for {PUSH_DEADLINE_S:.0f} s")
            return
        params, signed = outcome
        if not await self._deliver(params, signed):
            self.figures.refused += 1
            self.figures.findings.append(f"{step.action} of {step.openid} never acknowledged")
            return
        self.acknowledged += 1
        self.accepted.append(step)
        self.push_times.setdefault(step.openid, []).append(f"{step.action}@{self._clock()}")
        if step.retried:
            # The platform did not see the answer in time and sends the same push again.
            self.figures.retries += 1
            await self._deliver(params, signed)

    async def _order(self, step: Step) -> None:
        """The mall reports an order through its webhook, retrying until it is accepted."""
        event = {
            "event_id": step.mall_event,
            "appid": APPID,
            "openid": step.openid,
            "type": "order",
            "category": step.category,
            "occurred_at": datetime.now(UTC).isoformat(),
            "amount": step.amount_fen / 100,
        }
        body = json.dumps(event, ensure_ascii=False).encode()
        for attempt in range(2 if step.retried else 1):
            if not await self._mall_post(body):
                self.figures.refused += 1
                self.figures.findings.append(f"mall order {step.mall_event} never accepted")
                return
            if attempt == 0:
                self.acknowledged += 1
                self.accepted.append(step)
            else:
                self.figures.retries += 1

    async def _h5(self, step: Step) -> None:
        """The member opens the H5 invitation the follow brought and declares a due date five weeks
        away (孕晚期), with consent to marketing."""

        async def link() -> str | None:
            inbox = (await self.sim.get(f"/sim/accounts/{APPID}/members/{step.openid}/inbox")).json()["messages"]
            texts = [m["payload"]["content"] for m in inbox if m["msgtype"] == "text"]
            found = [match.group(1) for text in texts if (match := re.search(r'href="([^"]+)"', text))]
            return found[0] if found else None

        url: str | None = None
        deadline = time.monotonic() + PUSH_DEADLINE_S
        while url is None:
            try:
                url = await _eventually(link, f"the H5 invitation of {step.openid}", within=20)
            except AssertionError as exc:
                if time.monotonic() > deadline:
                    self.figures.refused += 1
                    self.figures.findings.append(str(exc)[:200])
                    return
                # Sent after the window of her follow had closed, the invitation waits for her next
                # interaction (docs/profiles.md): she writes, as a member would.
                await self._act(step.openid, "text", {"content": "链接呢"})
                self.figures.nudges += 1
        due = (datetime.now(UTC) + timedelta(weeks=5)).date().isoformat()
        form = f"basis=due_date&on={due}&interests=interest.toys&marketing=yes&data_use=yes".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for attempt in range(2 if step.retried else 1):
            deadline = time.monotonic() + PUSH_DEADLINE_S
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    answer = await self.mall.post(url, content=form, headers=headers)
                    if answer.status_code == 200 and "提交成功" in answer.text:
                        break
                    if answer.status_code < 500:
                        raise AssertionError(f"the H5 page refused {step.openid}: {answer.text[:300]}")
                if time.monotonic() > deadline:
                    self.figures.refused += 1
                    self.figures.findings.append(f"the H5 form of {step.openid} never accepted")
                    return
                await asyncio.sleep(0.5)
            if attempt == 0:
                self.acknowledged += 1
                self.accepted.append(step)
            else:
                self.figures.retries += 1

    async def _survey(self, step: Step) -> None:
        """The member opens her survey link and answers; a retried step sends the answers again."""
        path = f"/accounts/{APPID}/surveys/{self.survey_id}/link"
        url = ""
        deadline = time.monotonic() + PUSH_DEADLINE_S
        while not url and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                answer = await self.profiles.get(path, params={"openid": step.openid})
                if answer.status_code == 200:
                    url = answer.json()["url"]
                    break
            await asyncio.sleep(0.5)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for attempt in range(2 if step.retried else 1):
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    answered = await self.mall.post(url, content=b"care=bath&care=toys", headers=headers)
                    if answered.status_code == 200:
                        if attempt == 0:
                            self.coupon_shown[step.openid] = COUPON in answered.text
                        break
                    if answered.status_code < 500:
                        raise AssertionError(f"the survey refused {step.openid}: {answered.text[:300]}")
                if not url or time.monotonic() > deadline:
                    self.figures.refused += 1
                    self.figures.findings.append(f"the survey answers of {step.openid} never accepted")
                    return
                await asyncio.sleep(0.5)
            if attempt == 0:
                self.acknowledged += 1
                self.accepted.append(step)
            else:
                self.figures.retries += 1

    async def _check_draws(self, expected: Expected) -> None:
        """One draw per answerer; exactly the stock won; one coupon message per winner, none to others."""
        if not expected.survey:
            return
        draws: Counter[str] = Counter()
        winners: set[str] = set()
        async for doc in self.db["survey_draws"].find({"survey_id": self.survey_id}):
            draws[doc["openid"]] += 1
            if doc.get("prize_id"):
                winners.add(doc["openid"])
        want_winners = min(expected.prize_stock, len(expected.survey))
        pairs = [
            ("survey draws", len(expected.survey), sum(draws.values())),
            ("coupons won", want_winners, len(winners)),
        ]
        for what, want, have in pairs:
            if have != want:
                self.figures.findings.append(f"{what}: expected {want}, found {have}")
                self.figures.lost += max(0, want - have)
                self.figures.doubled += max(0, have - want)
        for openid in set(draws) - expected.survey:
            self.figures.findings.append(f"{openid} drew without answering")
            self.figures.doubled += 1

        async def messages(openid: str) -> int:
            inbox = (await self.sim.get(f"/sim/accounts/{APPID}/members/{openid}/inbox")).json()["messages"]
            return sum(COUPON in json.dumps(m["payload"], ensure_ascii=False) for m in inbox)

        # The result is shown on the page and sent as a message when the member's window is open
        # (docs/profiles.md): each winner sees the coupon at least once, nobody gets two messages.
        await asyncio.sleep(3)
        for openid in sorted(expected.survey):
            sent, shown, won = await messages(openid), self.coupon_shown.get(openid, False), openid in winners
            if won and not (sent or shown):
                self.figures.findings.append(f"{openid} won a coupon but neither saw nor received it")
                self.figures.lost += 1
            if (not won and (sent or shown)) or sent > 1:
                self.figures.findings.append(f"{openid} (won: {won}) saw it: {shown}, {sent} coupon messages")
                self.figures.doubled += max(1, sent - 1)

    async def _mall_post(self, body: bytes) -> bool:
        deadline = time.monotonic() + PUSH_DEADLINE_S
        while time.monotonic() < deadline:
            now = int(time.time())
            headers = {"X-Mall-Timestamp": str(now), "X-Mall-Signature": sign_mall(MALL_SECRET.encode(), now, body)}
            try:
                response = await self.mall.post("/events/mall/bulk", content=body, headers=headers)
                if response.status_code == 202:
                    return True
                if response.status_code < 500:
                    raise AssertionError(f"the mall webhook refused {body!r}: {response.text}")
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
        return False

    async def _act(self, openid: str, action: str, body: dict[str, str] | None) -> tuple[dict[str, str], bytes] | None:
        """The member acts on the platform: the signed push it made (acknowledged or not)."""
        path = f"/sim/accounts/{APPID}/members/{openid}/{action}"
        deadline = time.monotonic() + PUSH_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                response = await self.sim.post(path, json=body)
            except httpx.HTTPError:
                await asyncio.sleep(1)
                continue
            if response.status_code != 200:
                raise AssertionError(f"the simulator refused {action} of {openid}: {response.text}")
            outcome = response.json()
            return outcome["params"], outcome["body"].encode()
        return None

    async def _deliver(self, params: dict[str, str], body: bytes) -> bool:
        """POST one signed push until the gateway acknowledges it (the platform's retries, stretched)."""
        deadline = time.monotonic() + PUSH_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                response = await self.gateway.post(f"/wechat/{APPID}", params=params, content=body)
                if response.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
        return False

    # -- faults ---------------------------------------------------------------------------------------
    async def _inject(self, faults: tuple[Fault, ...]) -> None:
        for fault in faults:
            if fault.after == DURING_SEND:
                continue
            while self.acknowledged < fault.after and not self._lanes_done():  # noqa: ASYNC110  (many lanes count)
                await asyncio.sleep(0.1)
            self.log(f"fault at {self.acknowledged} acknowledged pushes: {fault.kind} {fault.target}".rstrip())
            self.faults_begun += 1
            began = self._clock()
            await self._fault(fault)
            self.fault_times.append(f"{fault.kind} {fault.target}@{began}-{self._clock()}".replace(" @", "@"))
            self.figures.faults[fault.kind] += 1
            if await self._all_ready(within=180):
                self.figures.recovered += 1
            else:
                self.figures.findings.append(f"not every process ready again after {fault.kind} {fault.target}")

    def _clock(self) -> str:
        return f"{time.monotonic() - self.started:.1f}s"

    def _lanes_done(self) -> bool:
        return self.acknowledged + self.figures.refused >= self.scenario.pushes

    async def _fault(self, fault: Fault) -> None:
        stack = self.stack
        if fault.kind == "mongodb_restart":
            await asyncio.to_thread(stack.crash_server, "mongodb", 3.0)
        elif fault.kind == "broker_restart":
            await asyncio.to_thread(stack.crash_server, "kafka", 5.0)
        elif fault.kind in ("worker_sigkill", "worker_sigterm"):
            # Mid-batch: the worker has records in hand while pushes keep arriving.
            await asyncio.to_thread(stack.restart, fault.target, kill=fault.kind == "worker_sigkill")
        elif fault.kind == "gateway_restart":
            await asyncio.to_thread(stack.restart, "gateway", kill=self.rng.random() < 0.5)
        elif fault.kind == "redelivery":
            self.figures.redelivered += await self._redeliver()

    async def _redeliver(self) -> int:
        """What a consumer sees after a rebalance before its commit: records it has handled, again."""
        topic = WECHAT_PUSHES.physical_name(self.stack.topic_prefix)
        # Every push acknowledged so far is a record (a retry is not: the gateway answers it from its
        # ledger); a durable broker takes seconds to serve a topic from the start.
        bootstrap = self.stack.infra.kafka_bootstrap
        records = await read_records(bootstrap, topic, at_least=self.acknowledged * 9 // 10, within=30)
        chosen = [record for record in records if self.rng.random() < 0.3]
        producer = AIOKafkaProducer(
            bootstrap_servers=self.stack.infra.kafka_bootstrap, acks="all", enable_idempotence=False
        )
        await producer.start()
        try:
            for record in chosen:
                await producer.send_and_wait(topic, record.value, key=record.key, headers=list(record.headers))
        finally:
            await producer.stop()
        return len(chosen)

    # -- checking -------------------------------------------------------------------------------------
    async def _settle(self, expected: Expected) -> None:
        """Wait until the stores match the model, or until neither they nor the consumers' progress
        (their processed-event claims) changed for ``STALL_S``; then count what differs."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        last: tuple[object, ...] = ()
        unchanged_since = reported = time.monotonic()
        while time.monotonic() < deadline:
            try:
                lost, doubled, findings = await self._compare(expected)
                claims = await self.db["processed_events"].estimated_document_count()
            except PyMongoError:
                await asyncio.sleep(1)
                continue
            if lost == 0 and doubled == 0:
                break
            current = (lost, doubled, claims)
            if time.monotonic() - reported > 30:
                self.log(f"settling at {self._clock()}: lost {lost}, doubled {doubled}, claims {claims}")
                reported = time.monotonic()
            if current != last:
                last, unchanged_since = current, time.monotonic()
            elif time.monotonic() - unchanged_since > STALL_S:
                self.figures.findings.append(f"no consumer made progress for {STALL_S:.0f} s")
                break
            await asyncio.sleep(2)
        await asyncio.sleep(3)  # anything doubled late would show now
        self.figures.lost, self.figures.doubled, findings = await self._compare(expected)
        self.figures.findings += findings
        if findings:
            # What happened around the members concerned: their pushes and the faults, on one clock.
            words = {word for line in findings for word in line.replace(":", " ").split()}
            named = sorted(words & set(self.push_times) - set(self.scenario.inviters))
            self.figures.findings += [f"{openid} pushed {' '.join(self.push_times[openid])}" for openid in named[:10]]
            self.figures.findings.append("faults " + ", ".join(self.fault_times))
            self.figures.findings.append(f"settled after {self._clock()}")

    async def _compare(self, expected: Expected) -> tuple[int, int, list[str]]:
        lost = doubled = 0
        findings: list[str] = []

        def differ(what: str, want: int, have: int) -> None:
            nonlocal lost, doubled
            if have < want:
                lost += want - have
                findings.append(f"{what}: expected {want}, found {have}")
            elif have > want:
                doubled += have - want
                findings.append(f"{what}: expected {want}, found {have}")

        members = {doc["openid"]: doc async for doc in self.db["members"].find({"appid": APPID})}
        for openid, count in expected.follow_count.items():
            doc = members.get(openid, {})
            differ(f"follows of {openid}", count, int(doc.get("follow_count", 0)))
            if doc and bool(doc.get("following")) != expected.following[openid]:
                lost += 1
                findings.append(f"{openid} following={doc.get('following')}, expected {expected.following[openid]}")
        for openid in set(members) - set(expected.follow_count):
            doubled += 1
            findings.append(f"member {openid} recorded but never followed")

        invitations = {
            doc["invitee"]: (doc["inviter"], doc["status"])
            async for doc in self.db["campaign_invitations"].find({"campaign_id": self.campaign_id})
        }
        for invitee, want in expected.invitations.items():
            have = invitations.get(invitee)
            if have != want:
                lost += 1
                findings.append(f"invitation of {invitee}: expected {want}, found {have}")
        for invitee in set(invitations) - set(expected.invitations):
            doubled += 1
            findings.append(f"invitation of {invitee} credited to {invitations[invitee][0]} unexpectedly")

        credited = expected.credited
        async for doc in self.db["campaign_participants"].find({"campaign_id": self.campaign_id}):
            if doc["openid"] in self.scenario.inviters:
                differ(f"credits of {doc['openid']}", credited[doc["openid"]], int(doc.get("credited", 0)))

        rejections: Counter[str] = Counter()
        async for doc in self.db["campaign_rejections"].find({"campaign_id": self.campaign_id}):
            rejections[doc["reason"]] += 1
        for reason in set(rejections) | set(expected.rejections):
            differ(f"rejections {reason}", expected.rejections[reason], rejections[reason])

        spend: Counter[str] = Counter()
        async for doc in self.db["profiles"].find({"appid": APPID}, {"openid": 1, "spend_by_month": 1}):
            spend[doc["openid"]] = sum(doc.get("spend_by_month", {}).values())
        mall: Counter[str] = Counter()
        async for doc in self.db["profile_history"].find({"appid": APPID, "kind": "mall_event"}, {"openid": 1}):
            mall[doc["openid"]] += 1
        for openid in set(mall) | set(expected.mall_events):
            differ(f"mall orders of {openid}", expected.mall_events[openid], mall[openid])
            differ(f"spend of {openid} (fen)", expected.spend_fen[openid], spend[openid])

        if not self.rewards_due:
            return lost, doubled, findings
        rewards: Counter[str] = Counter()
        async for doc in self.db["campaign_rewards"].find({"campaign_id": self.campaign_id, "tier": {"$gt": 0}}):
            rewards[doc["inviter"]] += 1
        for inviter in set(rewards) | expected.rewarded:
            differ(f"rewards of {inviter}", int(inviter in expected.rewarded), rewards[inviter])
        return lost, doubled, findings

    async def _confirm_credits(self) -> None:
        """``scrm campaigns confirm-credits --as-of`` two days on, with the campaigns worker's settings."""
        as_of = (datetime.now(UTC) + timedelta(hours=49)).isoformat()
        args = ("campaigns", "confirm-credits", "--as-of", as_of)
        done = await asyncio.to_thread(scrm, *args, env=self.stack.env, cwd=self.stack.logs)
        if done.returncode != 0:
            self.figures.findings.append(f"confirm-credits failed: {(done.stderr or done.stdout)[-300:]}")
        else:
            self.log(f"credits confirmed as of {as_of}: {done.stdout.strip()[-200:]}")

    async def _flush_rewards(self, expected: Expected) -> None:
        """Rewarded inviters write to the account, which sends what waited for their window: each gets
        exactly one reward code, and no code goes to two of them."""
        for inviter in sorted(expected.rewarded):
            await self._push(Step(inviter, "text", content="进度"))

        async def codes_out() -> dict[str, list[str]] | None:
            received: dict[str, list[str]] = {}
            for inviter in sorted(expected.rewarded):
                inbox = (await self.sim.get(f"/sim/accounts/{APPID}/members/{inviter}/inbox")).json()["messages"]
                texts = [m["payload"]["content"] for m in inbox if m["msgtype"] == "text"]
                received[inviter] = [text for text in texts if "奖励券码" in text]
            return received if all(received.values()) else None

        try:
            received = await _eventually(codes_out, "a reward code for every rewarded inviter", within=120)
        except AssertionError as exc:
            self.figures.lost += 1
            self.figures.findings.append(str(exc)[:300])
            return
        await asyncio.sleep(3)
        received = await codes_out() or received
        allocated = await self.db["reward_codes"].count_documents({"campaign_id": self.campaign_id, "allocated": True})
        for inviter, messages in received.items():
            if len(messages) > 1:
                self.figures.doubled += len(messages) - 1
                self.figures.findings.append(f"{inviter} got {len(messages)} reward messages")
        if allocated != len(expected.rewarded):
            self.figures.findings.append(f"{allocated} reward codes allocated for {len(expected.rewarded)} rewards")
            if allocated > len(expected.rewarded):
                self.figures.doubled += allocated - len(expected.rewarded)
            else:
                self.figures.lost += len(expected.rewarded) - allocated

    async def _send_push(self, expected: Expected) -> None:
        """An operator pushes to the segment of the H5 audience; the segments worker is killed while
        it sends. Each member of the audience gets the message exactly once, nobody else gets it."""
        if not expected.audience:
            return

        async def indexed() -> bool:
            preview = await self.segments.post(f"/accounts/{APPID}/segments/preview", json={"rule": PUSH_RULE})
            return bool(preview.status_code == 200 and preview.json()["size"] == len(expected.audience))

        try:
            await _eventually(indexed, "the audience in the segments' live index", within=180)
        except AssertionError as exc:
            self.figures.lost += 1
            self.figures.findings.append(str(exc)[:300])
            return
        created = await self.segments.post(f"/accounts/{APPID}/segments", json={"name": "孕晚期", "rule": PUSH_RULE})
        assert created.status_code == 201, created.text
        # A member whose window closed (a follow opens one for a minute only) gets the template instead.
        template = {"template_id": "tpl_list", "data": {"thing1": PUSH_TEXT}, "url": "https://brand.example/list"}
        variant = {"name": "A", "weight": 100, "message": {"kind": "text", "text": PUSH_TEXT}, "template": template}
        body = {"name": PUSH_TEXT, "segment_id": created.json()["id"], "variants": [variant], "quiet_hours": None}
        made = await self.segments.post(f"/accounts/{APPID}/pushes", json=body)
        assert made.status_code == 201, made.text
        push = f"/accounts/{APPID}/pushes/{made.json()['id']}"

        async def state() -> dict[str, Any]:
            answer: dict[str, Any] = (await self.segments.get(push)).json()
            return answer

        for fault in (f for f in self.scenario.faults if f.after == DURING_SEND):
            # Mid-send: once the first deliveries went out (or at once, for a small audience).
            with contextlib.suppress(AssertionError):
                await _eventually(
                    lambda: _sent_some(state), "the first deliveries", within=60 if len(expected.audience) > 4 else 0
                )
            self.log(f"fault while the push is sent: {fault.kind} {fault.target}")
            began = self._clock()
            await asyncio.to_thread(self.stack.restart, fault.target, kill=fault.kind == "worker_sigkill")
            self.fault_times.append(f"{fault.kind} {fault.target}@{began}-{self._clock()}")
            self.figures.faults[fault.kind] += 1
            if await self._all_ready(within=180):
                self.figures.recovered += 1

        async def finished() -> dict[str, Any] | None:
            current = await state()
            return current if current["status"] == "finished" else None

        try:
            done = await _eventually(finished, "the push finished", within=300)
        except AssertionError as exc:
            self.figures.lost += len(expected.audience)
            self.figures.findings.append(str(exc)[:300])
            return
        sent = int(done["stats"]["total"].get("sent", 0))
        if sent != len(expected.audience):
            self.figures.findings.append(
                f"push sent {sent} for an audience of {len(expected.audience)}: {done['stats']}"
            )
            if sent < len(expected.audience):
                self.figures.lost += len(expected.audience) - sent
            else:
                self.figures.doubled += sent - len(expected.audience)
        await asyncio.sleep(2)
        for openid in sorted(expected.audience):
            inbox = (await self.sim.get(f"/sim/accounts/{APPID}/members/{openid}/inbox")).json()["messages"]
            got = sum(PUSH_TEXT in json.dumps(m["payload"], ensure_ascii=False) for m in inbox)
            if got != 1:
                self.figures.findings.append(f"{openid} received the push {got} times")
                if got == 0:
                    self.figures.lost += 1
                else:
                    self.figures.doubled += got - 1

    async def _all_ready(self, within: float) -> bool:
        """Every process is running and ready (none restarted but by the suite, after its own fault)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=5) as client:
            for name, process in self.stack.processes.items():
                while True:
                    if not process.running():
                        self.figures.findings.append(f"{name} exited by itself: {process.log_tail(5)}")
                        return False
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{self.stack.url(name)}/readyz")).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        return False
                    await asyncio.sleep(1)
        return True

    async def _check_recovered(self) -> None:
        """At the end too: every process ready, and every one the suite stopped had stopped cleanly."""
        if not await self._all_ready(within=60):
            self.figures.findings.append("not every process ready at the end")
            self.figures.recovered = min(self.figures.recovered, self.figures.injected - 1)
        unclean = [f"{name} exited {code}" for name, code in self.stack.stop_codes if code != 0]
        self.figures.findings += [f"unclean stop: {line}" for line in unclean]


async def _sent_some(state: Callable[[], Awaitable[dict[str, Any]]]) -> bool:
    current = await state()
    return bool(current["stats"]["total"].get("sent", 0)) or current["status"] == "finished"


async def _eventually(check: Callable[[], Awaitable[Any]], what: str, within: float) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, PyMongoError):
            last = await check()
            if last:
                return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}")


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


__all__ = ["Figures", "Stack", "run"]
