from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterable
from pathlib import PurePosixPath
from urllib.parse import quote

from fastapi.responses import Response, StreamingResponse

__all__ = ["CSV_MEDIA_TYPE", "attachment", "csv_response", "streaming_csv_response"]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

#: Longer names are cut (keeping the extension): browsers and file systems stop near 255 bytes.
_MAX_STEM = 120
# Path separators and the characters that end or escape a quoted header value never reach a name.
_UNSAFE = re.compile(r'[\\/"]')
# The plain fallback keeps what every browser and file system takes as it is.
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._-]+")


def _clean(filename: str) -> str:
    # Control and format characters (CR, LF, NUL, bidi overrides) would split the header or disguise
    # the extension: dropped, not replaced.
    kept = "".join(c for c in filename if not unicodedata.category(c).startswith("C"))
    name = _UNSAFE.sub("_", kept).strip(" .")
    path = PurePosixPath(name or "download")
    stem, suffix = (path.stem, path.suffix) if len(path.suffix) <= 10 else (path.name, "")
    return stem[:_MAX_STEM] + suffix


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` value that downloads as ``filename`` and cannot be bent by it.

    Names often carry what users typed (a brand, a campaign) or Chinese: the header gets a plain ASCII
    ``filename="..."`` every client understands, and when the name is not plain ASCII also the exact
    name as RFC 5987 ``filename*=UTF-8''...`` (percent-encoded), which browsers prefer. Quotes,
    backslashes and slashes become ``_``; CR, LF and other control characters are dropped."""
    name = _clean(filename)
    plain = _NOT_PLAIN.sub("_", name)
    if PurePosixPath(plain).stem.strip("_.") == "":
        plain = "download" + PurePosixPath(plain).suffix
    if plain == name:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def csv_response(text: str, filename: str) -> Response:
    """A whole CSV document (``shared.tabular.csv_text``) as a download."""
    headers = {"Content-Disposition": attachment(filename)}
    return Response(text.encode("utf-8"), media_type=CSV_MEDIA_TYPE, headers=headers)


def streaming_csv_response(lines: AsyncIterable[str], filename: str) -> StreamingResponse:
    """A CSV written as it is read (``shared.tabular.BOM`` + ``csv_line`` of the header first, then one
    ``csv_line`` per row), so a large export is never held in memory."""
    return StreamingResponse(lines, media_type=CSV_MEDIA_TYPE, headers={"Content-Disposition": attachment(filename)})
