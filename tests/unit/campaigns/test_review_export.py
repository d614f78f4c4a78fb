"""The review queue's export as a labelled set: who may take it, what the zip holds (pictures, the
poster template, labels and the machine's view), paging, the audit entry, and the round trip: the
zip read as it is by ``scrm verify-screenshots --labels``, the posters drawn again from the template."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from rich.console import Console

from scrm.screenshots import run_verify_screenshots
from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaigns,
    InMemoryReferrals,
    InMemoryReviewedSubmissions,
    InMemoryShareScreenshots,
    InMemoryTemplates,
)
from services.campaigns.adapters.posters import render_poster
from services.campaigns.adapters.templates import inspect_image
from services.campaigns.domain.campaign import QrBox
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.posters import poster_layout
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.entrypoints.http import app as campaigns_app_module
from services.campaigns.entrypoints.http import create_app
from services.campaigns.service_layer import review_export
from services.campaigns.service_layer.management import NewCampaign, TemplateLayout, create_campaign, upload_template
from services.campaigns.settings import CampaignsSettings
from services.screenshots import Decision, Fingerprint
from shared.identity import AuditQuery, Role
from tests.accounts import account
from tests.identities import Callers
from tests.unit.console.campaigns_api import in_memory_bootstrap
from tests.unit.screenshots.pictures import FOREIGN_PAYLOAD, PAYLOAD, POSTER_QR, Member, encode, make_poster, make_shot

APPID = "wx1"
EXPORT = f"/accounts/{APPID}/screenshots/export"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@dataclass
class Seeded:
    http: TestClient
    campaign_id: str
    shots: InMemoryShareScreenshots


async def seed(records: CampaignRecords, campaigns: InMemoryCampaigns, templates: InMemoryTemplates) -> str:
    new = NewCampaign(
        name="晒图有礼",
        starts_at=START,
        ends_at=START + timedelta(days=30),
        share_screenshot_task=True,
        share_reward_pool="S",
    )
    campaign = await create_campaign(campaigns, APPID, new, START)
    # The template is the poster's artwork with the QR area left blank; the renderer puts the code there.
    artwork = encode(make_poster(None), "PNG")
    x, y, size, _ = POSTER_QR
    layout = TemplateLayout(QrBox(x, y, size))
    await upload_template(
        campaigns,
        templates,
        APPID,
        campaign.id,
        None,
        (artwork, inspect_image(artwork, max_bytes=5_000_000)),
        layout,
        START,
    )
    stored = await campaigns.get(APPID, campaign.id)
    assert stored is not None and stored.template is not None
    members = InMemoryReferrals(records)
    for openid, payload in (("o_mom", PAYLOAD), ("o_dad", FOREIGN_PAYLOAD), ("o_kid", PAYLOAD + "kid")):
        await members.add_participant(
            Participant(campaign.id, APPID, openid, f"c-{openid}", START, "qr", qr_url=payload, qr_ticket="t")
        )
    poster = render_poster(artwork, poster_layout(stored.template), PAYLOAD, {})
    with Image.open(io.BytesIO(poster)) as issued:
        shot = make_shot(issued.convert("RGB"), member=Member(avatar_photo=1, nickname="小雨妈妈"))

    shots = InMemoryShareScreenshots(records)

    async def submitted(name: str, openid: str, minutes: int, evidence: dict[str, Any], *, keep: bool = True) -> str:
        at = START + timedelta(minutes=minutes)
        record = SubmissionRecord(
            id=f"{APPID}:{name}",
            campaign_id=campaign.id,
            appid=APPID,
            openid=openid,
            received_at=at,
            status="review",
            decision="review",
            reasons=["possibly_reused"],
            evidence=evidence,
            fingerprint=Fingerprint(f"sha-{name}", None),
            decided_by="auto",
            decided_at=at,
        )
        assert await shots.add(record)
        if keep:
            await shots.keep_image(record.id, shot, "image/jpeg")
        return record.id

    own = {"qr": "own", "qr_payloads": [PAYLOAD]}
    mom = await submitted("1001", "o_mom", 1, own)
    dad = await submitted("1002", "o_dad", 2, {"qr": "foreign", "qr_payloads": [PAYLOAD]})
    lost = await submitted("1003", "o_kid", 3, {"qr": "none"}, keep=False)
    await submitted("1004", "o_kid", 4, own)  # still in review: not exported
    await shots.settle_review(mom, Decision.APPROVE, "rita", "海报清晰", START + timedelta(hours=1))
    await shots.settle_review(dad, Decision.REJECT, "rita", None, START + timedelta(hours=2), reason="foreign_qr")
    await shots.settle_review(lost, Decision.REJECT, "rita", None, START + timedelta(hours=3), reason="no_poster")
    auto = SubmissionRecord(
        id=f"{APPID}:1005",
        campaign_id=campaign.id,
        appid=APPID,
        openid="o_kid",
        received_at=START,
        status="approved",
        decision="approve",
        reasons=[],
        evidence=own,
        fingerprint=Fingerprint("sha-5", None),
        decided_by="auto",
        decided_at=START,
    )
    await shots.add(auto)
    return campaign.id


@pytest.fixture
def seeded(callers: Callers, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seeded]:
    records, campaigns, templates = CampaignRecords(), InMemoryCampaigns(), InMemoryTemplates()
    campaign_id = asyncio.run(seed(records, campaigns, templates))
    monkeypatch.setattr(campaigns_app_module, "bootstrap", in_memory_bootstrap(records, campaigns, templates))
    app = create_app(CampaignsSettings(wechat_accounts=[account(APPID)]), identity=callers.config)
    with TestClient(app) as http:
        yield Seeded(http, campaign_id, InMemoryShareScreenshots(records))


def unzip(body: bytes) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        files = {name: bundle.read(name) for name in bundle.namelist()}
    return [json.loads(line) for line in files["labels.jsonl"].decode().splitlines()], files


def test_the_export_holds_the_reviewers_decisions_with_pictures_and_template(seeded: Seeded, callers: Callers) -> None:
    reply = seeded.http.get(EXPORT, headers=callers.headers(Role.REVIEWER))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/zip"
    assert reply.headers["content-disposition"].startswith('attachment; filename="screenshot-labels-wx1-')
    assert reply.headers["x-export-count"] == "2"
    assert json.loads(reply.headers["x-export-skipped"]) == {"no_picture": 1}
    assert "x-next-after" not in reply.headers
    lines, files = unzip(reply.content)
    mom, dad = lines
    assert {k: mom[k] for k in ("file", "qr_payload", "campaign", "user", "label", "reason", "reviewer", "note")} == {
        "file": "images/wx1_1001.jpg",
        "qr_payload": PAYLOAD,
        "campaign": seeded.campaign_id,
        "user": "o_mom",
        "label": "approve",
        "reason": None,
        "reviewer": "rita",
        "note": "海报清晰",
    }
    assert mom["machine"] == {"decision": "review", "reasons": ["possibly_reused"]}
    assert mom["id"] == f"{APPID}:1001" and mom["decided_at"] == (START + timedelta(hours=1)).isoformat()
    # Dad's code was not decoded from his picture: the one his poster carries is exported.
    assert (dad["label"], dad["reason"], dad["qr_payload"]) == ("reject", "foreign_qr", FOREIGN_PAYLOAD)
    template = mom["template"]
    assert template == dad["template"] and template["image"].startswith(f"templates/{seeded.campaign_id}-")
    assert template["layout"]["qr"] == {"x": POSTER_QR[0], "y": POSTER_QR[1], "size": POSTER_QR[2]}
    assert files[template["image"]].startswith(b"\x89PNG")
    assert files["images/wx1_1001.jpg"].startswith(b"\xff\xd8")
    assert "scrm verify-screenshots --labels" in files["README.txt"].decode()


def test_the_export_is_read_as_it_is_and_the_verifier_agrees(seeded: Seeded, callers: Callers, tmp_path: Path) -> None:
    reply = seeded.http.get(EXPORT, headers=callers.headers(Role.REVIEWER), params={"campaign_id": seeded.campaign_id})
    archive = tmp_path / "export.zip"
    archive.write_bytes(reply.content)
    out, err = tmp_path / "decisions.jsonl", io.StringIO()
    code = run_verify_screenshots(
        Console(file=err, width=200), None, out, workers=1, engine="tesserocr", labels=archive
    )
    assert code == 0, err.getvalue()
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # The posters drawn from the template are the ones the member was issued: the checks pass on them.
    assert [(r["decision"], r["label"], r["agrees"]) for r in results] == [
        ("approve", "approve", True),
        ("reject", "reject", True),
    ]
    assert results[1]["reasons"][0] == "foreign_qr"
    assert "  foreign_qr: 1 -> reject 1 (1 same reason)" in err.getvalue()


def test_pages_by_decision_time(seeded: Seeded, callers: Callers) -> None:
    first = seeded.http.get(EXPORT, headers=callers.headers(Role.REVIEWER), params={"limit": 1})
    assert first.headers["x-export-count"] == "1"
    after = first.headers["x-next-after"]
    assert after == (START + timedelta(hours=1)).isoformat()
    second = seeded.http.get(
        EXPORT, headers=callers.headers(Role.REVIEWER), params={"limit": 1, "decided_after": after}
    )
    assert [line["user"] for line in unzip(second.content)[0]] == ["o_dad"]
    until = seeded.http.get(
        EXPORT,
        headers=callers.headers(Role.ADMIN),
        params={"decided_until": (START + timedelta(minutes=90)).isoformat()},
    )
    assert [line["user"] for line in unzip(until.content)[0]] == ["o_mom"]


def test_the_export_is_audited(seeded: Seeded, callers: Callers) -> None:
    seeded.http.get(EXPORT, headers=callers.headers(Role.REVIEWER), params={"campaign_id": seeded.campaign_id})
    found = asyncio.run(callers.directory.audit_entries(AuditQuery(action="screenshot.labels_exported")))
    entries = [entry for entry in found if entry.object_id == seeded.campaign_id]  # the callers are the module's
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor_name, entry.appid, entry.object_id) == ("reviewer-op", APPID, seeded.campaign_id)
    assert entry.after is not None and (entry.after["count"], entry.after["skipped"]) == (2, {"no_picture": 1})


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CAMPAIGN_OPERATOR, 403), (Role.ANALYST, 403), (Role.PROJECT_MANAGER, 403), (Role.ADMIN, 200)],
)
def test_only_reviewers_and_admins_export(seeded: Seeded, callers: Callers, role: Role, status: int) -> None:
    assert seeded.http.get(EXPORT, headers=callers.headers(role)).status_code == status


def test_bad_requests(seeded: Seeded, callers: Callers) -> None:
    reviewer = callers.headers(Role.REVIEWER)
    unknown = seeded.http.get(EXPORT, headers=reviewer, params={"campaign_id": "nope"})
    assert unknown.status_code == 404
    too_many = seeded.http.get(EXPORT, headers=reviewer, params={"limit": 5000})
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["query", "limit"]
    not_a_time = seeded.http.get(EXPORT, headers=reviewer, params={"decided_after": "yesterday"})
    assert not_a_time.status_code == 422 and not_a_time.json()["detail"][0]["loc"] == ["query", "decided_after"]
    assert seeded.http.get(EXPORT, headers=callers.headers_other_account()).status_code == 403


async def test_an_export_stops_before_its_pictures_pass_the_byte_cap() -> None:
    records, campaigns, templates = CampaignRecords(), InMemoryCampaigns(), InMemoryTemplates()
    await seed(records, campaigns, templates)

    async def export(max_bytes: int, after: datetime | None = None) -> review_export.LabelExport:
        return await review_export.export_labelled(
            campaigns,
            templates,
            InMemoryShareScreenshots(records),
            InMemoryReviewedSubmissions(records),
            InMemoryReferrals(records),
            APPID,
            campaign_id=None,
            decided_after=after,
            decided_until=None,
            limit=10,
            max_bytes=max_bytes,
        )

    whole = await export(10_000_000)
    assert [e.record.openid for e in whole.examples] == ["o_mom", "o_dad"] and whole.next_after is None
    one_picture = len(whole.examples[0].picture)
    first = await export(one_picture + 1)  # the second picture would pass the cap
    assert [e.record.openid for e in first.examples] == ["o_mom"]
    assert first.next_after == START + timedelta(hours=1)
    rest = await export(one_picture + 1, first.next_after)
    assert [e.record.openid for e in rest.examples] == ["o_dad"] and rest.skipped == {"no_picture": 1}
    assert len((await export(1)).examples) == 1  # one picture over the cap still goes: else nothing would
