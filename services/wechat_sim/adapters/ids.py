"""Identifiers shaped like the platform's: long URL-safe tokens, 28-character openids, 64-bit MsgIds."""

from __future__ import annotations

import secrets


class RandomIds:
    def token(self) -> str:
        return secrets.token_urlsafe(102)  # 136 characters; callers must keep ≥512

    def qr_code(self) -> str:
        return secrets.token_urlsafe(16)[:22]

    def media_id(self) -> str:
        return secrets.token_urlsafe(48)  # 64 characters

    def msg_id(self) -> int:
        # Above 2**53 on purpose: a consumer that turns MsgIds into floats (JSON in JavaScript) breaks.
        return 2**62 + secrets.randbelow(2**62)

    def openid(self) -> str:
        return "o" + secrets.token_urlsafe(21)[:27]
