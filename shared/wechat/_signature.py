from __future__ import annotations

import hashlib
import hmac


def signature(token: str, *parts: str) -> str:
    """The platform's signature: SHA-1 over the token and parts, sorted as plain strings, joined.

    URL verification and push signatures use (timestamp, nonce); ``msg_signature`` adds the
    ``Encrypt`` payload.
    """
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8")).hexdigest()  # noqa: S324


def check_signature(token: str, given: str, *parts: str) -> bool:
    """Constant-time comparison, so a forger learns nothing from response timing.

    Compared as bytes: ``compare_digest`` raises on non-ASCII text, and a hostile request's signature
    must be a mismatch (4xx), never an error (500).
    """
    return hmac.compare_digest(signature(token, *parts).encode(), given.strip().lower().encode("utf-8", "replace"))
