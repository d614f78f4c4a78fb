"""Reading a ``multipart/form-data`` body (the media upload) with the standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    content: bytes


class MultipartError(ValueError):
    pass


def boundary_of(content_type: str) -> bytes:
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise MultipartError("not multipart/form-data")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary or len(boundary) > 200:
        raise MultipartError("missing boundary")
    return boundary.encode("latin-1")


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """The parts of a form body. Each part's content is exactly the bytes between its delimiters."""
    delimiter = b"--" + boundary_of(content_type)
    sections = (b"\r\n" + body).split(b"\r\n" + delimiter)
    parts: list[Part] = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            return parts
        head, separator, content = section.partition(b"\r\n\r\n")
        if not separator:
            raise MultipartError("part without headers")
        headers = BytesHeaderParser().parsebytes(head.lstrip(b"\r\n") + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        if not isinstance(name, str):
            raise MultipartError("part without a name")
        parts.append(Part(name, filename, headers.get_content_type() if headers["content-type"] else None, content))
    raise MultipartError("body does not end with the closing delimiter")
