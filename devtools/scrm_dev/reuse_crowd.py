"""A crowd of members honestly posting the same campaign poster, and copies of their screenshots.

The hard case for the re-use check (issue 18, class 3): thousands of members post the same artwork from
the same phone model, many with WeChat's default avatar and the campaign's suggested words, so their
screenshots differ only in what is personal (the nickname, the time row, the status-bar clock, the
posts around theirs). Real re-use keeps all of that and changes the QR code (another member's poster
pasted over the original), or sends the very same file again.

Drawn here on purpose rather than with :mod:`scrm_dev.screenshot_corpus`: the re-use check must not
be measured only on the look of the generator it was tuned on.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

__all__ = ["CrowdLook", "CrowdMember", "copy_of", "crowd_look", "crowd_member", "crowd_screenshot"]

RGB = tuple[int, int, int]
View = Literal["feed", "detail"]

_NICK_SYLLABLES = "小雨妈豆爸乐鱼王明糖杰橙一大树静安晴天向日葵李老师果果悦悦宝贝星辰阳光花朵甜心可乐团子"
_LATIN = ("Lily", "Amy", "Grace", "Kevin", "momo", "Coco", "Leo", "Nina", "Tom", "Zoe", "Ivy", "Max")
_OTHER_WORDS = ("周末带娃去公园", "今天的晚饭", "终于下雨了", "早安", "新书到了", "打卡第12天", "好天气")
SUGGESTED = ("宝妈们快来领取新人礼包，扫码就能参加", "我在参加亲子节活动，一起来吧")


@lru_cache(maxsize=4)
def _font_file() -> tuple[str, str]:
    """(regular, bold) CJK font files on this machine."""
    root = Path("/usr/share/fonts")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".ttc", ".otf", ".ttf")) if root.is_dir() else []
    cjk = [p for p in files if "cjk" in p.name.lower() or "wqy" in p.name.lower() or "droid" in p.name.lower()]
    if not cjk:
        raise RuntimeError("no CJK font found under /usr/share/fonts; install fonts-noto-cjk")
    regular = next((p for p in cjk if "sans" in p.name.lower() and "bold" not in p.name.lower()), cjk[0])
    bold = next((p for p in cjk if "bold" in p.name.lower()), regular)
    return str(regular), str(bold)


@lru_cache(maxsize=256)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = _font_file()[1 if bold else 0]
    return ImageFont.truetype(path, max(6, size), index=2 if path.endswith(".ttc") else 0)


@dataclass(frozen=True)
class CrowdLook:
    """What every member of the crowd shares: the phone, the theme, the view, the suggested words."""

    size: tuple[int, int]
    dark: bool
    view: View
    words: str
    #: Share of members who keep WeChat's default avatar.
    default_avatar: float = 0.6


@dataclass(frozen=True)
class CrowdMember:
    nickname: str
    #: None: WeChat's default avatar.
    avatar_colour: RGB | None
    minutes_ago: int
    clock: str
    #: Where the post starts, as a share of the screen height (feed view).
    post_top: float
    seed: int


def crowd_look(rng: random.Random) -> CrowdLook:
    size = rng.choice(((1170, 2532), (1080, 2340), (750, 1334), (1242, 2688)))
    return CrowdLook(size, rng.random() < 0.3, rng.choice(("feed", "feed", "detail")), rng.choice(SUGGESTED))


def crowd_member(rng: random.Random, look: CrowdLook) -> CrowdMember:
    if rng.random() < 0.25:
        nickname = rng.choice(_LATIN) + (str(rng.randint(1, 99)) if rng.random() < 0.5 else "")
    else:
        nickname = "".join(rng.choice(_NICK_SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4, 4, 5))))
    colour = None
    if rng.random() >= look.default_avatar:
        colour = (rng.randint(40, 220), rng.randint(40, 220), rng.randint(40, 220))
    return CrowdMember(
        nickname=nickname,
        avatar_colour=colour,
        minutes_ago=rng.randint(1, 59),
        clock=f"{rng.randint(8, 22)}:{rng.randint(0, 59):02d}",
        post_top=rng.uniform(0.1, 0.3),
        seed=rng.getrandbits(32),
    )


@dataclass(frozen=True)
class _Theme:
    page: RGB
    text: RGB
    grey: RGB
    link: RGB
    bar: RGB


_LIGHT = _Theme((255, 255, 255), (25, 25, 25), (150, 150, 150), (87, 107, 149), (237, 237, 237))
_DARK = _Theme((25, 25, 25), (210, 210, 210), (110, 110, 110), (125, 144, 169), (17, 17, 17))


def _avatar(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], member: CrowdMember) -> None:
    left, top, right, bottom = box
    side = right - left
    if member.avatar_colour is None:  # WeChat's default: a grey tile with a pale head and shoulders
        draw.rounded_rectangle(box, radius=side // 10, fill=(206, 206, 206))
        head = side // 5
        cx, cy = left + side // 2, top + int(side * 0.4)
        draw.ellipse((cx - head, cy - head, cx + head, cy + head), fill=(245, 245, 245))
        draw.pieslice((left + side // 6, top + int(side * 0.62), right - side // 6, bottom + side // 2), 180, 360,
                      fill=(245, 245, 245))  # fmt: skip
        return
    draw.rounded_rectangle(box, radius=side // 10, fill=member.avatar_colour)
    draw.text((left + side // 2, top + side // 2), member.nickname[:1], font=_font(side // 2, True),
              fill=(255, 255, 255), anchor="mm")  # fmt: skip


def _post(
    img: Image.Image,
    look: CrowdLook,
    theme: _Theme,
    member: CrowdMember,
    top: int,
    *,
    lines: list[str],
    media: Image.Image | None,
    time_word: str,
    own: bool,
) -> tuple[int, tuple[int, int, int, int] | None]:
    """Draws one post from ``top``; returns its bottom and the media's box."""
    w = look.size[0]
    draw = ImageDraw.Draw(img)
    unit = w / 100
    avatar = round(11 * unit)
    left = round(3.5 * unit)
    content = left + avatar + round(2.8 * unit)
    _avatar(draw, (left, top, left + avatar, top + avatar), member)
    draw.text((content, top), member.nickname, font=_font(round(4.4 * unit), True), fill=theme.link, anchor="lt")
    y = top + round(6.5 * unit)
    body = _font(round(4.6 * unit))
    for line in lines:
        draw.text((content, y), line, font=body, fill=theme.text, anchor="lt")
        y += round(6.8 * unit)
    box = None
    if media is not None:
        y += round(1.2 * unit)
        img.paste(media, (content, y))
        box = (content, y, content + media.width, y + media.height)
        y += media.height
    y += round(3 * unit)
    small = _font(round(3.6 * unit))
    draw.text((content, y), time_word, font=small, fill=theme.grey, anchor="lt")
    if own:
        x = content + draw.textlength(time_word, font=small) + round(3 * unit)
        draw.text((x, y), "删除", font=small, fill=theme.link, anchor="lt")
    button = (w - round(12 * unit), y - round(0.5 * unit), w - round(4 * unit), y + round(4.5 * unit))
    draw.rounded_rectangle(button, radius=round(unit), fill=theme.bar)
    for dx in (-1.2, 1.2):
        cx, cy = (button[0] + button[2]) / 2 + dx * unit, (button[1] + button[3]) / 2
        draw.ellipse((cx - 0.6 * unit, cy - 0.6 * unit, cx + 0.6 * unit, cy + 0.6 * unit), fill=theme.link)
    bottom = y + round(8 * unit)
    draw.line((0, bottom, w, bottom), fill=theme.bar, width=max(1, round(0.15 * unit)))
    return bottom + round(3 * unit), box


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines, line = [], ""
    for glyph in text:
        if font.getlength(line + glyph) > width and line:
            lines.append(line)
            line = ""
        line += glyph
    return [*lines, line] if line else lines


