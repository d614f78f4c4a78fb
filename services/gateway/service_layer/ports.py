"""What the gateway's use case needs from the world; adapters/ holds the implementations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from services.gateway.domain.inbound import AccountKeys
from services.gateway.domain.replies import ReplyRule

__all__ = ["AccountDirectory", "Claim", "ClaimResult", "PushLedger", "ReplyRules", "SeenRequests"]


class AccountDirectory(Protocol):
    """The keys of an account the gateway serves, or None for an account it does not."""

    async def find(self, appid: str) -> AccountKeys | None: ...


class Claim(StrEnum):
    NEW = "new"
    DONE = "done"
    IN_FLIGHT = "in_flight"


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    #: For DONE: the response body we gave the first time.
    reply: bytes | None = None


class PushLedger(Protocol):
    """Recognises the platform's retries of a push (see adapters/ledger.py for the claim protocol)."""

    async def claim(self, key: str) -> ClaimResult: ...

    async def complete(self, key: str, reply: bytes) -> None: ...

    async def release(self, key: str) -> None: ...


class ReplyRules(Protocol):
    """An account's passive reply rules."""

    async def for_account(self, appid: str) -> list[ReplyRule]: ...


class SeenRequests(Protocol):
    """Signed requests (signature, timestamp, nonce) seen within the replay window.

    A plaintext push's signature covers only the timestamp and nonce, not the body: whoever captured
    one could send any body under it while the timestamp is fresh. ``first_use`` is True for a request
    not seen before, or seen with this same body (the platform's retries re-send it unchanged), and
    False when the same signed request comes with another body.
    """

    async def first_use(self, key: str, body_digest: str) -> bool: ...
