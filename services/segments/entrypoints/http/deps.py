"""What the segments routes are given: the use cases over the running service, and path parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from services.segments.adapters.push_documents import push_from_document
from services.segments.bootstrap import SegmentsService
from services.segments.domain.pushes import FrequencyCap, QuietHours
from services.segments.entrypoints.http.schemas import ID_PATTERN
from services.segments.service_layer.consents import ConsentGate
from services.segments.service_layer.pushes import PushDefaults, PushUseCases
from services.segments.service_layer.segments import SegmentUseCases
from shared.web import service_of

__all__ = ["AppId", "ItemId", "OpenId", "Pushes", "Segments", "Service", "push_use_cases", "segment_use_cases"]

AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
ItemId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
OpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]


def _service(request: Request) -> SegmentsService:
    service: SegmentsService = service_of(request)
    return service


Service = Annotated[SegmentsService, Depends(_service)]


def segment_use_cases(service: Service) -> SegmentUseCases:
    assert service.live is not None and service.facts is not None  # the API's bootstrap builds both
    return SegmentUseCases(
        service.segments,
        service.live,
        service.facts,
        known_tags=service.known_tags,
        tag_names={code: tag.name for code, tag in service.taxonomy.tags.items()},
        clock=service.clock,
        tag_names_en=service.taxonomy.names("en"),
    )


def push_use_cases(service: Service) -> PushUseCases:
    settings = service.settings
    start, end = settings.quiet_start, settings.quiet_end
    defaults = PushDefaults(
        cap=FrequencyCap(per_day=settings.cap_per_day, per_week=settings.cap_per_week),
        quiet_hours=None if start is None or end is None else QuietHours(start, end),
    )
    key = settings.click_link_secret.get_secret_value().encode()
    return PushUseCases(
        service.pushes,
        service.segments,
        defaults,
        click_key=key,
        clock=service.clock,
        click_domains=frozenset(settings.click_link_domains),
        account_click_domains={
            account.appid: frozenset(domain.lower() for domain in account.link_domains)
            for account in settings.wechat_accounts
            if account.link_domains
        },
        live=service.live,
        recipients=service.pushes,
        read_push=push_from_document,
        sender=service.sender,
        consents=ConsentGate(service.consents) if service.consents is not None else None,
    )


Segments = Annotated[SegmentUseCases, Depends(segment_use_cases)]
Pushes = Annotated[PushUseCases, Depends(push_use_cases)]
