"""Hostile multipart forms are a MultipartError (answered 4xx), never another exception (a 500)."""

from __future__ import annotations

import contextlib

import pytest

from shared.request_bodies import MultipartError, parse_multipart

TYPE = "multipart/form-data; boundary=b"


def form(*parts: bytes) -> bytes:
    return b"".join(b"--b\r\n" + part + b"\r\n" for part in parts) + b"--b--\r\n"


def field(name: str, value: bytes = b"v") -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def test_a_form_parses() -> None:
    [part] = parse_multipart(form(field("a")), TYPE)
    assert (part.name, part.content) == ("a", b"v")


def test_too_many_fields_are_refused() -> None:
    with pytest.raises(MultipartError, match="more than 64 parts"):
        parse_multipart(form(*(field(f"f{i}") for i in range(100))), TYPE)
    assert len(parse_multipart(form(*(field(f"f{i}") for i in range(10))), TYPE, max_parts=10)) == 10


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (form(field("a")), "multipart/form-data; boundary=边界"),
        (form(field("a")), "multipart/form-data; boundary=\udcff"),
        (b"--b\r\n\xff\xfe: \x00\r\n\r\nv\r\n--b--\r\n", TYPE),
        (b"--b\r\nContent-Disposition: form-data; name*=bogus''%ff%fe\r\n\r\nv\r\n--b--\r\n", TYPE),
        (b"--b\r\nContent-Disposition: form-data; name=\"\xe5\x90\x8d\"; filename*=x''%\r\n\r\nv\r\n--b--\r\n", TYPE),
        (b"--b\r\nno headers", TYPE),
        (form(field("a")), "multipart/form-data"),
        (form(field("a")), "text/plain"),
    ],
)
def test_malformed_forms_are_multipart_errors(body: bytes, content_type: str) -> None:
    # Refused or parsed are both fine; any other exception would be a 500.
    with contextlib.suppress(MultipartError):
        parse_multipart(body, content_type)
