"""The signed click redirect in pushed links: public (a member's browser follows it), trusted only for
links we signed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import RedirectResponse

from services.segments.domain.click_links import LinkForged
from services.segments.entrypoints.http.deps import Pushes

__all__ = ["TAG", "router"]

TAG = "click tracking"
router = APIRouter(tags=[TAG])


@router.get("/r/{token}", summary="Count a click and go on to the link's destination")
async def click(token: Annotated[str, Path(max_length=4096)], pushes: Pushes) -> RedirectResponse:
    try:
        url = await pushes.click(token)
    except LinkForged as exc:
        raise HTTPException(404, detail=f"not a link of ours: {exc}") from None
    return RedirectResponse(url, status_code=302)
