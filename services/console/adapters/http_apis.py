"""The operator APIs over HTTP (httpx), called with the signed-in operator's session."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any

import httpx

from services.console.service_layer.ports import Api, ApiError, ApiReply, ApiUnavailable, Caller, Upload
from shared.identity import CSRF_HEADER, SESSION_COOKIE

__all__ = ["HttpOperatorApis"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class HttpOperatorApis:
    """One pooled client per API. ``transports`` lets tests mount the real apps in process."""

    def __init__(
        self,
        base_urls: Mapping[Api, str],
        *,
        timeout: float = 10.0,
        transports: Mapping[Api, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self._clients = {
            api: httpx.AsyncClient(
                base_url=url.rstrip("/"),
                timeout=timeout,
                transport=(transports or {}).get(api),
                follow_redirects=False,
            )
            for api, url in base_urls.items()
        }

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def call(
        self,
        api: Api,
        method: str,
        path: str,
        caller: Caller,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Upload] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiReply:
        sent = dict(headers or {})
        if caller.session:
            sent["Cookie"] = f"{SESSION_COOKIE}={caller.session}"
        if caller.csrf_token and method.upper() in _UNSAFE:
            sent[CSRF_HEADER] = caller.csrf_token
        if caller.address:
            sent["X-Forwarded-For"] = caller.address
        if caller.request_id:
            sent["X-Request-ID"] = caller.request_id
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self._clients[api].request(
                method,
                path,
                json=json,
                params=query,
                files={name: (f.filename, f.content, f.content_type) for name, f in files.items()} if files else None,
                data=dict(data) if data else None,
                headers=sent,
            )
        except httpx.TimeoutException:
            raise ApiUnavailable(api, "timed out") from None
        except httpx.HTTPError as exc:
            raise ApiUnavailable(api, type(exc).__name__) from None
        body = _body(response)
        if response.status_code >= 400:
            detail = body.get("detail", body) if isinstance(body, dict) else (body or response.reason_phrase)
            raise ApiError(response.status_code, detail, api, response.headers)
        return ApiReply(
            status=response.status_code,
            body=body,
            headers=dict(response.headers),
            content=response.content,
            cookies=dict(response.cookies),
        )

    async def ready(self) -> None:
        response = await self._clients[Api.IDENTITY].get("/healthz")
        response.raise_for_status()


def _body(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return jsonlib.loads(response.content)
    except ValueError:
        return None
