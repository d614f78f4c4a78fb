"""The poster step of joining, with a fake platform and renderer behind the same ports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from services.campaigns.adapters.memory import CampaignRecords, InMemoryReferrals, InMemoryReferralUnitOfWork
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.poster_layout import PosterLayout, QrBox
from services.campaigns.domain.posters import PosterSpec
from services.campaigns.service_layer.ports import PosterRendererPort
from services.campaigns.service_layer.posters import give_poster
from shared.contracts import CAMPAIGN_ACTIVITY, CATALOG, CampaignPosterSent
from shared.wechat_client import CustomMessage, Image, MediaKind, QrCode, Text, UploadedMedia

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class FakePlatform:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def create_qrcode(
        self, scene: int | str, *, permanent: bool = False, expire_seconds: int | None = None
    ) -> QrCode:
        self.calls.append(("qrcode", scene))
        n = len([c for c in self.calls if c[0] == "qrcode"])
        return QrCode(ticket=f"ticket-{n}", expire_seconds=expire_seconds, url=f"http://weixin.qq.com/q/{n}")

    async def upload_media(self, kind: MediaKind, filename: str, content: bytes) -> UploadedMedia:
        self.calls.append(("upload", content))
        n = len([c for c in self.calls if c[0] == "upload"])
        return UploadedMedia.model_validate({"type": kind, "media_id": f"media-{n}", "created_at": 1700000000})

    async def send_custom_message(self, openid: str, message: CustomMessage) -> None:
        self.calls.append(("send", message))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


class FakeRenderer(PosterRendererPort):
    def __init__(self) -> None:
        self.renders = 0

    async def render(
        self,
        campaign_id: str,
        template_version: str | int,
        member_key: str,
        template_bytes: bytes,
        layout: PosterLayout,
        qr_url: str,
        texts: Mapping[str, str],
    ) -> bytes:
        self.renders += 1
        return f"poster for {qr_url}".encode()

    async def aclose(self) -> None:
        return None


SPEC = PosterSpec(
    template=b"png", template_version="v1", layout=PosterLayout(750, 1334, QrBox(475, 1059, 220)),
    welcome="欢迎参加！分享海报邀请好友", texts={"nickname": "小雨妈妈"},
)  # fmt: skip


def participant() -> Participant:
    return Participant("c1", "wx1", "o_mom", "mom0000001", T0, "campaign_qr")


async def run(
    member: Participant,
    platform: FakePlatform,
    renderer: FakeRenderer,
    now: datetime,
    uow: InMemoryReferralUnitOfWork | None = None,
) -> bool:
    uow = uow or InMemoryReferralUnitOfWork()
    store = InMemoryReferrals()
    return await give_poster(member, SPEC, store=store, uow=uow, platform=platform, renderer=renderer, now=now)


async def test_first_join_creates_the_code_renders_uploads_and_sends_welcome_then_poster() -> None:
    platform, renderer, member = FakePlatform(), FakeRenderer(), participant()
    assert await run(member, platform, renderer, T0)
    assert platform.kinds() == ["qrcode", "upload", "send", "send"]
    assert platform.calls[0][1] == "r.c1.mom0000001"
    welcome, poster = platform.calls[2][1], platform.calls[3][1]
    assert welcome == Text(content=SPEC.welcome) and poster == Image(media_id="media-1")
    assert member.qr_expires_at == T0 + timedelta(days=30)


async def test_a_redelivered_join_sends_nothing_again() -> None:
    platform, renderer, member = FakePlatform(), FakeRenderer(), participant()
    await run(member, platform, renderer, T0)
    assert not await run(member, platform, renderer, T0 + timedelta(minutes=1))
    assert platform.kinds() == ["qrcode", "upload", "send", "send"]


async def test_a_crash_after_upload_resumes_without_a_new_code_or_upload() -> None:
    platform, renderer, member = FakePlatform(), FakeRenderer(), participant()
    member.qr_ticket, member.qr_url, member.qr_expires_at = (
        "ticket-0",
        "http://weixin.qq.com/q/0",
        T0 + timedelta(days=29),
    )
    member.poster_media_id, member.poster_uploaded_at = "media-0", T0
    assert await run(member, platform, renderer, T0 + timedelta(hours=1))
    assert platform.kinds() == ["send", "send"] and renderer.renders == 0


async def test_expired_media_is_uploaded_again_and_a_dying_code_renewed() -> None:
    platform, renderer, member = FakePlatform(), FakeRenderer(), participant()
    member.qr_ticket, member.qr_url, member.qr_expires_at = (
        "ticket-0",
        "http://weixin.qq.com/q/0",
        T0 + timedelta(days=29),
    )
    member.poster_media_id, member.poster_uploaded_at = "media-0", T0
    await run(member, platform, renderer, T0 + timedelta(days=3))
    assert platform.kinds() == ["upload", "send", "send"]
    platform.calls.clear()
    member.poster_sent_at = None  # the member asks for the poster again weeks later
    await run(member, platform, renderer, T0 + timedelta(days=28, hours=12))
    assert platform.kinds() == ["qrcode", "upload", "send", "send"]


async def test_the_poster_is_recorded_as_sent_with_the_event_reporting_it_once() -> None:
    records = CampaignRecords()
    member = await InMemoryReferrals(records).add_participant(participant())
    uow, platform, renderer = InMemoryReferralUnitOfWork(records), FakePlatform(), FakeRenderer()
    assert await run(member, platform, renderer, T0, uow)
    stored = await uow.store.participant("c1", "o_mom")
    assert stored is not None and stored.poster_sent_at == T0
    ((topic, envelope),) = uow.emitted
    assert topic is CAMPAIGN_ACTIVITY and (envelope.appid, envelope.key) == ("wx1", "o_mom")
    assert envelope.event_id == "poster_sent:c1:o_mom"
    assert CATALOG.decode(envelope) == CampaignPosterSent(openid="o_mom", campaign_id="c1", sent_at=T0)
    assert not await run(stored, platform, renderer, T0 + timedelta(minutes=1), uow)  # a redelivered join
    assert len(uow.emitted) == 1
