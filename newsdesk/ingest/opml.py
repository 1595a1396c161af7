"""Import and export subscription lists as OPML, the format every reader speaks.

OPML files come from users and other readers, so parsing goes through
defusedxml: DTD entity declarations (billion laughs) and external entities
(XXE) are refused outright rather than expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # only used to *build* XML; parsing goes through defusedxml
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring


class OpmlError(ValueError):
    """The OPML file is malformed, unsafe, or not OPML at all."""


@dataclass
class OpmlFeed:
    """One subscription: its feed URL plus the labels a reader shows for it."""

    xml_url: str
    title: str = ""
    html_url: str = ""
    category: str = ""


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every feed outline in the document, de-duplicated by feed URL, in document order.

    A feed's category is the text of the nearest enclosing folder outline (the
    way readers nest them), else its OPML 2.0 ``category`` attribute.
    """
    body = _body(data)
    feeds: dict[str, OpmlFeed] = {}
    for feed in _walk(body, ""):
        feeds.setdefault(feed.xml_url, feed)
    return list(feeds.values())


def _body(data: bytes) -> ET.Element:
    try:
        root = safe_fromstring(data, forbid_dtd=False, forbid_entities=True,
                               forbid_external=True)
    except DefusedXmlException as exc:
        raise OpmlError(f"unsafe OPML refused: {exc}") from exc
    except ET.ParseError as exc:
        raise OpmlError(f"malformed OPML: {exc}") from exc
    if _local(root.tag) != "opml":
        raise OpmlError(f"not an OPML document (root element is <{_local(root.tag)}>)")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise OpmlError("OPML document has no <body>")
    return body


def _walk(parent: ET.Element, category: str) -> list[OpmlFeed]:
    feeds: list[OpmlFeed] = []
    for outline in parent:
        if _local(outline.tag) != "outline":
            continue
        attrs = {k.lower(): v.strip() for k, v in outline.attrib.items()}
        label = attrs.get("title") or attrs.get("text") or ""
        if attrs.get("xmlurl"):
            feeds.append(OpmlFeed(
                xml_url=attrs["xmlurl"],
                title=label,
                html_url=attrs.get("htmlurl", ""),
                category=category or _category_attr(attrs.get("category", "")),
            ))
        feeds.extend(_walk(outline, label or category))
    return feeds


def _category_attr(value: str) -> str:
    """OPML 2.0 ``category="/News/World,/Other"``: the last segment of the first path."""
    first = value.split(",", 1)[0].strip().strip("/")
    return first.rsplit("/", 1)[-1].strip()


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def write_opml(feeds: list[OpmlFeed], title: str) -> str:
    """OPML 2.0 text: uncategorised feeds first, then one folder outline per category."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in sorted(feeds, key=lambda f: bool(f.category)):
        parent = body
        if feed.category:
            if feed.category not in folders:
                folders[feed.category] = ET.SubElement(
                    body, "outline", text=feed.category, title=feed.category)
            parent = folders[feed.category]
        ET.SubElement(parent, "outline", _feed_attrs(feed))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _feed_attrs(feed: OpmlFeed) -> dict[str, str]:
    label = feed.title or feed.xml_url
    attrs = {"type": "rss", "text": label, "title": label, "xmlUrl": feed.xml_url}
    if feed.html_url:
        attrs["htmlUrl"] = feed.html_url
    return attrs
