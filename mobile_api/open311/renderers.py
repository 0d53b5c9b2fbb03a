"""GeoReport v2 documents in XML (mandatory) and JSON, chosen by the URL suffix.

A view answers with a ``Document``: the XML root element's name and the JSON value. XML is derived
from the JSON value by the spec's conventions: a list becomes repeated child elements named after the
singular of its element (``services`` → ``service``), ``None`` an empty element, booleans
``true``/``false``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from rest_framework.renderers import BaseRenderer

# Element names of list items, by the name of the list (GeoReport v2 and the extensions we emit).
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "media_urls": "media_url",
    # servicerequestupdates: FixMyStreet's documents are named so for GET and for the answer to a POST.
    "service_requests_updates": "request_update",
    "service_request_updates": "request_update",
}


# Characters XML 1.0 cannot carry at all; left in, they would make the whole document unreadable.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Document:
    root: str
    body: Any


def _document(data: Any) -> Document:
    return data if isinstance(data, Document) else Document("response", data)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ElementTree.SubElement(element, key), child)
    elif isinstance(value, list):
        item_name = ITEM_NAMES.get(element.tag, "item")
        for child in value:
            _fill(ElementTree.SubElement(element, item_name), child)
    else:
        element.text = _text(value)


def to_xml(document: Document) -> bytes:
    root = ElementTree.Element(document.root)
    _fill(root, document.body)
    return ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)


class XMLRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return to_xml(_document(data))


class JSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 by definition (RFC 8259)

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(_document(data).body, ensure_ascii=False, separators=(",", ":")).encode()
