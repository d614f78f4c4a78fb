"""Synthetic pictures for the screenshot tests: campaign posters with a member's QR code, photos, and
Moments screenshots showing a picture (built with the fonts WeChat's clients use)."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFont

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
PAYLOAD = "http://weixin.qq.com/q/02AbCdEfGhIjKlMnOpQrStUv"
FOREIGN_PAYLOAD = "http://weixin.qq.com/q/02ZyXwVuTsRqPoNmLkJiHgFe"
POSTER_SIZE = (750, 1334)
#: Where the QR code (with its quiet zone) sits in a poster: left, top, width, height.
POSTER_QR = (390, 954, 300, 300)
TIME_GREY = (178, 178, 178)
LINK_BLUE = (87, 107, 149)

Rgb = tuple[int, int, int]


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_PATH, size)


def padlock(draw: ImageDraw.ImageDraw, x: float, y: float, k: float, colour: tuple[int, int, int]) -> float:
    """The padlock WeChat draws for private posts (body and shackle), at ``x``; returns its width."""
    draw.rounded_rectangle((x, y + 12 * k, x + 20 * k, y + 30 * k), round(3 * k), fill=colour)
    draw.arc((x + 3 * k, y + 2 * k, x + 17 * k, y + 20 * k), 180, 0, fill=colour, width=max(1, round(3 * k)))
    return 20 * k


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 70) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def make_poster(payload: str | None, *, sale: bool = False) -> Image.Image:
    """A campaign poster with the member's QR code at :data:`POSTER_QR`; ``None`` leaves the QR area blank.

    ``sale`` draws entirely different artwork around the same QR position (another campaign's poster).
    """
    image = Image.new("RGB", POSTER_SIZE, (40, 90, 160) if sale else (250, 180, 160))
    draw = ImageDraw.Draw(image)
    if sale:
        draw.rectangle((50, 150, 700, 500), fill=(230, 60, 60))
        draw.text((80, 220), "新年特惠", font=font(110), fill=(255, 255, 255))
        draw.polygon([(60, 620), (360, 560), (300, 900)], fill=(250, 220, 60))
        draw.text((60, 960), "全场五折", font=font(70), fill=(250, 250, 250))
    else:
        draw.text((60, 80), "宝宝成长礼包", font=font(90), fill=(120, 20, 20))
        draw.ellipse((100, 260, 600, 760), fill=(255, 230, 120))
        draw.text((150, 420), "限时免费", font=font(100), fill=(200, 60, 40))
        for row, line in enumerate(["扫码添加顾问", "领取育儿大礼包", "名额有限 先到先得"]):
            draw.text((40, 820 + row * 60), line, font=font(40), fill=(60, 30, 30))
        for index in range(6):
            draw.rectangle((40 + index * 55, 1060, 80 + index * 55, 1100), fill=(80 + index * 25, 40, 120))
    left, top, size, _ = POSTER_QR
    if payload is None:
        code = Image.new("RGB", (size, size), (255, 255, 255))
    else:
        code = qrcode.make(payload, box_size=8, border=2).convert("RGB").resize((size, size), Image.Resampling.NEAREST)
    image.paste(code, (left, top))
    return image


def make_photo(width: int = 800, height: int = 600, seed: int = 7) -> Image.Image:
    """A picture that is not a poster: smooth colour, blobs, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / width * 200, y / height * 180 + 40, (x + y) / (width + height) * 120 + 60], axis=-1)
    rgb += rng.normal(0, 12, rgb.shape)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        cx, cy, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(20, 90))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    return image


@dataclass(frozen=True)
class Member:
    """Who posted: a flat-colour avatar (with ``initial`` on it, if given), or a photo one when
    ``avatar_photo`` (a seed) is given."""

    avatar: Rgb = (90, 140, 200)
    nickname: str = "小雨妈妈"
    body: str = "宝妈们快来领取"
    avatar_photo: int | None = None
    initial: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where :func:`make_moments` put the picture: left, top, width, height in screenshot pixels."""

    left: int
    top: int
    width: int
    height: int


def make_moments(
    picture: Image.Image | None,
    *,
    member: Member = Member(),
    private: bool = False,
    dark: bool = False,
    own: bool = True,
    time_word: str = "3分钟前",
    size: tuple[int, int] = (750, 1334),
    share: float = 0.45,
) -> tuple[Image.Image, Placement]:
    """A Moments post: title bar, avatar, nickname, text, the picture at ``share`` of the width, time row."""
    width = size[0]
    k = width / 750
    page = (25, 25, 25) if dark else (255, 255, 255)
    ink = (210, 210, 210) if dark else (25, 25, 25)
    grey = (110, 110, 110) if dark else TIME_GREY
    image = Image.new("RGB", size, page)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, round(120 * k)), fill=(17, 17, 17) if dark else (237, 237, 237))
    draw.text((width // 2 - round(50 * k), round(60 * k)), "朋友圈", font=font(round(34 * k)), fill=ink)
    x0 = round(130 * k)
    avatar = (round(30 * k), round(200 * k), round(110 * k), round(280 * k))
    draw.rectangle(avatar, fill=member.avatar)
    if member.avatar_photo is not None:
        side = avatar[2] - avatar[0]
        image.paste(make_photo(side, side, seed=member.avatar_photo), avatar[:2])
    elif member.initial is not None:
        corner = (avatar[0] + round(18 * k), avatar[1] + round(8 * k))
        draw.text(corner, member.initial, font=font(round(44 * k)), fill=(255, 255, 255))
    draw.text((x0, round(200 * k)), member.nickname, font=font(round(30 * k)), fill=LINK_BLUE)
    draw.text((x0, round(250 * k)), member.body, font=font(round(30 * k)), fill=ink)
    y = round(310 * k)
    placement = Placement(x0, y, 0, 0)
    if picture is not None:
        pw = round(width * share)
        ph = round(pw * picture.height / picture.width)
        image.paste(picture.resize((pw, ph), Image.Resampling.LANCZOS), (x0, y))
        placement = Placement(x0, y, pw, ph)
        y += ph
    y += round(14 * k)
    row_font = font(round(26 * k))
    draw.text((x0, y), time_word, font=row_font, fill=grey)
    x = x0 + draw.textlength(time_word, font=row_font) + round(20 * k)
    if private:
        x += padlock(draw, x, y, k, grey) + 20 * k
    if own:
        draw.text((x, y), "删除", font=row_font, fill=LINK_BLUE)
    return image, placement


def make_shot(picture: Image.Image | None, *, quality: int = 70, **options: Any) -> bytes:
    """:func:`make_moments` (``options`` are its keywords) saved as a JPEG."""
    image, _ = make_moments(picture, **options)
    return encode(image, "JPEG", quality)


def crop_and_reencode(data: bytes, fraction: float, quality: int) -> bytes:
    """The screenshot with ``fraction`` cut off its left and top edges, saved again as a JPEG."""
    with Image.open(io.BytesIO(data)) as image:
        left, top = round(image.width * fraction), round(image.height * fraction)
        return encode(image.crop((left, top, image.width, image.height)), "JPEG", quality)
