"""Synthetic WeChat Moments (朋友圈) share screenshots, and look-alike negatives, for testing a screenshot verifier.

Why this exists: a share-poster campaign asks each member to post their personal poster (artwork plus a QR code
that carries the member's referral) to Moments and to send a screenshot as proof. A verifier that judges those
screenshots automatically (is it a Moments post, is the QR the member's own, is the post visible to friends,
was this screenshot submitted before) needs labelled examples, and members' real screenshots are personal data
that cannot go into a test corpus. So this module draws look-alikes: the Moments feed and detail pages in light
and dark mode on several phone sizes, fonts and spacings, then degraded the way screenshots are (JPEG, small
crops, resizes), and the negatives a cheater or a confused member sends instead (the bare poster, the poster
opened full screen or in a chat, a private post, someone else's QR, another campaign, a re-used or doctored
earlier screenshot...). Everything comes from a seed, so a corpus is reproducible byte for byte.

Nothing here is real WeChat UI code or artwork; colours and proportions are approximations, deliberately
jittered so a verifier cannot overfit one renderer.

Geometry of a post (``render_moments_screenshot``): the image's left edge is the nickname column; the time row
starts ``gap`` = 8-20 px (at 750 px screen width, scaled with the width) below the image's bottom edge and is as
tall as the comment button (1.35-1.55 x the time font size); the time word, the optional lock and 删除 are
vertically centred on it (PIL anchor ``lm``); the time font size is 3.4-3.8 % of the screen width.
"""

from __future__ import annotations

import colorsys
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
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "KINDS",
    "MIN_QR_MODULE_PX",
    "NEGATIVE_KINDS",
    "PHONE_SIZES",
    "MomentsScreenshot",
    "generate_corpus",
    "make_photo",
    "make_poster",
    "make_qr_payload",
    "make_share_screenshot",
    "render_moments_screenshot",
    "with_qr_painted_over",
]

RGB: TypeAlias = tuple[int, int, int]
Box: TypeAlias = tuple[int, int, int, int]
View: TypeAlias = Literal["feed", "detail"]
_Face: TypeAlias = tuple[str, int]

PHONE_SIZES: tuple[tuple[int, int], ...] = (
    (750, 1334),
    (828, 1792),
    (1080, 2340),
    (1170, 2532),
    (720, 1600),
    (1242, 2688),
)
"""Screen sizes (width, height) in pixels the screenshots are drawn at; 1080x2340 and 720x1600 are Android."""

NEGATIVE_KINDS: tuple[str, ...] = (
    "bare_poster",
    "fullscreen",
    "chat",
    "private",
    "foreign_qr",
    "other_campaign",
    "no_poster",
    "random_photo",
    "reused_same",
    "reused_pasted",
    "own_qr_other_art",
)
KINDS: tuple[str, ...] = ("genuine", *NEGATIVE_KINDS)

MIN_QR_MODULE_PX = 2.8
"""Smallest QR module, in final screenshot pixels, a genuine screenshot is allowed to end with."""

_GENUINE_SHARE = 0.55
_ANDROID_SIZES = frozenset({(1080, 2340), (720, 1600)})
_QR_PREFIX = "http://weixin.qq.com/q/02"
_QR_ALPHABET = string.ascii_letters + string.digits
_DEFAULT_QR_MODULE_FRAC = 0.30 / 41  # a QR at the brief's minimum share of the poster, version 4 plus quiet zone

_WHITE: RGB = (255, 255, 255)
_BLACK: RGB = (0, 0, 0)
_LINK: RGB = (0x57, 0x6B, 0x95)
_LINK_DARK: RGB = (0x7D, 0x90, 0xA9)

_TITLES = (
    "宝宝成长礼包",
    "新人专享",
    "妈妈课堂",
    "育儿好物节",
    "免费领试用装",
    "邀请有礼",
    "助力领好礼",
    "母婴会员日",
    "宝宝辅食指南",
    "新手爸妈训练营",
    "孕期营养包",
    "萌宝成长季",
)
_SUBTITLES = (
    "邀请3位好友即可领取",
    "限时免费 先到先得",
    "扫码助力 好礼带回家",
    "专家直播 每周三晚8点",
    "新会员首单立减",
    "分享给宝妈好友一起领",
    "数量有限 领完即止",
)
_QR_CAPTIONS = ("长按识别二维码", "扫码立即领取", "扫一扫 加入活动", "长按扫码 助力好友")
_BRANDS = ("贝贝母婴", "暖暖育儿", "小橙子妈妈", "童心优选", "悦宝会员中心", "亲子时光")
_OWN_PHRASES = (
    "宝妈们快来领取",
    "真的很实用",
    "扫码就能领，亲测有效",
    "帮我助力一下呀～",
    "新手妈妈必备！",
    "已经领到了，分享给大家",
    "限时福利，手慢无",
    "感谢大家帮忙扫码",
    "宝宝很喜欢",
    "姐妹们冲呀",
    "免费的礼包，不领白不领",
)
_OTHER_PHRASES = (
    "今天天气真好",
    "周末带娃去公园",
    "打卡",
    "加油！",
    "晚餐做了红烧肉",
    "终于放假了",
    "新买的绘本到了，宝宝爱不释手",
    "早起跑步五公里",
    "这家店的咖啡不错",
    "生日快乐呀",
    "记录一下今天",
    "春天来了",
    "工作日的小确幸",
)
_CHAT_PHRASES = (
    "帮我扫一下码呗",
    "好的",
    "收到",
    "这个活动怎么参加？",
    "谢谢亲",
    "扫好了",
    "在吗",
    "明天见",
    "哈哈哈",
    "我也想要这个礼包",
    "已助力",
)
_NICKNAMES = (
    "小雨妈妈",
    "Lily",
    "豆豆妈",
    "快乐的鱼",
    "王小明",
    "Amy",
    "糖糖",
    "阿杰",
    "橙子",
    "Grace 陈",
    "一一妈咪",
    "大树",
    "静静",
    "Kevin",
    "小小酥",
    "李老师",
    "momo",
    "向日葵",
    "安安爸爸",
    "晴天",
)
_LOCATIONS = ("上海·静安嘉里中心", "北京市朝阳区", "杭州·西湖", "深圳湾公园", "成都太古里", "南京路步行街")
_LINK_TITLES = ("育儿干货｜宝宝辅食添加时间表", "10个让孩子爱上阅读的小方法", "周末亲子游好去处推荐")


# ---------------------------------------------------------------------------------------------- fonts & colours


@lru_cache(maxsize=1)
def _faces() -> tuple[tuple[_Face, ...], tuple[_Face, ...], tuple[_Face, ...]]:
    """(regular sans-like faces, serif faces, bold faces) found on this machine; raises if there is no CJK font."""
    roots = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files.extend(sorted(p for p in root.rglob("*") if p.suffix.lower() in {".ttc", ".ttf", ".otf"}))
    regular: list[_Face] = []
    serif: list[_Face] = []
    bold: list[_Face] = []
    for f in files:
        name = f.name.lower()
        if name.startswith("notosanscjk") and name.endswith(".ttc"):
            faces = [(str(f), 2), (str(f), 3), (str(f), 0), (str(f), 7)]  # SC, TC, JP, Mono SC
            (bold if "bold" in name else regular).extend(faces)
        elif name.startswith("notoserifcjk") and name.endswith(".ttc"):
            faces = [(str(f), 2), (str(f), 3)]
            (bold if "bold" in name else serif).extend(faces)
        elif name.startswith(("notosanssc", "notosanscjksc", "sourcehansans", "wqy-", "droidsansfallback")):
            (bold if "bold" in name else regular).append((str(f), 0))
        elif name.startswith(("notoserifsc", "sourcehanserif", "uming", "ukai")):
            (bold if "bold" in name else serif).append((str(f), 0))
    if not regular and serif:
        regular = list(serif)
    if not regular:
        raise RuntimeError("no CJK font found under /usr/share/fonts; install fonts-noto-cjk")
    return tuple(regular), tuple(serif or regular), tuple(bold or regular)


