"""Where things go on a campaign poster: the template's size, the QR box and the text slots. Pure: no I/O.

Coordinates are pixels of the template image, origin at the top-left corner. A text slot's ``(x, y)``
is the left end of the text's ascender line (Pillow's ``"la"`` anchor), so the glyphs hang below it.

The rules here are the ones the console enforces when ops upload a template (a QR box that spills
off the image, a colour that is not ``#RRGGBB``, two slots with one name); the renderer relies on
them instead of checking again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "ELLIPSIS",
    "MAX_FONT_SIZE",
    "MAX_TEMPLATE_PIXELS",
    "MIN_FONT_SIZE",
    "SHRINK_LIMIT",
    "FittedText",
    "PosterLayout",
    "PosterLayoutError",
    "QrBox",
    "TextSlot",
    "fit_text",
]

#: Templates above this many pixels are refused: the poster is a phone screen, and a huge image is
#: either a mistake or a decompression bomb.
MAX_TEMPLATE_PIXELS = 40_000_000
#: Smallest text worth printing on a poster.
MIN_FONT_SIZE = 8
#: Largest font size a slot may ask for.
MAX_FONT_SIZE = 512
#: Text that overflows ``max_width`` first shrinks, down to this fraction of the slot's font size,
#: and only then loses its tail to an ellipsis.
SHRINK_LIMIT = 0.6
ELLIPSIS = "…"

_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_SLOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class PosterLayoutError(ValueError):
    """A layout that cannot be drawn, or texts that do not match its slots. The message names the field."""


@dataclass(frozen=True, slots=True)
class QrBox:
    """The square the QR code fills, quiet zone included."""

    x: int
    y: int
    size: int

    def __post_init__(self) -> None:
        _require_int("qr.x", self.x, minimum=0)
        _require_int("qr.y", self.y, minimum=0)
        _require_int("qr.size", self.size, minimum=1)


@dataclass(frozen=True, slots=True)
class TextSlot:
    """A place for one text, e.g. ``TextSlot("nickname", 60, 1100, 36, "#333333", max_width=380)``.

    With ``max_width`` set, a text too wide for it is shrunk and then ellipsised (see :func:`fit_text`).
    """

    name: str
    x: int
    y: int
    font_size: int
    colour: str = "#000000"
    max_width: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _SLOT_NAME.fullmatch(self.name):
            raise PosterLayoutError(
                f"text slot name {self.name!r} must be 1-64 letters, digits or underscores, not starting with a digit"
            )
        where = f"text slot {self.name!r}"
        _require_int(f"{where}: x", self.x, minimum=0)
        _require_int(f"{where}: y", self.y, minimum=0)
        _require_int(f"{where}: font_size", self.font_size, minimum=MIN_FONT_SIZE, maximum=MAX_FONT_SIZE)
        if not isinstance(self.colour, str) or not _COLOUR.fullmatch(self.colour):
            raise PosterLayoutError(f"{where}: colour {self.colour!r} is not of the form #RRGGBB")
        if self.max_width is not None:
            _require_int(f"{where}: max_width", self.max_width, minimum=1)

    @property
    def rgb(self) -> tuple[int, int, int]:
        value = int(self.colour[1:], 16)
        return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF

    @property
    def min_font_size(self) -> int:
        """The size overflowing text may shrink to before it is ellipsised."""
        return max(MIN_FONT_SIZE, min(self.font_size, math.ceil(self.font_size * SHRINK_LIMIT)))


@dataclass(frozen=True, slots=True)
class PosterLayout:
    """A template's geometry: its size, the QR box and the text slots. Validated on construction."""

    width: int
    height: int
    qr: QrBox
    texts: tuple[TextSlot, ...] = field(default=())

    def __post_init__(self) -> None:
        _require_int("width", self.width, minimum=1)
        _require_int("height", self.height, minimum=1)
        if self.width * self.height > MAX_TEMPLATE_PIXELS:
            raise PosterLayoutError(
                f"template of {self.width}×{self.height} has more than {MAX_TEMPLATE_PIXELS:,} pixels"
            )
        if not isinstance(self.qr, QrBox):
            raise PosterLayoutError(f"qr must be a QrBox, not {type(self.qr).__name__}")
        if self.qr.x + self.qr.size > self.width or self.qr.y + self.qr.size > self.height:
            raise PosterLayoutError(
                f"QR box at ({self.qr.x}, {self.qr.y}) of size {self.qr.size} does not fit inside the "
                f"{self.width}×{self.height} template"
            )
        # Accept any iterable of slots (a list from JSON, say) but store a tuple: frozen and hashable.
        object.__setattr__(self, "texts", tuple(self.texts))
        seen: set[str] = set()
        for slot in self.texts:
            if not isinstance(slot, TextSlot):
                raise PosterLayoutError(f"text slots must be TextSlot, not {type(slot).__name__}")
            if slot.name in seen:
                raise PosterLayoutError(f"two text slots are named {slot.name!r}")
            seen.add(slot.name)
            if slot.x >= self.width or slot.y >= self.height:
                raise PosterLayoutError(
                    f"text slot {slot.name!r} at ({slot.x}, {slot.y}) is outside the "
                    f"{self.width}×{self.height} template"
                )
            if slot.max_width is not None and slot.x + slot.max_width > self.width:
                raise PosterLayoutError(
                    f"text slot {slot.name!r}: max_width {slot.max_width} from x={slot.x} runs past the "
                    f"template's width {self.width}"
                )

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(slot.name for slot in self.texts)

    def check_texts(self, texts: Mapping[str, str]) -> None:
        """Refuse texts for slots the layout does not have (a typo would silently print nothing).

        A slot without a text is fine: it stays empty (a member whose nickname is unknown).
        """
        unknown = sorted(set(texts) - set(self.slot_names))
        if unknown:
            raise PosterLayoutError(
                f"no text slot named {', '.join(map(repr, unknown))}; the layout has "
                f"{', '.join(map(repr, self.slot_names)) or 'none'}"
            )
        for name, text in texts.items():
            if not isinstance(text, str):
                raise PosterLayoutError(f"text for slot {name!r} must be a string, not {type(text).__name__}")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready, canonical form (used in cache keys and for storage)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FittedText:
    text: str
    font_size: int


