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

from dataclasses import dataclass
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
    "line_buckets",
    "line_scores",
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
#: Values in a piece.
_SIZE = LINE_HEIGHT * _PIECE
#: A piece with less contrast than this (of 255) is blank.
_BLANK = 6.0

#: ... and one with at least this much is clearly inked.
_INKED = 3 * _BLANK


@dataclass(frozen=True)
class _Lines:
    """A descriptor's lines, ready to compare all at once: per line its aspect, and per piece the
    normalized ink (zero where blank), whether it has ink, and whether it is clearly inked."""

    aspects: NDArray[np.float32]  # (lines,)
    pieces: NDArray[np.float32]  # (lines, pieces, values)
    inked: NDArray[np.bool_]  # (lines, pieces)
    clear: NDArray[np.bool_]  # (lines, pieces)
    pictures: NDArray[np.float32]  # (lines, height, width): what the pieces are cut from


def _cut(pictures: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.bool_], NDArray[np.bool_]]:
    """Lines' pictures (lines, height, width) cut into pieces: normalized ink, inked, clearly inked."""
    count = pictures.shape[0]
    cut = pictures.reshape(count, LINE_HEIGHT, _PIECES, _PIECE).transpose(0, 2, 1, 3).reshape(count, _PIECES, _SIZE)
    centred = cut - cut.mean(axis=2, keepdims=True)
    spread = np.sqrt((centred * centred).mean(axis=2))
    has_ink = spread >= _BLANK
    # Blank pieces are zero: their scale is infinite.
    scale = np.where(has_ink, spread * np.float32(np.sqrt(_SIZE)), np.inf).astype(np.float32)
    return centred / scale[:, :, None], has_ink, spread >= _INKED


def _from_pictures(aspects: NDArray[np.float32], pictures: NDArray[np.float32]) -> _Lines:
    return _Lines(aspects, *_cut(pictures), pictures)


@lru_cache(maxsize=256)  # the new screenshot's lines, compared with up to 64 candidates
def _unpack_lines(descriptor: bytes) -> _Lines | None:
    block = descriptor[DESCRIPTOR_BYTES:]
    if len(block) < 2 or block[:1] != b"L" or len(block) != 2 + block[1] * _LINE_BYTES:
        return None
    count = block[1]
    pictures = (
        np.frombuffer(block, dtype=np.uint8, count=count * _LINE_BYTES, offset=2)
        .reshape(count, _LINE_BYTES)[:, 2:]
        .reshape(count, LINE_HEIGHT, LINE_WIDTH)
        .astype(np.float32)
    )
    aspects = np.array(
        [int.from_bytes(block[2 + n * _LINE_BYTES : 4 + n * _LINE_BYTES], "big") / 100 for n in range(count)]
    )
    normal, has_ink, clear = _cut(pictures)
    keep = has_ink.any(axis=1)  # a line without any ink is no line
    return _Lines(aspects[keep].astype(np.float32), normal[keep], has_ink[keep], clear[keep], pictures[keep])


def _line_matches(mine: _Lines, theirs: _Lines) -> NDArray[np.float32]:
    """(mine, theirs): each pair's worst piece; a piece blank in one line and clearly inked in the
    other matches nothing; lines of other lengths do not match at all."""
    dots = np.einsum("ipk,jpk->ijp", mine.pieces, theirs.pieces)
    both = mine.inked[:, None, :] & theirs.inked[None, :, :]
    lopsided = (
        ~both
        & (mine.clear[:, None, :] | theirs.clear[None, :, :])
        & (mine.inked[:, None, :] | theirs.inked[None, :, :])
    )
    scores = np.where(both, dots, 1.0)
    scores = np.where(lopsided, 0.0, scores).min(axis=2)
    low = np.minimum(mine.aspects[:, None], theirs.aspects[None, :])
    high = np.maximum(mine.aspects[:, None], theirs.aspects[None, :])
    return np.where(low < _ASPECT_SPREAD * high, 0.0, scores).astype(np.float32)