@lru_cache(maxsize=512)
def _font(face: _Face, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(face[0], max(6, size), index=face[1])


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _text_w(text: str, font: ImageFont.FreeTypeFont) -> int:
    return math.ceil(font.getlength(text))


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_w: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and font.getlength(line + ch) > max_w:
            lines.append(line)
            line = ch.lstrip()
        else:
            line += ch
    if line:
        lines.append(line)
    return lines


def _fit_font(face: _Face, text: str, max_w: int, size: int) -> ImageFont.FreeTypeFont:
    font = _font(face, size)
    width = font.getlength(text)
    if width > max_w:
        font = _font(face, max(8, math.floor(size * max_w / width)))
    return font


def _seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311  (reproducible synthetic test data, not secrets)


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


# ---------------------------------------------------------------------------------------------- QR and posters


def make_qr_payload(rng: random.Random) -> str:
    """A WeChat-style temporary QR URL: ``http://weixin.qq.com/q/02`` plus 22 random letters and digits."""
    return _QR_PREFIX + "".join(rng.choice(_QR_ALPHABET) for _ in range(22))


def _qr_image(payload: str, target_side: int) -> tuple[Image.Image, int]:
    """The QR (error correction M, 4-module quiet zone) with whole-pixel modules, at least ``target_side`` wide."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = np.array(qr.get_matrix(), dtype=bool)
    box = max(1, math.ceil(target_side / matrix.shape[0]))
    pixels = np.where(np.kron(matrix, np.ones((box, box), dtype=bool)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, mode="L").convert("RGB"), box


def _gradient(size: tuple[int, int], c1: RGB, c2: RGB, mode: str, rng: random.Random) -> Image.Image:
    w, h = size
    if mode == "flat":
        return Image.new("RGB", size, c1)
    sw, sh = max(2, w // 8), max(2, h // 8)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    yy /= sh - 1
    xx /= sw - 1
    if mode == "vertical":
        t = yy
    elif mode == "diagonal":
        angle = rng.uniform(0.2, 1.3)
        t = xx * math.cos(angle) + yy * math.sin(angle)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
    else:  # radial
        cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.6)
        t = np.sqrt((xx - cx) ** 2 + ((yy - cy) * h / w) ** 2)
        t = np.clip(t / max(1e-6, float(t.max())), 0.0, 1.0)
    a = np.array(c1, dtype=np.float32)
    b = np.array(c2, dtype=np.float32)
    arr = a * (1.0 - t[..., None]) + b * t[..., None]
    small = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="RGB")
    return small.resize(size, Image.Resampling.BILINEAR)


def _star(cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.45
        a = rot + i * math.pi / 5
        points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return points


def _draw_gift(d: ImageDraw.ImageDraw, cx: int, cy: int, s: int, body: RGB, ribbon: RGB) -> None:
    d.rounded_rectangle((cx - s, cy - s * 0.55, cx + s, cy + s), radius=max(2, s // 10), fill=body)
    d.rounded_rectangle((cx - s * 1.1, cy - s * 0.85, cx + s * 1.1, cy - s * 0.45), radius=max(2, s // 12), fill=body)
    d.rectangle((cx - s * 0.16, cy - s * 0.85, cx + s * 0.16, cy + s), fill=ribbon)
    d.ellipse((cx - s * 0.75, cy - s * 1.35, cx - s * 0.05, cy - s * 0.8), outline=ribbon, width=max(2, s // 9))
    d.ellipse((cx + s * 0.05, cy - s * 1.35, cx + s * 0.75, cy - s * 0.8), outline=ribbon, width=max(2, s // 9))


@dataclass(frozen=True)
class _PosterDesign:
    width: int
    height: int
    qr_position: str
    qr_share: float


def _poster_design(campaign_seed: int) -> _PosterDesign:
    r = _seeded(campaign_seed)
    width = r.randrange(600, 1081, 4)
    ratio = r.choice((16 / 9, 3 / 2, 1.6, 1.7))
    position = r.choice(("bottom-left", "bottom-centre", "bottom-right", "middle"))
    return _PosterDesign(width, round(width * ratio), position, r.uniform(0.32, 0.42))


def make_poster(campaign_seed: int, qr_payload: str) -> Image.Image:
    """A campaign poster carrying ``qr_payload`` as its QR code.

    The artwork (size, palette, background, shapes, title, fonts, where the QR sits) depends only on
    ``campaign_seed``, so every member of a campaign gets the same artwork with their own QR. Portrait,
    600-1080 px wide; the QR, with its white quiet zone, takes 32-45 % of the width. The returned image's
    ``info`` holds ``qr_box`` (left, top, right, bottom of the QR including quiet zone) and ``qr_module_px``.
    """
    design = _poster_design(campaign_seed)
    r = _seeded(campaign_seed ^ 0x5EED)
    w, h = design.width, design.height
    regular, serif, bold = _faces()
    hue = r.random()
    deep = r.random() < 0.25  # a dark, saturated artwork with light text
    c1 = _hsv(hue, r.uniform(0.25, 0.75), r.uniform(0.2, 0.45) if deep else r.uniform(0.8, 1.0))
    c2 = _hsv(hue + r.uniform(-0.12, 0.12), r.uniform(0.3, 0.9), r.uniform(0.1, 0.4) if deep else r.uniform(0.55, 0.95))
    accent = _hsv(hue + r.uniform(0.35, 0.65), r.uniform(0.5, 0.9), r.uniform(0.75, 1.0))
    base = _gradient((w, h), c1, c2, r.choice(("flat", "vertical", "vertical", "diagonal", "radial")), r)

    overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    od = ImageDraw.Draw(overlay)
    for _ in range(r.randint(4, 12)):
        kind = r.choice(("circle", "ring", "rect", "star", "dots", "band"))
        col = _hsv(hue + r.uniform(-0.5, 0.5), r.uniform(0.2, 0.8), r.uniform(0.6, 1.0))
        fill = (*col, r.randint(40, 150))
        cx, cy = r.uniform(-0.1, 1.1) * w, r.uniform(-0.05, 1.05) * h
        s = r.uniform(0.05, 0.35) * w
        if kind == "circle":
            od.ellipse((cx - s, cy - s, cx + s, cy + s), fill=fill)
        elif kind == "ring":
            od.ellipse((cx - s, cy - s, cx + s, cy + s), outline=fill, width=max(3, round(s * 0.12)))
        elif kind == "rect":
            od.rounded_rectangle((cx - s, cy - s * 0.6, cx + s, cy + s * 0.6), radius=round(s * 0.2), fill=fill)
        elif kind == "star":
            od.polygon(_star(cx, cy, s * 0.6, r.uniform(0, math.pi)), fill=fill)
        elif kind == "dots":
            step = max(8, round(w * r.uniform(0.025, 0.05)))
            for gx in range(int(cx - s), int(cx + s), step):
                for gy in range(int(cy - s), int(cy + s), step):
                    od.ellipse((gx, gy, gx + step * 0.3, gy + step * 0.3), fill=fill)
        else:
            top = cy - s * 0.3
            pts = [(x, top + math.sin(x / w * math.pi * r.uniform(1, 4)) * s * 0.2) for x in range(0, w + 20, 20)]
            od.polygon([*pts, (w, top + s * 0.6), (0, top + s * 0.6)], fill=fill)
    img = Image.alpha_composite(base.convert("RGBA"), overlay).convert("RGB")
    d = ImageDraw.Draw(img)

    dark_bg = _luma(c1) < 140
    ink: RGB = _WHITE if dark_bg else _hsv(hue, r.uniform(0.6, 1.0), r.uniform(0.25, 0.45))
    outline: RGB = _hsv(hue, 0.8, 0.3) if dark_bg else _WHITE
    title_face = r.choice((*bold, r.choice(serif)))
    sub_face = r.choice(regular + serif)
    margin = round(w * r.uniform(0.06, 0.09))

    brand = r.choice(_BRANDS)
    d.text((margin, round(h * 0.03)), brand, font=_font(sub_face, round(w * 0.04)), fill=ink, anchor="lt")

    title = r.choice(_TITLES)
    title_font = _fit_font(title_face, title, w - 2 * margin, round(w * r.uniform(0.11, 0.15)))
    align_left = r.random() < 0.3
    ty = round(h * r.uniform(0.09, 0.13))
    tx, anchor = (margin, "lt") if align_left else (w // 2, "mt")
    stroke = max(0, round(title_font.size * r.choice((0.0, 0.05, 0.08))))
    d.text((tx, ty), title, font=title_font, fill=ink, anchor=anchor, stroke_width=stroke, stroke_fill=outline)
    sy = ty + round(title_font.size * 1.35)
    subtitle = r.choice(_SUBTITLES)
    sub_font = _fit_font(sub_face, subtitle, w - 2 * margin, round(w * r.uniform(0.045, 0.06)))
    if r.random() < 0.5:  # subtitle on a pill
        sw = _text_w(subtitle, sub_font)
        px = margin if align_left else (w - sw) // 2
        pad = round(sub_font.size * 0.5)
        d.rounded_rectangle(
            (px - pad, sy - pad // 2, px + sw + pad, sy + sub_font.size + pad), radius=sub_font.size, fill=accent
        )
        sub_ink: RGB = _WHITE if _luma(accent) < 150 else (40, 40, 40)
    else:
        sub_ink = ink
    d.text((tx, sy), subtitle, font=sub_font, fill=sub_ink, anchor=anchor)

    qr, module = _qr_image(qr_payload, round(w * design.qr_share))
    qs = qr.width
    pad = round(qs * r.uniform(0.0, 0.06))
    card = qs + 2 * pad
    bottom_gap = round(h * r.uniform(0.04, 0.07))
    if design.qr_position == "middle":
        qx, qy = (w - card) // 2, round(h * r.uniform(0.40, 0.46))
    else:
        qy = h - bottom_gap - card - round(w * 0.07)
        qx = {"bottom-left": margin, "bottom-right": w - margin - card}.get(design.qr_position, (w - card) // 2)
    d.rounded_rectangle((qx, qy, qx + card, qy + card), radius=round(pad * 0.8), fill=_WHITE)
    img.paste(qr, (qx + pad, qy + pad))
    qr_box = (qx + pad, qy + pad, qx + pad + qs, qy + pad + qs)

    caption = r.choice(_QR_CAPTIONS)
    cap_font = _font(sub_face, round(w * 0.042))
    if design.qr_position in ("bottom-left", "bottom-right"):
        cx = qx + card + margin // 2 if design.qr_position == "bottom-left" else margin
        room = w - margin - card - margin // 2 - margin
        cap_font = _fit_font(sub_face, caption, room, round(w * 0.045))
        d.text((cx, qy + card // 2), caption, font=cap_font, fill=ink, anchor="lm")
    else:
        d.text((w // 2, qy + card + round(w * 0.02)), caption, font=cap_font, fill=ink, anchor="mt")
    # a gift box in the free band: between subtitle and QR, or under the caption of a middle QR
    gift_s = round(w * r.uniform(0.08, 0.13))
    band_top, band_bottom = sy + round(sub_font.size * 1.6), qy - round(w * 0.02)
    if design.qr_position == "middle":
        band_top, band_bottom = qy + card + round(w * 0.04) + round(cap_font.size), h - round(w * 0.03)
    if r.random() < 0.7 and band_bottom - band_top > gift_s * 2.5:
        gift_y = (band_top + band_bottom) // 2 + round(gift_s * 0.2)
        _draw_gift(d, r.choice((w // 2, w // 3, 2 * w // 3)), gift_y, gift_s, accent, _hsv(hue, 0.7, 0.9))
    img.info["qr_box"] = qr_box
    img.info["qr_module_px"] = module
    return img


# ---------------------------------------------------------------------------------------------- synthetic photos


def make_photo(rng: random.Random, size: tuple[int, int] | None = None) -> Image.Image:
    """A random photo-like image (a sky/ground gradient, soft blobs, sensor noise) with no QR and no text."""
    if size is None:
        size = rng.choice(((1080, 1440), (1440, 1080), (1080, 1080), (960, 1280), (1280, 720), (1200, 1600)))
    w, h = size
    nrng = _np_rng(rng)
    sw, sh = max(4, w // 8), max(4, h // 8)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    yy /= sh
    xx /= sw
    top = np.array(_hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.5, 1.0)), dtype=np.float32)
    low = np.array(_hsv(rng.random(), rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)), dtype=np.float32)
    horizon = rng.uniform(0.3, 0.8)
    t = np.clip((yy - horizon) * rng.uniform(3, 12) + 0.5, 0, 1)[..., None]
    arr = top * (1 - t) + low * t
    for _ in range(rng.randint(3, 9)):
        cx, cy = rng.random(), rng.random()
        rx, ry = rng.uniform(0.05, 0.35), rng.uniform(0.05, 0.35)
        col = np.array(_hsv(rng.random(), rng.uniform(0.2, 0.9), rng.uniform(0.2, 1.0)), dtype=np.float32)
        wgt = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)) * rng.uniform(0.4, 0.95)
        arr = arr * (1 - wgt[..., None]) + col * wgt[..., None]
    small = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="RGB")
    big = np.asarray(small.resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    noise = nrng.integers(-6, 7, size=(h, w, 1), dtype=np.int16)
    return Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8), mode="RGB")


# ---------------------------------------------------------------------------------------------- screen styles


@dataclass(frozen=True)
class _Theme:
    dark: bool
    page: RGB
    bar: RGB
    text: RGB
    grey: RGB
    link: RGB
    button: RGB
    separator: RGB
    panel: RGB
    status_fg: RGB


def _theme(dark: bool, rng: random.Random) -> _Theme:
    if not dark:
        return _Theme(
            False, _WHITE, (0xED, 0xED, 0xED), (0x19, 0x19, 0x19), (0xB2, 0xB2, 0xB2), _LINK,
            (0xF7, 0xF7, 0xF7), (0xE5, 0xE5, 0xE5), (0xF7, 0xF7, 0xF7), _BLACK,
        )  # fmt: skip
    page = rng.choice(((0x19, 0x19, 0x19), (0x11, 0x11, 0x11)))
    bar = (0x11, 0x11, 0x11) if page[0] == 0x19 else (0x19, 0x19, 0x19)
    link = _LINK_DARK if rng.random() < 0.6 else _LINK
    return _Theme(
        True, page, bar, (0xD5, 0xD5, 0xD5), (0x6E, 0x6E, 0x6E), link,
        (0x2C, 0x2C, 0x2C), (0x2B, 0x2B, 0x2B), (0x20, 0x20, 0x20), _WHITE,
    )  # fmt: skip


@dataclass(frozen=True)
class _Style:
    w: int
    h: int
    android: bool
    th: _Theme
    regular: _Face
    bold: _Face
    time_face: _Face
    margin_l: int
    margin_r: int
    avatar: int
    content_x: int
    nick_fs: int
    body_fs: int
    time_fs: int
    status_h: int
    nav_h: int
    bottom_h: int
    btn_w: int
    btn_h: int
    english: bool = False  # WeChat's UI in English: Just now / 5 mins ago, Delete, Moments / Details

    def u(self, frac: float) -> int:
        """``frac`` of the screen width, in pixels."""
        return round(self.w * frac)


_Chain: TypeAlias = Literal["once", "jpeg_twice", "webp", "jpeg_then_webp"]
_CHAINS: tuple[_Chain, ...] = ("once", "jpeg_twice", "webp", "jpeg_then_webp")


@dataclass(frozen=True)
class _Variants:
    """The harder looks a corpus mixes in (never drawn by :func:`render_moments_screenshot`, whose output
    other tests pin): larger or smaller system font sizes, a location line between the picture and the
    time row, a pure black dark mode, a call/recording pill in the status bar, the top of the feed (cover
    photo and profile header above the post) more often, and harsher scale and compression chains."""

    font_scale: float
    location: str | None
    black_dark: bool
    status_pill: RGB | None
    cover_p: float
    min_scale: float
    chain: _Chain
    #: The client shows a square cut of the (tall) picture, as a grid tile or a long picture cut to fit.
    client_crop: bool = False
    english: bool = False
    #: Scrolled so the top of the picture is under the title bar (its code still in view).
    under_bar: float = 0.0


def _variants(rng: random.Random) -> _Variants:
    pill: RGB | None = None
    if rng.random() < 0.12:
        pill = rng.choice(((0x34, 0xC7, 0x59), (0xFF, 0x3B, 0x30), (0x0A, 0x84, 0xFF)))
    chain = rng.choices(_CHAINS, weights=(0.6, 0.2, 0.12, 0.08))[0]
    return _Variants(
        font_scale=1.0 if rng.random() < 0.6 else rng.uniform(0.85, 1.35),
        location=rng.choice(_LOCATIONS) if rng.random() < 0.15 else None,
        black_dark=rng.random() < 0.35,
        status_pill=pill,
        cover_p=0.55,
        min_scale=0.45,
        chain=chain,
        client_crop=rng.random() < 0.1,
        english=rng.random() < 0.25,
        under_bar=rng.uniform(0.12, 0.3) if rng.random() < 0.12 else 0.0,
    )


def _make_style(rng: random.Random, size: tuple[int, int], dark: bool, variants: _Variants | None = None) -> _Style:
    w, h = size
    regular_faces, serif_faces, bold_faces = _faces()
    android = size in _ANDROID_SIZES
    notch = h / w > 2.0 and not android
    regular = rng.choice(regular_faces[:3]) if rng.random() < 0.8 else rng.choice(regular_faces + serif_faces)
    time_face = regular if rng.random() < 0.7 else rng.choice(regular_faces + serif_faces)
    bold = rng.choice(bold_faces) if rng.random() < 0.4 else regular
    margin_l = round(w * rng.uniform(0.028, 0.042))
    avatar = round(w * rng.uniform(0.105, 0.118))
    time_fs = round(w * rng.uniform(0.034, 0.038))
    if notch:
        status_h = round(w * rng.uniform(0.105, 0.12))
    elif android:
        status_h = round(w * rng.uniform(0.055, 0.075))
    else:
        status_h = round(w * 0.0533)
    bottom_h = round(w * rng.uniform(0.1, 0.13)) if android and rng.random() < 0.5 else 0
    style = _Style(
        w=w,
        h=h,
        android=android,
        th=_theme(dark, rng),
        regular=regular,
        bold=bold,
        time_face=time_face,
        margin_l=margin_l,
        margin_r=round(w * rng.uniform(0.03, 0.045)),
        avatar=avatar,
        content_x=margin_l + avatar + round(w * rng.uniform(0.022, 0.032)),
        nick_fs=round(w * rng.uniform(0.040, 0.046)),
        body_fs=round(w * rng.uniform(0.042, 0.048)),
        time_fs=time_fs,
        status_h=status_h,
        nav_h=round(w * rng.uniform(0.11, 0.125)),
        bottom_h=bottom_h,
        btn_w=round(w * rng.uniform(0.075, 0.09)),
        btn_h=round(time_fs * rng.uniform(1.35, 1.55)),
    )
    if variants is None:
        return style
    k = variants.font_scale
    th = style.th
    if th.dark and variants.black_dark:
        th = replace(th, page=_BLACK, bar=(0x0C, 0x0C, 0x0C), panel=(0x1C, 0x1C, 0x1C))
    return replace(
        style,
        english=variants.english,
        th=th,
        nick_fs=round(style.nick_fs * k),
        body_fs=round(style.body_fs * k),
        time_fs=round(style.time_fs * k),
        btn_h=round(style.btn_h * k),
        avatar=round(style.avatar * min(1.2, max(0.9, k))),
    )


def _time_word(rng: random.Random, english: bool = False) -> str:
    pick = rng.random()
    if pick < 0.2:
        return "Just now" if english else "刚刚"
    if pick < 0.55:
        n = rng.randint(1, 59)
        return (f"{n} mins ago" if n > 1 else "1 min ago") if english else f"{n}分钟前"
    if pick < 0.85:
        n = rng.randint(1, 23)
        return (f"{n} hrs ago" if n > 1 else "1 hr ago") if english else f"{n}小时前"
    return "Yesterday" if english else "昨天"


def _draw_status_bar(img: Image.Image, st: _Style, rng: random.Random, bg: RGB | None, fg: RGB) -> None:
    d = ImageDraw.Draw(img)
    w, sh = st.w, st.status_h
    if bg is not None:
        d.rectangle((0, 0, w, sh), fill=bg)
    fs = st.u(rng.uniform(0.032, 0.038))
    font = _font(st.bold if rng.random() < 0.5 else st.regular, fs)
    clock = f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}" if rng.random() < 0.8 else "9:41"
    cy = sh // 2 if st.android or st.h / st.w <= 2.0 else round(sh * 0.55)
    notch = st.h / st.w > 2.0 and not st.android
    if st.android or notch:
        d.text((st.u(0.06 if notch else 0.04), cy), clock, font=font, fill=fg, anchor="lm")
    else:
        d.text((w // 2, cy), clock, font=font, fill=fg, anchor="mm")
        d.text((st.u(0.03), cy), "中国移动", font=_font(st.regular, round(fs * 0.9)), fill=fg, anchor="lm")
    # battery at the right, signal bars left of it
    bw, bh = st.u(0.062), st.u(0.029)
    bx = w - st.u(0.045) - bw
    lw = max(1, st.u(0.003))
    d.rounded_rectangle((bx, cy - bh // 2, bx + bw, cy + bh // 2), radius=max(1, bh // 4), outline=fg, width=lw)
    level = rng.uniform(0.2, 1.0)
    inset = lw + max(1, st.u(0.002))
    d.rounded_rectangle(
        (bx + inset, cy - bh // 2 + inset, bx + inset + (bw - 2 * inset) * level, cy + bh // 2 - inset),
        radius=max(1, bh // 6),
        fill=fg,
    )
    d.rectangle((bx + bw + lw, cy - bh // 6, bx + bw + 3 * lw, cy + bh // 6), fill=fg)
    sx = bx - st.u(0.08)
    for i in range(4):
        bar_h = round(bh * (0.35 + 0.22 * i))
        d.rectangle(
            (sx + i * st.u(0.012), cy + bh // 2 - bar_h, sx + i * st.u(0.012) + st.u(0.007), cy + bh // 2), fill=fg
        )
    if st.android and rng.random() < 0.6:
        pct = f"{round(level * 100)}"
        d.text((bx - st.u(0.012), cy), pct, font=_font(st.regular, round(fs * 0.8)), fill=fg, anchor="rm")


def _chevron(d: ImageDraw.ImageDraw, x: int, cy: int, size: int, fg: RGB, width: int) -> None:
    d.line(((x + size * 0.55, cy - size), (x, cy), (x + size * 0.55, cy + size)), fill=fg, width=width, joint="curve")


def _draw_nav(
    img: Image.Image, st: _Style, title: str, bg: RGB | None, fg: RGB, *, right: str, rng: random.Random
) -> None:
    d = ImageDraw.Draw(img)
    top, bottom = st.status_h, st.status_h + st.nav_h
    if bg is not None:
        d.rectangle((0, top, st.w, bottom), fill=bg)
    cy = (top + bottom) // 2
    lw = max(2, st.u(0.0055))
    _chevron(d, st.u(rng.uniform(0.035, 0.05)), cy, st.u(0.022), fg, lw)
    if title:
        face = st.bold if rng.random() < 0.6 else st.regular
        d.text((st.w // 2, cy), title, font=_font(face, st.u(rng.uniform(0.042, 0.047))), fill=fg, anchor="mm")
    rx = st.w - st.u(0.06)
    if right == "camera":
        cw, ch = st.u(0.05), st.u(0.038)
        d.rounded_rectangle((rx - cw, cy - ch // 2, rx, cy + ch // 2), radius=st.u(0.008), outline=fg, width=lw)
        r = st.u(0.011)
        mx = rx - cw // 2
        d.ellipse((mx - r, cy - r, mx + r, cy + r), outline=fg, width=lw)
    elif right == "dots":
        r = max(2, st.u(0.0055))
        for i in (-1, 0, 1):
            mx = rx - st.u(0.02) + i * st.u(0.018)
            d.ellipse((mx - r, cy - r, mx + r, cy + r), fill=fg)
    if bg is not None and not st.th.dark and rng.random() < 0.5:
        d.line((0, bottom - 1, st.w, bottom - 1), fill=(0xD9, 0xD9, 0xD9), width=1)


def _draw_bottom_bar(img: Image.Image, st: _Style) -> None:
    if not st.bottom_h:
        return
    d = ImageDraw.Draw(img)
    top = st.h - st.bottom_h
    bg = _BLACK if st.th.dark else (0xF2, 0xF2, 0xF2)
    fg = (0xC8, 0xC8, 0xC8) if st.th.dark else (0x44, 0x44, 0x44)
    d.rectangle((0, top, st.w, st.h), fill=bg)
    cy = top + st.bottom_h // 2
    s = st.u(0.022)
    lw = max(2, st.u(0.004))
    for i, x in enumerate((st.w // 4, st.w // 2, 3 * st.w // 4)):
        if i == 0:
            d.polygon(((x + s, cy - s), (x + s, cy + s), (x - s, cy)), outline=fg, width=lw)
        elif i == 1:
            d.ellipse((x - s, cy - s, x + s, cy + s), outline=fg, width=lw)
        else:
            d.rectangle((x - s, cy - s, x + s, cy + s), outline=fg, width=lw)


def _avatar(rng: random.Random, size: int, name: str, face: _Face) -> Image.Image:
    if rng.random() < 0.45:
        img = make_photo(rng, (size, size))
    else:
        col = _hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.5, 0.9))
        img = Image.new("RGB", (size, size), col)
        ImageDraw.Draw(img).text(
            (size // 2, size // 2), name[:1].upper(), font=_font(face, round(size * 0.5)), fill=_WHITE, anchor="mm"
        )
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size - 1, size - 1), radius=max(2, round(size * 0.1)), fill=255)
    img.putalpha(mask)
    return img


# ---------------------------------------------------------------------------------------------- Moments posts


@dataclass
class _Post:
    nickname: str
    lines: list[str]
    time_word: str
    own: bool
    private: bool
    media: Image.Image | None = None  # one image, already at display size
    grid: list[Image.Image] = field(default_factory=list)  # thumbnails, already at display size
    link_title: str | None = None
    likes: list[str] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    gap: int = 12  # image bottom (or the location line's) to time-row top
    avatar_seed: int = 0
    location: str | None = None  # a place, in link colour, between the picture and the time row


@dataclass(frozen=True)
class _PostGeom:
    top: int
    nick_y: int
    line_ys: list[int]
    media_top: int
    media_box: Box | None
    row_top: int
    panel_top: int
    panel_h: int
    bottom: int
    location_y: int = 0  # the location line's vertical centre


def _line_h(st: _Style) -> int:
    return round(st.body_fs * 1.5)


def _panel_lines(st: _Style, post: _Post) -> int:
    return (1 if post.likes else 0) + len(post.comments)


def _layout_post(st: _Style, post: _Post, top: int) -> _PostGeom:
    pad_top = st.u(0.034)
    nick_y = top + pad_top + st.u(0.004)
    y = nick_y + round(st.nick_fs * 1.3) + st.u(0.006)
    line_ys = []
    for _ in post.lines:
        line_ys.append(y + _line_h(st) // 2)
        y += _line_h(st)
    y += st.u(0.012)
    media_top = y
    media_box: Box | None = None
    if post.media is not None:
        media_box = (st.content_x, y, st.content_x + post.media.width, y + post.media.height)
        y = media_box[3]
    elif post.grid:
        thumb = post.grid[0].width
        rows = math.ceil(len(post.grid) / 3)
        y += rows * thumb + (rows - 1) * st.u(0.008)
    elif post.link_title is not None:
        y += st.u(0.15)
    location_y = 0
    if post.location is not None:
        line = round(st.time_fs * 1.4)
        location_y = y + st.u(0.016) + line // 2
        y += st.u(0.016) + line
    row_top = y + post.gap
    y = row_top + st.btn_h
    panel_top = y + st.u(0.018)
    n = _panel_lines(st, post)
    panel_h = n * round(st.time_fs * 1.55) + st.u(0.02) if n else 0
    y = panel_top + panel_h if n else y
    bottom = y + st.u(0.034)
    return _PostGeom(top, nick_y, line_ys, media_top, media_box, row_top, panel_top, panel_h, bottom, location_y)


def _lock(d: ImageDraw.ImageDraw, x: int, cy: int, h: int, fg: RGB) -> int:
    """A padlock ``h`` pixels tall whose left edge is ``x``; returns its width."""
    bw = round(h * 0.78)
    body_top = cy - h // 2 + round(h * 0.42)
    lw = max(1, round(h * 0.11))
    d.rounded_rectangle((x, body_top, x + bw, cy + h // 2), radius=max(1, round(h * 0.12)), fill=fg)
    inset = round(bw * 0.2)
    d.arc((x + inset, cy - h // 2, x + bw - inset, body_top + round(h * 0.35)), 180, 360, fill=fg, width=lw)
    d.line((x + inset + lw // 2, body_top - round(h * 0.02), x + inset + lw // 2, body_top + 2), fill=fg, width=lw)
    d.line((x + bw - inset - lw // 2 - 1, body_top - round(h * 0.02), x + bw - inset - lw // 2 - 1, body_top + 2),
           fill=fg, width=lw)  # fmt: skip
    return bw


def _heart(d: ImageDraw.ImageDraw, x: int, cy: int, s: int, fg: RGB) -> None:
    r = s // 4
    lw = max(1, s // 9)
    d.ellipse((x, cy - s // 2, x + 2 * r + lw, cy - s // 2 + 2 * r + lw), outline=fg, width=lw)
    d.ellipse((x + 2 * r - lw, cy - s // 2, x + 4 * r, cy - s // 2 + 2 * r + lw), outline=fg, width=lw)
    d.line(((x + lw // 2, cy - s // 2 + r + lw), (x + 2 * r, cy + s // 2), (x + 4 * r - lw // 2, cy - s // 2 + r + lw)),
           fill=fg, width=lw)  # fmt: skip


def _draw_post(img: Image.Image, st: _Style, post: _Post, top: int, *, separator: bool) -> _PostGeom:
    g = _layout_post(st, post, top)
    d = ImageDraw.Draw(img)
    th = st.th
    arng = _seeded(post.avatar_seed)
    av = _avatar(arng, st.avatar, post.nickname, st.bold)
    img.paste(av, (st.margin_l, top + st.u(0.034)), av)
    d.text((st.content_x, g.nick_y), post.nickname, font=_font(st.bold, st.nick_fs), fill=th.link, anchor="lt")
    body_font = _font(st.regular, st.body_fs)
    for text, y in zip(post.lines, g.line_ys, strict=True):
        d.text((st.content_x, y), text, font=body_font, fill=th.text, anchor="lm")
    media_top = g.media_top
    if post.media is not None and g.media_box is not None:
        img.paste(post.media, g.media_box[:2])
    elif post.grid:
        thumb = post.grid[0].width
        for i, t in enumerate(post.grid):
            img.paste(t, (st.content_x + (i % 3) * (thumb + st.u(0.008)), media_top + (i // 3) * (thumb + st.u(0.008))))
    elif post.link_title is not None:
        box = (st.content_x, media_top, st.w - st.margin_r, media_top + st.u(0.15))
        d.rectangle(box, fill=th.panel)
        ts = st.u(0.12)
        pic = make_photo(arng, (ts, ts))
        img.paste(pic, (box[0] + st.u(0.015), box[1] + st.u(0.015)))
        lf = _font(st.regular, st.u(0.038))
        title_lines = _wrap(post.link_title, lf, box[2] - box[0] - ts - st.u(0.05))[:2]
        for i, line in enumerate(title_lines):
            d.text((box[0] + ts + st.u(0.03), box[1] + st.u(0.03) + i * st.u(0.05)), line, font=lf, fill=th.text)

    if post.location is not None:
        d.text((st.content_x, g.location_y), post.location, font=_font(st.regular, st.time_fs), fill=th.link,
               anchor="lm")  # fmt: skip

    # the time row
    yc = g.row_top + st.btn_h // 2
    tfont = _font(st.time_face, st.time_fs)
    x = st.content_x
    d.text((x, yc), post.time_word, font=tfont, fill=th.grey, anchor="lm")
    x += _text_w(post.time_word, tfont)
    if post.private:
        x += round(st.time_fs * arng.uniform(0.3, 0.5))
        x += _lock(d, x, yc, round(st.time_fs * arng.uniform(0.85, 1.0)), th.grey)
    if post.own:
        x += round(st.time_fs * arng.uniform(0.6, 1.1))
        d.text((x, yc), "Delete" if st.english else "删除", font=tfont, fill=th.link, anchor="lm")
    bx1 = st.w - st.margin_r
    bx0 = bx1 - st.btn_w
    d.rounded_rectangle((bx0, g.row_top, bx1, g.row_top + st.btn_h), radius=max(2, st.u(0.008)), fill=th.button)
    r = max(2, st.u(0.0055))
    mid = (bx0 + bx1) // 2
    for dx in (-st.u(0.012), st.u(0.012)):
        d.ellipse((mid + dx - r, yc - r, mid + dx + r, yc + r), fill=th.link)

    if g.panel_h:
        px0, px1 = st.content_x, st.w - st.margin_r
        d.rectangle((px0, g.panel_top, px1, g.panel_top + g.panel_h), fill=th.panel)
        tip = st.u(0.012)
        tx = px0 + st.u(0.03)
        d.polygon(((tx, g.panel_top - tip), (tx - tip, g.panel_top), (tx + tip, g.panel_top)), fill=th.panel)
        pf = _font(st.regular, st.time_fs)
        lh = round(st.time_fs * 1.55)
        y = g.panel_top + st.u(0.01) + lh // 2
        if post.likes:
            _heart(d, px0 + st.u(0.015), y, round(st.time_fs * 0.8), th.link)
            names = _wrap("，".join(post.likes), pf, px1 - px0 - st.u(0.08))[0]
            d.text((px0 + st.u(0.06), y), names, font=pf, fill=th.link, anchor="lm")
            y += lh
        for name, text in post.comments:
            d.text((px0 + st.u(0.015), y), name + "：", font=pf, fill=th.link, anchor="lm")
            d.text((px0 + st.u(0.015) + _text_w(name + "：", pf), y), text, font=pf, fill=th.text, anchor="lm")
            y += lh
    if separator:
        d.line((0, g.bottom - 1, st.w, g.bottom - 1), fill=th.separator, width=max(1, st.u(0.0014)))
    return g


def _social(rng: random.Random, post: _Post) -> None:
    if rng.random() < 0.35:
        post.likes = rng.sample(_NICKNAMES, rng.randint(1, 4))
    if rng.random() < 0.2:
        post.comments = [(rng.choice(_NICKNAMES), rng.choice(_CHAT_PHRASES)) for _ in range(rng.randint(1, 2))]


def _other_post(st: _Style, rng: random.Random) -> _Post:
    font = _font(st.regular, st.body_fs)
    room = st.w - st.content_x - st.margin_r
    text = "".join(rng.choice(_OTHER_PHRASES) for _ in range(rng.randint(0, 3)))
    post = _Post(
        nickname=rng.choice(_NICKNAMES),
        lines=_wrap(text, font, room)[:4],
        time_word=_time_word(rng, st.english),
        own=False,
        private=False,
        gap=round(rng.uniform(8, 20) * st.w / 750),
        avatar_seed=rng.getrandbits(32),
    )
    pick = rng.random()
    if pick < 0.4:
        pw, ph = rng.choice(((4, 3), (3, 4), (1, 1), (16, 9), (9, 16)))
        width = st.u(rng.uniform(0.35, 0.6)) if pw < ph else st.u(rng.uniform(0.45, 0.62))
        post.media = make_photo(rng, (width, round(width * ph / pw)))
    elif pick < 0.7:
        thumb = round((room - 2 * st.u(0.008)) / 3 * rng.uniform(0.82, 0.95))
        post.grid = [make_photo(rng, (thumb, thumb)) for _ in range(rng.choice((2, 3, 4, 6, 9)))]
    elif pick < 0.82:
        post.link_title = rng.choice(_LINK_TITLES)
    elif not post.lines:
        post.lines = [rng.choice(_OTHER_PHRASES)]
    _social(rng, post)
    return post


@dataclass(frozen=True)
class MomentsScreenshot:
    """An undegraded Moments screenshot and where its parts are (pixel boxes: left, top, right, bottom)."""

    image: Image.Image
    poster_box: tuple[int, int, int, int]
    time_row_box: tuple[int, int, int, int]
    qr_module_px: float
    dark: bool
    view: View


def _module_frac(img: Image.Image) -> float:
    module = img.info.get("qr_module_px")
    return float(module) / img.width if isinstance(module, int | float) else _DEFAULT_QR_MODULE_FRAC


def _render_moments(
    media: Image.Image,
    rng: random.Random,
    *,
    dark: bool | None,
    view: View | None,
    private: bool,
    module_frac: float | None,
    variants: _Variants | None = None,
) -> MomentsScreenshot:
    size = rng.choice(PHONE_SIZES)
    dark = rng.random() < 0.35 if dark is None else dark
    chosen_view: View = view if view is not None else ("feed" if rng.random() < 0.65 else "detail")
    st = _make_style(rng, size, dark, variants)
    w, h = size
    font = _font(st.regular, st.body_fs)
    room = w - st.content_x - st.margin_r
    text = "，".join(rng.sample(_OWN_PHRASES, rng.randint(1, 3)))
    lines = _wrap(text, font, room)[: rng.choice((0, 1, 1, 2, 3))]
    post = _Post(
        nickname=rng.choice(_NICKNAMES),
        lines=lines,
        time_word=_time_word(rng, st.english),
        own=True,
        private=private,
        gap=round(rng.uniform(8, 20) * w / 750),
        avatar_seed=rng.getrandbits(32),
        location=variants.location if variants else None,
    )
    if chosen_view == "detail" or rng.random() < 0.3:
        _social(rng, post)
    lo, hi = (0.35, 0.62) if chosen_view == "feed" else (0.45, 0.65)
    frac = rng.uniform(lo, hi)
    if module_frac is not None:  # keep room for the QR to stay readable after a resize
        frac = min(hi, max(frac, MIN_QR_MODULE_PX * 1.15 / (w * module_frac)))
    top_fixed = st.status_h + st.nav_h
    avail = h - top_fixed - st.bottom_h - st.u(0.01)
    aspect = media.height / media.width
    probe = _layout_post(st, post, 0)
    while probe.bottom + round(round(w * frac) * aspect) > avail and (post.lines or post.likes or post.comments):
        post.lines, post.likes, post.comments = post.lines[:-1], [], []  # too tall for the screen: less text
        probe = _layout_post(st, post, 0)
    mw = min(round(w * frac), math.floor((avail - probe.bottom - 1) / aspect))
    post.media = media.resize((mw, round(mw * aspect)), Image.Resampling.LANCZOS)
    ours_h = _layout_post(st, post, 0).bottom

    img = Image.new("RGB", size, st.th.page)
    cover = False
    if chosen_view == "feed":
        cover_h = st.u(rng.uniform(0.72, 0.86))
        header = cover_h + st.u(0.1)
        s_min = max(0, header + ours_h - (h - st.bottom_h))
        s_max = min(round(header * 0.6), header - top_fixed)
        cover = rng.random() < (variants.cover_p if variants else 0.35) and s_min <= s_max
        if cover:
            s = rng.randint(s_min, s_max)
            img.paste(make_photo(rng, (w, cover_h)), (0, -s))
            av_s = st.u(0.19)
            av = _avatar(_seeded(post.avatar_seed), av_s, post.nickname, st.bold)  # the member's own avatar
            ax, ay = w - st.margin_r - av_s, cover_h - s - av_s + st.u(0.07)
            img.paste(av, (ax, ay), av)
            nm = ImageDraw.Draw(img)
            name_font = _font(st.bold, st.u(0.045))
            nm.text((ax - st.u(0.04), cover_h - s - st.u(0.045)), post.nickname, font=name_font, fill=_WHITE,
                    anchor="rm", stroke_width=1, stroke_fill=(60, 60, 60))  # fmt: skip
            t = header - s
        else:
            # the avatar may slip under the title bar, the nickname and everything below it never do
            t = rng.randint(top_fixed - st.u(0.02), max(top_fixed - st.u(0.02), h - st.bottom_h - ours_h))
            hidden = _hidden_under_bar(media, post.media, variants)
            if hidden:  # scrolled further: the top of the picture under the title bar, its code in view
                t = top_fixed - hidden - _layout_post(st, post, 0).media_top
            y = t
            while y > top_fixed:
                other = _other_post(st, rng)
                y -= _layout_post(st, other, 0).bottom
                _draw_post(img, st, other, y, separator=True)
        g = _draw_post(img, st, post, t, separator=True)
        y = g.bottom
        while y < h:
            other = _other_post(st, rng)
            y = _draw_post(img, st, other, y, separator=True).bottom
    else:
        t = top_fixed + st.u(rng.uniform(0.0, 0.02))
        g = _draw_post(img, st, post, t, separator=False)

    if cover:
        _draw_status_bar(img, st, rng, None, _WHITE)
        _draw_nav(img, st, "", None, _WHITE, right="camera", rng=rng)
    else:
        _draw_status_bar(img, st, rng, st.th.bar, st.th.status_fg)
        title = "朋友圈" if chosen_view == "feed" else "详情"
        if st.english:
            title = "Moments" if chosen_view == "feed" else "Details"
        right = "camera" if chosen_view == "feed" else rng.choice(("dots", "none"))
        _draw_nav(img, st, title, st.th.bar, st.th.text, right=right, rng=rng)
    if variants is not None and variants.status_pill is not None:
        _status_pill(img, st, variants.status_pill)
    _draw_bottom_bar(img, st)
    assert g.media_box is not None
    row = (st.content_x, g.row_top, w - st.margin_r, g.row_top + st.btn_h)
    module_px = mw * module_frac if module_frac is not None else 0.0
    return MomentsScreenshot(img, g.media_box, row, module_px, dark, chosen_view)


def _hidden_under_bar(media: Image.Image, shown: Image.Image | None, variants: _Variants | None) -> int:
    """How many display pixels of the picture to scroll under the title bar: 0, or a share of its
    height that leaves the QR code (``qr_box`` in ``media``) whole."""
    if variants is None or not variants.under_bar or shown is None:
        return 0
    box = media.info.get("qr_box")
    if not isinstance(box, tuple):
        return 0
    scale = shown.height / media.height
    qr_top = box[1] * scale
    hidden = round(variants.under_bar * shown.height)
    return hidden if hidden < qr_top - 4 else 0


def _status_pill(img: Image.Image, st: _Style, colour: RGB) -> None:
    """A call in progress or a screen recording: a coloured pill around the clock, white text."""
    d = ImageDraw.Draw(img)
    cy = st.status_h // 2
    half_h = max(4, round(st.status_h * 0.32))
    x0 = st.u(0.03)
    x1 = x0 + st.u(0.17)
    d.rounded_rectangle((x0, cy - half_h, x1, cy + half_h), radius=half_h, fill=colour)
    d.text(((x0 + x1) // 2, cy), "00:42", font=_font(st.regular, round(half_h * 1.2)), fill=_WHITE, anchor="mm")


def render_moments_screenshot(
    poster: Image.Image,
    rng: random.Random,
    *,
    dark: bool | None = None,
    view: View | None = None,
    private: bool = False,
) -> MomentsScreenshot:
    """Draw a phone screenshot of the member's own Moments post whose single image is ``poster``, undegraded.

    ``dark``/``view`` are picked at random when None. ``private`` adds the padlock after the time word. The
    poster's display width is 35-62 % of the screen (feed) or 45-65 % (detail), raised when needed so a QR module
    is at least ``MIN_QR_MODULE_PX`` x 1.15 screen pixels (read from ``poster.info["qr_module_px"]`` as set by
    :func:`make_poster`; otherwise the QR is assumed to take 30 % of the poster width).
    """
    return _render_moments(poster, rng, dark=dark, view=view, private=private, module_frac=_module_frac(poster))


# ---------------------------------------------------------------------------------------------- degradation


@dataclass(frozen=True)
class _Shot:
    image: Image.Image
    poster_box: Box
    keep_box: Box  # what a crop must not cut: the poster and the time row
    module_px: float


def _crop_resize(
    shot: _Shot, rng: random.Random, *, crop_p: float, crop_lo: float, crop_hi: float, resize_p: float, scale_lo: float
) -> _Shot:
    img, pb, kb = shot.image, shot.poster_box, shot.keep_box
    if rng.random() < crop_p:
        w, h = img.size
        room = (kb[0] - 2, kb[1] - 2, w - kb[2] - 2, h - kb[3] - 2)
        dims = (w, h, w, h)
        cuts = [
            max(0, min(room[i], round(dims[i] * rng.uniform(crop_lo, crop_hi)))) if rng.random() < 0.6 else 0
            for i in range(4)
        ]
        img = img.crop((cuts[0], cuts[1], w - cuts[2], h - cuts[3]))
        pb = (pb[0] - cuts[0], pb[1] - cuts[1], pb[2] - cuts[0], pb[3] - cuts[1])
        kb = (kb[0] - cuts[0], kb[1] - cuts[1], kb[2] - cuts[0], kb[3] - cuts[1])
    module = shot.module_px
    if rng.random() < resize_p:
        lo = max(scale_lo, MIN_QR_MODULE_PX / module) if module else scale_lo
        if lo < 1.0:
            s = rng.uniform(lo, 1.0)
            new = (max(1, round(img.width * s)), max(1, round(img.height * s)))
            sx, sy = new[0] / img.width, new[1] / img.height
            resample = rng.choice(
                (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS, Image.Resampling.BOX)
            )
            img = img.resize(new, resample)
            pb = (round(pb[0] * sx), round(pb[1] * sy), round(pb[2] * sx), round(pb[3] * sy))
            kb = (math.floor(kb[0] * sx), math.floor(kb[1] * sy), math.ceil(kb[2] * sx), math.ceil(kb[3] * sy))
            module *= sx
    return _Shot(img, pb, kb, module)


def _jpeg(img: Image.Image, quality: int, rng: random.Random) -> bytes:
    buf = io.BytesIO()
    subsampling = rng.choice((2, 2, 2, 1, 0))
    img.convert("RGB").save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _encode(
    img: Image.Image, rng: random.Random, *, png_p: float, q_lo: int = 45, q_hi: int = 90
) -> tuple[bytes, str, int]:
    """PNG (quality reported as 0) or JPEG at a random quality: (bytes, extension, quality)."""
    if rng.random() < png_p:
        return _png(img), "png", 0
    quality = rng.randint(q_lo, q_hi)
    return _jpeg(img, quality, rng), "jpg", quality


def _degrade_moments(ms: MomentsScreenshot, rng: random.Random, *, scale_lo: float = 0.6) -> _Shot:
    pb, tb = ms.poster_box, ms.time_row_box
    keep = (min(pb[0], tb[0]), pb[1], max(pb[2], tb[2]), tb[3])
    shot = _Shot(ms.image, pb, keep, ms.qr_module_px)
    return _crop_resize(shot, rng, crop_p=0.4, crop_lo=0.0, crop_hi=0.06, resize_p=0.5, scale_lo=scale_lo)


def _webp(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "WEBP", quality=quality, method=4)
    return buf.getvalue()


def _encode_chain(shot: _Shot, rng: random.Random, chain: _Chain) -> tuple[bytes, str, int]:
    """What a screenshot goes through between phones and apps: JPEG once (or PNG), JPEG twice at other
    qualities (saved, then sent on), WebP, or JPEG then WebP. The last step's quality is reported."""
    if chain == "once":
        return _encode(shot.image, rng, png_p=0.15)
    first = rng.randint(55, 92)
    if chain == "webp":
        quality = rng.randint(50, 90)
        return _webp(shot.image, quality), "webp", quality
    with Image.open(io.BytesIO(_jpeg(shot.image, first, rng))) as im:
        again = im.convert("RGB")
    if chain == "jpeg_twice":
        quality = rng.choice([q for q in range(50, 90) if q != first])
        return _jpeg(again, quality, rng), "jpg", quality
    quality = rng.randint(55, 90)
    return _webp(again, quality), "webp", quality


def make_share_screenshot(
    poster: Image.Image,
    rng: random.Random,
    *,
    dark: bool | None = None,
    view: View | None = None,
    private: bool = False,
) -> bytes:
    """A genuine-looking (or, with ``private``, padlocked) Moments screenshot of ``poster``, as JPEG bytes.

    :func:`render_moments_screenshot`, then sometimes a crop of up to 6 % per edge that never cuts the poster or
    the time row, sometimes a resize to 0.6-1.0 (never below ``MIN_QR_MODULE_PX`` per QR module), then JPEG
    quality 45-90.
    """
    shot = _degrade_moments(render_moments_screenshot(poster, rng, dark=dark, view=view, private=private), rng)
    return _jpeg(shot.image, rng.randint(45, 90), rng)


# ---------------------------------------------------------------------------------------------- other negatives


def _render_fullscreen(poster: Image.Image, rng: random.Random) -> Image.Image:
    w, h = rng.choice(PHONE_SIZES)
    img = Image.new("RGB", (w, h), _BLACK)
    scale = min(w / poster.width, h / poster.height)
    pw, ph = round(poster.width * scale), round(poster.height * scale)
    img.paste(poster.resize((pw, ph), Image.Resampling.LANCZOS), ((w - pw) // 2, (h - ph) // 2))
    d = ImageDraw.Draw(img)
    if rng.random() < 0.4:
        st = _make_style(rng, (w, h), True)
        _draw_status_bar(img, st, rng, None, _WHITE)
    pick = rng.random()
    r = max(2, round(w * 0.006))
    if pick < 0.35:
        n = rng.randint(2, 5)
        cur = rng.randrange(n)
        for i in range(n):
            x = w // 2 + round((i - (n - 1) / 2) * w * 0.025)
            y = h - round(w * 0.08)
            d.ellipse((x - r, y - r, x + r, y + r), fill=_WHITE if i == cur else (110, 110, 110))
    elif pick < 0.7:
        for i in range(3):
            x = w - round(w * 0.1) + i * round(w * 0.018)
            y = h - round(w * 0.09)
            d.ellipse((x - r, y - r, x + r, y + r), fill=_WHITE)
    return img


def _bubble(
    img: Image.Image, st: _Style, y: int, own: bool, lines: list[str], fill: RGB, ink: RGB, av: Image.Image
) -> int:
    d = ImageDraw.Draw(img)
    font = _font(st.regular, st.body_fs)
    lh = round(st.body_fs * 1.45)
    pad_x, pad_y = st.u(0.03), st.u(0.022)
    tw = max(_text_w(line, font) for line in lines)
    bw, bh = tw + 2 * pad_x, len(lines) * lh + 2 * pad_y
    av_x = st.w - st.margin_l - st.avatar if own else st.margin_l
    img.paste(av, (av_x, y), av)
    gap = st.u(0.025)
    bx = av_x - gap - bw if own else av_x + st.avatar + gap
    d.rounded_rectangle((bx, y, bx + bw, y + bh), radius=st.u(0.012), fill=fill)
    ty = y + st.avatar // 2
    tip = st.u(0.014)
    tx = bx + bw if own else bx
    sign = 1 if own else -1
    d.polygon(((tx, ty - tip), (tx + sign * tip, ty), (tx, ty + tip)), fill=fill)
    for i, line in enumerate(lines):
        d.text((bx + pad_x, y + pad_y + i * lh + lh // 2), line, font=font, fill=ink, anchor="lm")
    return y + max(bh, st.avatar)


def _render_chat(poster: Image.Image, rng: random.Random) -> Image.Image:
    size = rng.choice(PHONE_SIZES)
    dark = rng.random() < 0.35
    st = _make_style(rng, size, dark)
    w, h = size
    page: RGB = (0x11, 0x11, 0x11) if dark else (0xED, 0xED, 0xED)
    img = Image.new("RGB", size, page)
    d = ImageDraw.Draw(img)
    own_fill: RGB = (0x3E, 0xB5, 0x75) if dark and rng.random() < 0.6 else (0x95, 0xEC, 0x69)
    other_fill: RGB = (0x2C, 0x2C, 0x2C) if dark else _WHITE
    other_ink = st.th.text
    own_ink: RGB = (0x19, 0x19, 0x19)
    me = _avatar(rng, st.avatar, rng.choice(_NICKNAMES), st.bold)
    them = _avatar(rng, st.avatar, rng.choice(_NICKNAMES), st.bold)
    input_h = st.u(rng.uniform(0.14, 0.16))
    bottom = h - st.bottom_h - input_h
    y = st.status_h + st.nav_h + st.u(0.04)

    def stamp(y: int) -> int:
        word = rng.choice(("昨天 ", "", "星期二 ", "")) + f"{rng.randint(7, 23)}:{rng.randint(0, 59):02d}"
        d.text((w // 2, y + st.u(0.02)), word, font=_font(st.regular, st.u(0.034)), fill=st.th.grey, anchor="mm")
        return y + st.u(0.07)

    thumb_w = st.u(rng.uniform(0.30, 0.45))
    thumb = poster.resize((thumb_w, round(thumb_w * poster.height / poster.width)), Image.Resampling.LANCZOS)
    mask = Image.new("L", thumb.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, thumb.width - 1, thumb.height - 1), radius=st.u(0.012), fill=255)
    thumb.putalpha(mask)
    poster_own = rng.random() < 0.8
    font = _font(st.regular, st.body_fs)
    gap = st.u(0.04)

    def message(y: int) -> int:
        own = rng.random() < 0.5
        if rng.random() < 0.15:
            y = stamp(y)
        lines = _wrap(rng.choice(_CHAT_PHRASES), font, st.u(0.55))
        fill, ink = (own_fill, own_ink) if own else (other_fill, other_ink)
        return _bubble(img, st, y, own, lines, fill, ink, me if own else them) + gap

    y = stamp(y)
    for _ in range(rng.randint(1, 4)):  # earlier messages, as long as the poster still fits below them
        if y + 2 * st.avatar + thumb.height + 2 * gap > bottom:
            break
        y = message(y)
    y = min(y, max(st.status_h + st.nav_h + st.u(0.02), bottom - thumb.height - gap))
    av_x = w - st.margin_l - st.avatar if poster_own else st.margin_l
    img.paste(me if poster_own else them, (av_x, y), me if poster_own else them)
    x = av_x - st.u(0.025) - thumb.width if poster_own else av_x + st.avatar + st.u(0.025)
    img.paste(thumb, (x, y), thumb)
    y += thumb.height + gap
    for _ in range(rng.randint(0, 3)):  # replies
        if y + st.avatar > bottom:
            break
        y = message(y)
    # input bar
    bar: RGB = (0x1E, 0x1E, 0x1E) if dark else (0xF7, 0xF7, 0xF7)
    d.rectangle((0, bottom, w, h - st.bottom_h), fill=bar)
    d.line((0, bottom, w, bottom), fill=st.th.separator, width=1)
    cy = bottom + input_h // 2
    r = st.u(0.032)
    lw = max(2, st.u(0.004))
    icon: RGB = (0xB0, 0xB0, 0xB0) if dark else (0x18, 0x18, 0x18)
    for cx in (st.u(0.06), w - st.u(0.16), w - st.u(0.06)):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=icon, width=lw)
    field_bg: RGB = (0x2C, 0x2C, 0x2C) if dark else _WHITE
    d.rounded_rectangle(
        (st.u(0.12), cy - st.u(0.038), w - st.u(0.22), cy + st.u(0.038)), radius=st.u(0.01), fill=field_bg
    )
    _draw_status_bar(img, st, rng, page, st.th.status_fg)
    contact = rng.choice(_NICKNAMES) + (f"({rng.randint(3, 200)})" if rng.random() < 0.3 else "")
    _draw_nav(img, st, contact, page, st.th.text, right="dots", rng=rng)
    _draw_bottom_bar(img, st)
    return img


# ---------------------------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class _Member:
    campaign: str
    user: str
    payload: str
    poster_rel: str


@dataclass(frozen=True)
class _Campaign:
    cid: str
    seed: int
    members: tuple[_Member, ...]


@dataclass(frozen=True)
class _GenuineShot:
    member: _Member
    path: Path
    poster_box: Box
    keep_box: Box
    quality: int  # 0 for PNG


def _plan(count: int, rng: random.Random) -> list[str]:
    n_genuine = max(1, round(count * _GENUINE_SHARE)) if count else 0
    negatives = list(NEGATIVE_KINDS)
    rng.shuffle(negatives)
    kinds = ["genuine"] * n_genuine + [negatives[i % len(negatives)] for i in range(count - n_genuine)]
    rng.shuffle(kinds)
    if kinds and kinds[0] != "genuine":  # a re-use needs an earlier genuine screenshot to copy
        first = kinds.index("genuine")
        kinds[0], kinds[first] = kinds[first], kinds[0]
    return kinds


def _campaigns(rng: random.Random) -> list[_Campaign]:
    campaigns = []
    for c in range(rng.randint(6, 10)):
        cid = f"camp-{c + 1:02d}"
        members = tuple(
            _Member(cid, f"{cid}-user-{u + 1:02d}", make_qr_payload(rng), f"posters/{cid}-user-{u + 1:02d}.png")
            for u in range(rng.randint(3, 7))
        )
        campaigns.append(_Campaign(cid, rng.getrandbits(32), members))
    return campaigns


def _saved(shot_path: Path) -> Image.Image:
    with Image.open(shot_path) as im:
        return im.convert("RGB")


def generate_corpus(out_dir: Path, *, count: int = 320, seed: int = 7) -> Path:
    """Write ``count`` labelled screenshots (about 60 % genuine) and the members' posters; return the manifest.

    Layout: ``out_dir/posters/<user>.png`` (each member's poster), ``out_dir/shots/NNNN.jpg|png`` (the
    submissions, named without their label) and ``out_dir/manifest.jsonl``, one JSON object per submission in
    submission order: ``file``, ``poster`` (paths relative to ``out_dir``), ``qr_payload`` (the submitting
    member's QR text), ``campaign``, ``user``, ``truth`` ("genuine" or "negative") and ``kind`` (see ``KINDS``).
    The same ``seed`` and ``count`` give the same bytes.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    rng = _seeded(seed)
    (out_dir / "posters").mkdir(parents=True, exist_ok=True)
    (out_dir / "shots").mkdir(parents=True, exist_ok=True)
    campaigns = _campaigns(rng)
    kinds = _plan(count, rng)
    posters: dict[str, Image.Image] = {}
    by_campaign = {c.cid: c for c in campaigns}

    def poster_of(member: _Member) -> Image.Image:
        if member.user not in posters:
            img = make_poster(by_campaign[member.campaign].seed, member.payload)
            img.save(out_dir / member.poster_rel, "PNG", compress_level=1)
            posters[member.user] = img
        return posters[member.user]

    genuine: list[_GenuineShot] = []
    lines: list[str] = []
    for index, kind in enumerate(kinds):
        r = _seeded(rng.getrandbits(64))
        campaign = r.choice(campaigns)
        member = r.choice(campaign.members)
        moments: _Shot | None = None
        variants = _variants(_seeded(r.getrandbits(64)))
        if kind in ("reused_same", "reused_pasted"):
            source = r.choice(genuine)
            campaign = by_campaign[source.member.campaign]
            member = source.member
            if kind == "reused_pasted":
                member = r.choice([m for m in campaign.members if m != source.member])
            data, ext, quality = _reuse(source, poster_of(member) if kind == "reused_pasted" else None, r)
        elif kind == "bare_poster":
            img = poster_of(member)
            if r.random() < 0.6:
                s = r.uniform(0.5, 1.0)
                img = img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS)
            data, ext, quality = _encode(img, r, png_p=0.3, q_lo=50, q_hi=95)
        elif kind == "fullscreen":
            data, ext, quality = _encode(_render_fullscreen(poster_of(member), r), r, png_p=0.15)
        elif kind == "chat":
            data, ext, quality = _encode(_render_chat(poster_of(member), r), r, png_p=0.15)
        elif kind == "random_photo":
            data, ext, quality = _encode(make_photo(r), r, png_p=0.1, q_lo=60, q_hi=95)
        else:  # a Moments post: genuine, private, foreign_qr, other_campaign, no_poster, own_qr_other_art
            if kind == "foreign_qr":
                shown = poster_of(r.choice([m for m in campaign.members if m != member]))
            elif kind == "other_campaign":
                shown = poster_of(r.choice(r.choice([c for c in campaigns if c is not campaign]).members))
            elif kind == "no_poster":
                shown = make_photo(r)
            elif kind == "own_qr_other_art":
                shown = _own_qr_on_other_art(member, [c for c in campaigns if c is not campaign], r)
            else:
                shown = poster_of(member)
            if variants.client_crop and kind in ("genuine", "private", "own_qr_other_art"):
                shown = _client_crop(shown, r)
            frac = None if kind == "no_poster" else _module_frac(shown)
            ms = _render_moments(
                shown, r, dark=None, view=None, private=kind == "private", module_frac=frac, variants=variants
            )
            moments = _degrade_moments(ms, r, scale_lo=variants.min_scale)
            data, ext, quality = _encode_chain(moments, r, variants.chain)
        rel = f"shots/{index:04d}.{ext}"
        (out_dir / rel).write_bytes(data)
        if kind == "genuine" and moments is not None:
            genuine.append(_GenuineShot(member, out_dir / rel, moments.poster_box, moments.keep_box, quality))
        poster_of(member)  # every line's poster is on disk
        record = {
            "file": rel,
            "poster": member.poster_rel,
            "qr_payload": member.payload,
            "campaign": member.campaign,
            "user": member.user,
            "truth": "genuine" if kind == "genuine" else "negative",
            "kind": kind,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return manifest


def _client_crop(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A square cut of a tall picture that keeps its QR code whole, as the client shows it."""
    box = picture.info.get("qr_box")
    side = picture.width
    if not isinstance(box, tuple) or picture.height <= side:
        return picture
    low, high = max(0, box[3] + 2 - side), min(box[1] - 2, picture.height - side)
    if low > high:
        return picture
    top = rng.randint(low, high)
    cut = picture.crop((0, top, side, top + side))
    cut.info["qr_box"] = (box[0], box[1] - top, box[2], box[3] - top)
    cut.info["qr_module_px"] = picture.info.get("qr_module_px")
    return cut


def _own_qr_on_other_art(member: _Member, others: list[_Campaign], rng: random.Random) -> Image.Image:
    """The member's own QR code on artwork that is not the campaign's: another campaign's poster design
    carrying the member's payload, or the code cut out of the member's poster and pasted onto another
    brand's picture (a photo or another poster), somewhere and at some size of the cheater's choosing."""
    if rng.random() < 0.55:
        return make_poster(rng.choice(others).seed, member.payload)
    if rng.random() < 0.5:
        art = make_poster(rng.getrandbits(32), make_qr_payload(rng))  # another brand's poster, its code covered
        x0, y0, x1, y1 = art.info["qr_box"]
        ImageDraw.Draw(art).rectangle((x0, y0, x1, y1), fill=_hsv(rng.random(), 0.3, 0.9))
    else:
        width = rng.randrange(640, 1081, 4)
        art = make_photo(rng, (width, round(width * rng.choice((1.0, 4 / 3, 1.5, 16 / 9)))))
    qr, module = _qr_image(member.payload, round(art.width * rng.uniform(0.3, 0.42)))
    x = rng.randint(0, art.width - qr.width)
    y = rng.randint(round(0.3 * (art.height - qr.height)), art.height - qr.height)
    art = art.copy()
    art.paste(qr, (x, y))
    art.info["qr_box"] = (x, y, x + qr.width, y + qr.height)
    art.info["qr_module_px"] = module
    return art


def _reuse(source: _GenuineShot, pasted: Image.Image | None, rng: random.Random) -> tuple[bytes, str, int]:
    """Re-submit an earlier genuine screenshot, optionally with another member's poster pasted over the poster."""
    img = _saved(source.path)
    pb = source.poster_box
    if pasted is not None:
        img.paste(pasted.resize((pb[2] - pb[0], pb[3] - pb[1]), Image.Resampling.LANCZOS), pb[:2])
    shot = _Shot(img, pb, source.keep_box, 0.0)
    crop_lo, crop_hi = (0.01, 0.04) if pasted is None else (0.0, 0.03)
    shot = _crop_resize(shot, rng, crop_p=1.0 if pasted is None else 0.5, crop_lo=crop_lo, crop_hi=crop_hi,
                        resize_p=0.6, scale_lo=0.9)  # fmt: skip
    quality = rng.choice([q for q in range(50, 93) if q != source.quality])  # re-saved at another quality
    return _jpeg(shot.image, quality, rng), "jpg", quality


def with_qr_painted_over(screenshot: bytes) -> bytes:
    """The screenshot with every decodable QR code painted grey, as JPEG: the poster is still there,
    whose it is cannot be read (what the verifier must send to a person)."""
    picture = Image.open(io.BytesIO(screenshot)).convert("RGB")
    for code in zxingcpp.read_barcodes(picture):
        p = code.position
        xs = (p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x)
        ys = (p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y)
        ImageDraw.Draw(picture).rectangle((min(xs), min(ys), max(xs), max(ys)), fill=(200, 200, 200))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
