"""Personal posters: layout rules, rendering (decoded back with OpenCV) and the cached, pooled renderer."""

from __future__ import annotations

import asyncio
import io
import os
import random
import string
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from services.campaigns.adapters import posters
from services.campaigns.adapters.posters import (
    MAX_POSTER_BYTES,
    FontNotFound,
    InvalidTemplate,
    PosterRenderer,
    QrDoesNotFit,
    RenderWorkerLost,
    TemplateTooLarge,
    inspect_template,
    poster_cache_key,
    render_poster,
)
from services.campaigns.domain.poster_layout import (
    ELLIPSIS,
    FittedText,
    PosterLayout,
    PosterLayoutError,
    QrBox,
    TextSlot,
    fit_text,
)

WIDTH, HEIGHT = 750, 1334
NAME_SLOT = TextSlot("nickname", 60, 1100, 40, "#FFFFFF", max_width=380)
LAYOUT = PosterLayout(WIDTH, HEIGHT, QrBox(475, 1059, 220), (NAME_SLOT,))
URL_SAFE = string.ascii_letters + string.digits + "-_"


def _wechat_qr_url(rng: random.Random, length: int = 22) -> str:
    return "http://weixin.qq.com/q/" + "".join(rng.choices(URL_SAFE, k=length))


def _gradient_png(width: int = WIDTH, height: int = HEIGHT) -> bytes:
    down = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    across = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    pixels = np.dstack(
        [
            np.broadcast_to(down, (height, width)),
            np.broadcast_to(across, (height, width)),
            np.full((height, width), 120, dtype=np.uint8),
        ]
    )
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A genuine 1-bit greyscale PNG of ``width``×``height`` zeros: tens of KB that decode to gigapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _decode_qr(poster: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(poster, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    text, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    return str(text)


def _files(directory: Path, pattern: str) -> list[Path]:
    return list(directory.rglob(pattern))


def _pixels(poster: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(poster)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def template() -> bytes:
    return _gradient_png()


# -- layout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("box", "message"),
    [
        (QrBox(600, 1059, 220), "does not fit inside the 750×1334 template"),
        (QrBox(475, 1200, 220), "does not fit inside"),
        (QrBox(0, 0, 751), "does not fit inside"),
    ],
)
def test_a_qr_box_outside_the_image_is_refused(box: QrBox, message: str) -> None:
    with pytest.raises(PosterLayoutError, match=message):
        PosterLayout(WIDTH, HEIGHT, box)


@pytest.mark.parametrize(
    ("x", "y", "size", "message"),
    [(-1, 0, 10, r"qr\.x must be at least 0"), (0, 0, 0, r"qr\.size must be at least 1"), (0, 1.5, 10, "integer")],
)
def test_a_qr_box_needs_whole_non_negative_coordinates(x: int, y: int, size: int, message: str) -> None:
    with pytest.raises(PosterLayoutError, match=message):
        QrBox(x, y, size)


@pytest.mark.parametrize("colour", ["red", "#FFF", "#GG0000", "FF0000", "#FF00001", ""])
def test_a_colour_must_be_hex_rrggbb(colour: str) -> None:
    with pytest.raises(PosterLayoutError, match=r"text slot 'nickname': colour .* is not of the form #RRGGBB"):
        TextSlot("nickname", 10, 10, 30, colour)


def test_a_colour_is_parsed_to_rgb() -> None:
    assert TextSlot("nickname", 0, 0, 30, "#ff8000").rgb == (255, 128, 0)


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ((TextSlot("nickname", 800, 10, 30),), r"text slot 'nickname' at \(800, 10\) is outside"),
        ((TextSlot("nickname", 500, 10, 30, max_width=300),), "max_width 300 from x=500 runs past"),
        ((TextSlot("nickname", 0, 0, 30), TextSlot("nickname", 0, 50, 30)), "two text slots are named 'nickname'"),
    ],
)
def test_text_slots_must_fit_the_template(slots: tuple[TextSlot, ...], message: str) -> None:
    with pytest.raises(PosterLayoutError, match=message):
        PosterLayout(WIDTH, HEIGHT, QrBox(0, 0, 100), slots)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "1st"}, "must be 1-64 letters"),
        ({"font_size": 4}, "font_size must be at least 8"),
        ({"max_width": 0}, "max_width must be at least 1"),
    ],
)
def test_text_slot_fields_are_checked(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"name": "nickname", "x": 0, "y": 0, "font_size": 30} | kwargs
    with pytest.raises(PosterLayoutError, match=message):
        TextSlot(**fields)  # type: ignore[arg-type]


