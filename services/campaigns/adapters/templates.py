"""Poster template images: checked with Pillow, stored in MongoDB.

An uploaded file is accepted only if Pillow opens and verifies it as a PNG or JPEG. Its dimensions are
read from the header *before* any pixel is decoded, and an image over :data:`MAX_PIXELS` is refused
there: a decompression bomb (a few kilobytes that expand into gigabytes of pixels) never gets decoded.
It is then decoded as the poster renderer decodes it, and its upright size (after EXIF rotation) is
the one recorded: at least :data:`MIN_SIDE` pixels each way.

Images are kept as one document each (``data`` as binary). The upload limit
(``CampaignsSettings.max_template_bytes``) is capped at :data:`MAX_STORED_BYTES` so a document always
fits under MongoDB's 16 MB limit.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from PIL import Image, UnidentifiedImageError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from services.campaigns.adapters.posters import InvalidTemplate, inspect_template
from services.campaigns.service_layer.ports import ImageInfo, TemplateImage, TemplateStore
from shared.storage import IndexSpec, StorageError

TEMPLATES = "campaign_templates"
INDEXES = (IndexSpec(TEMPLATES, (("campaign_id", 1), ("uploaded_at", -1)), name="campaign_uploaded"),)

#: Larger images are refused before decoding (40 megapixels, e.g. 8000 x 5000; a poster needs ~1 MP).
MAX_PIXELS = 40_000_000
#: A stored image must fit in one MongoDB document with room to spare.
MAX_STORED_BYTES = 15 * 1024 * 1024
#: A poster is a phone screen: a smaller background is a thumbnail uploaded by mistake.
MIN_SIDE = 200
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class TemplateImageRejected(ValueError):
    """The upload is not a usable poster background; the message says why, for the operator."""


def inspect_image(data: bytes, *, max_bytes: int, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """What ``data`` is, if it is a PNG or JPEG within the limits; :class:`TemplateImageRejected` if not.

    CPU-bound (``verify`` reads the whole file): call it off the event loop.
    """
    limit = min(max_bytes, MAX_STORED_BYTES)
    if len(data) > limit:
        raise TemplateImageRejected(f"image is {len(data)} bytes; at most {limit} bytes accepted")
    if not data:
        raise TemplateImageRejected("empty file")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its limit, raises) about bombs itself; ours is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as image:
                width, height, image_format = image.width, image.height, image.format
                if width * height > max_pixels:
                    raise TemplateImageRejected(
                        f"image is {width}x{height} pixels; at most {max_pixels // 1_000_000} megapixels accepted"
                    )
                image.verify()
    except TemplateImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TemplateImageRejected(
            f"image has too many pixels; at most {max_pixels // 1_000_000} megapixels"
        ) from None
    except UnidentifiedImageError:
        raise TemplateImageRejected("not a PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow reports corrupt data with these
        raise TemplateImageRejected(f"damaged image: {exc}") from None
    if image_format not in _FORMATS:
        raise TemplateImageRejected("only PNG and JPEG images are accepted")
    # Decoded as the poster renderer will decode it: pixel data it cannot read is refused now, not at
    # a member's first poster, and the size is the upright one (a phone photo's EXIF rotation applied),
    # which is the size layouts are checked against and posters are drawn on.
    try:
        upright = inspect_template(data, max_pixels=max_pixels)
    except InvalidTemplate as exc:
        raise TemplateImageRejected(f"damaged image: {exc}") from None
    width, height = upright.width, upright.height
    if min(width, height) < MIN_SIDE:
        raise TemplateImageRejected(f"image is {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} needed")
    return ImageInfo(_FORMATS[image_format], width, height, len(data))


class MongoTemplateStore(TemplateStore):
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._images = database[TEMPLATES]

    async def put(self, appid: str, campaign_id: str, data: bytes, info: ImageInfo) -> TemplateImage:
        image = TemplateImage(
            id=uuid.uuid4().hex,
            appid=appid,
            campaign_id=campaign_id,
            info=info,
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_at=datetime.now(UTC).replace(microsecond=0),
        )
        document = {
            "_id": image.id,
            "appid": appid,
            "campaign_id": campaign_id,
            "content_type": info.content_type,
            "width": info.width,
            "height": info.height,
            "size": info.size,
            "sha256": image.sha256,
            "uploaded_at": image.uploaded_at,
            "data": Binary(data),
        }
        try:
            await self._images.insert_one(document)
        except PyMongoError as exc:
            raise StorageError(f"template image not stored: {type(exc).__name__}") from exc
        return image

    async def get(self, campaign_id: str, image_id: str) -> TemplateImage | None:
        document = await self._images.find_one({"_id": image_id, "campaign_id": campaign_id}, {"data": 0})
        if document is None:
            return None
        return TemplateImage(
            id=document["_id"],
            appid=document["appid"],
            campaign_id=document["campaign_id"],
            info=ImageInfo(document["content_type"], document["width"], document["height"], document["size"]),
            sha256=document["sha256"],
            uploaded_at=document["uploaded_at"],
        )

    async def read(self, image_id: str) -> bytes | None:
        document = await self._images.find_one({"_id": image_id}, {"data": 1})
        return None if document is None else bytes(document["data"])

    async def delete(self, image_id: str) -> None:
        await self._images.delete_one({"_id": image_id})
