"""Brands: listed with their tier, owner, last activity and inactivity flag; created and edited with
``brand:edit``; handed over to another manager with ``brand:assign`` (audited with the reason). Each
caller sees only the brands of their scope (admin: all; sales head: their teams'; manager: their
own); any other brand is 404 to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from services.brands.domain.business import BrandStanding
from services.brands.domain.model import Brand
from services.brands.domain.rules import Tier
from services.brands.entrypoints.http.deps import (
    CanAssign,
    CanEdit,
    CanView,
    IfMatch,
    ItemId,
    Now,
    UseCases,
    operator_id,
    operator_names,
    require_version,
    viewer_of,
)
from services.brands.entrypoints.http.schemas import BrandIn, BrandList, BrandOut, BrandPatch, HandoverIn, HandoverOut
from shared.identity import Permission, audit

__all__ = ["TAG", "router"]

TAG = "brands"
router = APIRouter(prefix="/brands", tags=[TAG])


def _audited(brand: Brand) -> dict[str, Any]:
    return {"name": brand.name, "industry": brand.industry, "owner_id": brand.owner_id}


def _with_etag(response: Response, row: BrandStanding) -> BrandOut:
    response.headers["ETag"] = f'"{row.brand.version}"'
    return BrandOut.of(row)


@router.get("", summary="Brands in the caller's scope, with tier, spend and inactivity")
async def list_brands(
    actor: CanView,
    request: Request,
    use_cases: UseCases,
    now: Now,
    owner: Annotated[str | None, Query(max_length=64, description="An owner's operator id")] = None,
    tier: Tier | None = None,
    inactive: bool | None = None,
) -> BrandList:
    rows = await use_cases.list_brands(viewer_of(actor), now, owner=owner, tier=tier, inactive=inactive)
    names = await operator_names(request, {row.brand.owner_id for row in rows})
    return BrandList(items=[BrandOut.of(row) for row in rows], names=names)


@router.post("", status_code=201, summary="Create a brand (owner: the caller unless given)")
async def create_brand(
    body: BrandIn, actor: CanEdit, request: Request, response: Response, use_cases: UseCases, now: Now
) -> BrandOut:
    owner = (
        None
        if body.owner_id is None
        else await operator_id(request, body.owner_id, ["body", "owner_id"], Permission.BRAND_EDIT)
    )
    viewer = viewer_of(actor)
    brand = await use_cases.create_brand(viewer, now, name=body.name, industry=body.industry, owner_id=owner)
    await audit(request, "brand.created", "brand", brand.id, after=_audited(brand))
    return _with_etag(response, await use_cases.get_brand(viewer, brand.id, now))


@router.get("/{brand_id}", summary="One brand (its version is the ETag)")
async def read_brand(brand_id: ItemId, actor: CanView, response: Response, use_cases: UseCases, now: Now) -> BrandOut:
    return _with_etag(response, await use_cases.get_brand(viewer_of(actor), brand_id, now))


@router.patch("/{brand_id}", summary="Edit a brand's name or industry (If-Match or version required)")
async def edit_brand(
    brand_id: ItemId,
    body: BrandPatch,
    actor: CanEdit,
    request: Request,
    response: Response,
    use_cases: UseCases,
    now: Now,
    if_match: IfMatch = None,
) -> BrandOut:
    expected = require_version(if_match, body.version)
    viewer = viewer_of(actor)
    before, brand = await use_cases.edit_brand(viewer, brand_id, expected, now, name=body.name, industry=body.industry)
    await audit(request, "brand.edited", "brand", brand.id, before=_audited(before), after=_audited(brand))
    return _with_etag(response, await use_cases.get_brand(viewer, brand.id, now))


@router.post("/{brand_id}/handover", summary="Hand a brand, its open projects and deals over to another manager")
async def hand_over(
    brand_id: ItemId, body: HandoverIn, actor: CanAssign, request: Request, use_cases: UseCases, now: Now
) -> HandoverOut:
    to = await operator_id(request, body.to, ["body", "to"], Permission.BRAND_EDIT)
    viewer = viewer_of(actor)
    moved = await use_cases.hand_over(viewer, brand_id, to, now)
    await audit(
        request,
        "brand.handed_over",
        "brand",
        brand_id,
        before={"owner_id": moved.from_owner},
        after={"owner_id": to, "reason": body.reason, "projects": moved.projects, "deals": moved.deals},
    )
    row = await use_cases.get_brand(viewer, brand_id, now)
    return HandoverOut(
        brand=BrandOut.of(row), from_owner=moved.from_owner, to=to, projects=moved.projects, deals=moved.deals
    )
