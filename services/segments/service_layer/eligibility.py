"""How many of a segment a push would reach now, step by step: each member is decided exactly as the
dispatcher decides them (the same reading of their profile and recent sends, the same ``decide``), and
the decisions are counted. A large segment is sampled evenly and the counts scaled up (``estimated``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.segments.domain.eligibility import STEPS, rule_text, step_of
from services.segments.domain.pushes import BEIJING, Push, assign_variant, decide, effective_send_at
from services.segments.service_layer.consents import ConsentGate
from services.segments.service_layer.dispatch import recipient_of
from services.segments.service_layer.ports import RecipientReader

__all__ = ["READ_BATCH", "breakdown"]

#: Members read per round trip.
READ_BATCH = 500


async def breakdown(
    push: Push,
    openids: Sequence[str],
    size: int,
    reader: RecipientReader,
    now: datetime,
    consents: ConsentGate | None = None,
) -> dict[str, Any]:
    """The breakdown of deciding ``openids`` (all of the segment's ``size`` members, or an even sample
    of them) for ``push`` at ``now``; with ``consents``, subscription messages count only members with
    an unused consent to the template, as the dispatcher decides."""
    month = now.astimezone(BEIJING).strftime("%Y-%m")
    steps: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    variants: dict[str, Counter[str]] = {v.name: Counter() for v in push.variants}
    for start in range(0, len(openids), READ_BATCH):
        batch = openids[start : start + READ_BATCH]
        profiles = await reader.profiles_of(push.appid, batch)
        recent = await reader.recent_sends(push.appid, batch)
        usable = await consents.usable(push, batch) if consents is not None else None
        for openid in batch:
            variant = assign_variant(push.id, openid, push.variants)
            subscriptions = None if usable is None else usable.get(openid, frozenset())
            recipient = recipient_of(profiles.get(openid), recent.get(openid, {}), month, subscriptions=subscriptions)
            decision = decide(recipient, variant, push.cap, now, broadcast=push.broadcast)
            step = step_of(decision, variant)
            steps[step] += 1
            variants[variant.name]["members"] += 1
            if decision.channel is not None:
                channels[decision.channel.value] += 1
                variants[variant.name][decision.channel.value] += 1
                variants[variant.name]["will_receive"] += 1
    scale = size / len(openids) if openids else 0.0

    def scaled(count: int) -> int:
        return round(count * scale)

    out_steps: list[dict[str, Any]] = []
    remaining = scaled(len(openids)) if openids else 0
    for step in STEPS:
        if step == "in_segment":
            count = remaining
        elif step == "template_fallback":
            count = scaled(steps[step])  # still reached: counted, not removed
        elif step == "will_receive":
            count = remaining
        else:
            count = scaled(steps[step])
            remaining -= count
        text = rule_text(step, push.cap)
        out_steps.append({"step": step, "count": count, "remaining": remaining, "rule": {"zh": text.zh, "en": text.en}})
    # When it would really go: a draft sent "now" goes at now, and either moves past the quiet hours.
    asked = push.send_at if push.send_at is not None and push.send_at > now else now
    effective = effective_send_at(asked, push.quiet_hours, push.status)
    return {
        "segment_id": push.segment_id,
        "at": now,
        "effective_send_at": effective,
        "held_by_quiet_hours": effective is not None and effective != asked,
        "in_segment": size,
        "sample_size": len(openids),
        "estimated": len(openids) < size,
        "steps": out_steps,
        "will_receive": remaining,
        "channels": {channel: scaled(n) for channel, n in sorted(channels.items())},
        "variants": {name: {key: scaled(n) for key, n in sorted(counts.items())} for name, counts in variants.items()},
        "quiet_hours": None
        if push.quiet_hours is None
        else {"start": push.quiet_hours.start.isoformat(), "end": push.quiet_hours.end.isoformat()},
    }
