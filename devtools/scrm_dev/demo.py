"""``scrm demo``: the platform end to end on local infrastructure, with a readable summary.

It starts (or reuses) Tansu and SecantusDB, starts every service as its own process on free ports,
plays a scenario through the real webhook, waits for the results to show up in the read API,
prints them, and stops everything it started. Each run gets fresh topics and a fresh database.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scrm.identity_cli import open_directory, provision_operator
from scrm.processes import PROCESSES
from scrm_dev import pushes
from scrm_dev.demo_campaign import run_campaign
from scrm_dev.demo_graph import GraphRun, run_graph
from scrm_dev.demo_profiles import run_profiles
from scrm_dev.demo_segments import run_segments
from scrm_dev.demo_value import (
    Check,
    DemoProject,
    Truth,
    ValueRun,
    beijing_today,
    create_demo_project,
    wait_for_dashboards,
)
from scrm_dev.launcher import ProcessFailed
from scrm_dev.stack import DEMO_APPID, DEMO_SECRET, Stack, local_stack
from scrm_dev.topics import read_records
from services.gateway.adapters.replies import RULES
from services.profiles.settings import ProfilesSettings
from shared.contracts import DEADLETTER, WECHAT_PUSHES
from shared.localinfra import InfraError
from shared.observability import configure_logging
from shared.settings import ServiceSettings, SettingsError, load_settings
from shared.wechat_client import MongoTokenStore, Text, WeChatApiConfig, WeChatClient

_RESULT_TIMEOUT_S = 90.0
_IN_FLIGHT = 16
POSTER_REPLY = "你的专属海报马上就到"


@dataclass
class Tally:
    pushes_sent: int = 0
    pushes_accepted: int = 0
    pushes_rejected: int = 0
    duplicate_deliveries: int = 0
    qr_follows: int = 0
    passive_replies: int = 0
    customer_service_messages: int = 0
    poison_messages: int = 0
    operator_token_ok: bool = False
    ack_ms: list[float] = field(default_factory=list)
    replayable: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


#: Summary entries that are mappings, printed in the JSON line beside the counts.
_JSON_MAPPINGS = frozenset({"tags_by_stage", "segments", "poster_variants"})


def run_demo(console: Console, state_dir: Path, *, members: int, json_output: bool) -> bool:
    try:
        settings = load_settings(ServiceSettings)
    except SettingsError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return False
    # The demo's own clients log through the same setup as the services; only problems are worth a line.
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    summary: dict[str, object] = {}
    ok = False
    try:
        with local_stack(console, settings, state_dir, "demo") as stack:
            summary = asyncio.run(play_scenario(console, stack, members=members))
            ok = bool(summary.pop("ok"))
    except (InfraError, ProcessFailed) as exc:
        console.print(f"[red]demo failed:[/red] {escape(str(exc))}")
    if summary:
        print_summary(console, summary, ok)
    if json_output:
        counts = {k: v for k, v in summary.items() if isinstance(v, int) or k in _JSON_MAPPINGS}
        print(json.dumps({"ok": ok, **counts}, ensure_ascii=False))  # noqa: T201
    return ok


async def demo_operator_token(stack: Stack) -> str:
    """The demo's own admin and its API token, made the way `scrm operators create` and `scrm tokens
    create` make them (the same stores); its password is random and never shown: it signs in with
    the token only."""
    settings = stack.settings.model_copy(update={"mongodb_database": stack.database})
    async with open_directory(settings) as directory:
        token = await provision_operator(
            directory,
            "demo-admin",
            password=secrets.token_urlsafe(24),
            grants=[("admin", "*")],
            label="scrm demo",
        )
    assert token is not None
    return token


async def play_scenario(console: Console, stack: Stack, *, members: int) -> dict[str, object]:
    """Members act on the simulated platform, which pushes to the gateway in safe mode; the platform
    API (through our client) issues the QR code and sends a customer-service message. Every call to
    an operator API carries the demo operator's token.

    It leaves the stack running with the data it made (``scrm demo`` then stops it, ``scrm up`` keeps
    it); the summary's ``ok`` says whether every count came out as expected."""
    kafka, prefix = stack.settings.kafka_bootstrap_servers, stack.topic_prefix
    tally = Tally()
    sim, gateway, members_api = stack.url("wechat-sim"), stack.url("gateway"), stack.url("members-api")
    operator = {"Authorization": f"Bearer {await demo_operator_token(stack)}"}
    async with httpx.AsyncClient(base_url=stack.url("identity-api"), headers=operator, timeout=10.0) as identity:
        me = await identity.get("/auth/me")
        tally.operator_token_ok = me.status_code == 200 and me.json().get("name") == "demo-admin"
    openids = [f"o_demo_{i:05d}" for i in range(members)]
    leavers = [openid for i, openid in enumerate(openids) if i % 5 == 4]

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.settings.mongodb_url.get_secret_value())
    database = mongo[stack.database]
    await database[RULES].insert_one(
        {"appid": DEMO_APPID, "trigger": "keyword", "match": "海报", "reply_type": "text", "content": POSTER_REPLY}
    )
    api = WeChatClient(
        DEMO_APPID,
        DEMO_SECRET,
        token_store=MongoTokenStore(database),
        config=WeChatApiConfig(base_url=sim, qr_image_base_url=sim),
    )
    try:
        async with httpx.AsyncClient(base_url=sim, timeout=30.0) as platform:
            qr = await api.create_qrcode("poster-launch", expire_seconds=3600)

            async def act(openid: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
                started = time.perf_counter()
                response = await platform.post(f"/sim/accounts/{DEMO_APPID}/members/{openid}/{action}", json=body)
                tally.ack_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                outcome: dict[str, Any] = response.json()
                tally.pushes_sent += 1
                tally.pushes_accepted += bool(outcome["acknowledged"])
                return outcome

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("members follow (half through the poster QR)", total=members)
                gate = asyncio.Semaphore(_IN_FLIGHT)

                async def follow(i: int, openid: str) -> None:
                    async with gate:
                        outcome = await act(openid, "follow", {"ticket": qr.ticket} if i % 2 == 0 else {})
                    tally.qr_follows += i % 2 == 0
                    if i < 5:
                        tally.replayable.append((outcome["params"], outcome["body"].encode()))
                    progress.advance(task)

                await asyncio.gather(*(follow(i, openid) for i, openid in enumerate(openids)))
                task = progress.add_task("unfollows", total=len(leavers))
                for openid in leavers:
                    await act(openid, "unfollow")
                    progress.advance(task)

            # A keyword gets a passive reply, encrypted back to the platform in safe mode.
            answered = await act(openids[0], "text", {"content": "海报"})
            tally.passive_replies += answered["reply"] is not None
            # The text opened the 48-hour window: a customer-service message through the real API client.
            await api.send_custom_message(openids[0], Text(content="宝妈你好，孕期礼包已为你预留"))
            inbox = (await platform.get(f"/sim/accounts/{DEMO_APPID}/members/{openids[0]}/inbox")).json()
            tally.customer_service_messages = sum(
                1 for m in inbox["messages"] if m["channel"] == "custom" and "孕期礼包" in str(m["payload"])
            )

            # Profiles: followers open the H5 link they were sent; the mall reports what some buy.
            with console.status("member profiles: the H5 interest page and mall events..."):
                # Members' browsers and the mall reach the public process, without operator credentials.
                async with (
                    httpx.AsyncClient(
                        base_url=stack.url("profiles-api"), headers=operator, timeout=30.0
                    ) as profiles_api,
                    httpx.AsyncClient(base_url=stack.url("profiles-public"), timeout=30.0) as profiles_public,
                ):
                    following = [openid for openid in openids if openid not in leavers]
                    secret = load_settings(ProfilesSettings).mall_webhook_secret.get_secret_value().encode()
                    profiled = await run_profiles(platform, profiles_api, profiles_public, following, secret)

            # Segments over those profiles, and a targeted push to the 孕晚期 members who like 奶粉,
            # composed for a brand's project (its target: twice the segment).
            projects: list[DemoProject] = []
            with console.status("a brand project, segments and a targeted push for it..."):
                segments_url, brands_url = stack.url("segments-api"), stack.url("brands")
                async with (
                    httpx.AsyncClient(base_url=segments_url, headers=operator, timeout=30.0) as segments_api,
                    httpx.AsyncClient(base_url=brands_url, headers=operator, timeout=30.0) as brands_api,
                ):

                    async def project_for(segment_size: int) -> str:
                        today = beijing_today(datetime.now(UTC))
                        projects.append(await create_demo_project(brands_api, segment_size, today))
                        return projects[-1].project_id

                    segmented = await run_segments(segments_api, platform, database, project_for)

            # The share-poster campaign: seeds join, share, invite; some cheat.
            with console.status("share-poster campaign: members join, share their posters, invite friends..."):
                async with httpx.AsyncClient(
                    base_url=stack.url("campaigns-api"), headers=operator, timeout=30.0
                ) as campaigns_api:
                    campaign = await run_campaign(platform, campaigns_api, api, seeds=max(2, members // 2))

        async with httpx.AsyncClient(base_url=gateway, timeout=10.0) as client:
            # The platform retries a push it got no answer for: the same signed request again.
            for params, body in tally.replayable:
                response = await client.post(f"/wechat/{DEMO_APPID}", params=params, content=body)
                tally.duplicate_deliveries += 1
                tally.pushes_sent += 1
                tally.pushes_accepted += response.status_code == 200
            # A forged push: wrong signature, refused before anything is published.
            now = int(time.time())
            forged = pushes.sign("not-the-token", pushes.follow("o_intruder", now), timestamp=now, openid="o_intruder")
            response = await client.post(f"/wechat/{DEMO_APPID}", params=forged.params, content=forged.body)
            tally.pushes_sent += 1
            tally.pushes_rejected += response.status_code == 403
    finally:
        await api.aclose()
        await mongo.close()

    # A poison record straight onto the topic: the worker must park it, not choke on it.
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(WECHAT_PUSHES.physical_name(prefix), b"{not an envelope", key=b"poison")
        tally.poison_messages = 1
    finally:
        await producer.stop()

    expected_members = members + campaign.new_members
    expected_following = members - len(leavers) + campaign.still_following
    with console.status("waiting for the worker to catch up..."):
        counts = await _wait_for_counts(members_api, operator, expected_members, expected_following)
        # Every worker consuming the pushes topic parks the poison record on its own.
        pushes_consumers = sum(1 for spec in PROCESSES.values() if WECHAT_PUSHES.name in spec.consumes)
        expected_parked = tally.poison_messages * pushes_consumers
        parked = await read_records(
            kafka, DEADLETTER.physical_name(prefix), at_least=expected_parked, within=_RESULT_TIMEOUT_S
        )
        deadlettered = len(parked)
    truth = Truth(
        members=counts.get("members", 0),
        following=counts.get("following", 0),
        unfollowed=counts.get("unfollowed", 0),
        campaign_id=campaign.campaign_id,
        campaign_stats=campaign.stats,
        push_id=segmented.push_id,
        segment_id=segmented.segment_id,
        project_id=projects[0].project_id,
        push_sent=segmented.sent,
        push_clicks=segmented.clicks,
        members_tagged=int(profiled.stats.get("tagged", 0)),
    )
    with console.status("waiting for the dashboards (analytics rollups, project counters) to catch up..."):
        async with (
            httpx.AsyncClient(base_url=stack.url("analytics"), headers=operator, timeout=10.0) as analytics_api,
            httpx.AsyncClient(base_url=stack.url("brands"), headers=operator, timeout=10.0) as brands_api,
            httpx.AsyncClient(base_url=stack.url("profiles-api"), headers=operator, timeout=10.0) as profiles_api,
        ):
            value = await wait_for_dashboards(analytics_api, brands_api, profiles_api, truth)
    # After every count above was taken (they are of the main campaign): an A/B poster campaign and a ring.
    with console.status("poster A/B variants and a referral ring across campaigns..."):
        graph_run = await _run_graph(stack, operator)
    ok = (
        tally.operator_token_ok
        and campaign.ok
        and profiled.ok
        and segmented.ok
        and counts.get("members") == expected_members
        and counts.get("following") == expected_following
        and deadlettered == expected_parked
        and tally.pushes_rejected == 1
        and tally.pushes_accepted == tally.pushes_sent - 1
        and tally.passive_replies == 1
        and tally.customer_service_messages == 1
        and value.ok
        and graph_run.ok
    )
    latencies = sorted(tally.ack_ms)
    return {
        "ok": ok,
        "webhook_pushes_sent": tally.pushes_sent,
        "webhook_pushes_accepted": tally.pushes_accepted,
        "webhook_pushes_rejected": tally.pushes_rejected,
        "duplicate_deliveries": tally.duplicate_deliveries,
        "qr_follows": tally.qr_follows,
        "members": counts.get("members", 0),
        "following": counts.get("following", 0),
        "unfollowed": counts.get("unfollowed", 0),
        "passive_replies": tally.passive_replies,
        "customer_service_messages": tally.customer_service_messages,
        "deadlettered": deadlettered,
        "followers": counts.get("following", 0),
        "posters_sent": campaign.stats.get("posters_sent", 0),
        "invites_credited": campaign.stats.get("invites_credited", 0),
        "invites_revoked": campaign.stats.get("invites_revoked", 0),
        "rewards_granted": sum(campaign.stats.get("rewards_granted", {}).values()),
        "campaign_participants": campaign.stats.get("participants", 0),
        "screenshots_approved": campaign.stats.get("screenshots", {}).get("approved", 0),
        "screenshots_rejected": campaign.stats.get("screenshots", {}).get("rejected", 0),
        "screenshots_review": campaign.stats.get("screenshots", {}).get("review", 0),
        "share_rewards_granted": campaign.stats.get("share_rewards_granted", 0),
        "k_factor_permille": round(1000 * campaign.stats.get("k_factor", 0.0)),
        "poster_variants": graph_run.poster_variants,
        "rings_flagged": graph_run.rings_flagged,
        "members_tagged": profiled.stats.get("tagged", 0),
        "tags_by_stage": profiled.stats.get("by_stage", {}),
        "segments": segmented.sizes,
        "pushes_sent": segmented.sent,
        "pushes_failed": segmented.failed,
        "push_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "push_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        **_dashboard_figures(value),
        "project_target": projects[0].target,
        # Not counts: for `scrm up`, which seeds the business around the demo's brand and project.
        "demo_brand_id": projects[0].brand_id,
        "demo_project_id": projects[0].project_id,
        "dashboard_checks": value.checks,
    }


async def _run_graph(stack: Stack, operator: dict[str, str]) -> GraphRun:
    """The A/B poster campaign and the ring (:mod:`scrm_dev.demo_graph`), with clients of their own."""
    sim = stack.url("wechat-sim")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.settings.mongodb_url.get_secret_value())
    api = WeChatClient(
        DEMO_APPID,
        DEMO_SECRET,
        token_store=MongoTokenStore(mongo[stack.database]),
        config=WeChatApiConfig(base_url=sim, qr_image_base_url=sim),
    )
    try:
        async with (
            httpx.AsyncClient(base_url=sim, timeout=30.0) as platform,
            httpx.AsyncClient(base_url=stack.url("campaigns-api"), headers=operator, timeout=30.0) as campaigns_api,
        ):
            return await run_graph(platform, campaigns_api, api, DEMO_APPID, seeds=4)
    finally:
        await api.aclose()
        await mongo.close()


def _dashboard_figures(value: ValueRun) -> dict[str, int]:
    """The dashboards' headline figures (all checked against the other services' counts)."""
    return {
        "project_pushes_delivered": value.figure("progress", "delivered"),
        "project_clicks": value.figure("progress", "clicks"),
        "dashboard_follows": value.figure("overview", "totals", "follows"),
        "dashboard_unfollows": value.figure("overview", "totals", "unfollows"),
        "dashboard_pushes_delivered": value.figure("overview", "totals", "pushes_delivered"),
        "dashboard_project_delivered": value.figure("project", "totals", "delivered"),
        "dashboard_push_clicks": value.figure("push", "totals", "clicks"),
        "dashboard_credited": value.figure("overview", "totals", "credited"),
        "dashboard_revoked": value.figure("campaign", "totals", "revoked"),
        "dashboard_rewards": value.figure("overview", "totals", "rewards"),
        "dashboard_screenshots_decided": sum(
            value.figure("screenshots", "totals", outcome) for outcome in ("approved", "rejected", "queued")
        ),
        "coverage_tagged": value.figure("coverage", "tagged", "count"),
    }


async def _wait_for_counts(members_api: str, headers: dict[str, str], members: int, following: int) -> dict[str, int]:
    deadline = time.monotonic() + _RESULT_TIMEOUT_S
    counts: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=members_api, headers=headers, timeout=5.0) as client:
        while time.monotonic() < deadline:
            counts = (await client.get(f"/accounts/{DEMO_APPID}/member-counts")).json()
            if counts.get("members") == members and counts.get("following") == following:
                break
            await asyncio.sleep(0.25)
    return counts


def print_summary(console: Console, summary: dict[str, object], ok: bool) -> None:
    table = Table(title="demo summary" + ("" if ok else " — [red]MISMATCH[/red]"))
    table.add_column("what")
    table.add_column("count", justify="right")
    labels = {
        "webhook_pushes_sent": "webhook pushes sent (safe mode, from the simulated platform)",
        "webhook_pushes_accepted": "acknowledged (published to Kafka first)",
        "webhook_pushes_rejected": "refused (forged signature)",
        "duplicate_deliveries": "platform retries of the same push",
        "qr_follows": "follows through the poster's parametric QR code",
        "members": "members recorded (retries counted once)",
        "following": "following now",
        "unfollowed": "unfollowed",
        "passive_replies": "keyword passive replies (encrypted back)",
        "customer_service_messages": "customer-service messages in the member's inbox",
        "deadlettered": "poison record parked on the dead-letter topic (once per worker)",
        "followers": "following the account now (members read API)",
        "campaign_participants": "campaign participants (joined via QR, poster or keyword)",
        "posters_sent": "personal posters delivered",
        "invites_credited": "invites credited (new followers who stayed)",
        "invites_revoked": "credits taken back (quick unfollows)",
        "rewards_granted": "tier rewards granted (each once, with a coupon code)",
        "screenshots_approved": "Moments screenshots approved automatically (share reward sent)",
        "screenshots_rejected": "screenshots rejected with a reason (someone else's, private post...)",
        "screenshots_review": "screenshots waiting in the human review queue",
        "share_rewards_granted": "share rewards granted (one per member at most)",
        "k_factor_permille": "K-factor × 1000 (credited invites per participant)",
        "poster_variants": "A/B poster campaign: per variant, members / scans / follows / credited",
        "rings_flagged": "referral rings flagged for review (members inviting each other across campaigns)",
        "members_tagged": "members with tags or a life stage (H5 page, keywords, mall)",
        "tags_by_stage": "life stage as of today",
        "segments": "segments saved, members in each now (equal to MongoDB's count)",
        "pushes_sent": "targeted push messages sent (孕晚期奶粉 segment, within the rules)",
        "pushes_failed": "targeted push messages failed",
        "push_ms_p50": "member action → platform push → gateway ack, p50 (ms)",
        "push_ms_p95": "member action → platform push → gateway ack, p95 (ms)",
        "project_target": "brand project: contracted deliveries this month (2 × the segment)",
        "project_pushes_delivered": "brand project: targeted pushes delivered (brands service)",
        "project_clicks": "brand project: clicks on the pushed guide",
    }
    for key, label in labels.items():
        table.add_row(label, str(summary.get(key)))
    console.print(table)
    checks = summary.get("dashboard_checks")
    if isinstance(checks, list) and checks:
        print_dashboards(console, checks)
    console.print("[green]demo passed[/green]" if ok else "[red]demo found a mismatch[/red]")


def print_dashboards(console: Console, checks: list[Check]) -> None:
    """The Dashboards block: each figure the analytics dashboards (and the project page) show for the
    demo, and the other service's count it must equal."""
    table = Table(title="Dashboards (analytics API and brand project, read as the console does)")
    table.add_column("figure")
    table.add_column("shown", justify="right")
    table.add_column("must equal")
    table.add_column("")
    for check in checks:
        against = "non-zero" if check.expected is None else f"{check.against}: {check.expected}"
        table.add_row(check.what, str(check.seen), against, "[green]✓[/green]" if check.ok else "[red]✗[/red]")
    console.print(table)
