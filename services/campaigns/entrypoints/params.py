"""Path parameters and the API dependency every campaigns router shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from services.campaigns.bootstrap_api import CampaignsApi

__all__ = ["ID_PATTERN", "ApiDep", "AppId", "CampaignId"]

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="The account's appid")]
CampaignId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


def _api(request: Request) -> CampaignsApi:
    api: CampaignsApi = request.app.state.campaigns
    return api


ApiDep = Annotated[CampaignsApi, Depends(_api)]
