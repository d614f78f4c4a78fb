"""Webhook signatures (pure functions: no I/O)."""

from __future__ import annotations

import hashlib
import hmac


def sign(token: str, timestamp: str, nonce: str) -> str:
    """The platform's signature: SHA-1 over the sorted, concatenated token, timestamp and nonce."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()  # noqa: S324


def verify(token: str, timestamp: str, nonce: str, signature: str) -> bool:
    """Compare in constant time so the signature cannot be guessed byte by byte."""
    return hmac.compare_digest(sign(token, timestamp, nonce), signature.lower())
