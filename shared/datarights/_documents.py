"""What an entry of the registry means for documents: which are the member's, and what erasing leaves.

Pure functions over plain documents, shared by the MongoDB executor (which turns them into queries) and
the in-memory one (which applies them to dicts), so both erase alike.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from shared.datarights._registry import MemberData

__all__ = ["erasure_id", "exportable", "matches", "member_filter", "scrubbed"]


def erasure_id(appid: str, openid: str) -> str:
    """The erasure record's key: a hash, so the record holds no openid (whoever has the openid can
    find that it was erased; nobody can read the openid from the record)."""
    return hashlib.sha256(f"datarights|{appid}|{openid}".encode()).hexdigest()


def member_filter(entry: MemberData, appid: str, openid: str, via_ids: Sequence[Any] = ()) -> dict[str, Any] | None:
    """The MongoDB filter selecting the member's documents of ``entry``; None when it holds none."""
    if entry.via is not None:
        return {entry.via[1]: {"$in": list(via_ids)}} if via_ids else None
    clauses: list[dict[str, Any]] = [{field: openid} for field in entry.match]
    clauses += [{"_id": pattern.format(appid=appid, openid=openid)} for pattern in entry.ids]
    clauses += [{field: {"$regex": re.escape(openid)}} for field in entry.contains]
    if entry.array is not None:
        array, item = entry.array
        clauses.append({f"{array}.{item}" if item else array: openid})
    if not clauses:
        return None
    query: dict[str, Any] = clauses[0] if len(clauses) == 1 else {"$or": clauses}
    if entry.appid_field is not None:
        # A document without the account field is matched by the member alone (openids are per account).
        account = {"$or": [{entry.appid_field: appid}, {entry.appid_field: {"$exists": False}}]}
        query = {"$and": [account, query]}
    return query


def matches(entry: MemberData, document: Mapping[str, Any], appid: str, openid: str, via_ids: Sequence[Any]) -> bool:
    """Whether ``document`` is the member's (in memory, as :func:`member_filter` selects in MongoDB)."""
    if entry.via is not None:
        return document.get(entry.via[1]) in set(via_ids)
    if entry.appid_field is not None and document.get(entry.appid_field, appid) != appid:
        return False
    if any(document.get(field) == openid for field in entry.match):
        return True
    if any(document.get("_id") == pattern.format(appid=appid, openid=openid) for pattern in entry.ids):
        return True
    if any(openid in str(document.get(field) or "") for field in entry.contains):
        return True
    if entry.array is not None:
        array, item = entry.array
        values = document.get(array) or []
        return any((value.get(item) if item else value) == openid for value in values if value is not None)
    return False


def scrubbed(entry: MemberData, document: Mapping[str, Any], openid: str, pseudonym: str, fresh: str) -> dict[str, Any]:
    """The document anonymised: personal fields removed, codes renewed (``fresh``), and the openid replaced
    by ``pseudonym`` wherever it appears (``_id`` and keys built from it included)."""
    kept = {key: value for key, value in document.items() if key not in entry.remove}
    for field in entry.renew:
        if field in kept:
            kept[field] = f"{fresh}-{field}"
    replaced: dict[str, Any] = _replace(kept, openid, pseudonym)
    return replaced


def _replace(value: Any, openid: str, pseudonym: str) -> Any:
    if isinstance(value, str):
        return value.replace(openid, pseudonym) if openid in value else value
    if isinstance(value, Mapping):
        return {key: _replace(item, openid, pseudonym) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(item, openid, pseudonym) for item in value]
    return value


def exportable(value: Any) -> Any:
    """A stored value as JSON: times in ISO 8601, bytes (pictures) in base64, anything else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {str(key): exportable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [exportable(item) for item in value]
    return str(value)
