"""What the simulator needs from the outside world: a way to POST pushes and a QR codec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PushResponse:
    status: int
    body: bytes


class PushFailed(Exception):
    """The push did not get an HTTP answer (connection refused, reset...). Timeouts are the driver's."""


class PushSender(Protocol):
    async def post(self, url: str, params: Mapping[str, str], body: bytes) -> PushResponse:
        """POST one push; raise :class:`PushFailed` when no HTTP answer came back."""
        ...


class QrCodec(Protocol):
    def render(self, text: str) -> bytes:
        """A PNG of a QR code encoding ``text``."""
        ...

    def decode(self, image: bytes) -> str | None:
        """The text of the QR code found in an image (PNG, JPEG...), or None."""
        ...
