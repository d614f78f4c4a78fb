from __future__ import annotations

import json
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.request_bodies._read import read_body


class BodyLimit:
    """Refuses requests whose body exceeds ``limit`` bytes with 413, before the route parses anything.

    For JSON APIs, where FastAPI would otherwise read a body of any size into memory. The body is read
    through :func:`read_body` (a declared length over the limit is refused unread) and replayed to the
    app, so routes see it as usual.

    ``self_limited`` are path patterns (regular expressions, matched in full) of routes that read their
    body themselves with :func:`read_body` and a larger limit of their own (uploads): those pass
    unread.
    """

    def __init__(self, app: ASGIApp, limit: int, self_limited: Sequence[str] = ()) -> None:
        self._app = app
        self._limit = limit
        self._self_limited = [re.compile(pattern) for pattern in self_limited]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or any(pattern.fullmatch(scope.get("path", "")) for pattern in self._self_limited)
        ):
            await self._app(scope, receive, send)
            return
        body = await read_body(scope, receive, self._limit)
        if body is None:
            detail = json.dumps({"detail": f"body larger than {self._limit} bytes"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(detail)).encode())]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": detail})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)
