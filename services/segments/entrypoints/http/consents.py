"""Members' subscription-message consents as segments keeps them (``push:view``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from services.segments.entrypoints.http.deps import AppId, OpenId, Service
from shared.identity import Permission, require

__all__ = ["router"]

router = APIRouter(prefix="/accounts/{appid}", tags=["subscription consents"])


class ConsentOut(BaseModel):
    template_id: str
    #: accepted | cancelled | rejected
    status: str
    #: One-time messages still allowed.
    credits: int
    long_term: bool
    #: Whether a subscription message with this template may be sent now.
    usable: bool
    last_answer: str
    updated_at: datetime


class MemberConsentsOut(BaseModel):
    openid: str
    consents: list[ConsentOut]


@router.get(
    "/members/{openid}/subscriptions",
    summary="The member's subscription-message consents, per template",
    dependencies=[Depends(require(Permission.PUSH_VIEW))],
)
async def member_subscriptions(appid: AppId, openid: OpenId, service: Service) -> MemberConsentsOut:
    if service.consents is None:
        raise HTTPException(503, detail="consents are not available in this process")
    held = await service.consents.of_member(appid, openid)
    return MemberConsentsOut(
        openid=openid,
        consents=[
            ConsentOut(
                template_id=c.template_id,
                status=c.status.value,
                credits=c.credits,
                long_term=c.long_term,
                usable=c.usable,
                last_answer=c.last_answer,
                updated_at=c.updated_at,
            )
            for c in held
        ],
    )