#: A line that agrees less than this with every line of the other is compared again, either picture
#: shifted by a column and a row: the 12-pixel picture of a re-saved, cropped copy's line can sit a
#: pixel off, and thin strokes then miss each other (issue 18, measured on 158 copies and 483 honest
#: alike pairs of 8 development sets: copies' worst lines 0.14 and 0.3 unshifted, 0.53 and more
#: shifted but one; other members' worst lines at most 0.15 either way). Two columns gained nothing.
_RETRY_BELOW = 0.8
_SHIFT = 1
#: ... unless two lines match nothing: the copies' second-worst line agrees at 0.6 or more unshifted;
#: most other members' alike posts have two lines under this (the nickname and the time or the
#: clock), and the second look, dearer than the first, is spared.
_UNMATCHED = 0.35
_SHIFTS = tuple((dx, dy) for dx in range(-_SHIFT, _SHIFT + 1) for dy in range(-_SHIFT, _SHIFT + 1) if dx or dy)


def _shifted(pictures: NDArray[np.float32], dx: int, dy: int) -> NDArray[np.float32]:
    out = np.zeros_like(pictures)
    height, width = pictures.shape[1:]
    out[:, max(0, dy) : height + min(0, dy), max(0, dx) : width + min(0, dx)] = pictures[
        :, max(0, -dy) : height + min(0, -dy), max(0, -dx) : width + min(0, -dx)
    ]
    return out


def _second_look(few: _Lines, more: _Lines) -> NDArray[np.float32]:
    """Each line of ``few`` against ``more``'s lines, either picture shifted a little: (few, more)."""
    # Both ways: a shift pushes a row or columns of ink out of one picture, and which one loses them
    # matters when the ink fills the line's box (measured: 0.13 one way, 0.58 the other).
    count, others = len(_SHIFTS), len(more.aspects)
    moved = np.concatenate([_shifted(few.pictures, dx, dy) for dx, dy in _SHIFTS])
    again: NDArray[np.float32] = (
        _line_matches(_from_pictures(np.tile(few.aspects, count), moved), more)
        .reshape(count, len(few.aspects), others)
        .max(axis=0)
    )
    # Only their lines of a length one of these could match (the rest match nothing anyway).
    low = np.minimum(few.aspects[:, None], more.aspects[None, :])
    high = np.maximum(few.aspects[:, None], more.aspects[None, :])
    near = np.flatnonzero((low >= _ASPECT_SPREAD * high).any(axis=0))
    if near.size:
        pictures = more.pictures[near]
        moved = np.concatenate([_shifted(pictures, -dx, -dy) for dx, dy in _SHIFTS])
        theirs = _line_matches(few, _from_pictures(np.tile(more.aspects[near], count), moved))
        again[:, near] = np.maximum(again[:, near], theirs.reshape(len(few.aspects), count, near.size).max(axis=1))
    return again


def _line(lines: _Lines, index: NDArray[np.intp]) -> _Lines:
    return _Lines(
        lines.aspects[index], lines.pieces[index], lines.inked[index], lines.clear[index], lines.pictures[index]
    )


def _tolerant_best(fewer: _Lines, more: _Lines, *, worst_only: bool = False) -> NDArray[np.float32]:
    """Each line of ``fewer``: its best agreement with a line of ``more``, the lines that found no close
    partner given a second look (:func:`_second_look`). With ``worst_only`` only the lowest value is
    exact: a line whose first look already beats the worst after its second is not looked at again
    (the new screenshot meets up to 64 candidates, most of them another member's)."""
    best: NDArray[np.float32] = _line_matches(fewer, more).max(axis=1)
    weak = np.flatnonzero(best < _RETRY_BELOW)
    if weak.size == 0 or int((best < _UNMATCHED).sum()) >= 2:
        return best  # two lines matching nothing are another post's, however shifted
    if not worst_only:
        best[weak] = np.maximum(best[weak], _second_look(_line(fewer, weak), more).max(axis=1))
        return best
    settled = np.ones(len(best), dtype=bool)
    settled[weak] = False
    for index in weak[np.argsort(best[weak], kind="stable")]:
        if settled.any() and best[index] >= best[settled].min():
            break  # this line and those after it can only end above what is already the worst
        best[index] = max(best[index], float(_second_look(_line(fewer, np.array([index])), more).max()))
        settled[index] = True
    return best


def line_agreement(left: bytes, right: bytes) -> float | None:
    """How well the lines of text around two posters agree (0..1): the worst line of the screenshot
    with fewer lines against its best match in the other. None when either has no lines to compare.

    A copy keeps every line (measured on re-encoded, cropped, resized copies: >= 0.8); another
    member's screenshot of the same poster on the same phone, default avatar and suggested words
    included, has a line matching nothing in the other, the nickname or the time (<= 0.46).
    """
    best = _best(left, right, worst_only=True)
    return None if best is None else max(0.0, float(best.min()))


