from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

#: Written once, before the first line: without it Excel reads UTF-8 as the local code page.
BOM = "\ufeff"

# What a spreadsheet runs when a cell starts with it: a formula (= + - @), and tab or CR, which Excel
# drops before reading what follows. The full-width signs are what Chinese input methods type; Excel
# and WPS in CJK locales may take them for the ASCII ones, and a needless quote costs nothing.
_TRIGGERS = frozenset("=+-@\t\r" + "\uff1d\uff0b\uff0d\uff20")
# What spreadsheets skip before looking for a formula sign: whitespace (``\s`` is every Unicode
# space: tab, CR, LF, NBSP, the ideographic space) and the invisible zero-width characters.
_LEADING = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]*")


def _runs(text: str) -> bool:
    if text[:1] in _TRIGGERS:
        return text != "-"  # a lone dash is how reports write "none": no spreadsheet computes it
    lead = _LEADING.match(text)
    return lead is not None and text[lead.end() : lead.end() + 1] in _TRIGGERS


def _finite_number(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int)


def safe_cell(value: object) -> str:
    """The text of one cell: ``None`` is empty, booleans ``true``/``false`` (as the JSON APIs say),
    numbers as written, and any other value as its text, led by ``'`` when that text would start a
    formula (``'=HYPERLINK(...)`` shows as text and runs nothing).

    Numbers are left alone, negative ones too: ``-3`` written from an int or float is only a sign,
    digits, a point and an exponent; the spreadsheet reads it as a number, there is nothing in it to
    call or refer to. The same characters arriving as *text* (an id ``"-1"``, a name) are quoted, as
    text can carry ``-1+cmd|...`` just as well; so is ``-inf``, which a spreadsheet would read as a name."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _finite_number(value):
        return str(value)
    text = value if isinstance(value, str) else str(value)
    return "'" + text if _runs(text) else text


def csv_line(row: Sequence[object]) -> str:
    """One row as a CSV line ending in CRLF, every cell through :func:`safe_cell`; quotes, commas and
    line breaks inside a cell are quoted as RFC 4180 says. For streamed exports: the first chunk is
    :data:`BOM` plus the header's line."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """A whole CSV document: :data:`BOM`, then each row as :func:`csv_line` (an empty row is an empty
    line, which separates sections)."""
    return BOM + "".join(csv_line(row) for row in rows)
