"""Family B: a second, independently drawn family of synthetic Moments share screenshots.

Why a second family: a verifier tuned on one renderer learns that renderer. Family A
(:mod:`scrm_dev.screenshot_corpus`) is what the checks were developed on; this module draws the same
*situations* with its own code and its own choices, so that tuning on one family and measuring on the
other says how far the checks generalise. Nothing here is shared with family A's drawing code: other
poster designs, layout proportions (measured in points of a 390 pt wide screen), fonts (the Noto CJK HK
and KR faces and DejaVu for the English UI), status bars (iOS with notch or Dynamic Island, Android with a
punch hole), headers (top of the feed with the cover photo and profile header, the scrolled feed, the
detail view), avatars (initials, patterns, WeChat's grey default), UI language (zh and en), scroll
positions, light and dark mode, and degradation chains (downscale, JPEG re-encoded twice, WebP).

The negatives are the same classes as family A's, plus the hard ones of issue 18: the member's own QR
code on another campaign's or another brand's artwork, a screenshot re-sent byte for byte, someone
else's screenshot with the member's poster pasted over it, and (genuine, not negative) many members of
one campaign honestly posting the same poster with default avatars and the suggested words.

Every parameter lives in :class:`FamilyBParams`; a seed fixes every byte (on one machine's fonts).
"""

from __future__ import annotations

import io
import json
import math
import random
import string
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = [
    "FAMILY_B_KINDS",
    "FAMILY_B_NEGATIVE_KINDS",
    "FamilyBParams",
    "draw_family_b_poster",
    "generate_family_b",
]

RGB: TypeAlias = tuple[int, int, int]
Lang: TypeAlias = Literal["zh", "en"]
ViewB: TypeAlias = Literal["top", "feed", "detail"]

FAMILY_B_NEGATIVE_KINDS: tuple[str, ...] = (
    "private",
    "foreign_qr",
    "chat",
    "bare_poster",
    "fullscreen",
    "random_photo",
    "no_poster",
    "other_campaign",
    "own_qr_other_campaign_art",
    "own_qr_other_brand_art",
    "reused_same_file",
    "reused_pasted",
)
#: ``genuine_crowd``: many members of one campaign honestly posting the same poster (default avatars,
#: the campaign's suggested words, the same phone): genuine, and the hard case for the re-use check.
FAMILY_B_KINDS: tuple[str, ...] = ("genuine", "genuine_crowd", *FAMILY_B_NEGATIVE_KINDS)


@dataclass(frozen=True)
class Phone:
    name: str
    size: tuple[int, int]
    os: Literal["ios", "android"]
    #: Status bar height in points, and what sits in the middle of it.
    status_pt: int
    cutout: Literal["notch", "island", "hole", "none"]


PHONES: tuple[Phone, ...] = (
    Phone("iphone-x", (1125, 2436), "ios", 44, "notch"),
    Phone("iphone-14pro", (1179, 2556), "ios", 54, "island"),
    Phone("iphone-se", (640, 1136), "ios", 20, "none"),
    Phone("iphone-12mini", (1080, 2340), "ios", 50, "notch"),
    Phone("android-fhd", (1080, 2400), "android", 28, "hole"),
    Phone("android-qhd", (1440, 3200), "android", 32, "hole"),
    Phone("android-hd", (720, 1520), "android", 26, "none"),
)


@dataclass(frozen=True)
class FamilyBParams:
    """Everything family B varies, with its ranges. Change one, get another family."""

    genuine_share: float = 0.52
    #: Of the genuine screenshots, the share posted by a crowd sharing one campaign's poster.
    crowd_share: float = 0.3
    #: Poster thumbnail width over screen width in a post (WeChat shows one picture at most ~2/3 wide).
    thumb_share: tuple[float, float] = (0.40, 0.62)
    #: QR side over poster width.
    qr_share: tuple[float, float] = (0.26, 0.34)
    en_share: float = 0.3
    dark_share: float = 0.35
    views: tuple[tuple[ViewB, float], ...] = (("top", 0.3), ("feed", 0.45), ("detail", 0.25))
    #: Font size of the post text in points, and the ratio of the time row's.
    body_pt: tuple[float, float] = (15.0, 19.0)
    time_ratio: tuple[float, float] = (0.74, 0.86)
    #: Horizontal margin and avatar side, in points.
    margin_pt: tuple[float, float] = (10.0, 16.0)
    avatar_pt: tuple[float, float] = (38.0, 46.0)
    #: Final width over the phone's width (the screenshot as the member's phone or WeChat resized it).
    downscale: tuple[float, float] = (0.5, 1.0)
    #: A genuine screenshot keeps QR modules at least this wide (smaller cannot be scanned by anyone).
    min_module_px: float = 2.9
    chains: tuple[tuple[str, float], ...] = (
        ("png", 0.15),
        ("jpeg", 0.35),
        ("jpeg_twice", 0.25),
        ("webp", 0.15),
        ("crop_jpeg", 0.10),
    )
    #: Share of Moments screens with a message notification over the top (a status-bar overlay).
    banner_share: float = 0.12
    campaigns: tuple[int, int] = (5, 7)
    members_per_campaign: tuple[int, int] = (3, 6)
    crowd_members: int = 14


# ---------------------------------------------------------------------------------------------------------
# fonts


@dataclass(frozen=True)
class _Fonts:
    cjk: tuple[tuple[str, int], ...]
    cjk_bold: tuple[tuple[str, int], ...]
    latin: tuple[str, ...]
    latin_bold: tuple[str, ...]


@lru_cache(maxsize=1)
def _fonts() -> _Fonts:
    """The machine's Noto CJK (HK and KR faces: family A uses SC, TC, JP) and DejaVu files."""
    found: dict[str, Path] = {}
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                found.setdefault(path.name, path)
    cjk: list[tuple[str, int]] = []
    cjk_bold: list[tuple[str, int]] = []
    # Face order inside the Noto CJK collections: JP, KR, SC, TC, HK, then the Mono ones.
    if "NotoSansCJK-Regular.ttc" in found:
        cjk += [(str(found["NotoSansCJK-Regular.ttc"]), 4), (str(found["NotoSansCJK-Regular.ttc"]), 1)]
    if "NotoSerifCJK-Regular.ttc" in found:
        cjk.append((str(found["NotoSerifCJK-Regular.ttc"]), 4))
    if "NotoSansCJK-Bold.ttc" in found:
        cjk_bold += [(str(found["NotoSansCJK-Bold.ttc"]), 4), (str(found["NotoSansCJK-Bold.ttc"]), 1)]
    if not cjk:
        cjk = [
            (str(p), 0)
            for name, p in found.items()
            if name.lower().endswith((".ttc", ".otf")) and "cjk" in name.lower()
        ]
    if not cjk:
        raise RuntimeError("family B needs a CJK font (fonts-noto-cjk)")
    latin = [str(found[n]) for n in ("DejaVuSans.ttf", "DejaVuSansCondensed.ttf") if n in found]
    latin_bold = [str(found[n]) for n in ("DejaVuSans-Bold.ttf", "DejaVuSansCondensed-Bold.ttf") if n in found]
    return _Fonts(tuple(cjk), tuple(cjk_bold or cjk), tuple(latin), tuple(latin_bold or latin))


