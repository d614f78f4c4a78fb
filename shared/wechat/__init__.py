"""The WeChat Official Account push protocol, shared by the gateway and the platform simulator.

- :func:`signature` / :func:`check_signature`: SHA-1 over sorted token/timestamp/nonce[/Encrypt],
  compared in constant time.
- :class:`MessageCrypto`: the safe-mode AES cipher (32-byte padding, appid trailer checked).
- :func:`parse_xml` / :func:`to_xml`: pushes as flat dicts; DTDs and entities refused before parsing;
  :func:`parse_xml_lists`: the nested ``<List>`` items of subscription-message pushes.
- :func:`seal_push`, :func:`seal_reply`, :func:`open_reply`: a push or passive reply exactly as it
  travels in plaintext, compatible and safe :class:`Mode`.
- :class:`WeChatAccount`: an account's credentials as every service reads them from
  ``WECHAT_ACCOUNTS``; :class:`AccountsSettings` is the settings base of services that hold them.
"""

from shared.wechat._accounts import (
    APPID_PATTERN,
    AccountsSettings,
    WeChatAccount,
    account_problems,
    account_secrets,
    decode_accounts,
)
from shared.wechat._crypto import MessageCrypto
from shared.wechat._exceptions import (
    AppIdMismatch,
    InvalidAesKey,
    InvalidCiphertext,
    InvalidXml,
    ProtocolError,
    WeChatError,
)
from shared.wechat._push import Mode, SignedRequest, open_reply, seal_push, seal_reply
from shared.wechat._signature import check_signature, signature
from shared.wechat._xml import parse_xml, parse_xml_lists, to_xml

__all__ = [
    "APPID_PATTERN",
    "AccountsSettings",
    "AppIdMismatch",
    "InvalidAesKey",
    "InvalidCiphertext",
    "InvalidXml",
    "MessageCrypto",
    "Mode",
    "ProtocolError",
    "SignedRequest",
    "WeChatAccount",
    "WeChatError",
    "account_problems",
    "account_secrets",
    "check_signature",
    "decode_accounts",
    "open_reply",
    "parse_xml",
    "parse_xml_lists",
    "seal_push",
    "seal_reply",
    "signature",
    "to_xml",
]
