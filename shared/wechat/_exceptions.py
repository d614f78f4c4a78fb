"""Errors of the WeChat protocol layer and API client.

    WeChatError
    ├── ProtocolError                 a push or a key we cannot accept
    │   ├── InvalidAesKey             EncodingAESKey is not 43 Base64 characters for 32 bytes
    │   ├── InvalidCiphertext         Encrypt does not decrypt (wrong key, tampering, truncation)
    │   ├── AppIdMismatch             decrypted fine, but for another account
    │   └── InvalidXml                not a push: DTDs/entities, malformed, missing header fields
    └── shared.wechat_client.WeChatApiError   the platform answered with a non-zero errcode

The API client's errors (one class per errcode family) live with the client, in
``shared.wechat_client``.
"""


class WeChatError(Exception):
    pass


class ProtocolError(WeChatError):
    pass


class InvalidAesKey(ProtocolError):
    pass


class InvalidCiphertext(ProtocolError):
    pass


class AppIdMismatch(ProtocolError):
    pass


class InvalidXml(ProtocolError):
    pass
