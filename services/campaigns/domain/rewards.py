"""Reward pools: the coupon codes a tier grants. Pure: parsing uploads and generating codes, no I/O.

A pool belongs to one campaign and is named by the tiers that draw from it (``A``, ``B``). Codes come
from an uploaded CSV (the brand's own coupon system) or are generated here. Handing them out is the
adapter's job: atomically, never twice, and idempotently per grant key.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass

#: What a coupon code may look like: printable, no spaces, no separators a CSV would split.
CODE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
#: Generated codes avoid characters people confuse when they type them (0/O, 1/I/L, 5/S, 2/Z...).
READABLE_ALPHABET = "346789ABCDEFGHJKMNPQRTUVWXY"
MAX_CODES_PER_UPLOAD = 100_000
MAX_GENERATED = 100_000
_REJECTED_REPORTED = 100
#: Header names of the code column, as brands' coupon systems and spreadsheets spell them.
CODE_HEADERS = ("code", "coupon_code", "券码", "优惠码", "兑换码")


class CodeUploadInvalid(ValueError):
    """The upload as a whole is unusable (not text, too many codes, no codes at all)."""


@dataclass(frozen=True)
class RejectedLine:
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class ParsedCodes:
    """The distinct valid codes of an upload, in file order, and what was left out and why."""

    codes: tuple[str, ...]
    duplicates: int
    rejected: tuple[RejectedLine, ...]
    #: Rejected lines beyond the first ones reported.
    rejected_more: int = 0


@dataclass(frozen=True)
class PoolStock:
    pool: str
    total: int
    allocated: int

    @property
    def remaining(self) -> int:
        return self.total - self.allocated


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without the BOM spreadsheet programs write), else GB18030 (Chinese Excel)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CodeUploadInvalid("not a text file: expected UTF-8 or GB18030 CSV")


def parse_codes_csv(data: bytes) -> ParsedCodes:
    """Codes from a CSV: one code per line, or a table whose header has a ``code`` column (or one of
    :data:`CODE_HEADERS`).

    Blank lines are skipped; repeated codes are kept once (``duplicates`` counts the repeats); lines
    that hold no valid code are reported by line number with the reason.
    """
    rows = list(csv.reader(io.StringIO(decode_csv(data), newline="")))
    column: int | None = None
    start = 0
    if rows:
        header = [cell.strip().lower() for cell in rows[0]]
        column = next((header.index(name) for name in CODE_HEADERS if name in header), None)
        start = 0 if column is None else 1
    codes: dict[str, None] = {}
    duplicates = 0
    rejected: list[RejectedLine] = []
    rejected_count = 0
    for number, row in enumerate(rows[start:], start=start + 1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        reason: str | None = None
        if column is None:
            values = [cell for cell in cells if cell]
            code = values[0]
            if len(values) > 1:
                reason = "more than one value; use one code per line or a 'code' column"
        else:
            code = cells[column] if column < len(cells) else ""
            if not code:
                reason = "no value in the 'code' column"
        if reason is None and not CODE.match(code):
            reason = "a code is 3-64 letters, digits, '_' or '-'"
        if reason is not None:
            rejected_count += 1
            if len(rejected) < _REJECTED_REPORTED:
                rejected.append(RejectedLine(number, ",".join(row)[:100], reason))
            continue
        if code in codes:
            duplicates += 1
            continue
        codes[code] = None
        if len(codes) > MAX_CODES_PER_UPLOAD:
            raise CodeUploadInvalid(f"more than {MAX_CODES_PER_UPLOAD} codes in one upload; split the file")
    return ParsedCodes(tuple(codes), duplicates, tuple(rejected), rejected_count - len(rejected))


def generate_codes(count: int, *, length: int = 10, prefix: str = "") -> list[str]:
    """``count`` distinct codes from a cryptographically secure source.

    With the default length there are 27**10 (about 2e14) codes, so a guessed code is practically never
    a real one, and collisions with codes already in a pool are rare (the adapter retries them).
    """
    if not 1 <= count <= MAX_GENERATED:
        raise ValueError(f"count must be between 1 and {MAX_GENERATED}")
    if not 6 <= length <= 32:
        raise ValueError("length must be between 6 and 32")
    if prefix and not CODE.match(prefix + "XXX"):
        raise ValueError("prefix must be letters, digits, '_' or '-'")
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(prefix + "".join(secrets.choice(READABLE_ALPHABET) for _ in range(length)))
    return sorted(codes)
