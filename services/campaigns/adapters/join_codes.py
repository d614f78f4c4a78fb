"""A campaign's own QR code: following or scanning it joins the campaign (``j.<campaign>`` scene).

Temporary codes (``QR_STR_SCENE``) last at most 30 days; the code is created on first request and
created again when less than a day is left, so what ops print or share keeps working to the end.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.domain.posters import QR_LIFETIME, QR_RENEW_BEFORE
from services.campaigns.domain.referrals import JoinScene
from services.campaigns.service_layer.ports import JoinCode, JoinCodes, UnknownAccount
from shared.wechat_client import WeChatClients

JOIN_CODES = "campaign_join_codes"


class MongoJoinCodes(JoinCodes):
    def __init__(self, database: AsyncDatabase[Any], clients: WeChatClients) -> None:
        self._codes = database[JOIN_CODES]
        self._clients = clients

    async def current(self, appid: str, campaign_id: str, *, ends_at: datetime, now: datetime) -> JoinCode:
        doc = await self._codes.find_one({"_id": campaign_id})
        if doc is not None and doc["expires_at"] - now > QR_RENEW_BEFORE:
            return _code(doc)
        if appid not in self._clients:
            raise UnknownAccount(appid)
        client = self._clients[appid]
        scene = JoinScene(campaign_id).encode()
        lifetime = max(timedelta(minutes=1), min(QR_LIFETIME, ends_at - now + QR_RENEW_BEFORE))
        qr = await client.create_qrcode(scene, expire_seconds=int(lifetime.total_seconds()))
        doc = {
            "_id": campaign_id,
            "scene": scene,
            "ticket": qr.ticket,
            "url": qr.url,
            "image_url": client.qrcode_image_url(qr.ticket),
            "expires_at": now + timedelta(seconds=qr.expire_seconds or lifetime.total_seconds()),
        }
        await self._codes.replace_one({"_id": campaign_id}, doc, upsert=True)
        return _code(doc)


def _code(doc: dict[str, Any]) -> JoinCode:
    return JoinCode(
        campaign_id=doc["_id"],
        scene=doc["scene"],
        ticket=doc["ticket"],
        url=doc["url"],
        image_url=doc["image_url"],
        expires_at=doc["expires_at"],
    )
