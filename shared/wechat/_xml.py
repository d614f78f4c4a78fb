from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from shared.wechat._exceptions import InvalidXml

# Any markup declaration other than CDATA (DOCTYPE, ENTITY, ...) is refused before parsing: pushes never
# carry one, and refusing them outright rules out entity expansion and external entities.
_DECLARATION = re.compile(rb"<!(?!\[CDATA\[)")


# The shape nearly every push has: ``<xml>`` holding only leaf elements, each one CDATA section or
# plain text without markup, entities or carriage returns. Such a document means the same to any XML
# parser, so it is read with two regular expressions instead of a full parse (a third of the push's
# parsing cost); anything else (nested groups, entities, attributes, a prolog...) goes to the parser.
_NAME = rb"[A-Za-z_][A-Za-z0-9_]*"
# Control characters XML forbids and CR (which the parser rewrites) are left to the parser, as is any
# whitespace but space, tab and newline.
_CHAR = rb"[^\]\x00-\x08\x0b-\x1f]"
_CDATA = rb"<!\[CDATA\[(%s*(?:\](?!\]>)%s*)*)\]\]>" % (_CHAR, _CHAR)  # one section: no "]]>" inside
_TEXT = rb"([^<&\]\x00-\x08\x0b-\x1f]*)"  # no markup, no entity
_ELEMENT = re.compile(rb"<(%s)>(?:%s|%s)</\1>" % (_NAME, _CDATA, _TEXT))
_FLAT_DOCUMENT = re.compile(
    rb"<xml>(?:[ \t\n]*<(%s)>(?:%s|%s)</\1>)*[ \t\n]*</xml>[ \t\n]*"
    % (_NAME, _CDATA.replace(b"(", b"(?:", 1), _TEXT.replace(b"(", b"(?:", 1))
)


def _flat_fields(body: bytes, max_fields: int) -> dict[str, str] | None:
    """The fields of a flat push document, or None when it is not one (the full parser then decides)."""
    # b"\xef\xbf": U+FFFE and U+FFFF are not XML characters (rare enough to leave all of U+FFxx).
    if b"\xef\xbf" in body or _FLAT_DOCUMENT.fullmatch(body) is None:
        return None
    fields: dict[str, str] = {}
    count = 0
    try:
        for name, cdata, text in _ELEMENT.findall(body, len(b"<xml>")):
            fields[name.decode("ascii")] = (cdata or text).decode("utf-8").strip()
            count += 1
    except UnicodeDecodeError:
        return None
    if count > max_fields:
        raise InvalidXml(f"more than {max_fields} elements")
    return fields


def parse_xml(body: bytes, *, max_fields: int = 200) -> dict[str, str]:
    """The leaf elements of a ``<xml>`` document as a flat dict (nested groups are skipped)."""
    if _DECLARATION.search(body):
        raise InvalidXml("XML declarations (DOCTYPE, ENTITY) are not accepted")
    flat = _flat_fields(body, max_fields)
    if flat is not None:
        return flat
    return parse_xml_fully(body, max_fields=max_fields)


def parse_xml_fully(body: bytes, *, max_fields: int = 200) -> dict[str, str]:
    """:func:`parse_xml` through the XML parser alone (declarations must have been refused already)."""
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


def to_xml(fields: Mapping[str, Any]) -> bytes:
    """A ``<xml>`` document: strings as CDATA, integers bare, mappings as nested elements, a list of
    mappings as the element repeated (a subscription push's ``<List>`` per template)."""
    return f"<xml>{_render(fields)}</xml>".encode()


def _render(fields: Mapping[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, Mapping):
                inner = _render(one)
            elif isinstance(one, int):
                inner = str(one)
            else:
                inner = _cdata(one)
            parts.append(f"<{name}>{inner}</{name}>")
    return "".join(parts)


def parse_xml_lists(body: bytes, group: str, *, max_items: int = 20, max_fields: int = 200) -> list[dict[str, str]]:
    """The ``<List>`` items under ``<group>`` of a ``<xml>`` push, each a flat dict of its leaf elements.

    Subscription-message pushes (``SubscribeMsgPopupEvent`` and the like) nest one ``<List>`` per
    template, which :func:`parse_xml` skips. Bounded against hostile input: declarations are refused,
    more than ``max_items`` items or ``max_fields`` elements in all is :class:`InvalidXml`.
    """
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
    holder = root.find(group)
    if holder is None:
        return []
    items = holder.findall("List")
    if len(items) > max_items:
        raise InvalidXml(f"{group}: more than {max_items} items")
    lists: list[dict[str, str]] = []
    for item in items:
        if len(item) > max_fields:
            raise InvalidXml(f"{group}: more than {max_fields} elements in an item")
        lists.append({child.tag: (child.text or "").strip() for child in item if len(child) == 0})
    return lists
