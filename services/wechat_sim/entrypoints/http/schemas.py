"""Bodies of the simulator's own ``/sim/`` API."""

from __future__ import annotations

import base64
import binascii

from fastapi import HTTPException
from pydantic import BaseModel, Field


class FollowIn(BaseModel):
    ticket: str | None = Field(default=None, max_length=512)
    scene: str | None = Field(default=None, min_length=1, max_length=64)
    subscribe_scene: str = Field(default="ADD_SCENE_SEARCH", pattern=r"^ADD_SCENE_[A-Z_]+$")


class ScanIn(BaseModel):
    ticket: str | None = Field(default=None, max_length=512)
    scene: str | None = Field(default=None, min_length=1, max_length=64)


class ClickIn(BaseModel):
    key: str = Field(min_length=1, max_length=128)


class ViewIn(BaseModel):
    url: str = Field(min_length=1, max_length=1024)


class TextIn(BaseModel):
    content: str = Field(min_length=1, max_length=2048)


class ImageIn(BaseModel):
    png_base64: str = Field(min_length=4, max_length=16 * 1024 * 1024)

    def image(self) -> bytes:
        try:
            return base64.b64decode(self.png_base64, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(422, detail="png_base64 is not Base64") from None


class ConsentIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=128)
    long_term: bool = False
    #: False: the member rejects the popup (pushed as ``reject``; nothing is allowed).
    accept: bool = True


class ConsentCancelIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=128)


class MemberIn(BaseModel):
    openid: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    following: bool = True


class MemberPatch(BaseModel):
    blocks_templates: bool


class FaultIn(BaseModel):
    api: str = Field(min_length=1, max_length=64, description="API path under /cgi-bin, or '*'")
    errcode: int
    count: int = Field(default=1, ge=1, le=10_000)
    errmsg: str | None = Field(default=None, max_length=256)


class AdvanceIn(BaseModel):
    seconds: float = Field(ge=0, le=10 * 365 * 86_400)