def test_a_template_above_the_pixel_limit_is_refused_by_the_layout() -> None:
    with pytest.raises(PosterLayoutError, match="more than 40,000,000 pixels"):
        PosterLayout(8000, 6000, QrBox(0, 0, 100))


def test_texts_for_unknown_slots_are_refused() -> None:
    with pytest.raises(PosterLayoutError, match="no text slot named 'nick'; the layout has 'nickname'"):
        LAYOUT.check_texts({"nick": "小雨妈妈"})
    LAYOUT.check_texts({})  # a slot may stay empty


def _width_per_char(text: str, size: int) -> float:
    return float(len(text) * size)


def test_text_that_fits_keeps_its_size() -> None:
    slot = TextSlot("nickname", 0, 0, 40, max_width=200)
    assert fit_text("abcde", slot, _width_per_char) == FittedText("abcde", 40)


def test_text_too_wide_shrinks_first() -> None:
    slot = TextSlot("nickname", 0, 0, 40, max_width=200)
    assert fit_text("abcdef", slot, _width_per_char) == FittedText("abcdef", 33)


def test_text_too_wide_even_shrunk_is_ellipsised() -> None:
    slot = TextSlot("nickname", 0, 0, 40, max_width=200)  # shrinks to 24 at most: 8 characters fit
    fitted = fit_text("abcdefghijklmnop", slot, _width_per_char)
    assert fitted == FittedText("abcdefg" + ELLIPSIS, 24)


def test_text_without_max_width_is_left_alone() -> None:
    slot = TextSlot("nickname", 0, 0, 40)
    assert fit_text("x" * 100, slot, _width_per_char) == FittedText("x" * 100, 40)


# -- rendering ------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [22, 60, 160])
def test_the_poster_carries_a_qr_code_that_decodes_to_the_url(template: bytes, length: int) -> None:
    rng = random.Random(length)
    for _ in range(3):
        url = _wechat_qr_url(rng, length)
        poster = render_poster(template, LAYOUT, url, {"nickname": "小雨妈妈"})
        assert _decode_qr(poster) == url


def test_the_poster_is_a_jpeg_of_the_template_size_under_1_mb(template: bytes) -> None:
    poster = render_poster(template, LAYOUT, _wechat_qr_url(random.Random(1)), {"nickname": "小雨妈妈"})
    assert len(poster) < MAX_POSTER_BYTES
    with Image.open(io.BytesIO(poster)) as image:
        assert image.format == "JPEG"
        assert image.size == (WIDTH, HEIGHT)
        image.verify()


def test_cjk_text_is_drawn_in_its_slot(template: bytes) -> None:
    url = _wechat_qr_url(random.Random(2))
    with_name = _pixels(render_poster(template, LAYOUT, url, {"nickname": "小雨妈妈"}))
    without = _pixels(render_poster(template, LAYOUT, url, {}))
    difference = np.abs(with_name - without).max(axis=2)
    slot_area = difference[1100 - 40 : 1100 + 80, 60 : 60 + 380]
    assert (slot_area > 100).sum() > 500  # white strokes on a coloured gradient
    elsewhere = difference[0:900, :]
    assert (elsewhere > 100).sum() == 0