def fit_text(text: str, slot: TextSlot, measure: Callable[[str, int], float]) -> FittedText:
    """Fit ``text`` into ``slot.max_width``: keep the slot's size if it fits, else shrink, else ellipsise.

    ``measure(text, font_size)`` returns the drawn width in pixels (the adapter passes the real font's
    advance width). Shrinking stops at :attr:`TextSlot.min_font_size`; at that size the text loses
    characters from its end, replaced by ``…``, until it fits. If not even ``…`` fits, nothing is drawn.
    """
    if slot.max_width is None or not text:
        return FittedText(text, slot.font_size)
    limit = slot.max_width
    for size in range(slot.font_size, slot.min_font_size - 1, -1):
        if measure(text, size) <= limit:
            return FittedText(text, size)
    size = slot.min_font_size
    # Binary search for the longest prefix that fits with the ellipsis: widths grow with length.
    low, high = 0, len(text) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle].rstrip() + ELLIPSIS, size) <= limit:
            low = middle
        else:
            high = middle - 1
    candidate = text[:low].rstrip() + ELLIPSIS
    if measure(candidate, size) > limit:
        return FittedText("", size)
    return FittedText(candidate, size)


def _require_int(name: str, value: object, *, minimum: int, maximum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PosterLayoutError(f"{name} must be an integer, not {value!r}")
    if value < minimum:
        raise PosterLayoutError(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise PosterLayoutError(f"{name} must be at most {maximum}, not {value}")
