"""The platform's word on sends it finished later: TEMPLATESENDJOBFINISH for each template message,
MASSSENDJOBFINISH for a mass send. Each settles its records once; a redelivered push changes nothing."""

from __future__ import annotations

import structlog

from services.segments.service_layer.ports import JobFinishStore, Sender, SendRefused
from shared.contracts import MassSendFinished, TemplateSendFinished

__all__ = ["mass_finished", "template_finished"]

log = structlog.get_logger(__name__)


async def template_finished(pushes: JobFinishStore, appid: str, event: TemplateSendFinished) -> bool:
    """Settle the template delivery the event names; False if unknown (not ours) or already settled."""
    if not event.msg_id.isdigit():
        return False
    success = event.status == "success"
    fields = {"finished_at": event.finished_at, "platform_status": event.status}
    fields["status"] = "delivered" if success else "failed"
    if not success:
        fields["errcode"] = event.status
    before = await pushes.finish_template(appid, int(event.msg_id), fields)
    if before is None:
        return False
    variant = before["variant"]
    if success:
        inc = {"stats.total.delivered": 1, f"stats.variants.{variant}.delivered": 1}
    else:
        code = event.status.replace(".", "_")
        inc = {
            "stats.total.sent": -1,
            f"stats.variants.{variant}.sent": -1,
            f"stats.total.failed.{code}": 1,
            f"stats.variants.{variant}.failed.{code}": 1,
        }
    await pushes.update(before["push_id"], {}, inc)
    return True


async def mass_finished(pushes: JobFinishStore, sender: Sender | None, appid: str, event: MassSendFinished) -> bool:
    """Finish the broadcast whose job the event reports; False if unknown or already finished."""
    if not event.msg_id.isdigit():
        return False
    doc = await pushes.transition_mass(appid, int(event.msg_id), event)
    if doc is None:
        return False
    push_id = doc["_id"]
    await pushes.mark_mass_sent(push_id, event.finished_at)
    variant = doc["variants"][0]["name"]
    inc = {
        "stats.total.sent": event.sent_count,
        f"stats.variants.{variant}.sent": event.sent_count,
        f"stats.variants.{variant}.channels.mass": event.sent_count,
        "stats.total.channels.mass": event.sent_count,
    }
    if event.error_count:
        inc |= {
            "stats.total.failed.mass_error": event.error_count,
            f"stats.variants.{variant}.failed.mass_error": event.error_count,
        }
    await pushes.update(push_id, {}, inc)
    tag_id = (doc.get("mass") or {}).get("tag_id")
    if sender is not None and tag_id is not None:
        try:
            await sender.delete_tag(appid, tag_id)
        except SendRefused as exc:  # a leftover tag costs one of the 100; logged for ops
            log.warning("could not delete a broadcast's tag", push=push_id, tag_id=tag_id, error=str(exc))
    log.info("broadcast finished", push=push_id, sent=event.sent_count, errors=event.error_count)
    return True
