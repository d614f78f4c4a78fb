"""POSTing pushes over HTTP with httpx (a real network, or an ASGI app in tests)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from services.wechat_sim.service_layer.ports import PushFailed, PushResponse


class HttpPushSender:
    """:class:`~services.wechat_sim.service_layer.ports.PushSender` over an ``httpx.AsyncClient``.

    The driver bounds each attempt with its own timeout; the client's timeout is only a backstop.
    """

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._owned = client is None
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0), follow_redirects=False)

    async def post(self, url: str, params: Mapping[str, str], body: bytes) -> PushResponse:
        try:
            response = await self._client.post(
                url, params=dict(params), content=body, headers={"Content-Type": "text/xml; charset=utf-8"}
            )
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            raise PushFailed(f"{type(exc).__name__}: {exc}") from exc
        return PushResponse(response.status_code, response.content)

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
