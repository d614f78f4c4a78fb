"""How alike two context descriptors are. Pure: bytes in, a number out.

A descriptor (see ``adapters.context_hash``, which draws it from the picture) is a 64 x 64 edge map,
one byte a cell, then a mask of the cells the screenshot actually had, one bit a cell. Comparing two
needs only arithmetic, so it lives here: deciding whether a screenshot is a copy is a domain rule,
measuring the picture is not.

After the edge map a descriptor may carry the lines of text around the poster (:func:`pack_lines`):
``b"L"``, their count, then per line its aspect ratio (width / height x 100, two bytes) and a
:data:`LINE_WIDTH` x :data:`LINE_HEIGHT` picture of its ink. :func:`line_agreement` compares them.

Looking up which earlier descriptors may be alike must not mean comparing with every one of them: a
campaign has up to hundreds of thousands of submissions. :func:`buckets` cuts a descriptor's random-
hyperplane signature ("SimHash": the sign of its projection on fixed random directions) into bands;
two descriptors whose correlation is high agree on every bit of some band with high probability, two
unrelated ones rarely do. The store indexes the band values and compares only what shares one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BANDS",
    "DESCRIPTOR_BYTES",
    "DESCRIPTOR_SIDE",
    "LINE_HEIGHT",
    "LINE_WIDTH",
    "buckets",
    "line_agreement",
    "pack_lines",
    "similarity",
]

#: Cells per side of the descriptor's square grid.
DESCRIPTOR_SIDE = 64
_CELLS = DESCRIPTOR_SIDE * DESCRIPTOR_SIDE
DESCRIPTOR_BYTES = _CELLS + _CELLS // 8
#: Fewer shared cells than this and two descriptors are not comparable.
_MIN_SHARED = 200


#: A line of text, drawn at a fixed size whatever its length (nicknames are short: a glyph gets at
#: least a dozen pixels across).
LINE_WIDTH, LINE_HEIGHT = 96, 12
_LINE_BYTES = 2 + LINE_WIDTH * LINE_HEIGHT
#: Two lines whose aspect ratios differ by more than this are different lines (another length).
_ASPECT_SPREAD = 0.85


def pack_lines(lines: list[tuple[float, NDArray[np.uint8]]]) -> bytes:
    """The lines block that follows the edge map: see the module's doc."""
    out = bytearray(b"L" + bytes([min(255, len(lines))]))
    for aspect, picture in lines[:255]:
        out += min(65_535, round(aspect * 100)).to_bytes(2, "big")
        out += np.ascontiguousarray(picture, dtype=np.uint8).reshape(-1)[: LINE_WIDTH * LINE_HEIGHT].tobytes()
    return bytes(out)


#: A line is compared piece by piece (a glyph or two each): a nickname one glyph apart from another
#: (大橙鱼宝, 大悦鱼宝) correlates at 0.9 as a whole, and far lower on the piece that differs.
_PIECES = 6
_PIECE = LINE_WIDTH // _PIECES
#: A piece with less contrast than this (of 255) is blank.
_BLANK = 6.0

#: ... and one with at least this much is clearly inked.
_INKED = 3 * _BLANK

_Line = tuple[float, list[tuple[NDArray[np.float32] | None, float]]]


def _unpack_lines(descriptor: bytes) -> list[_Line] | None:
    block = descriptor[DESCRIPTOR_BYTES:]
    if len(block) < 2 or block[:1] != b"L" or len(block) != 2 + block[1] * _LINE_BYTES:
        return None
    lines: list[_Line] = []
    for n in range(block[1]):
        at = 2 + n * _LINE_BYTES
        aspect = int.from_bytes(block[at : at + 2], "big") / 100
        ink = np.frombuffer(block, dtype=np.uint8, count=LINE_WIDTH * LINE_HEIGHT, offset=at + 2)
        picture = ink.reshape(LINE_HEIGHT, LINE_WIDTH).astype(np.float32)
        pieces: list[tuple[NDArray[np.float32] | None, float]] = []
        for start in range(0, LINE_WIDTH, _PIECE):
            piece = picture[:, start : start + _PIECE].reshape(-1)
            spread = float(piece.std())
            normal = None if spread < _BLANK else (piece - float(piece.mean())) / (spread * np.sqrt(piece.size))
            pieces.append((normal, spread))
        if any(piece is not None for piece, _ in pieces):
            lines.append((aspect, pieces))
    return lines