def line_scores(left: bytes, right: bytes) -> tuple[float, ...] | None:
    """Each line of the screenshot with fewer lines against its best match in the other (0..1), worst
    first; None when either has no lines to compare. :func:`line_agreement` is the first."""
    best = _best(left, right)
    return None if best is None else tuple(sorted(max(0.0, float(value)) for value in best))


def _best(left: bytes, right: bytes, *, worst_only: bool = False) -> NDArray[np.float32] | None:
    mine, theirs = _unpack_lines(left), _unpack_lines(right)
    if mine is None or theirs is None or not len(mine.aspects) or not len(theirs.aspects):
        return None
    fewer, more = (mine, theirs) if len(mine.aspects) <= len(theirs.aspects) else (theirs, mine)
    return _tolerant_best(fewer, more, worst_only=worst_only)


def _mask(descriptor: bytes) -> NDArray[np.bool_]:
    return np.unpackbits(np.frombuffer(descriptor, dtype=np.uint8, count=_CELLS // 8, offset=_CELLS)).astype(bool)


def similarity(left: bytes, right: bytes) -> float:
    """Normalized correlation of two descriptors' edge maps over the cells both screenshots had (-1..1)."""
    if len(left) < DESCRIPTOR_BYTES or len(right) < DESCRIPTOR_BYTES:
        return 0.0
    a, mask_a = _edge_map(left)
    b, mask_b = _edge_map(right)
    shared = mask_a & mask_b
    count = float(np.count_nonzero(shared))
    if count < _MIN_SHARED:
        return 0.0
    # Sums over the shared cells (one new screenshot meets up to 64 candidates: no copies of the maps).
    weights = shared.astype(np.float64)
    sum_a, sum_b = float(weights @ a), float(weights @ b)
    var_a = float(weights @ (a * a)) / count - (sum_a / count) ** 2
    var_b = float(weights @ (b * b)) / count - (sum_b / count) ** 2
    covariance = float(weights @ (a * b)) / count - sum_a * sum_b / count**2
    return float(covariance / ((np.sqrt(max(var_a, 0.0)) + 1e-6) * (np.sqrt(max(var_b, 0.0)) + 1e-6)))


@lru_cache(maxsize=256)  # the new screenshot's map, compared with up to 64 candidates
def _edge_map(descriptor: bytes) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    cells = np.frombuffer(descriptor, dtype=np.uint8, count=_CELLS).astype(np.float64)
    return cells, _mask(descriptor)


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


#: Each line of text gets its own keys: the signature of its picture (pooled to 4 x 16) cut into bands
#: of 16 bits. A copy keeps its lines, so it shares most of their keys; the keys of a line everyone
#: has (the suggested words, a title) are shared by thousands, and the store stops asking for those.
_LINE_BANDS = 6
_LINE_BITS = 16
_LINE_POOL = (LINE_HEIGHT // 4, LINE_WIDTH // 16)


@lru_cache(maxsize=1)
def _line_planes() -> NDArray[np.float32]:
    generator = np.random.default_rng(26_2026)
    return generator.standard_normal((_LINE_BANDS * _LINE_BITS, 4 * 16)).astype(np.float32)


def line_buckets(descriptor: bytes) -> list[str]:
    """``"l<band>:<hex>"`` keys of every line of text the descriptor carries (deduplicated, in order)."""
    block = descriptor[DESCRIPTOR_BYTES:]
    if len(block) < 2 or block[:1] != b"L" or len(block) != 2 + block[1] * _LINE_BYTES:
        return []
    keys: dict[str, None] = {}
    for n in range(block[1]):
        ink = np.frombuffer(block, dtype=np.uint8, count=LINE_WIDTH * LINE_HEIGHT, offset=2 + n * _LINE_BYTES + 2)
        pooled = ink.reshape(4, _LINE_POOL[0], 16, _LINE_POOL[1]).astype(np.float32).mean(axis=(1, 3)).reshape(-1)
        centred = pooled - float(pooled.mean())
        if float(centred.std()) < _BLANK:
            continue
        packed = np.packbits(((_line_planes() @ centred) > 0).reshape(_LINE_BANDS, _LINE_BITS), axis=1)
        for band, row in enumerate(packed):
            keys[f"l{band}:{row.tobytes().hex()}"] = None
    return list(keys)
