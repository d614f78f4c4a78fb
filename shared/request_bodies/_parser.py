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


def parse_multipart(body: bytes, content_type: str) -> list[FormPart]:
    """The parts of a form body, in order (a repeated field name gives several parts)."""
    header = Message()
    header["Content-Type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise MultipartError("expected a multipart/form-data body")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 200:
        raise MultipartError("multipart body without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    parts: list[FormPart] = []
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
