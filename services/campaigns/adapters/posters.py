"""Personal campaign posters: a member's QR code and texts drawn onto the campaign's template.

:func:`render_poster` is a pure CPU function (bytes in, bytes out) defined at module level, so a
``ProcessPoolExecutor`` can run it; :class:`PosterRenderer` does exactly that, off the event loop,
with an on-disk cache per campaign, template version and member. Services depend on the
:class:`~services.campaigns.service_layer.ports.PosterRendererPort` and tests hand them a fake.

**Output: JPEG, quality 88, 4:4:4 chroma, no metadata.** Templates are designed artwork, often
photographic, and the poster goes to WeChat as temporary image media and then as a customer-service
image message: a 750×1334 photo as PNG easily weighs 1-2 MB, the same poster as JPEG 150-400 KB,
which uploads faster and stays far below the platform's image limits (we hold ourselves to
:data:`MAX_POSTER_BYTES`, 1 MB). Quality 88 without chroma subsampling keeps the QR modules' edges
and small coloured text crisp; if a busy template still encodes above the limit, lower qualities
(with 4:2:0 chroma) are tried before giving up with :class:`PosterTooLarge`.

Errors::

    PosterError
    ├── InvalidTemplate         the bytes are not a PNG or JPEG, are corrupt, or do not match the
    │   │                       layout's size (also a ValueError)
    │   └── TemplateTooLarge    more pixels than allowed: refused from the header, before decoding
    │                           (decompression bombs)
    ├── QrDoesNotFit            the URL needs more QR modules than the box has room for
    ├── PosterTooLarge          the poster stays above MAX_POSTER_BYTES even at the lowest quality
    ├── RenderWorkerLost        a render process died; the pool is rebuilt on the next render
    └── FontNotFound            no CJK font on this machine (install the Debian package fonts-noto-cjk)

A bad layout, or texts for slots the layout does not have, raise the domain's
:class:`~services.campaigns.domain.poster_layout.PosterLayoutError` (a ValueError).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from services.campaigns.domain.poster_layout import MAX_TEMPLATE_PIXELS, PosterLayout, TextSlot, fit_text
from services.campaigns.service_layer.ports import PosterPreviews, PosterRendererPort
from shared.observability import get_logger

__all__ = [
    "JPEG_QUALITY",
    "MAX_POSTER_BYTES",
    "QR_BORDER_MODULES",
    "FontFace",
    "FontNotFound",
    "InvalidTemplate",
    "PosterError",
    "PosterPreviewRenderer",
    "PosterRenderer",
    "PosterTooLarge",
    "QrDoesNotFit",
    "RenderFunction",
    "RenderWorkerLost",
    "TemplateInfo",
    "TemplateTooLarge",
    "find_cjk_font",
    "inspect_template",
    "poster_cache_key",
    "render_poster",
    "render_preview",
]

log = get_logger(__name__)

#: Posters must stay below this many bytes (WeChat image media; a phone on a slow network).
MAX_POSTER_BYTES = 1_000_000
JPEG_QUALITY = 88
#: Tried in turn when a poster encodes above MAX_POSTER_BYTES at JPEG_QUALITY.
_FALLBACK_QUALITIES = (80, 72, 64)
#: White margin around the code, in modules. The standard asks for 4; scanners, WeChat's included,
#: read 2 reliably, and every module given back to the code makes its modules bigger.
QR_BORDER_MODULES = 3
#: Below this a module is a smudge on a phone screen, and the poster would not scan.
_MIN_MODULE_PIXELS = 2
#: Bump when rendering changes, so cached posters drawn by the old code are not served again.
_RENDERER_VERSION = 1


class PosterError(Exception):
    """Base of the poster errors."""


class InvalidTemplate(PosterError, ValueError):
    """The template is not a usable PNG or JPEG image."""


class TemplateTooLarge(InvalidTemplate):
    """The template claims more pixels than allowed (it may be a decompression bomb)."""


class QrDoesNotFit(PosterError):
    """The QR box is too small for the code this URL needs."""


class PosterTooLarge(PosterError):
    """The rendered poster cannot be brought under MAX_POSTER_BYTES."""


class RenderWorkerLost(PosterError):
    """A render process died mid-render (killed, out of memory)."""


class FontNotFound(PosterError):
    """No font with Chinese glyphs is installed."""


# -- fonts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FontFace:
    """A font file and, for a collection (``.ttc``), which face in it."""

    path: Path
    index: int = 0


# Debian/Ubuntu (fonts-noto-cjk, fonts-wqy-microhei), Fedora and Arch. In Noto's collections the
# faces are ordered JP, KR, SC, TC, HK: index 2 is Simplified Chinese.
_FALLBACK_FONTS = (
    FontFace(Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),
    FontFace(Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"), 2),
    FontFace(Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"), 2),
    FontFace(Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"), 2),
    FontFace(Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
)


@functools.cache
def find_cjk_font() -> FontFace:
    """The font posters are drawn with: fontconfig's best Simplified Chinese sans, else a known path.

    Raises :class:`FontNotFound`, naming the package to install, when there is none.
    """
    face = _ask_fontconfig()
    if face is not None:
        return face
    for candidate in _FALLBACK_FONTS:
        if candidate.path.is_file():
            return candidate
    raise FontNotFound(
        "no CJK font found for poster text: install the Debian package fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk) or pass font=FontFace(path, index)"
    )


def _ask_fontconfig() -> FontFace | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        # A fixed argument list, no shell and no user input.
        answer = subprocess.run(  # noqa: S603
            [fc_match, "-f", "%{file}\n%{index}\n%{lang}", "Noto Sans CJK SC:lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    file, _, rest = answer.partition("\n")
    index, _, languages = rest.partition("\n")
    # fc-match always answers with *some* font; only one that covers Simplified Chinese will do.
    if "zh-cn" not in languages.split("|") or not Path(file).is_file():
        return None
    return FontFace(Path(file), int(index) if index.isdigit() else 0)


@functools.lru_cache(maxsize=64)
def _load_font(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(face.path), size, index=face.index)


@functools.lru_cache(maxsize=16)
def _missing_glyph(face: FontFace, size: int) -> tuple[tuple[int, int], bytes]:
    # A private-use code point: every font draws it as its "missing glyph" box (.notdef).
    mask = _load_font(face, size).getmask("\U0010fffd")
    return mask.size, bytes(mask)


def _drawable(text: str, face: FontFace, size: int) -> str:
    """``text`` without what would print as nothing or as a box.

    Control and format characters (newlines, zero-width joiners) go, whitespace runs become one space,
    and characters the font has no glyph for (emoji in a nickname, for instance) are dropped rather
    than drawn as tofu.
    """
    font = _load_font(face, size)
    missing = _missing_glyph(face, size)
    kept: list[str] = []
    for char in text:
        if char.isspace():
            if kept and kept[-1] != " ":
                kept.append(" ")
            continue
        if unicodedata.category(char).startswith("C"):
            continue
        mask = font.getmask(char)
        if (mask.size, bytes(mask)) == missing:
            continue
        kept.append(char)
    return "".join(kept).strip()


# -- templates -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    format: str
    width: int
    height: int


def inspect_template(data: bytes, *, max_pixels: int = MAX_TEMPLATE_PIXELS) -> TemplateInfo:
    """Decode a template as :func:`render_poster` will, and report its format and upright size.

    For validating an upload: raises :class:`InvalidTemplate` or :class:`TemplateTooLarge` exactly
    when rendering with it would. Decoding is CPU work; run it off the event loop.
    """
    image, image_format = _open_template(data, max_pixels)
    return TemplateInfo(image_format, image.width, image.height)


def _open_template(data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """Decode ``data`` to an upright RGB image, refusing anything above ``max_pixels`` before decoding.

    Pillow's own bomb check is a process-wide setting (``Image.MAX_IMAGE_PIXELS``, ~89 MP, warning
    first and failing at twice that); this limit is per call, and Pillow's warning is turned into the
    same refusal instead of leaking out.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidTemplate(f"the template must be bytes, not {type(data).__name__}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TemplateTooLarge(f"the template has more than {max_pixels:,} pixels; refused") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidTemplate("the template is not a PNG or JPEG image") from exc
    with image:
        image_format = str(image.format)
        width, height = image.size
        if width * height > max_pixels:
            raise TemplateTooLarge(
                f"the template is {width}×{height} ({width * height:,} pixels), above the limit of "
                f"{max_pixels:,} pixels; refused"
            )
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidTemplate(f"the template {image_format} image is truncated or corrupt") from exc
    return _flatten(upright), image_format


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid over white (JPEG has no alpha; black would show through)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


# -- rendering -----------------------------------------------------------------------------------


def _qr_image(url: str, box: int) -> Image.Image:
    """The QR code for ``url`` as a ``box``-pixel white square, every module the same whole number of pixels.

    The module matrix is drawn at one pixel per module, scaled up by an integer factor with NEAREST
    (sharp edges, uniform modules: what scanners like), and centred; leftover pixels widen the quiet zone.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_BORDER_MODULES)
    code.add_data(url.encode("utf-8"))
    code.make(fit=True)
    matrix = np.asarray(code.get_matrix(), dtype=bool)
    modules = matrix.shape[0]
    scale = box // modules
    if scale < _MIN_MODULE_PIXELS:
        raise QrDoesNotFit(
            f"the QR code for this URL is {modules} modules wide (quiet zone included); a {box}-pixel box "
            f"gives it under {_MIN_MODULE_PIXELS} pixels a module. Enlarge the box to at least "
            f"{modules * _MIN_MODULE_PIXELS} pixels or shorten the URL"
        )
    code_image = Image.fromarray(np.where(matrix, 0, 255).astype(np.uint8), mode="L")
    code_image = code_image.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    square = Image.new("L", (box, box), 255)
    offset = (box - modules * scale) // 2
    square.paste(code_image, (offset, offset))
    return square.convert("RGB")


def _draw_text(canvas: Image.Image, slot: TextSlot, text: str, face: FontFace) -> None:
    text = _drawable(text, face, slot.font_size)
    if not text:
        return
    fitted = fit_text(text, slot, lambda candidate, size: _load_font(face, size).getlength(candidate))
    if fitted.text:
        font = _load_font(face, fitted.font_size)
        ImageDraw.Draw(canvas).text((slot.x, slot.y), fitted.text, font=font, fill=slot.rgb, anchor="la")


def _encode(canvas: Image.Image) -> bytes:
    attempts = [(JPEG_QUALITY, 0)] + [(quality, 2) for quality in _FALLBACK_QUALITIES]
    size = 0
    for quality, subsampling in attempts:
        buffer = io.BytesIO()
        canvas.save(buffer, "JPEG", quality=quality, subsampling=subsampling, optimize=True)
        size = buffer.tell()
        if size <= MAX_POSTER_BYTES:
            return buffer.getvalue()
    raise PosterTooLarge(
        f"the poster is {size:,} bytes as JPEG even at quality {_FALLBACK_QUALITIES[-1]}, above "
        f"{MAX_POSTER_BYTES:,}; use a smaller or simpler template"
    )


def render_poster(
    template_png_or_jpeg: bytes,
    layout: PosterLayout,
    qr_url: str,
    texts: Mapping[str, str],
    *,
    font: FontFace | None = None,
    max_pixels: int = MAX_TEMPLATE_PIXELS,
) -> bytes:
    """Draw ``texts`` and the QR code for ``qr_url`` onto the template; return the poster as JPEG bytes.

    Pure CPU work with no shared state beyond font caches: safe to run in a process pool. The template
    must be a PNG or JPEG of exactly ``layout.width`` × ``layout.height`` (after EXIF rotation) and at
    most ``max_pixels`` pixels. ``texts`` maps slot names to texts; a slot without one stays empty.
    Texts are drawn first and the QR code last, so an overlapping text can never spoil the code.
    """
    layout.check_texts(texts)
    if not isinstance(qr_url, str) or not qr_url:
        raise ValueError("qr_url must be a non-empty string")
    canvas, _ = _open_template(template_png_or_jpeg, max_pixels)
    if canvas.size != (layout.width, layout.height):
        raise InvalidTemplate(
            f"the template is {canvas.width}×{canvas.height} but the layout was made for {layout.width}×{layout.height}"
        )
    if any(texts.get(slot.name) for slot in layout.texts):
        face = font or find_cjk_font()
        for slot in layout.texts:
            if text := texts.get(slot.name):
                _draw_text(canvas, slot, text, face)
    canvas.paste(_qr_image(qr_url, layout.qr.size), (layout.qr.x, layout.qr.y))
    return _encode(canvas)


# -- the operator's preview -------------------------------------------------------------------

#: Outline colours: the QR box red, text slots blue (on most artwork one of them stands out).
_QR_OUTLINE = (229, 57, 53)
_TEXT_OUTLINE = (30, 136, 229)


def render_preview(
    template_png_or_jpeg: bytes,
    layout: PosterLayout,
    qr_url: str,
    texts: Mapping[str, str],
    *,
    outline: bool = True,
    font: FontFace | None = None,
) -> bytes:
    """The poster exactly as :func:`render_poster` makes it (JPEG artefacts included), as PNG; with
    ``outline``, the QR box and each text slot get a thin rectangle and a label naming them.

    A text slot's rectangle spans the sample text as drawn (after shrinking and ellipsising), or its
    ``max_width`` when it has one, and one line of the slot's font size.
    """
    poster = render_poster(template_png_or_jpeg, layout, qr_url, texts, font=font)
    with Image.open(io.BytesIO(poster)) as decoded:
        canvas = decoded.convert("RGB")
    if outline:
        _outline(canvas, layout, texts, font)
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _outline(canvas: Image.Image, layout: PosterLayout, texts: Mapping[str, str], font: FontFace | None) -> None:
    draw = ImageDraw.Draw(canvas)
    line = max(2, min(canvas.size) // 300)
    face = font or find_cjk_font()
    label_font = _load_font(face, max(14, min(canvas.size) // 40))
    qr = layout.qr
    _box(draw, (qr.x, qr.y, qr.x + qr.size - 1, qr.y + qr.size - 1), "QR", _QR_OUTLINE, line, label_font)
    for slot in layout.texts:
        text = _drawable(texts.get(slot.name, ""), face, slot.font_size)
        fitted = fit_text(text, slot, lambda candidate, size: _load_font(face, size).getlength(candidate))
        width = slot.max_width or int(_load_font(face, fitted.font_size).getlength(fitted.text)) or slot.font_size * 4
        right = min(canvas.width - 1, slot.x + width)
        bottom = min(canvas.height - 1, slot.y + round(slot.font_size * 1.2))
        _box(draw, (slot.x, slot.y, right, bottom), slot.name, _TEXT_OUTLINE, line, label_font)


def _box(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    label: str,
    colour: tuple[int, int, int],
    line: int,
    font: ImageFont.FreeTypeFont,
) -> None:
    draw.rectangle(box, outline=colour, width=line)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font, anchor="lt")
    width, height = right - left, bottom - top
    # The label sits on the box's top edge, or under the box when there is no room above: never on it.
    pad = 3
    y = box[1] - height - 2 * pad if box[1] >= height + 2 * pad else box[3] + 1
    draw.rectangle((box[0], y, box[0] + width + 2 * pad, y + height + 2 * pad), fill=colour)
    draw.text((box[0] + pad, y + pad), label, font=font, fill=(255, 255, 255), anchor="lt")


class PosterPreviewRenderer(PosterPreviews):
    """Previews in a thread: an operator asks for one now and then, not worth the worker's process pool."""

    def __init__(self, *, font: FontFace | None = None) -> None:
        self._font = font

    async def preview(
        self, template_bytes: bytes, layout: PosterLayout, qr_url: str, texts: Mapping[str, str], *, outline: bool
    ) -> bytes:
        return await asyncio.to_thread(
            render_preview, template_bytes, layout, qr_url, dict(texts), outline=outline, font=self._font
        )


# -- the renderer --------------------------------------------------------------------------------

#: What :class:`PosterRenderer` runs; :func:`render_poster` unless a test injects another.
RenderFunction = Callable[[bytes, PosterLayout, str, Mapping[str, str]], bytes]


def poster_cache_key(
    campaign_id: str,
    template_version: str | int,
    member_key: str,
    qr_url: str,
    texts: Mapping[str, str],
    layout: PosterLayout,
) -> str:
    """A hex sha256 naming one poster: everything that changes its pixels, in a canonical JSON form."""
    material = {
        "renderer": _RENDERER_VERSION,
        "campaign": campaign_id,
        "template_version": template_version,
        "member": member_key,
        "qr_url": qr_url,
        "texts": sorted(texts.items()),
        "layout": layout.as_dict(),
    }
    canonical = json.dumps(material, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class PosterRenderer(PosterRendererPort):
    """Renders posters in a process pool, with a content-addressed cache on disk.

    ``PosterRenderer(settings.poster_cache_dir, workers=settings.poster_workers)``; call
    :meth:`aclose` (or use ``async with``) at shutdown.

    - The pool is created on the first render, with the ``spawn`` start method: the event-loop process
      runs threads (``asyncio.to_thread``, clients), and forking a threaded process can deadlock.
    - Cache entries are ``<cache_dir>/<key[:2]>/<key>.jpg`` (see :func:`poster_cache_key`), written to
      a temporary file and renamed into place, so a reader never sees half a poster, even across
      processes sharing the directory. Nothing is evicted here: entries are small and a campaign's
      end is the time to sweep them.
    - Concurrent renders of one key in this process share a single render; a caller that is cancelled
      does not cancel it, so the poster still lands in the cache.
    - ``executor`` replaces the pool (it is then not shut down by :meth:`aclose`), and ``render``
      replaces :func:`render_poster`; with a process pool it must be picklable (module level).
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        workers: int = 2,
        render: RenderFunction = render_poster,
        executor: Executor | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._cache_dir = Path(cache_dir)
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        self._workers = workers
        self._render_function = render
        self._executor = executor
        self._owns_executor = executor is None
        self._inflight: dict[str, asyncio.Task[bytes]] = {}
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def cache_path(self, key: str) -> Path:
        return self._cache_dir / key[:2] / f"{key}.jpg"

    async def render(
        self,
        campaign_id: str,
        template_version: str | int,
        member_key: str,
        template_bytes: bytes,
        layout: PosterLayout,
        qr_url: str,
        texts: Mapping[str, str],
    ) -> bytes:
        if self._closed:
            raise RuntimeError("this PosterRenderer is closed")
        texts = dict(texts)  # a plain dict pickles to the worker; a mapping proxy would not
        key = poster_cache_key(campaign_id, template_version, member_key, qr_url, texts, layout)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._cached_render(key, template_bytes, layout, qr_url, texts))
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._forget, key))
        return await asyncio.shield(task)

    async def warm_up(self) -> None:
        """Start every render process now (spawned, imports and the font loaded) rather than on the first
        follows: the first members after a start would otherwise wait a second or two for their poster."""
        if self._closed or not self._owns_executor:
            return
        loop = asyncio.get_running_loop()
        executor = self._get_executor()
        started = [loop.run_in_executor(executor, _warm_render_process) for _ in range(self._workers)]
        for outcome in await asyncio.gather(*started, return_exceptions=True):
            if isinstance(outcome, BaseException):  # a render will meet it again and report it there
                log.warning("poster render process warm-up failed", error=str(outcome))

    async def aclose(self) -> None:
        self._closed = True
        if self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        executor, self._executor = self._executor, None
        if executor is not None and self._owns_executor:
            await asyncio.to_thread(executor.shutdown, wait=True)

    async def _cached_render(
        self, key: str, template: bytes, layout: PosterLayout, qr_url: str, texts: dict[str, str]
    ) -> bytes:
        path = self.cache_path(key)
        cached = await asyncio.to_thread(_read_if_exists, path)
        if cached is not None:
            return cached
        executor = self._get_executor()
        job = functools.partial(self._render_function, template, layout, qr_url, texts)
        try:
            poster = await asyncio.get_running_loop().run_in_executor(executor, job)
        except BrokenProcessPool as exc:
            self._discard(executor)
            raise RenderWorkerLost("a poster render process died; the pool is rebuilt on the next render") from exc
        try:
            await asyncio.to_thread(_write_atomically, path, poster)
        except OSError as exc:
            # The cache saves work; a full disk must not withhold a poster already drawn.
            log.warning("poster cache write failed; serving the poster uncached", path=str(path), error=str(exc))
        return poster

    def _get_executor(self) -> Executor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._executor

    def _discard(self, executor: Executor) -> None:
        if self._executor is executor and self._owns_executor:
            self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)

    def _forget(self, key: str, task: asyncio.Task[bytes]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        # Mark the outcome as seen: every waiter may have been cancelled, and asyncio would then
        # report "exception was never retrieved" for a failure someone already handles on retry.
        if not task.cancelled():
            task.exception()


def _warm_render_process() -> None:
    """What a render process's first poster would otherwise pay for: imports, the font, the QR encoder
    and the JPEG encoder (it runs in each new process of the pool)."""
    try:
        face = find_cjk_font()
    except FontNotFound:
        face = None  # the first real render reports it, by name
    canvas = Image.new("RGB", (96, 96), "white")
    canvas.paste(_qr_image("https://warm.invalid/q", 90), (3, 3))
    if face is not None:
        _draw_text(canvas, TextSlot("warm", 2, 2, 16, "#333333"), "暖", face)
    _encode(canvas)


def _read_if_exists(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