def test_overlong_text_stays_inside_max_width(template: bytes) -> None:
    url = _wechat_qr_url(random.Random(3))
    long_name = _pixels(render_poster(template, LAYOUT, url, {"nickname": "一个非常非常非常非常长的妈妈昵称啊啊"}))
    without = _pixels(render_poster(template, LAYOUT, url, {}))
    difference = np.abs(long_name - without).max(axis=2)
    assert (difference[1050:1200, 60 : 60 + 380] > 100).sum() > 500
    right_of_slot = difference[1050:1200, 60 + 380 + 4 : 475]
    assert (right_of_slot > 100).sum() == 0


def test_characters_the_font_lacks_are_dropped_not_drawn_as_boxes(template: bytes) -> None:
    url = _wechat_qr_url(random.Random(4))
    plain = render_poster(template, LAYOUT, url, {"nickname": "小雨妈妈"})
    assert render_poster(template, LAYOUT, url, {"nickname": "小雨妈妈🌸\u200d\n"}) == plain


def test_a_url_too_long_for_the_box_is_refused(template: bytes) -> None:
    small = PosterLayout(WIDTH, HEIGHT, QrBox(10, 10, 60))
    with pytest.raises(QrDoesNotFit, match="Enlarge the box to at least"):
        render_poster(template, small, _wechat_qr_url(random.Random(5), 200), {})


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20000, 20000),  # beyond Pillow's own hard limit
        (12000, 10000),  # where Pillow would only warn
        (8000, 6000),  # under Pillow's limits, over ours
    ],
)
def test_a_decompression_bomb_is_refused_before_decoding(width: int, height: int) -> None:
    bomb = _png_claiming(width, height)
    assert len(bomb) < 100_000
    with pytest.raises(TemplateTooLarge, match="refused"):
        render_poster(bomb, LAYOUT, "http://weixin.qq.com/q/x", {})


def test_the_pixel_limit_is_per_call(template: bytes) -> None:
    with pytest.raises(TemplateTooLarge, match=r"750×1334 \(1,000,500 pixels\), above the limit of 500,000"):
        render_poster(template, LAYOUT, "http://weixin.qq.com/q/x", {}, max_pixels=500_000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"definitely not an image", "not a PNG or JPEG image"),
        (b"GIF89a" + bytes(64), "not a PNG or JPEG image"),
        (b"", "not a PNG or JPEG image"),
    ],
)
def test_non_image_bytes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidTemplate, match=message):
        render_poster(data, LAYOUT, "http://weixin.qq.com/q/x", {})


