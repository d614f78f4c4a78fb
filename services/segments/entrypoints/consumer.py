"""The segments worker: sends due pushes (the dispatcher loop), settles the platform's job-finish
pushes for template messages and mass sends, keeps members' subscription-message consents from the
platform's pushes, and keeps segments' copy of campaign participation."""

from __future__ import annotations

from services.segments.bootstrap import SegmentsService, bootstrap_worker
from services.segments.service_layer.consents import record_consents
from services.segments.service_layer.job_finish import mass_finished, template_finished
from services.segments.service_layer.participation import record_participation
from services.segments.service_layer.waiting import interaction_of
from services.segments.settings import SegmentsSettings
from shared.contracts import (
    CAMPAIGN_PARTICIPATION,
    WECHAT_PUSHES,
    CampaignParticipationChanged,
    MassSendFinished,
    SubscriptionPopupAnswered,
    SubscriptionSendFinished,
    SubscriptionSettingsChanged,
    TemplateSendFinished,
)
from shared.datarights import MemberRights, gated
from shared.events import Envelope, Message
from shared.messaging import PermanentHandlerError, Subscription, WorkerApp, create_worker_app


async def _on_push(service: SegmentsService, envelope: Envelope, message: Message) -> None:
    if isinstance(message, TemplateSendFinished):
        await template_finished(service.pushes, envelope.appid, message)
    elif isinstance(message, MassSendFinished):
        await mass_finished(service.pushes, service.sender, envelope.appid, message)
    elif isinstance(message, SubscriptionPopupAnswered | SubscriptionSettingsChanged | SubscriptionSendFinished):
        if service.consent_transactions is None:  # every bootstrap sets it; dropping them would lose consents
            raise PermanentHandlerError("segments built without its consent store")
        long_term = frozenset(service.settings.subscription_long_term_templates)
        await record_consents(envelope, message, service.consent_transactions(), long_term)
    elif service.waiting is not None and (interaction := interaction_of(message)) is not None:
        await service.waiting.on_interaction(envelope.appid, interaction)  # sends that waited for the window


async def _on_participation(service: SegmentsService, envelope: Envelope, message: Message) -> None:
    if not isinstance(message, CampaignParticipationChanged):
        return
    if service.participation is None:  # every bootstrap sets it; dropping events silently would lose them
        raise PermanentHandlerError("segments built without its participation store")
    await record_participation(envelope, message, service.participation())


def _rights(service: SegmentsService) -> MemberRights | None:
    return service.rights


def create_worker(
    settings: SegmentsSettings, *, health_host: str = "127.0.0.1", health_port: int | None = None
) -> WorkerApp[SegmentsService]:
    return create_worker_app(
        settings,
        name="segments",
        resources=lambda: bootstrap_worker(settings),
        # An erased member's events are dropped until they follow again (docs/operations.md, "Data rights").
        subscriptions=gated(
            [
                Subscription(name="segments-pushes", topic=WECHAT_PUSHES, handler=_on_push),
                Subscription(name="segments-participation", topic=CAMPAIGN_PARTICIPATION, handler=_on_participation),
            ],
            _rights,
        ),
        readiness=lambda service: {"mongodb": service.readiness["mongodb"]},
        health_host=health_host,
        health_port=settings.worker_health_port if health_port is None else health_port,
    )
