"""How alike two context descriptors are. Pure: bytes in, a number out.

A descriptor (see ``adapters.context_hash``, which draws it from the picture) is a 64 x 64 edge map,
one byte a cell, then a mask of the cells the screenshot actually had, one bit a cell. Comparing two
needs only arithmetic, so it lives here: deciding whether a screenshot is a copy is a domain rule,
measuring the picture is not.

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

__all__ = ["BANDS", "DESCRIPTOR_BYTES", "DESCRIPTOR_SIDE", "buckets", "similarity"]

#: Cells per side of the descriptor's square grid.
DESCRIPTOR_SIDE = 64
_CELLS = DESCRIPTOR_SIDE * DESCRIPTOR_SIDE
DESCRIPTOR_BYTES = _CELLS + _CELLS // 8
#: Fewer shared cells than this and two descriptors are not comparable.
_MIN_SHARED = 200


def similarity(left: bytes, right: bytes) -> float:
    """Normalized correlation of two descriptors over the cells both screenshots had (-1..1)."""
    if len(left) != DESCRIPTOR_BYTES or len(right) != DESCRIPTOR_BYTES:
        return 0.0
    a = np.frombuffer(left, dtype=np.uint8, count=_CELLS).astype(np.float32)
    b = np.frombuffer(right, dtype=np.uint8, count=_CELLS).astype(np.float32)
    shared = np.unpackbits(np.frombuffer(left, dtype=np.uint8, offset=_CELLS)).astype(bool) & np.unpackbits(
        np.frombuffer(right, dtype=np.uint8, offset=_CELLS)
    ).astype(bool)
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
    if len(descriptor) != DESCRIPTOR_BYTES:
        return []
    cells = np.frombuffer(descriptor, dtype=np.uint8, count=_CELLS).astype(np.float32)
    valid = np.unpackbits(np.frombuffer(descriptor, dtype=np.uint8, offset=_CELLS)).astype(bool)
    if int(valid.sum()) < _MIN_SHARED:
        return []
    centred = np.where(valid, (cells - cells[valid].mean()) / (float(cells[valid].std()) + 1e-6), 0.0)
    coarse = centred.reshape(_COARSE, _POOL, _COARSE, _POOL).mean(axis=(1, 3)).reshape(-1)
    bits = (_planes() @ coarse) > 0
    packed = np.packbits(bits.reshape(BANDS, _BITS), axis=1)
    return [f"{band}:{row.tobytes().hex()}" for band, row in enumerate(packed)]