def test_a_truncated_template_is_refused(template: bytes) -> None:
    with pytest.raises(InvalidTemplate, match="truncated or corrupt"):
        render_poster(template[: len(template) // 2], LAYOUT, "http://weixin.qq.com/q/x", {})


def test_a_template_of_another_size_is_refused() -> None:
    with pytest.raises(InvalidTemplate, match="template is 600×800 but the layout was made for 750×1334"):
        render_poster(_gradient_png(600, 800), LAYOUT, "http://weixin.qq.com/q/x", {})


def test_inspect_template_reports_the_upright_size_and_format() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to display
    Image.new("RGB", (300, 200), "pink").save(buffer, "JPEG", exif=exif)
    info = inspect_template(buffer.getvalue())
    assert (info.format, info.width, info.height) == ("JPEG", 200, 300)


def test_a_missing_cjk_font_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posters, "_ask_fontconfig", lambda: None)
    monkeypatch.setattr(posters, "_FALLBACK_FONTS", ())
    with pytest.raises(FontNotFound, match="install the Debian package fonts-noto-cjk"):
        posters.find_cjk_font.__wrapped__()


# -- the renderer ---------------------------------------------------------------------------------


class CountingRender:
    """A stand-in for render_poster that counts its calls (threads share it, unlike processes)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self, template: bytes, layout: PosterLayout, qr_url: str, texts: Mapping[str, str]) -> bytes:
        with self._lock:
            self.calls += 1
        if self.fail:
            raise InvalidTemplate("the template is not a PNG or JPEG image")
        return f"poster for {qr_url} {sorted(texts.items())}".encode()


@pytest.fixture
def threads() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=2)
    yield executor
    executor.shutdown(wait=True)


async def _render(renderer: PosterRenderer, member: str = "o-member-1", name: str = "小雨妈妈") -> bytes:
    return await renderer.render(
        "cmp-1", "v1", member, b"template", LAYOUT, f"http://weixin.qq.com/q/{member}", {"nickname": name}
    )


async def test_a_second_render_comes_from_the_cache(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    counting = CountingRender()
    async with PosterRenderer(tmp_path / "posters", render=counting, executor=threads) as renderer:
        first = await _render(renderer)
        second = await _render(renderer)
    assert first == second
    assert counting.calls == 1
    assert len(_files(tmp_path / "posters", "*.jpg")) == 1


async def test_the_cache_survives_a_new_renderer(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    counting = CountingRender()
    async with PosterRenderer(tmp_path, render=counting, executor=threads) as renderer:
        first = await _render(renderer)
    async with PosterRenderer(tmp_path, render=counting, executor=threads) as renderer:
        assert await _render(renderer) == first
    assert counting.calls == 1
    assert not _files(tmp_path, "*.tmp")


async def test_different_texts_are_different_entries(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    counting = CountingRender()
    async with PosterRenderer(tmp_path, render=counting, executor=threads) as renderer:
        mum = await _render(renderer, name="小雨妈妈")
        dad = await _render(renderer, name="小雨爸爸")
    assert mum != dad
    assert counting.calls == 2
    assert len(_files(tmp_path, "*.jpg")) == 2


def test_the_cache_key_covers_every_input_and_ignores_text_order() -> None:
    base = ("cmp-1", "v1", "o-1", "http://weixin.qq.com/q/a", {"a": "1", "b": "2"}, LAYOUT)
    key = poster_cache_key(*base)
    assert poster_cache_key("cmp-1", "v1", "o-1", "http://weixin.qq.com/q/a", {"b": "2", "a": "1"}, LAYOUT) == key
    moved = PosterLayout(WIDTH, HEIGHT, QrBox(470, 1059, 220), (NAME_SLOT,))
    variants = [
        ("cmp-2", *base[1:]),
        (base[0], "v2", *base[2:]),
        (*base[:2], "o-2", *base[3:]),
        (*base[:3], "http://weixin.qq.com/q/b", *base[4:]),
        (*base[:4], {"a": "1", "b": "3"}, LAYOUT),
        (*base[:5], moved),
    ]
    keys = {poster_cache_key(*variant) for variant in variants}
    assert len(keys) == len(variants)
    assert key not in keys


async def test_concurrent_renders_of_one_poster_render_once(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    counting = CountingRender()
    async with PosterRenderer(tmp_path, render=counting, executor=threads) as renderer:
        results = await asyncio.gather(*(_render(renderer) for _ in range(8)), _render(renderer, member="o-2"))
    assert len(set(results[:8])) == 1
    assert counting.calls == 2


async def test_a_failed_render_is_not_cached(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    counting = CountingRender(fail=True)
    async with PosterRenderer(tmp_path, render=counting, executor=threads) as renderer:
        for _ in range(2):
            with pytest.raises(InvalidTemplate):
                await _render(renderer)
    assert counting.calls == 2
    assert not _files(tmp_path, "*.jpg")


async def test_a_closed_renderer_refuses_work(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    renderer = PosterRenderer(tmp_path, render=CountingRender(), executor=threads)
    await renderer.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await _render(renderer)


async def test_posters_render_in_a_process_pool(tmp_path: Path, template: bytes) -> None:
    rng = random.Random(6)
    urls = [_wechat_qr_url(rng) for _ in range(2)]
    async with PosterRenderer(tmp_path / "cache", workers=1) as renderer:
        posters_ = await asyncio.gather(
            *(
                renderer.render("cmp-1", 1, f"o-{n}", template, LAYOUT, url, {"nickname": "小雨妈妈"})
                for n, url in enumerate(urls)
            )
        )
        again = await renderer.render("cmp-1", 1, "o-0", template, LAYOUT, urls[0], {"nickname": "小雨妈妈"})
    assert [_decode_qr(poster) for poster in posters_] == urls
    assert again == posters_[0]
    assert len(_files(tmp_path / "cache", "*.jpg")) == 2


async def test_a_cancelled_caller_does_not_cancel_the_render(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    release = threading.Event()
    counting = CountingRender()

    def slow(template: bytes, layout: PosterLayout, qr_url: str, texts: Mapping[str, str]) -> bytes:
        release.wait(timeout=5)
        return counting(template, layout, qr_url, texts)

    async with PosterRenderer(tmp_path, render=slow, executor=threads) as renderer:
        impatient = asyncio.create_task(_render(renderer))
        await asyncio.sleep(0.01)
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        release.set()
        await _render(renderer)
    assert counting.calls == 1


def render_or_die(template: bytes, layout: PosterLayout, qr_url: str, texts: Mapping[str, str]) -> bytes:
    """Runs in a pool process: dies like an OOM-killed worker when asked to."""
    if qr_url.endswith("/die"):
        os._exit(1)
    return render_poster(template, layout, qr_url, texts)


async def test_a_dead_worker_fails_its_render_and_the_pool_is_rebuilt(tmp_path: Path, template: bytes) -> None:
    async with PosterRenderer(tmp_path, workers=1, render=render_or_die) as renderer:
        with pytest.raises(RenderWorkerLost, match="rebuilt on the next render"):
            await renderer.render("cmp-1", 1, "o-1", template, LAYOUT, "http://weixin.qq.com/q/die", {})
        url = _wechat_qr_url(random.Random(7))
        poster = await renderer.render("cmp-1", 1, "o-1", template, LAYOUT, url, {})
    assert _decode_qr(poster) == url


def test_an_unknown_nickname_drops_its_slot_and_a_template_with_one_says_so() -> None:
    from datetime import UTC, datetime, timedelta

    from services.campaigns.domain.campaign import Campaign, PosterTemplate, QrBox, TextSlot
    from services.campaigns.domain.posters import poster_layout, poster_texts, template_notes

    slots = (TextSlot("nickname", 40, 40, 32), TextSlot("campaign_name", 40, 90, 32))
    template = PosterTemplate("img", 750, 1334, QrBox(400, 1000, 240), slots)
    now = datetime.now(UTC)
    campaign = Campaign.create(appid="wx1", name="秋季拉新", starts_at=now, ends_at=now + timedelta(days=3), now=now)
    layout = poster_layout(template)
    assert poster_texts(campaign, layout, "") == {"campaign_name": "秋季拉新"}  # nothing drawn for the nickname
    assert poster_texts(campaign, layout, "小雨") == {"nickname": "小雨", "campaign_name": "秋季拉新"}
    [note] = template_notes(template)
    assert note.field == "template.text_slots.0" and "dropped" in note.problem
    assert template_notes(PosterTemplate("img", 750, 1334, QrBox(400, 1000, 240))) == []


async def test_warm_up_starts_every_render_process_before_the_first_render(tmp_path: Path) -> None:
    async with PosterRenderer(tmp_path, workers=2) as renderer:
        await renderer.warm_up()
        executor = renderer._get_executor()
        assert isinstance(executor, ProcessPoolExecutor)
        pids = {process.pid for process in executor._processes.values()}
        assert len(pids) == 2
        # The processes warmed up are the ones that render: no new one starts for the first poster.
        template = io.BytesIO()
        Image.new("RGB", (LAYOUT.width, LAYOUT.height), "white").save(template, "PNG")
        poster = await renderer.render(
            "cmp-1", "v1", "o-1", template.getvalue(), LAYOUT, "http://weixin.qq.com/q/o-1", {"nickname": "小雨"}
        )
        assert poster[:2] == b"\xff\xd8"
        assert {process.pid for process in executor._processes.values()} == pids


async def test_warm_up_leaves_a_given_executor_alone(tmp_path: Path, threads: ThreadPoolExecutor) -> None:
    counting = CountingRender()
    async with PosterRenderer(tmp_path, render=counting, executor=threads) as renderer:
        await renderer.warm_up()
    assert counting.calls == 0