def crowd_screenshot(
    poster: Image.Image, member: CrowdMember, look: CrowdLook
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The member's own Moments post of ``poster`` on the crowd's phone, and where the poster is."""
    rng = random.Random(member.seed)  # noqa: S311  (synthetic pictures, not secrets)
    w, h = look.size
    unit = w / 100
    theme = _DARK if look.dark else _LIGHT
    img = Image.new("RGB", look.size, theme.page)
    draw = ImageDraw.Draw(img)
    status, nav = round(6 * unit), round(12 * unit)
    media_w = round(w * 0.5)
    media = poster.convert("RGB").resize(
        (media_w, round(media_w * poster.height / poster.width)), Image.Resampling.LANCZOS
    )
    content_w = w - round(21 * unit)
    lines = _wrap(look.words, _font(round(4.6 * unit)), content_w)
    time_word = f"{member.minutes_ago}分钟前"
    if look.view == "feed":
        top = status + nav + round(member.post_top * h * 0.5)
        if top > status + nav + round(20 * unit):  # the end of someone else's post above
            other = CrowdMember(rng.choice(_LATIN), (rng.randint(40, 220),) * 3, 0, "", 0, rng.getrandbits(32))
            _post(img, look, theme, other, top - round(28 * unit), lines=[rng.choice(_OTHER_WORDS)], media=None,
                  time_word=f"{rng.randint(1, 23)}小时前", own=False)  # fmt: skip
        bottom, box = _post(img, look, theme, member, top, lines=lines, media=media, time_word=time_word, own=True)
        other = CrowdMember(rng.choice(_LATIN), (rng.randint(40, 220),) * 3, 0, "", 0, rng.getrandbits(32))
        _post(img, look, theme, other, bottom, lines=[rng.choice(_OTHER_WORDS)], media=None,
              time_word=f"{rng.randint(1, 23)}小时前", own=False)  # fmt: skip
    else:
        top = status + nav + round(4 * unit)
        _, box = _post(img, look, theme, member, top, lines=lines, media=media, time_word=time_word, own=True)
    assert box is not None
    draw.rectangle((0, 0, w, status + nav), fill=theme.bar)
    draw.text((round(6 * unit), status // 2), member.clock, font=_font(round(3.6 * unit), True), fill=theme.text,
              anchor="lm")  # fmt: skip
    draw.rounded_rectangle((w - round(12 * unit), round(2 * unit), w - round(5 * unit), round(4 * unit)),
                           radius=round(0.5 * unit), outline=theme.text, width=max(1, round(0.3 * unit)))  # fmt: skip
    title = "朋友圈" if look.view == "feed" else "详情"
    draw.text((w // 2, status + nav // 2), title, font=_font(round(4.8 * unit), True), fill=theme.text, anchor="mm")
    return img, box


def encode(img: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def copy_of(
    original: bytes,
    rng: random.Random,
    *,
    pasted: Image.Image | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> bytes:
    """Someone else's screenshot re-sent: re-encoded, a little cropped and resized, and with ``pasted``
    (the cheater's own poster) over ``box`` (the original poster's place) when given."""
    img = Image.open(io.BytesIO(original)).convert("RGB")
    if pasted is not None and box is not None:
        img.paste(pasted.convert("RGB").resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.LANCZOS), box[:2])
    w, h = img.size
    cut = [round(rng.uniform(0, 0.03) * side) for side in (w, h, w, h)]
    img = img.crop((cut[0], cut[1], w - cut[2], h - cut[3]))
    if rng.random() < 0.6:
        scale = rng.uniform(0.85, 1.0)
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)
    return encode(img, rng.randint(55, 92))
