"""Documentation rendered from the code, so it cannot drift from it."""

from __future__ import annotations

import json
from typing import Any

from shared.contracts import CATALOG, TOPICS
from shared.events import Topic


def _retention(topic: Topic) -> str:
    if topic.retention is None:
        return "forever"
    days = topic.retention.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{topic.retention.total_seconds():g} s"


def _fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or " | ".join(
            str(option.get("type", option.get("$ref", "?"))) for option in prop.get("anyOf", [])
        )
        if prop.get("format"):
            kind = f"{kind} ({prop['format']})"
        description = prop.get("description", "")
        rows.append(f"| `{name}` | {kind} | {'yes' if name in required else 'no'} | {description} |")
    return rows


def render_events() -> str:
    lines = [
        "# Topics and events",
        "",
        "<!-- Generated from shared/contracts by `make docs`. Do not edit by hand. -->",
        "",
        "Every message is a JSON envelope: `event_id`, `type`, `version`, `occurred_at`, `appid`, `key`,",
        "`payload`. Topics are created explicitly at start-up from this registry (physical name = ",
        "`TOPIC_PREFIX` + name). See [adding a topic or event version](extending.md).",
        "",
        "| topic | partitions | retention | key | messages |",
        "|---|---|---|---|---|",
    ]
    for topic in TOPICS:
        messages = ", ".join(f"`{m.message_type}` v{m.message_version}" for m in topic.messages)
        lines.append(f"| `{topic.name}` | {topic.partitions} | {_retention(topic)} | {topic.key} | {messages} |")
    for topic in TOPICS:
        lines += ["", f"## `{topic.name}`", "", topic.description]
        for message in topic.messages:
            cls = CATALOG.message_class(message.message_type)
            doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            lines += [
                "",
                f"### `{cls.message_type}` (v{cls.message_version}, `{cls.__name__}`)",
                "",
                doc,
                "",
                "| field | type | required | description |",
                "|---|---|---|---|",
                *_fields(cls.model_json_schema()),
            ]
    lines += [
        "",
        "## Example envelope",
        "",
        "```json",
        json.dumps(_example(), indent=2, ensure_ascii=False),
        "```",
        "",
    ]
    return "\n".join(lines)


def _example() -> dict[str, Any]:
    return {
        "event_id": "5b0c8f3e9a1d4c2e8f7a6b5c4d3e2f10",
        "type": "member.followed",
        "version": 1,
        "occurred_at": "2026-11-23T08:00:00Z",
        "appid": "wx1234567890abcdef",
        "key": "oAbC-openid",
        "payload": {
            "openid": "oAbC-openid",
            "followed_at": "2026-11-23T08:00:00Z",
            "scene": "campaign-42",
            "ticket": "gQH47joAAAAAAAAAASxodHRwOi8v",
        },
    }