def _rng(seed: int | str) -> random.Random:
    return random.Random(seed)  # noqa: S311  (reproducible synthetic pictures, not secrets)


@lru_cache(maxsize=256)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(7, size), index=index)


def _font(rng: random.Random, size: float, *, bold: bool = False, latin: bool = False) -> ImageFont.FreeTypeFont:
    faces = _fonts()
    if latin and faces.latin:
        return _load(rng.choice(faces.latin_bold if bold else faces.latin), 0, round(size))
    path, index = rng.choice(faces.cjk_bold if bold else faces.cjk)
    return _load(path, index, round(size))


def _width(text: str, font: ImageFont.FreeTypeFont) -> float:
    return float(font.getlength(text))


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_w: float) -> list[str]:
    """Greedy wrap by character (CJK) or by word (Latin)."""
    tokens = text.split(" ") if text.isascii() else list(text)
    joiner = " " if text.isascii() else ""
    lines: list[str] = []
    current = ""
    for token in tokens:
        trial = f"{current}{joiner}{token}" if current else token
        if current and _width(trial, font) > max_w:
            lines.append(current)
            current = token
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


# ---------------------------------------------------------------------------------------------------------
# colours and small pictures


def _hue(h: float, s: float, v: float) -> RGB:
    """HSV to RGB without colorsys: the sector formula."""
    h = (h % 1.0) * 6
    i = int(h)
    f = h - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i % 6]
    return round(r * 255), round(g * 255), round(b * 255)


def _noise_field(rng: random.Random, size: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth value noise in 0..1: a coarse random grid upsampled bicubically."""
    w, h = size
    gen = np.random.default_rng(rng.getrandbits(32))
    coarse = (gen.random((max(2, cells * h // max(1, w)), cells)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32) / 255


def landscape(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A made-up outdoor photo: sky gradient, sun, layered hills, texture. Used as cover, photo and art."""
    w, h = size
    top, bottom = (
        _hue(rng.random(), rng.uniform(0.2, 0.6), rng.uniform(0.7, 1)),
        _hue(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.8, 1)),
    )
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    sky = (np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t) * np.ones((1, w, 1), np.float32)
    img = Image.fromarray(sky.astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    sx, sy, sr = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.4) * h, rng.uniform(0.04, 0.1) * w
    d.ellipse((sx - sr, sy - sr, sx + sr, sy + sr), fill=_hue(rng.uniform(0.05, 0.15), 0.6, 1))
    for layer in range(rng.randint(2, 4)):
        base = h * (0.45 + 0.15 * layer + rng.uniform(-0.05, 0.05))
        amp, freq, phase = rng.uniform(0.03, 0.12) * h, rng.uniform(1, 4), rng.uniform(0, 6.3)
        pts = [(x, base - amp * math.sin(freq * x / w * 6.3 + phase)) for x in range(0, w + 8, 8)]
        d.polygon([*pts, (w, h), (0, h)], fill=_hue(rng.uniform(0.2, 0.45), rng.uniform(0.3, 0.7), 0.75 - 0.12 * layer))
    grain = (_noise_field(rng, size, 48) - 0.5) * rng.uniform(20, 50)
    arr = np.clip(np.asarray(img, np.float32) + grain[:, :, None], 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))


_QR_CHARS = string.ascii_letters + string.digits


def qr_payload(rng: random.Random) -> str:
    """A WeChat temporary-QR style URL (the shape real ones have)."""
    return "http://weixin.qq.com/q/02" + "".join(rng.choice(_QR_CHARS) for _ in range(22))


