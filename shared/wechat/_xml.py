from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from shared.wechat._exceptions import InvalidXml

# Any markup declaration other than CDATA (DOCTYPE, ENTITY, ...) is refused before parsing: pushes never
# carry one, and refusing them outright rules out entity expansion and external entities.
_DECLARATION = re.compile(rb"<!(?!\[CDATA\[)")


def parse_xml(body: bytes, *, max_fields: int = 200) -> dict[str, str]:
    """The leaf elements of a ``<xml>`` document as a flat dict (nested groups are skipped)."""
    if _DECLARATION.search(body):
        raise InvalidXml("XML declarations (DOCTYPE, ENTITY) are not accepted")
    try:
        root = ET.fromstring(body)  # noqa: S314  (declarations refused above)
    except ET.ParseError as exc:
        raise InvalidXml(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise InvalidXml("root element must be <xml>")
    if len(root) > max_fields:
        raise InvalidXml(f"more than {max_fields} elements")
    return {child.tag: (child.text or "").strip() for child in root if len(child) == 0}


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside one CDATA section; split it across two.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(fields: Mapping[str, str | int | Mapping[str, str | int]]) -> bytes:
    """A ``<xml>`` document: strings as CDATA, integers bare, mappings as nested elements."""
    return f"<xml>{_render(fields)}</xml>".encode()


def _render(fields: Mapping[str, str | int | Mapping[str, str | int]]) -> str:
    parts = []
    for name, value in fields.items():
        if isinstance(value, Mapping):
            inner = _render(value)
        elif isinstance(value, int):
            inner = str(value)
        else:
            inner = _cdata(value)
        parts.append(f"<{name}>{inner}</{name}>")
    return "".join(parts)