def _line_match(left: _Line, right: _Line) -> float:
    """The worst piece's correlation; a piece blank in one line and clearly inked in the other
    matches nothing."""
    (left_aspect, left_pieces), (right_aspect, right_pieces) = left, right
    if min(left_aspect, right_aspect) < _ASPECT_SPREAD * max(left_aspect, right_aspect):
        return 0.0
    worst = 1.0
    for (mine, mine_spread), (theirs, their_spread) in zip(left_pieces, right_pieces, strict=True):
        if mine is not None and theirs is not None:
            worst = min(worst, float(mine @ theirs))
        elif max(mine_spread, their_spread) >= _INKED:
            worst = 0.0
    return worst


def line_agreement(left: bytes, right: bytes) -> float | None:
    """How well the lines of text around two posters agree (0..1): the worst line of the screenshot
    with fewer lines against its best match in the other. None when either has no lines to compare.

    A copy keeps every line (measured on re-encoded, cropped, resized copies: >= 0.8); another
    member's screenshot of the same poster on the same phone, default avatar and suggested words
    included, has a line matching nothing in the other, the nickname or the time (<= 0.46).
    """
    mine, theirs = _unpack_lines(left), _unpack_lines(right)
    if not mine or not theirs:
        return None
    fewer, more = sorted((mine, theirs), key=len)
    return max(0.0, min(max(_line_match(line, other) for other in more) for line in fewer))


def _mask(descriptor: bytes) -> NDArray[np.bool_]:
    return np.unpackbits(np.frombuffer(descriptor, dtype=np.uint8, count=_CELLS // 8, offset=_CELLS)).astype(bool)


def similarity(left: bytes, right: bytes) -> float:
    """Normalized correlation of two descriptors' edge maps over the cells both screenshots had (-1..1)."""
    if len(left) < DESCRIPTOR_BYTES or len(right) < DESCRIPTOR_BYTES:
        return 0.0
    a = np.frombuffer(left, dtype=np.uint8, count=_CELLS).astype(np.float32)
    b = np.frombuffer(right, dtype=np.uint8, count=_CELLS).astype(np.float32)
    shared = _mask(left) & _mask(right)
    if int(shared.sum()) < _MIN_SHARED:
        return 0.0
    x, y = a[shared], b[shared]
    x = (x - x.mean()) / (float(x.std()) + 1e-6)
    y = (y - y.mean()) / (float(y.std()) + 1e-6)
    return float((x * y).mean())


#: Bands of the signature, and bits per band. With 16 bits a band, two descriptors correlated at 0.97
#: (a re-encoded copy: each bit differs with probability ~0.08) share at least one of 24 bands with
#: probability ~0.99; at 0.5 (someone else's screenshot) each band agrees with probability ~0.002.
BANDS = 24
_BITS = 16
#: The signature is taken over a coarser grid (cells averaged in squares): finer detail only adds
#: noise to the hyperplanes' signs.
_COARSE = 32
_POOL = DESCRIPTOR_SIDE // _COARSE


@lru_cache(maxsize=1)
def _planes() -> NDArray[np.float32]:
    """The fixed random directions (a constant of the index: changing them changes every key)."""
    generator = np.random.default_rng(18_2026)
    return generator.standard_normal((BANDS * _BITS, _COARSE * _COARSE)).astype(np.float32)


def buckets(descriptor: bytes) -> list[str]:
    """The descriptor's band values, one key per band (``"<band>:<hex>"``); none for a malformed one."""
    if len(descriptor) < DESCRIPTOR_BYTES:
        return []
    cells = np.frombuffer(descriptor, dtype=np.uint8, count=_CELLS).astype(np.float32)
    valid = _mask(descriptor)
    if int(valid.sum()) < _MIN_SHARED:
        return []
    centred = np.where(valid, (cells - cells[valid].mean()) / (float(cells[valid].std()) + 1e-6), 0.0)
    coarse = centred.reshape(_COARSE, _POOL, _COARSE, _POOL).mean(axis=(1, 3)).reshape(-1)
    bits = (_planes() @ coarse) > 0
    packed = np.packbits(bits.reshape(BANDS, _BITS), axis=1)
    return [f"{band}:{row.tobytes().hex()}" for band, row in enumerate(packed)]