def _qr(payload: str, side: int, level: int) -> Image.Image:
    """The code at ``side`` px with whole-pixel modules (rounded down to fit) and a 2-module quiet zone."""
    code = qrcode.QRCode(error_correction=level, box_size=1, border=2)
    code.add_data(payload)
    code.make(fit=True)
    cells = np.array(code.get_matrix(), dtype=bool)
    module = max(1, side // cells.shape[0])
    big = np.repeat(np.repeat(cells, module, axis=0), module, axis=1)
    return Image.fromarray(np.where(big, 20, 250).astype(np.uint8), "L").convert("RGB")


# ---------------------------------------------------------------------------------------------------------
# posters: three brand styles, each campaign one style and one seed


@dataclass(frozen=True)
class Campaign:
    cid: str
    brand: str
    style: Literal["band", "card", "scenic"]
    seed: int
    size: tuple[int, int]
    qr_share: float
    title: str
    suggested: str
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class Member:
    user: str
    campaign: str
    payload: str
    nickname: str
    poster_rel: str


_TITLES = (
    "亲子阅读月",
    "春季焕新礼",
    "会员感恩周",
    "宝贝游泳课",
    "早教体验营",
    "营养师直播",
    "新品试吃团",
    "周末手工坊",
)
_SUGGESTED = (
    "和我一起领取免费体验课吧",
    "扫码就能领，亲测有效",
    "推荐给身边的宝爸宝妈",
    "Free trial class, scan my code",
    "这个活动真的很值得参加",
)


def draw_family_b_poster(campaign: Campaign, payload: str) -> Image.Image:
    """The campaign's artwork with ``payload``'s QR code: what a member of it is issued."""
    rng = _rng(campaign.seed)
    w, h = campaign.size
    fonts = _fonts()
    title_font = _load(*fonts.cjk_bold[0], round(w * 0.085))
    small = _load(*fonts.cjk[0], round(w * 0.035))
    base = _hue(rng.random(), rng.uniform(0.45, 0.85), rng.uniform(0.6, 0.95))
    accent = _hue(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(0.7, 1))
    side = round(w * campaign.qr_share)
    code = _qr(payload, side, qrcode.constants.ERROR_CORRECT_Q)
    if campaign.style == "band":
        img = Image.new("RGB", (w, h), base)
        d = ImageDraw.Draw(img)
        for i in range(rng.randint(8, 16)):  # diagonal stripes and triangles
            x0 = rng.uniform(-0.3, 1) * w
            d.polygon(
                [(x0, h * 0.2), (x0 + w * 0.25, h * 0.2), (x0 + w * 0.6, h * 0.72), (x0 + w * 0.35, h * 0.72)],
                fill=_hue(rng.random(), 0.4, 0.5 + 0.05 * (i % 8)),
            )
        for _ in range(rng.randint(4, 9)):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0.2, 0.7) * h, rng.uniform(0.03, 0.12) * w
            d.regular_polygon((cx, cy, r), 3, rotation=rng.uniform(0, 120), fill=accent)
        d.rectangle((0, 0, w, h * 0.18), fill=accent)
        d.text((w * 0.06, h * 0.09), campaign.title, font=title_font, fill=(255, 255, 255), anchor="lm")
        band_top = h - side - round(w * 0.1)
        d.rectangle((0, band_top, w, h), fill=(252, 252, 250))
        d.text(
            (w * 0.06, band_top + (h - band_top) * 0.4), "长按识别二维码", font=small, fill=(60, 60, 60), anchor="lm"
        )
        d.text(
            (w * 0.06, band_top + (h - band_top) * 0.62),
            "参与活动领好礼",
            font=small,
            fill=(120, 120, 120),
            anchor="lm",
        )
        img.paste(code, (w - code.width - round(w * 0.05), band_top + (h - band_top - code.height) // 2))
    elif campaign.style == "card":
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        grad = np.array(base, np.float32) * (1 - t) + np.array(accent, np.float32) * t
        img = Image.fromarray((grad * np.ones((1, w, 1), np.float32)).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(img)
        for _ in range(rng.randint(3, 7)):  # concentric arcs
            cx, cy = rng.uniform(0, w), rng.uniform(0, h * 0.6)
            for k in range(rng.randint(2, 5)):
                r = (k + 1) * rng.uniform(0.05, 0.09) * w
                d.arc((cx - r, cy - r, cx + r, cy + r), 0, 360, fill=(255, 255, 255), width=max(2, w // 150))
        d.text((w / 2, h * 0.14), campaign.title, font=title_font, fill=(255, 255, 255), anchor="mm")
        card_w, card_h = side + round(w * 0.12), side + round(w * 0.2)
        left, top = (w - card_w) // 2, h - card_h - round(h * 0.06)
        d.rounded_rectangle((left, top, left + card_w, top + card_h), radius=w // 30, fill=(255, 255, 255))
        img.paste(code, (left + (card_w - code.width) // 2, top + round(w * 0.05)))
        d.text((w / 2, top + card_h - w * 0.06), "扫码助力", font=small, fill=(70, 70, 70), anchor="mm")
    else:  # scenic: a photo with a framed code at the bottom left
        img = landscape(rng, (w, h))
        d = ImageDraw.Draw(img)
        d.rectangle((0, h * 0.04, w, h * 0.16), fill=base)
        d.text((w * 0.5, h * 0.1), campaign.title, font=title_font, fill=(255, 255, 255), anchor="mm")
        pad = round(w * 0.025)
        x, y = round(w * 0.06), h - side - round(h * 0.05)
        d.rectangle((x - pad, y - pad, x + code.width + pad, y + code.height + pad), fill=(255, 255, 255))
        img.paste(code, (x, y))
        d.text(
            (x + code.width + pad * 3, y + code.height / 2),
            campaign.brand,
            font=small,
            fill=(255, 255, 255),
            anchor="lm",
        )
    return img


# ---------------------------------------------------------------------------------------------------------
# the Moments screen


@dataclass(frozen=True)
class _Theme:
    bg: RGB
    text: RGB
    link: RGB
    muted: RGB
    panel: RGB
    rule: RGB
    bar: RGB


def _theme(dark: bool, rng: random.Random) -> _Theme:
    if dark:
        g = rng.randint(14, 26)
        return _Theme((g, g, g), (214, 214, 214), (125, 144, 172), (118, 118, 118), (g + 18, g + 18, g + 18),
                      (g + 24, g + 24, g + 24), (g + 6, g + 6, g + 6))  # fmt: skip
    return _Theme((255, 255, 255), (25, 25, 25), (88, 106, 148), (150, 150, 150), (246, 246, 247),
                  (232, 232, 232), (237, 237, 237))  # fmt: skip


@dataclass
class _Screen:
    """A phone screen being drawn, with its point scale."""

    img: Image.Image
    phone: Phone
    theme: _Theme
    lang: Lang
    pt: float
    rng: random.Random
    draw: ImageDraw.ImageDraw = field(init=False)

    def __post_init__(self) -> None:
        self.draw = ImageDraw.Draw(self.img)

    def p(self, points: float) -> int:
        return round(points * self.pt)

    def font(self, points: float, *, bold: bool = False, latin_ok: bool = True) -> ImageFont.FreeTypeFont:
        return _font(self.rng, points * self.pt, bold=bold, latin=latin_ok and self.lang == "en")


def _status_bar(s: _Screen, fg: RGB, bg: RGB | None) -> int:
    """Draws the status bar; returns its height in px."""
    h = s.p(s.phone.status_pt)
    w = s.img.width
    if bg is not None:
        s.draw.rectangle((0, 0, w, h), fill=bg)
    clock = f"{s.rng.randint(7, 23)}:{s.rng.randint(0, 59):02d}"
    digits = _load(_fonts().latin_bold[0] if _fonts().latin_bold else _fonts().cjk[0][0], 0, s.p(13.5))
    cy = h * (0.58 if s.phone.os == "ios" and s.phone.cutout != "none" else 0.5)
    if s.phone.os == "ios":
        s.draw.text((s.p(32), cy), clock, font=digits, fill=fg, anchor="lm")
        bx = w - s.p(34)
        s.draw.rounded_rectangle(
            (bx, cy - s.p(5.5), bx + s.p(24), cy + s.p(5.5)), radius=s.p(3), outline=fg, width=max(1, s.p(1))
        )
        s.draw.rectangle((bx + s.p(2), cy - s.p(3.5), bx + s.p(2 + 20 * s.rng.uniform(0.2, 1)), cy + s.p(3.5)), fill=fg)
        for i in range(4):  # signal bars
            x = w - s.p(80) + i * s.p(4.5)
            s.draw.rectangle((x, cy + s.p(4) - s.p(3 + 2 * i), x + s.p(3), cy + s.p(4)), fill=fg)
        if s.phone.cutout == "notch":
            s.draw.rounded_rectangle((w * 0.28, -s.p(10), w * 0.72, s.p(30)), radius=s.p(18), fill=(0, 0, 0))
        elif s.phone.cutout == "island":
            s.draw.rounded_rectangle((w * 0.35, s.p(11), w * 0.65, s.p(45)), radius=s.p(17), fill=(0, 0, 0))
    else:
        s.draw.text((s.p(18), cy), clock, font=digits, fill=fg, anchor="lm")
        x = w - s.p(22)
        s.draw.rectangle((x, cy - s.p(6), x + s.p(8), cy + s.p(6)), fill=fg)  # battery, upright
        s.draw.polygon([(x - s.p(22), cy + s.p(6)), (x - s.p(8), cy + s.p(6)), (x - s.p(8), cy - s.p(7))], fill=fg)
        s.draw.pieslice((x - s.p(44), cy - s.p(8), x - s.p(26), cy + s.p(10)), 225, 315, fill=fg)  # wifi
        if s.phone.cutout == "hole":
            r = s.p(6)
            s.draw.ellipse((w / 2 - r, cy - r, w / 2 + r, cy + r), fill=(0, 0, 0))
    return h


def _nav(s: _Screen, top: int, title: str | None, fg: RGB, bg: RGB | None) -> int:
    h = s.p(44)
    w = s.img.width
    if bg is not None:
        s.draw.rectangle((0, top, w, top + h), fill=bg)
    cy = top + h / 2
    a = s.p(7)
    s.draw.line(
        [(s.p(20) + a, cy - a * 1.4), (s.p(20), cy), (s.p(20) + a, cy + a * 1.4)], fill=fg, width=max(2, s.p(2))
    )
    if title:
        s.draw.text((w / 2, cy), title, font=s.font(17, bold=True), fill=fg, anchor="mm")
    cx = w - s.p(30)  # camera
    s.draw.rounded_rectangle(
        (cx - s.p(11), cy - s.p(8), cx + s.p(11), cy + s.p(8)), radius=s.p(3), outline=fg, width=max(1, s.p(1.6))
    )
    s.draw.ellipse((cx - s.p(4.5), cy - s.p(4.5), cx + s.p(4.5), cy + s.p(4.5)), outline=fg, width=max(1, s.p(1.6)))
    return top + h


def avatar(
    rng: random.Random, side: int, name: str, style: Literal["initial", "pattern", "default", "photo"]
) -> Image.Image:
    if style == "default":  # WeChat's grey silhouette
        img = Image.new("RGB", (side, side), (200, 200, 204))
        d = ImageDraw.Draw(img)
        d.ellipse((side * 0.32, side * 0.18, side * 0.68, side * 0.54), fill=(246, 246, 246))
        d.pieslice((side * 0.14, side * 0.58, side * 0.86, side * 1.3), 180, 360, fill=(246, 246, 246))
        return img
    if style == "photo":
        return landscape(rng, (side, side))
    colour = _hue(rng.random(), rng.uniform(0.4, 0.8), rng.uniform(0.55, 0.9))
    img = Image.new("RGB", (side, side), colour)
    d = ImageDraw.Draw(img)
    if style == "pattern":
        for _ in range(rng.randint(3, 7)):
            r = rng.uniform(0.1, 0.4) * side
            cx, cy = rng.uniform(0, side), rng.uniform(0, side)
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_hue(rng.random(), 0.5, 0.95))
    else:
        d.text(
            (side / 2, side / 2), name[:1], font=_font(rng, side * 0.55, bold=True), fill=(255, 255, 255), anchor="mm"
        )
    return img


_NAMES_ZH = (
    "小鱼儿",
    "暖暖妈",
    "陈晓",
    "Lily林",
    "阿杰",
    "豆豆爸爸",
    "王女士",
    "晴天",
    "米粒",
    "周周",
    "一只橙子",
    "张老师",
)
_NAMES_EN = ("Amy", "Kevin Zhou", "Mia", "Leo W.", "Sunny", "Grace", "Tom", "Ivy Chen")
_WORDS_ZH = ("周末带娃去玩啦", "分享一个好活动", "姐妹们冲", "孩子很喜欢", "", "今天天气真好")
_WORDS_EN = ("Sharing a great event", "Kids loved it!", "", "Join me")


def _time_text(rng: random.Random, lang: Lang) -> str:
    n = rng.randint(1, 59)
    choice = rng.randrange(5)
    if lang == "zh":
        return (
            "刚刚",
            f"{n}分钟前",
            f"{rng.randint(1, 23)}小时前",
            f"昨天 {rng.randint(8, 22)}:{n:02d}",
            f"{n}分钟前",
        )[choice]
    return (
        "Just now",
        f"{n} mins ago",
        f"{rng.randint(1, 23)} hr ago",
        f"Yesterday {rng.randint(8, 22)}:{n:02d}",
        f"{n} min ago",
    )[choice]


def _lock(s: _Screen, x: float, cy: float, size: float, fg: RGB) -> float:
    """A padlock icon; returns its width."""
    w, h = size * 0.7, size * 0.55
    s.draw.arc((x + w * 0.18, cy - h * 1.2, x + w * 0.82, cy), 180, 360, fill=fg, width=max(1, round(size / 9)))
    s.draw.rectangle((x, cy - h * 0.4, x + w, cy + h * 0.6), fill=fg)
    return w


@dataclass(frozen=True)
class _PostSpec:
    nickname: str
    words: str
    picture: Image.Image
    avatar_style: Literal["initial", "pattern", "default", "photo"]
    time_text: str
    private: bool = False
    likes: tuple[str, ...] = ()
    #: 删除 shows under one's own posts only.
    own: bool = True


def _post(s: _Screen, spec: _PostSpec, top: int, geo: dict[str, float]) -> tuple[int, tuple[int, int, int, int], int]:
    """Draws one post from ``top``; returns its bottom, the picture's box and the time row's bottom."""
    th = s.theme
    margin, av = s.p(geo["margin"]), s.p(geo["avatar"])
    x = margin + av + s.p(10)
    avatar_img = avatar(s.rng, av, spec.nickname, spec.avatar_style)
    s.img.paste(avatar_img, (margin, top))
    name_font = s.font(geo["body"] * 0.98, bold=s.rng.random() < 0.4, latin_ok=spec.nickname.isascii())
    s.draw.text((x, top + s.p(2)), spec.nickname, font=name_font, fill=th.link, anchor="lt")
    y = top + s.p(geo["body"] * 1.5)
    body = s.font(geo["body"], latin_ok=spec.words.isascii())
    for line in _wrap(spec.words, body, s.img.width - x - margin):
        s.draw.text((x, y), line, font=body, fill=th.text, anchor="lt")
        y += s.p(geo["body"] * 1.45)
    y += s.p(6)
    pic_w = round(s.img.width * geo["thumb"])
    pic_h = round(pic_w * spec.picture.height / spec.picture.width)
    limit = round(s.img.width * 0.95)
    if pic_h > limit:  # WeChat caps a tall single picture's height
        pic_w, pic_h = round(pic_w * limit / pic_h), limit
    s.img.paste(spec.picture.resize((pic_w, pic_h), Image.Resampling.LANCZOS), (x, y))
    box = (x, y, x + pic_w, y + pic_h)
    y += pic_h + s.p(geo["gap"])
    time_font = s.font(geo["body"] * geo["time"])
    row_h = s.p(geo["body"] * geo["time"] * 1.5)
    cy = y + row_h / 2
    s.draw.text((x, cy), spec.time_text, font=time_font, fill=th.muted, anchor="lm")
    cursor = x + _width(spec.time_text, time_font) + s.p(10)
    if spec.private:
        cursor += _lock(s, cursor, cy + s.p(2), s.p(geo["body"] * geo["time"]), th.muted) + s.p(10)
    if spec.own:
        s.draw.text((cursor, cy), "删除" if s.lang == "zh" else "Delete", font=time_font, fill=th.link, anchor="lm")
    bx = s.img.width - margin - s.p(30)  # the comment button: two dots in a rounded box
    s.draw.rounded_rectangle((bx, cy - s.p(9), bx + s.p(30), cy + s.p(9)), radius=s.p(3), fill=th.panel)
    for k in (0, 1):
        dx = bx + s.p(10 + 10 * k)
        s.draw.ellipse((dx - s.p(2), cy - s.p(2), dx + s.p(2), cy + s.p(2)), fill=th.link)
    row_bottom = round(y + row_h)
    y += row_h + s.p(6)
    if spec.likes:
        like_font = s.font(geo["body"] * 0.85, latin_ok=False)
        panel_h = s.p(geo["body"] * 1.7)
        s.draw.rectangle((x, y, s.img.width - margin, y + panel_h), fill=th.panel)
        s.draw.text((x + s.p(26), y + panel_h / 2), ", ".join(spec.likes), font=like_font, fill=th.link, anchor="lm")
        hx, hy = x + s.p(12), y + panel_h / 2
        s.draw.regular_polygon((hx, hy, s.p(5)), 4, rotation=45, fill=th.link)
        y += panel_h + s.p(6)
    y += s.p(8)
    s.draw.line([(0, y), (s.img.width, y)], fill=th.rule, width=max(1, s.p(0.5)))
    return y + s.p(12), box, row_bottom


def _filler_post(s: _Screen, geo: dict[str, float]) -> _PostSpec:
    names = _NAMES_EN if s.lang == "en" and s.rng.random() < 0.5 else _NAMES_ZH
    words = _WORDS_EN if s.lang == "en" else _WORDS_ZH
    return _PostSpec(
        s.rng.choice(names),
        s.rng.choice(words) or "…",
        landscape(s.rng, (s.rng.randint(300, 500), s.rng.randint(300, 500))),
        s.rng.choice(("initial", "pattern", "photo")),
        _time_text(s.rng, s.lang),
        own=False,
    )


def _banner(s: _Screen, top: int) -> None:
    """A message notification sliding over the top of the screen while the screenshot was taken."""
    w = s.img.width
    dark = s.theme.bg[0] < 128
    fill = (58, 58, 60) if dark else (236, 236, 238)
    s.draw.rounded_rectangle((s.p(8), top, w - s.p(8), top + s.p(68)), radius=s.p(14), fill=fill)
    icon = s.p(36)
    s.draw.rounded_rectangle(
        (s.p(20), top + s.p(16), s.p(20) + icon, top + s.p(16) + icon), radius=s.p(8), fill=(7, 193, 96)
    )
    sender = s.rng.choice(_NAMES_ZH)
    body = s.rng.choice(("晚上一起吃饭吗", "收到，谢谢", "[图片]", "See you at 7"))
    text_x = s.p(66)
    s.draw.text(
        (text_x, top + s.p(22)),
        "微信" if s.lang == "zh" else "WeChat",
        font=s.font(13, bold=True),
        fill=s.theme.text,
        anchor="lm",
    )
    s.draw.text(
        (text_x, top + s.p(44)), f"{sender}: {body}", font=s.font(14, latin_ok=False), fill=s.theme.text, anchor="lm"
    )


@dataclass(frozen=True)
class Rendered:
    image: Image.Image
    picture_box: tuple[int, int, int, int]
    variant: dict[str, str]


def render_moments(
    picture: Image.Image,
    rng: random.Random,
    params: FamilyBParams,
    *,
    nickname: str,
    words: str,
    avatar_style: Literal["initial", "pattern", "default", "photo"],
    private: bool = False,
    phone: Phone | None = None,
    dark: bool | None = None,
    lang: Lang | None = None,
    view: ViewB | None = None,
    time_text: str | None = None,
) -> Rendered:
    """A Moments screen showing ``picture`` in the member's own post."""
    phone = phone or rng.choice(PHONES)
    dark = rng.random() < params.dark_share if dark is None else dark
    lang = ("en" if rng.random() < params.en_share else "zh") if lang is None else lang
    if view is None:
        names, weights = zip(*params.views, strict=True)
        view = rng.choices(names, weights)[0]
    theme = _theme(dark, rng)
    w, h = phone.size
    # Drawn on a taller page, then the screen's window is cut from it: scrolled so the post's time row
    # is on the screen (see below).
    img = Image.new("RGB", (w, h + h // 2), theme.bg)
    s = _Screen(img, phone, theme, lang, phone.size[0] / 390, rng)
    geo = {
        "margin": rng.uniform(*params.margin_pt),
        "avatar": rng.uniform(*params.avatar_pt),
        "body": rng.uniform(*params.body_pt),
        "time": rng.uniform(*params.time_ratio),
        "thumb": rng.uniform(*params.thumb_share),
        "gap": rng.uniform(6, 14),
    }
    own = _PostSpec(
        nickname,
        words,
        picture,
        avatar_style,
        time_text or _time_text(rng, lang),
        private,
        tuple(rng.sample(_NAMES_ZH, rng.randint(1, 4))) if rng.random() < 0.35 else (),
    )
    moments_title = "朋友圈" if lang == "zh" else "Moments"
    if view == "top":
        cover_h = round(w * rng.uniform(0.72, 0.9))
        img.paste(landscape(rng, (w, cover_h)), (0, 0))  # the bars are drawn over it once scrolled
        side = s.p(rng.uniform(64, 76))
        ax, ay = w - s.p(geo["margin"]) - side, cover_h - round(side * 0.7)
        s.draw.rounded_rectangle((ax - 3, ay - 3, ax + side + 3, ay + side + 3), radius=s.p(6), fill=theme.bg)
        img.paste(avatar(rng, side, nickname, avatar_style), (ax, ay))
        own_name = s.font(19, bold=True, latin_ok=nickname.isascii())
        s.draw.text((ax - s.p(14), cover_h - s.p(10)), nickname, font=own_name, fill=(255, 255, 255), anchor="rb")
        top = cover_h + round(side * 0.3) + s.p(rng.uniform(26, 44))
        scroll_room = max(0, cover_h - s.p(phone.status_pt + 60))  # the cover slides up under the bars
    else:
        bar = _status_bar(s, theme.text, theme.bar)
        title = moments_title if view == "feed" else ("详情" if lang == "zh" else "Details")
        top = _nav(s, bar, title, theme.text, theme.bar) + s.p(rng.uniform(10, 16))
        if view == "feed" and rng.random() < 0.7:
            # Scrolled: the bottom of an earlier post shows above (drawn off-screen upwards).
            filler = _filler_post(s, geo)
            probe = Image.new("RGB", (w, h * 2), theme.bg)
            ps = _Screen(probe, phone, theme, lang, s.pt, rng)
            bottom, _, _ = _post(ps, filler, 0, geo)
            keep = min(bottom, round(h * rng.uniform(0.05, 0.3)))
            img.paste(probe.crop((0, bottom - keep, w, bottom)), (0, top))
            top += keep
        scroll_room = max(0, top - bar)
    bottom, box, row_bottom = _post(s, own, top, geo)
    if view != "detail":
        while bottom < img.height:
            bottom, _, _ = _post(s, _filler_post(s, geo), bottom, geo)
    # A member proving a share shows the post: its code and its time row (where a private post shows
    # its lock) are on the screen, above the home indicator. Without that the label could not be told
    # from the pixels (a private post with its lock below the edge looks public), so the page is
    # scrolled up as far as that takes.
    scroll = min(scroll_room, max(0, row_bottom + s.p(14) - h))
    img = img.crop((0, scroll, w, scroll + h))
    s.img, s.draw = img, ImageDraw.Draw(img)
    box = (box[0], box[1] - scroll, box[2], box[3] - scroll)
    if view == "top":
        _nav(s, _status_bar(s, (255, 255, 255), None), None, (255, 255, 255), None)
    if view != "top":  # redraw the bars over whatever scrolled under them
        bar = _status_bar(s, theme.text, theme.bar)
        _nav(
            s, bar, moments_title if view == "feed" else ("详情" if lang == "zh" else "Details"), theme.text, theme.bar
        )
    banner = rng.random() < params.banner_share
    if banner:
        _banner(s, top=s.p(phone.status_pt) + s.p(4))
    if phone.os == "android" and rng.random() < 0.5:  # gesture bar / navigation keys
        s.draw.rounded_rectangle((w * 0.38, h - s.p(10), w * 0.62, h - s.p(6)), radius=s.p(2), fill=theme.muted)
    elif phone.os == "ios" and phone.cutout != "none":
        s.draw.rounded_rectangle((w * 0.33, h - s.p(9), w * 0.67, h - s.p(4)), radius=s.p(3), fill=theme.text)
    variant = {"phone": phone.name, "os": phone.os, "dark": str(dark).lower(), "lang": lang, "view": view}
    if banner:
        variant["banner"] = "true"
    return Rendered(img, box, variant)


# ---------------------------------------------------------------------------------------------------------
# other screens


def render_chat(picture: Image.Image, rng: random.Random, params: FamilyBParams) -> Image.Image:
    phone = rng.choice(PHONES)
    dark = rng.random() < params.dark_share
    theme = _theme(dark, rng)
    bg = (237, 237, 237) if not dark else (17, 17, 17)
    img = Image.new("RGB", phone.size, bg)
    lang: Lang = "en" if rng.random() < params.en_share else "zh"
    s = _Screen(img, phone, theme, lang, phone.size[0] / 390, rng)
    bar = _status_bar(s, theme.text, bg)
    y = _nav(s, bar, rng.choice(_NAMES_ZH), theme.text, bg) + s.p(20)
    w, h = phone.size
    av = s.p(40)
    sent = False
    while y < h - s.p(200):
        mine = rng.random() < 0.5
        if rng.random() < 0.4:
            stamp = f"{rng.randint(8, 22)}:{rng.randint(0, 59):02d}"
            s.draw.text((w / 2, y), stamp, font=s.font(12), fill=theme.muted, anchor="mt")
            y += s.p(28)
        ax = w - s.p(12) - av if mine else s.p(12)
        img.paste(avatar(rng, av, "我", rng.choice(("initial", "pattern"))), (ax, y))
        if not sent and (rng.random() < 0.35 or y > h * 0.45):
            pic_w = round(w * rng.uniform(0.32, 0.42))
            pic_h = round(pic_w * picture.height / picture.width)
            px = ax - s.p(10) - pic_w if mine else ax + av + s.p(10)
            img.paste(picture.resize((pic_w, pic_h), Image.Resampling.LANCZOS), (px, y))
            sent = True
            y += pic_h + s.p(18)
            continue
        text = rng.choice(("收到啦", "这个海报怎么领？", "好的谢谢", "Got it", "帮我扫一下码"))
        font = s.font(16, latin_ok=text.isascii())
        tw = _width(text, font) + s.p(24)
        bx = ax - s.p(10) - tw if mine else ax + av + s.p(10)
        fill = (149, 236, 105) if mine else ((255, 255, 255) if not dark else (44, 44, 44))
        s.draw.rounded_rectangle((bx, y, bx + tw, y + s.p(40)), radius=s.p(5), fill=fill)
        s.draw.text(
            (bx + s.p(12), y + s.p(20)), text, font=font, fill=(20, 20, 20) if mine else theme.text, anchor="lm"
        )
        y += s.p(56)
    s.draw.rectangle((0, h - s.p(90), w, h), fill=(246, 246, 246) if not dark else (30, 30, 30))
    s.draw.rounded_rectangle((s.p(50), h - s.p(80), w - s.p(90), h - s.p(44)), radius=s.p(5), fill=theme.bg)
    return img


def render_viewer(picture: Image.Image, rng: random.Random) -> Image.Image:
    """The picture opened full screen: black, fitted to the width, a page indicator or a menu button."""
    phone = rng.choice(PHONES)
    w, h = phone.size
    img = Image.new("RGB", (w, h), (0, 0, 0))
    scale = w / picture.width * rng.uniform(0.98, 1.0)
    pw, ph = round(picture.width * scale), round(picture.height * scale)
    if ph > h:
        pw, ph = round(pw * h / ph), h
    img.paste(picture.resize((pw, ph), Image.Resampling.LANCZOS), ((w - pw) // 2, (h - ph) // 2))
    d = ImageDraw.Draw(img)
    if rng.random() < 0.5:
        for k in range(3):
            cx = w / 2 + (k - 1) * w * 0.03
            d.ellipse((cx - 5, h * 0.95 - 5, cx + 5, h * 0.95 + 5), fill=(255, 255, 255) if k == 1 else (110, 110, 110))
    else:
        for k in range(3):
            cx = w * 0.9 + k * 14
            d.ellipse((cx - 4, h * 0.93 - 4, cx + 4, h * 0.93 + 4), fill=(220, 220, 220))
    return img


# ---------------------------------------------------------------------------------------------------------
# degradation


def _encode(img: Image.Image, rng: random.Random, chain: str) -> tuple[bytes, str]:
    def jpeg(picture: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality, subsampling=rng.choice((0, 2)))
        return buffer.getvalue()

    if chain == "png":
        buffer = io.BytesIO()
        img.save(buffer, "PNG", compress_level=1)
        return buffer.getvalue(), "png"
    if chain == "webp":
        buffer = io.BytesIO()
        img.save(buffer, "WEBP", quality=rng.randint(55, 90), method=2)
        return buffer.getvalue(), "webp"
    if chain == "jpeg_twice":  # saved by the phone, then recompressed by a chat app on the way
        first = jpeg(img, rng.randint(70, 92))
        with Image.open(io.BytesIO(first)) as again:
            return jpeg(again.convert("RGB"), rng.randint(55, 80)), "jpg"
    return jpeg(img, rng.randint(58, 92)), "jpg"


def _degrade(
    rendered: Rendered, rng: random.Random, params: FamilyBParams, module_px: float
) -> tuple[bytes, str, str, tuple[int, int, int, int]]:
    """Crop (some), downscale (within what keeps the code scannable) and encode.

    Returns the bytes, the file extension, the chain applied and where the picture ended up.
    """
    names, weights = zip(*params.chains, strict=True)
    chain = rng.choices(names, weights)[0]
    img = rendered.image
    x0, y0, x1, y1 = rendered.picture_box
    if chain == "crop_jpeg":  # the status bar and part of the bottom cut off, like a cropped screenshot
        top = min(round(img.height * rng.uniform(0.02, 0.06)), max(0, y0 - 10))
        bottom = max(img.height - round(img.height * rng.uniform(0.0, 0.12)), y1 + round(img.height * 0.08))
        img = img.crop((0, top, img.width, min(img.height, bottom)))
        y0, y1 = y0 - top, y1 - top
    low = max(params.downscale[0], params.min_module_px / module_px) if module_px > 0 else params.downscale[0]
    low = min(low, 1.0)
    scale = rng.uniform(low, max(low, params.downscale[1]))
    if scale < 0.999:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)
    else:
        scale = 1.0
    data, ext = _encode(img, rng, "jpeg" if chain == "crop_jpeg" else chain)
    box = (round(x0 * scale), round(y0 * scale), round(x1 * scale), round(y1 * scale))
    return data, ext, f"{chain}@{scale:.2f}", box


def _module_px(rendered: Rendered, poster: Image.Image, qr_share: float, payload: str) -> float:
    """Width of one QR module in the rendered screen (as :func:`_qr` draws it)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=1, border=2)
    code.add_data(payload)
    code.make(fit=True)
    cells = len(code.get_matrix())
    module_in_poster = (round(poster.width * qr_share) // cells) / poster.width
    return module_in_poster * (rendered.picture_box[2] - rendered.picture_box[0])


# ---------------------------------------------------------------------------------------------------------
# the corpus


_STYLES: tuple[Literal["band", "card", "scenic"], ...] = ("band", "card", "scenic")
_BRANDS = ("贝贝乐", "Sunny Kids", "童趣岛", "Little Oak")
_POSTER_SIZES = ((720, 1280), (750, 1200), (800, 1422), (690, 1100))


def _campaigns(rng: random.Random, params: FamilyBParams) -> list[Campaign]:
    out: list[Campaign] = []
    used_names: set[str] = set()
    for c in range(rng.randint(*params.campaigns)):
        cid = f"b-camp-{c + 1:02d}"
        brand = _BRANDS[c % 2] if c < 4 else rng.choice(_BRANDS)
        n = params.crowd_members if c == 0 else rng.randint(*params.members_per_campaign)
        members = []
        for u in range(n):
            name = rng.choice(_NAMES_ZH + _NAMES_EN)
            while name in used_names and len(used_names) < len(_NAMES_ZH + _NAMES_EN):
                name = rng.choice(_NAMES_ZH + _NAMES_EN)
            used_names.add(name)
            if len(used_names) >= len(_NAMES_ZH + _NAMES_EN):
                used_names.clear()
            user = f"{cid}-m{u + 1:02d}"
            members.append(Member(user, cid, qr_payload(rng), name, f"posters/{user}.png"))
        out.append(
            Campaign(
                cid,
                brand,
                _STYLES[c % 3],
                rng.getrandbits(32),
                rng.choice(_POSTER_SIZES),
                rng.uniform(*params.qr_share),
                rng.choice(_TITLES),
                rng.choice(_SUGGESTED),
                tuple(members),
            )
        )
    return out


def _plan(count: int, rng: random.Random, params: FamilyBParams) -> list[str]:
    genuine = round(count * params.genuine_share)
    crowd = round(genuine * params.crowd_share)
    negatives = count - genuine
    kinds = ["genuine"] * (genuine - crowd) + ["genuine_crowd"] * crowd
    kinds += [FAMILY_B_NEGATIVE_KINDS[i % len(FAMILY_B_NEGATIVE_KINDS)] for i in range(negatives)]
    rng.shuffle(kinds)
    first = next((i for i, k in enumerate(kinds) if k in ("genuine", "genuine_crowd")), None)
    if first is not None and kinds[0] not in ("genuine", "genuine_crowd"):  # re-use needs something to copy
        kinds[0], kinds[first] = kinds[first], kinds[0]
    return kinds


@dataclass(frozen=True)
class _Kept:
    member: Member
    path: Path
    picture_box: tuple[int, int, int, int]


@dataclass(frozen=True)
class _CrowdLook:
    """What every member of the crowd campaign has in common: only nickname and code differ."""

    phone: Phone
    dark: bool
    lang: Lang = "zh"
    view: ViewB = "feed"
    time: str = "刚刚"


def generate_family_b(out_dir: Path, *, count: int = 320, seed: int = 21, params: FamilyBParams | None = None) -> Path:
    """Write ``count`` labelled screenshots of family B and the members' posters; return the manifest.

    Same layout and manifest fields as family A (``file``, ``poster``, ``qr_payload``, ``campaign``,
    ``user``, ``truth``, ``kind``), so ``scrm verify-screenshots`` reads it as is; each line also carries
    ``family: "B"`` and ``variant`` (phone, os, dark, lang, view, chain) for breakdowns.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    params = params or FamilyBParams()
    rng = _rng(f"family-b/{seed}")
    (out_dir / "posters").mkdir(parents=True, exist_ok=True)
    (out_dir / "shots").mkdir(parents=True, exist_ok=True)
    campaigns = _campaigns(rng, params)
    crowd_campaign = campaigns[0]
    by_id = {c.cid: c for c in campaigns}
    posters: dict[str, Image.Image] = {}
    # The crowd shares one phone, theme, language and time: only the nickname and the code differ.
    crowd_look = _CrowdLook(rng.choice(PHONES), rng.random() < 0.3)

    def poster_of(member: Member) -> Image.Image:
        if member.user not in posters:
            picture = draw_family_b_poster(by_id[member.campaign], member.payload)
            picture.save(out_dir / member.poster_rel, "PNG", compress_level=1)
            posters[member.user] = picture
        return posters[member.user]

    kept: list[_Kept] = []
    lines: list[str] = []
    for index, kind in enumerate(_plan(count, rng, params)):
        r = _rng(rng.getrandbits(64))
        campaign = crowd_campaign if kind == "genuine_crowd" else r.choice(campaigns)
        member = r.choice(campaign.members)
        variant: dict[str, str] = {}
        rendered: Rendered | None = None
        if kind in ("reused_same_file", "reused_pasted") and kept:
            source = r.choice(kept)
            campaign = by_id[source.member.campaign]
            if kind == "reused_same_file":  # the same file again, by its owner
                member = source.member
                data, ext = source.path.read_bytes(), source.path.suffix.lstrip(".")
                variant = {"chain": "same_bytes"}
            else:  # someone else's screenshot, the member's own poster pasted over it, saved again
                member = r.choice([m for m in campaign.members if m != source.member] or [source.member])
                with Image.open(source.path) as opened:
                    img = opened.convert("RGB")
                x0, y0, x1, y1 = source.picture_box
                img.paste(poster_of(member).resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS), (x0, y0))
                data, ext = _encode(img, r, r.choice(("jpeg", "webp", "jpeg_twice")))
                variant = {"chain": "pasted"}
        elif kind == "bare_poster":
            img = poster_of(member)
            if r.random() < 0.5:
                s = r.uniform(0.55, 1.0)
                img = img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS)
            data, ext = _encode(img, r, r.choice(("png", "jpeg", "webp")))
        elif kind == "fullscreen":
            data, ext = _encode(render_viewer(poster_of(member), r), r, r.choice(("jpeg", "png")))
        elif kind == "chat":
            data, ext = _encode(render_chat(poster_of(member), r, params), r, r.choice(("jpeg", "png", "webp")))
        elif kind == "random_photo":
            data, ext = _encode(landscape(r, (r.randint(900, 1300), r.randint(900, 1700))), r, "jpeg")
        else:  # a Moments post of one kind or another
            crowd = kind == "genuine_crowd"
            payload_shown = member.payload
            art = campaign  # whose artwork is shown (its QR size sets the module width)
            if kind == "foreign_qr":
                picture = poster_of(r.choice([m for m in campaign.members if m != member]))
            elif kind == "other_campaign":
                art = r.choice([c for c in campaigns if c is not campaign])
                shown = r.choice(art.members)
                picture, payload_shown = poster_of(shown), shown.payload
            elif kind == "own_qr_other_campaign_art":
                # The brand's next campaign: the same template (layout, QR place), other artwork and title.
                art = replace(campaign, cid=f"{campaign.cid}-next", seed=r.getrandbits(32), title=r.choice(_TITLES))
                picture = draw_family_b_poster(art, member.payload)
            elif kind == "own_qr_other_brand_art":
                other_brand = [c for c in campaigns if c.brand != campaign.brand and c.style != campaign.style]
                art = r.choice(other_brand or [c for c in campaigns if c is not campaign])
                picture = draw_family_b_poster(art, member.payload)
            elif kind == "no_poster":
                picture = landscape(r, (r.randint(500, 900), r.randint(600, 1100)))
                payload_shown = ""
            else:
                picture = poster_of(member)
            words = campaign.suggested if crowd or r.random() < 0.3 else r.choice(_WORDS_ZH + _WORDS_EN)
            rendered = render_moments(
                picture,
                r,
                params,
                nickname=member.nickname,
                words=words,
                avatar_style="default" if crowd or r.random() < 0.15 else r.choice(("initial", "pattern", "photo")),
                private=kind == "private",
                phone=crowd_look.phone if crowd else None,
                dark=crowd_look.dark if crowd else None,
                lang=crowd_look.lang if crowd else None,
                view=crowd_look.view if crowd else None,
                time_text=crowd_look.time if crowd else None,
            )
            module = _module_px(rendered, picture, art.qr_share, payload_shown) if payload_shown else 0.0
            data, ext, chain, final_box = _degrade(rendered, r, params, module)
            variant = dict(rendered.variant, chain=chain)
        rel = f"shots/{index:04d}.{ext}"
        (out_dir / rel).write_bytes(data)
        if kind in ("genuine", "genuine_crowd") and rendered is not None:
            kept.append(_Kept(member, out_dir / rel, final_box))
        poster_of(member)
        record = {
            "file": rel,
            "poster": member.poster_rel,
            "qr_payload": member.payload,
            "campaign": member.campaign,
            "user": member.user,
            "truth": "genuine" if kind in ("genuine", "genuine_crowd") else "negative",
            "kind": kind,
            "family": "B",
            "variant": variant,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return manifest
