"""A push's stats read for its page: how far it has gone, why members failed (with what WeChat's code
means) or were skipped, and which links were clicked in which variant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.segments.domain.eligibility import errcode_meaning

__all__ = ["report_of"]


def _sum(counts: Mapping[str, Any] | None) -> int:
    return sum(int(n) for n in (counts or {}).values())


def _links(counts: Mapping[str, Any] | None, urls: Mapping[str, str]) -> list[dict[str, Any]]:
    rows = [{"url": urls.get(key, key), "clicks": int(n)} for key, n in (counts or {}).items()]
    return sorted(rows, key=lambda row: (-row["clicks"], row["url"]))


def _failed(counts: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    for code, n in (counts or {}).items():
        meaning = errcode_meaning(code)
        rows.append(
            {
                "errcode": code,
                "count": int(n),
                "meaning": None if meaning is None else {"zh": meaning.zh, "en": meaning.en},
            }
        )
    return sorted(rows, key=lambda row: (-row["count"], row["errcode"]))


def _counts(stats: Mapping[str, Any]) -> dict[str, int]:
    return {
        "targeted": int(stats.get("targeted", 0)),
        "sent": int(stats.get("sent", 0)),
        "delivered": int(stats.get("delivered", 0)),
        "failed": _sum(stats.get("failed")),
        "skipped": _sum(stats.get("skipped")),
        "clicked": int(stats.get("clicked", 0)),
    }


def report_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    stats = doc.get("stats") or {}
    total = stats.get("total") or {}
    variants = stats.get("variants") or {}
    urls = doc.get("links") or {}
    audience = doc.get("audience_size")
    # Members decided so far: each variant counts its members as they are recorded.
    processed = sum(int((v or {}).get("targeted", 0)) for v in variants.values())
    counts = _counts(total)
    return {
        "project_id": doc.get("project_id"),
        "progress": {
            "audience": audience,
            "processed": processed,
            "sent": counts["sent"],
            "delivered": counts["delivered"],
            "failed": counts["failed"],
            "skipped": counts["skipped"],
            "percent": None if not audience else round(100 * min(processed, audience) / audience, 1),
        },
        "failed_by_code": _failed(total.get("failed")),
        "skipped_by_reason": {reason: int(n) for reason, n in sorted((total.get("skipped") or {}).items())},
        "channels": {channel: int(n) for channel, n in sorted((total.get("channels") or {}).items())},
        "clicks": {"members": counts["clicked"], "by_link": _links(stats.get("links"), urls)},
        "variants": {
            name: _counts(v or {})
            | {
                "failed_by_code": _failed((v or {}).get("failed")),
                "skipped_by_reason": dict(sorted(((v or {}).get("skipped") or {}).items())),
                "links": _links((v or {}).get("links"), urls),
            }
            for name, v in sorted(variants.items())
        },
    }
