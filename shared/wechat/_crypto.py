from __future__ import annotations

import base64
import binascii
import secrets
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.wechat._exceptions import AppIdMismatch, InvalidAesKey, InvalidCiphertext

_BLOCK = 32  # the platform pads PKCS#7-style to 32 bytes, not AES's 16


def _key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise InvalidAesKey("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise InvalidAesKey("EncodingAESKey is not Base64") from None
    if len(key) != 32:
        raise InvalidAesKey("EncodingAESKey does not decode to 32 bytes")
    return key


class MessageCrypto:
    """The safe-mode cipher of one account and one EncodingAESKey.

    AES-256-CBC, IV = first 16 key bytes. Plaintext: 16 random bytes, the message length
    (uint32 big-endian), the message, the appid; padded to a multiple of 32 bytes; Base64 outside.
    """

    def __init__(self, appid: str, encoding_aes_key: str) -> None:
        self.appid = appid
        self._key = _key(encoding_aes_key)
        self._appid_bytes = appid.encode("utf-8")
        self._cipher_spec = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def _cipher(self) -> Cipher[modes.CBC]:
        return self._cipher_spec

    def encrypt(self, message: bytes, *, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else secrets.token_bytes(16)
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        plain = prefix + struct.pack(">I", len(message)) + message + self._appid_bytes
        pad = _BLOCK - len(plain) % _BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside ``encrypted``; raises unless it decrypts cleanly for this appid."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCiphertext("Encrypt is not Base64") from None
        if not data or len(data) % 16:
            raise InvalidCiphertext("Encrypt is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        # Range-checked unpadding: a wrong key yields garbage here, and garbage must not index memory.
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise InvalidCiphertext("bad padding (wrong key?)")
        body = plain[16:-pad]
        if len(body) < 4:
            raise InvalidCiphertext("too short")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise InvalidCiphertext("length field exceeds the payload (wrong key?)")
        message, appid = body[4 : 4 + length], body[4 + length :]
        if appid != self._appid_bytes:
            raise AppIdMismatch("the message was encrypted for another appid")
        return message
