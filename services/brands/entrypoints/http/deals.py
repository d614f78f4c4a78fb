"""Deals (the sales funnel) and payments. Reading needs ``brand:view``, creating, moving a deal's stage
and marking a payment received need ``brand:edit``, within the caller's scope. Every write is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.brands.domain.model import DealStage, Payment
from services.brands.entrypoints.http.deps import (
    CanEdit,
    CanView,
    IfMatch,
    ItemId,
    Now,
    Today,
    UseCases,
    expected_version,
    operator_names,
    viewer_of,
)
from services.brands.entrypoints.http.schemas import (
    DealIn,
    DealList,
    DealOut,
    DealStageIn,
    PaymentIn,
    PaymentList,
    PaymentOut,
    PaymentReceivedIn,
)
from shared.identity import audit

__all__ = ["DEALS", "PAYMENTS", "deals", "payments"]

DEALS, PAYMENTS = "deals", "payments"
deals = APIRouter(prefix="/deals", tags=[DEALS])
payments = APIRouter(prefix="/payments", tags=[PAYMENTS])

BrandFilter = Annotated[str | None, Query(max_length=64)]


@deals.get("", summary="Deals in the caller's scope, most recently changed first")
async def list_deals(
    actor: CanView, request: Request, use_cases: UseCases, brand_id: BrandFilter = None, stage: DealStage | None = None
) -> DealList:
    found = await use_cases.list_deals(viewer_of(actor), brand_id, stage)
    names = await operator_names(request, {d.owner_id for d in found} | {c.by for d in found for c in d.history})
    return DealList(items=[DealOut.of(d) for d in found], names=names)


@deals.post("", status_code=201, summary="Open a deal with a brand")
async def create_deal(body: DealIn, actor: CanEdit, request: Request, use_cases: UseCases, now: Now) -> DealOut:
    deal = await use_cases.create_deal(
        viewer_of(actor),
        now,
        brand_id=body.brand_id,
        value_fen=body.value_fen,
        expected_close_on=body.expected_close_on,
        stage=body.stage,
    )
    await audit(
        request,
        "deal.created",
        "deal",
        deal.id,
        after={"brand_id": deal.brand_id, "stage": deal.stage.value, "value_fen": deal.value_fen},
    )
    return DealOut.of(deal)


@deals.get("/{deal_id}", summary="One deal with its stage history")
async def read_deal(deal_id: ItemId, actor: CanView, response: Response, use_cases: UseCases) -> DealOut:
    deal = await use_cases.get_deal(viewer_of(actor), deal_id)
    response.headers["ETag"] = f'"{deal.version}"'
    return DealOut.of(deal)


@deals.post("/{deal_id}/stage", summary="Move a deal forward through the funnel, or to lost")
async def move_deal(
    deal_id: ItemId,
    body: DealStageIn,
    actor: CanEdit,
    request: Request,
    response: Response,
    use_cases: UseCases,
    now: Now,
    if_match: IfMatch = None,
) -> DealOut:
    before, deal = await use_cases.move_deal(
        viewer_of(actor), deal_id, body.stage, now, expected_version(if_match, body.version)
    )
    await audit(
        request, "deal.stage_moved", "deal", deal.id, before={"stage": before.value}, after={"stage": deal.stage.value}
    )
    response.headers["ETag"] = f'"{deal.version}"'
    return DealOut.of(deal)


def _audited(payment: Payment) -> dict[str, object]:
    return {
        "brand_id": payment.brand_id,
        "project_id": payment.project_id,
        "amount_fen": payment.amount_fen,
        "due_on": payment.due_on.isoformat(),
        "received_on": None if payment.received_on is None else payment.received_on.isoformat(),
    }


@payments.get("", summary="Payments in the caller's scope, by due day")
async def list_payments(actor: CanView, use_cases: UseCases, today: Today, brand_id: BrandFilter = None) -> PaymentList:
    found = await use_cases.list_payments(viewer_of(actor), brand_id)
    return PaymentList(items=[PaymentOut.of(p, today) for p in found])


@payments.post("", status_code=201, summary="Record a payment due (received already with received_on)")
async def create_payment(
    body: PaymentIn, actor: CanEdit, request: Request, use_cases: UseCases, now: Now, today: Today
) -> PaymentOut:
    payment = await use_cases.create_payment(
        viewer_of(actor),
        now,
        brand_id=body.brand_id,
        project_id=body.project_id,
        amount_fen=body.amount_fen,
        due_on=body.due_on,
        received_on=body.received_on,
    )
    await audit(request, "payment.created", "payment", payment.id, after=_audited(payment))
    return PaymentOut.of(payment, today)


@payments.post("/{payment_id}/received", summary="Mark a payment received")
async def receive_payment(
    payment_id: ItemId,
    body: PaymentReceivedIn,
    actor: CanEdit,
    request: Request,
    use_cases: UseCases,
    now: Now,
    today: Today,
) -> PaymentOut:
    before, payment = await use_cases.receive_payment(viewer_of(actor), payment_id, body.received_on, now)
    await audit(request, "payment.received", "payment", payment.id, before=_audited(before), after=_audited(payment))
    return PaymentOut.of(payment, today)
