"""Reward pools: the coupon codes the invite tiers grant, uploaded as CSV or generated; their stock.

Reading the stock needs ``campaign:view``; adding codes ``campaign:edit`` (audited with the counts,
never the codes themselves).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from services.campaigns.domain.rewards import CodeUploadInvalid, parse_codes_csv
from services.campaigns.entrypoints.http.deps import (
    ApiDep,
    AppId,
    CampaignId,
    CanEdit,
    PoolName,
    by_name,
    field_error,
    needs,
)
from services.campaigns.entrypoints.http.schemas import (
    CodesUploadOut,
    GenerateBody,
    GenerateOut,
    PoolStockOut,
    RejectedLineOut,
)
from services.campaigns.service_layer import reward_stock
from shared.identity import Permission, audit
from shared.request_bodies import MultipartError, parse_multipart, read_body

__all__ = ["TAG", "router"]

TAG = "reward pools"
ONE = "/accounts/{appid}/campaigns/{campaign_id}/reward-pools"
#: A code list larger than this is refused (100k codes of 20 characters fit easily).
MAX_CSV_BYTES = 4 * 1024 * 1024

_CODES_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}

router = APIRouter(tags=[TAG])


@router.get(ONE, summary="Stock of every reward pool", dependencies=needs(Permission.CAMPAIGN_VIEW))
async def read_stock(appid: AppId, campaign_id: CampaignId, api: ApiDep) -> list[PoolStockOut]:
    reports = await reward_stock.pool_stock(api.campaigns, api.pools, appid, campaign_id)
    return [PoolStockOut.of(report) for report in reports]


@router.post(
    ONE + "/{pool}/codes",
    summary="Upload coupon codes (CSV)",
    description="A `text/csv` body, or a multipart form with the file as `file`. One code per line, or a "
    "header row with a `code` column. UTF-8 (BOM allowed) or GB18030. Blank lines are skipped, "
    "repeats kept once, codes already in the pool ignored; invalid lines are reported.",
    openapi_extra=_CODES_FORM,
)
async def upload_codes(
    appid: AppId, campaign_id: CampaignId, pool: PoolName, request: Request, api: ApiDep, _: CanEdit
) -> CodesUploadOut:
    body = await read_body(request.scope, request.receive, MAX_CSV_BYTES)
    if body is None:
        raise field_error(["file"], f"file larger than {MAX_CSV_BYTES} bytes; split it")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        try:
            form = by_name(parse_multipart(body, content_type))
        except MultipartError as exc:
            raise field_error(["file"], str(exc)) from None
        if "file" not in form:
            raise field_error(["file"], "a form field 'file' with the CSV is required")
        body = form["file"].content
    try:
        parsed = parse_codes_csv(body)
    except CodeUploadInvalid as exc:
        raise field_error(["file"], str(exc)) from None
    if not parsed.codes:
        reasons = "; ".join(f"line {r.line}: {r.reason}" for r in parsed.rejected[:5])
        raise field_error(["file"], "no valid codes in the file" + (f" ({reasons})" if reasons else ""))
    added, report = await reward_stock.add_codes(api.campaigns, api.pools, appid, campaign_id, pool, parsed)
    await audit(
        request,
        "reward_pool.codes_uploaded",
        "reward_pool",
        f"{campaign_id}/{pool}",
        after={"added": added.added, "already_in_pool": added.already_in_pool, "rejected": len(parsed.rejected)},
    )
    return CodesUploadOut(
        pool=pool,
        added=added.added,
        already_in_pool=added.already_in_pool,
        duplicates=parsed.duplicates,
        rejected=[RejectedLineOut(line=r.line, text=r.text, reason=r.reason) for r in parsed.rejected],
        rejected_more=parsed.rejected_more,
        stock=PoolStockOut.of(report),
    )


@router.post(
    ONE + "/{pool}/generate",
    status_code=201,
    summary="Generate coupon codes",
    description="Random codes from a secure source, in an alphabet without look-alike characters.",
)
async def generate_codes(
    appid: AppId, campaign_id: CampaignId, pool: PoolName, body: GenerateBody, api: ApiDep, request: Request, _: CanEdit
) -> GenerateOut:
    added, report = await reward_stock.generate_codes(api.campaigns, api.pools, appid, campaign_id, pool, body.count)
    await audit(
        request,
        "reward_pool.codes_generated",
        "reward_pool",
        f"{campaign_id}/{pool}",
        after={"requested": body.count, "added": added},
    )
    return GenerateOut(pool=pool, added=added, stock=PoolStockOut.of(report))
