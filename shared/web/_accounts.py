from __future__ import annotations

import json
from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["KnownAccounts", "unknown_account_detail"]

_PREFIX = "/accounts/"


def unknown_account_detail(appid: str) -> str:
    return f"unknown account {appid!r}"


class KnownAccounts:
    """Answers 404 for ``/accounts/{appid}/...`` when the service holds no credentials for ``appid``.

    A plain ASGI middleware, so the answer comes before any body is read or validated: an unknown
    account is the first thing wrong with such a request, whatever else is.
    """

    def __init__(self, app: ASGIApp, accounts: Collection[str]) -> None:
        self._app = app
        self._accounts = frozenset(accounts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(_PREFIX):
                appid = path[len(_PREFIX) :].partition("/")[0]
                if appid not in self._accounts:
                    await _not_found(send, unknown_account_detail(appid))
                    return
        await self._app(scope, receive, send)


async def _not_found(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
