from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser


class MultipartError(ValueError):
    """The body is not a well-formed multipart form. The message is safe to return to the caller."""


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    content: bytes


#: More fields than any of our forms has; a body of thousands of tiny parts is refused, not parsed.
MAX_PARTS = 64


def parse_multipart(body: bytes, content_type: str, *, max_parts: int = MAX_PARTS) -> list[FormPart]:
    """The parts of a form body, in order (a repeated field name gives several parts).

    Anything malformed (non-ASCII boundary or headers, too many parts, a part without a name) is a
    :class:`MultipartError`, which callers answer with 4xx.
    """
    try:
        return _parse(body, content_type, max_parts)
    except MultipartError:
        raise
    except (ValueError, LookupError, UnicodeError, TypeError) as exc:  # the email parser on hostile input
        raise MultipartError("malformed multipart body") from exc


def _parse(body: bytes, content_type: str, max_parts: int) -> list[FormPart]:
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise MultipartError("expected a multipart/form-data body")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 200:
        raise MultipartError("multipart body without a boundary")
    if not boundary.isascii():
        raise MultipartError("multipart boundary is not ASCII")
    delimiter = b"\r\n--" + boundary.encode("ascii")
    sections = (b"\r\n" + body).split(delimiter)
    parts: list[FormPart] = []
    if len(sections) > max_parts + 2:
        raise MultipartError(f"more than {max_parts} parts in the form")
    for section in sections[1:]:
        if section.startswith(b"--"):
            return parts
        head, separator, content = section.partition(b"\r\n\r\n")
        if not separator:
            raise MultipartError("multipart part without headers")
        headers = BytesHeaderParser().parsebytes(head.lstrip(b"\r\n") + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise MultipartError("multipart part without a name")
        part_type = headers.get_content_type() if headers["content-type"] else None
        parts.append(FormPart(name, headers.get_filename(), part_type, content))
    raise MultipartError("multipart body does not end with the closing delimiter")
