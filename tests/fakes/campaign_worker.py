"""What the campaign worker meets outside its database, for tests that run it: the few WeChat API
calls it makes (answered in memory), a poster renderer and a screenshot analysis that draw nothing."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping

import httpx

from services.campaigns.domain.poster_layout import PosterLayout
from services.campaigns.service_layer.ports import PosterRendererPort
from services.screenshots import Analysis, Evidence, Fingerprint, QrMatch, TimedAnalysis

__all__ = ["Analyses", "Renderer", "WeChatApi"]


class WeChatApi:
    """The few platform calls the worker makes, answered in memory."""

    def __init__(self) -> None:
        self.numbers = itertools.count(1)
        self.media: dict[str, bytes] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        api, n = request.url.path.removeprefix("/cgi-bin/"), next(self.numbers)
        match api:
            case "stable_token":
                return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
            case "qrcode/create":
                scene = json.loads(request.content)["action_info"]["scene"]["scene_str"]
                return httpx.Response(
                    200, json={"ticket": scene, "expire_seconds": 2592000, "url": f"http://q/{scene}"}
                )
            case "media/upload":
                return httpx.Response(200, json={"type": "image", "media_id": f"poster-{n}", "created_at": 1700000000})
            case "media/get":
                content = self.media[request.url.params["media_id"]]
                return httpx.Response(200, content=content, headers={"Content-Type": "image/jpeg"})
            case _:
                return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})


class Renderer(PosterRendererPort):
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
        return f"poster {qr_url}".encode()

    async def aclose(self) -> None:
        return None


class Analyses:
    """Measures a screenshot by what its bytes say: b"good" passes every check, b"unclear" leaves the
    Moments post in doubt (review), anything else shows a private post (rejected)."""

    async def analyze(self, screenshot: bytes, poster: bytes, payload: str) -> TimedAnalysis:
        evidence = Evidence(
            qr=QrMatch.OWN,
            qr_payloads=(payload,),
            artwork_score=0.9,
            poster_share=0.5,
            moments_checked=True,
            time_word=None if screenshot == b"unclear" else "1分钟前",
            delete_word=True,
            lock_marker=screenshot not in (b"good", b"unclear"),
            title="朋友圈",
        )
        return Analysis(evidence, Fingerprint(screenshot.hex(), None)), 12.0
