"""Is a later screenshot the same Moments post as an earlier one of the same member? Pure.

A share re-check (a campaign asking for a fresh screenshot hours after approving the first) must not
be judged a re-use of the member's own first screenshot, and must show *that* post. Its time row has
changed ("刚刚" became "3小时前"), so the re-use check's line agreement (every line must match) reads
it as another post. What stays is the post itself: the nickname and the member's words. So: of the
first screenshot's lines of text, how many find their match in the later one.

Measured on family A (one member's post drawn as new and three hours later, against other members'
posts of the same poster): the same post matches 2 of 4 to 6 of 8 lines (each at 1.0), another
member's none (best 0.01); surroundings 0.98-0.999 against 0.02-0.42.
"""

from __future__ import annotations

import math

from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.similarity import _line_matches, _unpack_lines, similarity

__all__ = ["same_post"]

#: A line matched at this agreement is the same line (copies measure >= 0.8, others' lines <= 0.46).
_LINE_MATCH = 0.6
#: Surroundings this unlike, with no line in common, are another post.
_UNLIKE = 0.5


def same_post(first: Fingerprint, later: Fingerprint) -> bool | None:
    """True when the later screenshot shows the post of the first (a third of its lines found, at
    least one); False when nothing of it is there (no line found, surroundings unlike); None when
    they cannot be compared or the evidence is in between."""
    if first.context is None or later.context is None:
        return None
    mine, theirs = _unpack_lines(first.context), _unpack_lines(later.context)
    if mine is None or theirs is None or not len(mine.aspects) or not len(theirs.aspects):
        return None
    found = int((_line_matches(mine, theirs).max(axis=1) >= _LINE_MATCH).sum())
    if found >= max(1, math.ceil(len(mine.aspects) / 3)):
        return True
    if found == 0 and similarity(first.context, later.context) < _UNLIKE:
        return False
    return None
