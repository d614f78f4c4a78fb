"""Tokens signed with HMAC-SHA256: what a link carries when the server must trust it later.

:func:`seal` appends a MAC to a payload, :func:`unseal` gives the payload back only if the MAC is ours.
Member H5 links and push click links are both built on these two; what a payload holds, and whether it
expires, is theirs to say.
"""

from shared.signing._tokens import BadSignature, b64decode, b64encode, seal, unseal

__all__ = ["BadSignature", "b64decode", "b64encode", "seal", "unseal"]
