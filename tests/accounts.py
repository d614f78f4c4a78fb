"""The WeChat accounts tests configure services with: one entry of ``WECHAT_ACCOUNTS`` each.

A test that signs, encrypts or checks what a service does with an account passes its own token, key or
secret; the rest take the defaults.
"""

from __future__ import annotations

import json

__all__ = ["AES_KEY", "account", "accounts_env"]

#: A valid EncodingAESKey (43 characters of base64), for tests that encrypt pushes or replies.
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


TOKEN = "t0ken"
SECRET = "s3cret-0123456789abcdef"


def account(
    appid: str = "wx1", *, token: str = TOKEN, encoding_aes_key: str = "k" * 43, secret: str = SECRET
) -> dict[str, str]:
    """One account as settings take it."""
    return {"appid": appid, "token": token, "encoding_aes_key": encoding_aes_key, "secret": secret}


def accounts_env(*accounts: dict[str, str]) -> str:
    """``WECHAT_ACCOUNTS`` for a child process's environment."""
    return json.dumps(list(accounts))
