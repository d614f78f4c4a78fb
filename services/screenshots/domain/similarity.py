"""How alike two context descriptors are. Pure: bytes in, a number out.

A descriptor (see ``adapters.context_hash``, which draws it from the picture) is a 64 x 64 edge map,
one byte a cell, then a mask of the cells the screenshot actually had, one bit a cell. Comparing two
needs only arithmetic, so it lives here: deciding whether a screenshot is a copy is a domain rule,
measuring the picture is not.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DESCRIPTOR_BYTES", "DESCRIPTOR_SIDE", "similarity"]

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
