"""Turn one article page's HTML into a clean :class:`~newsdesk.model.Article`.

trafilatura does the heavy lifting (main-content detection). On top of it this
module adds what a news reader needs and what trafilatura leaves to the caller:

* robust decoding and sanitising of hostile input, so callers only ever see
  :class:`ExtractionError` for a page we cannot use;
* metadata read once from the parsed tree: og/twitter/meta tags and JSON-LD
  (title without the " | Outlet" suffix, outlet, canonical URL, image, language);
* one date function, :func:`extract_date`, combining htmldate's
  original-date search with JSON-LD/meta timestamps (which carry the time);
* a line-level clean-up pass over trafilatura's text (see ``_clean_lines``):
  page chrome that survives main-content detection on news sites (share bars,
  newsletter pitches, "Related Articles" tails, comment boxes, headline, byline
  and dateline repeated at the top) is dropped and the copyright line is moved
  to its own field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urljoin, urlsplit

import htmldate
import trafilatura
from charset_normalizer import from_bytes
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from newsdesk.ingest.chrome import clean_lines, split_copyright
from newsdesk.model import Article

MAX_HTML_CHARS = 12_000_000
MIN_TEXT_CHARS = 80
MIN_PROSE_SHARE = 0.5
RESCUE_CHARS = 1500

_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)""", re.I)
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||–|—|-|::|·|•|»)\s+")
_LANG = re.compile(r"^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]+)*$")
_WS = re.compile(r"\s+")


class ExtractionError(ValueError):
    """The page holds no usable article (empty, an index page, or unparseable)."""


# --------------------------------------------------------------------------- input


def decode_html(data: str | bytes) -> str:
    """Bytes to text: BOM, then the page's own meta charset, then UTF-8, then a guess.

    The declared charset wins over UTF-8 validity only when it decodes cleanly,
    since many servers mislabel UTF-8 pages as latin-1.
    """
    if isinstance(data, str):
        return data
    boms = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
    for bom, codec in boms:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    best = from_bytes(data[:200_000]).best()
    return data.decode(best.encoding if best else "utf-8", errors="replace")


def parse_html(html: str | bytes) -> HtmlElement:
    """A sanitised lxml tree, or ExtractionError for input we will not touch."""
    text = decode_html(html)
    if len(text) > MAX_HTML_CHARS:
        raise ExtractionError(f"page too large ({len(text)} characters)")
    text = _CTRL.sub("", text).strip()
    if not text:
        raise ExtractionError("empty page")
    if "<" not in text[:2000]:
        text = f"<html><body><p>{text}</p></body></html>"
    try:
        tree = load_html(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    if tree is None or len(tree) == 0:
        raise ExtractionError("unparseable HTML")
    return tree


# ------------------------------------------------------------------------ metadata


@dataclass
class PageMeta:
    """Everything the page declares about itself (meta tags, JSON-LD, links)."""

    meta: dict[str, str] = field(default_factory=dict)
    ld: list[dict[str, Any]] = field(default_factory=list)
    canonical: str = ""

    def first(self, *keys: str) -> str:
        """The first non-empty meta value among ``keys`` (lower-cased names)."""
        for key in keys:
            value = self.meta.get(key, "").strip()
            if value:
                return value
        return ""

    def ld_value(self, key: str) -> Any:
        """The first JSON-LD value for ``key``, article objects first."""
        for obj in sorted(self.ld, key=lambda o: not _is_article(o)):
            if obj.get(key):
                return obj[key]
        return None


def read_page_meta(tree: HtmlElement) -> PageMeta:
    """Collect meta tags, JSON-LD objects and the canonical link in one pass."""
    info = PageMeta()
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower()
        content = el.get("content")
        if key and content and key not in info.meta:
            info.meta[key] = _WS.sub(" ", content).strip()
    for el in tree.iter("script"):
        if (el.get("type") or "").lower().startswith("application/ld+json") and el.text:
            info.ld.extend(_json_ld_objects(el.text))
    for el in tree.iter("link"):
        if (el.get("rel") or "").lower() == "canonical" and el.get("href"):
            info.canonical = el.get("href", "").strip()
            break
    return info


def _json_ld_objects(raw: str) -> list[dict[str, Any]]:
    """All dict nodes of a JSON-LD block, flattening lists and @graph; bad JSON is skipped."""
    try:
        data = json.loads(raw.strip().rstrip(";"), strict=False)
    except (ValueError, RecursionError):
        return []
    found: list[dict[str, Any]] = []
    stack = [data]
    while stack and len(found) < 200:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            found.append(item)
            if isinstance(item.get("@graph"), list):
                stack.extend(reversed(item["@graph"]))
    return found


_ARTICLE_TYPES = ("article", "posting", "report", "blog")


def _is_article(obj: dict[str, Any]) -> bool:
    kind = obj.get("@type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(t in str(k).lower() for k in kinds for t in _ARTICLE_TYPES)


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD person/org value: a string, a dict or a list of them."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _url_value(value: Any) -> str:
    """A URL from a JSON-LD image value (string, ImageObject or a list)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _url_value(value.get("url") or value.get("contentUrl"))
    if isinstance(value, list) and value:
        return _url_value(value[0])
    return ""


def absolute_http_url(href: str, base: str) -> str:
    """``href`` made absolute against ``base``; empty unless it is http(s)."""
    href = (href or "").strip()
    if not href:
        return ""
    try:
        full = urljoin(base, href) if base else href
        parts = urlsplit(full)
    except ValueError:
        return ""
    return full if parts.scheme in ("http", "https") and parts.netloc else ""


def outlet_from_domain(url: str) -> str:
    """A readable outlet name from a host: ``www.theguardian.com`` -> ``Theguardian``."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    labels = [p for p in host.split(".") if p and p not in ("www", "m", "amp", "news")]
    if len(labels) >= 3 and len(labels[-2]) <= 3:  # bbc.co.uk, abc.net.au
        labels = labels[:-2]
    elif len(labels) >= 2:
        labels = labels[:-1]
    name = labels[-1] if labels else ""
    return name.upper() if len(name) <= 4 else name.capitalize()


def find_outlet(info: PageMeta, url: str) -> str:
    """og:site_name, then the JSON-LD publisher, then the domain."""
    name = info.first("og:site_name", "application-name", "twitter:app:name:iphone")
    if not name:
        names = _names(info.ld_value("publisher"))
        name = names[0] if names else ""
    return _clean(name)[:120] or outlet_from_domain(url)


def find_title(tree: HtmlElement, info: PageMeta, outlet: str) -> str:
    """og:title, JSON-LD headline, the h1, then <title>; each without the outlet suffix."""
    headline = info.ld_value("headline")
    h1 = _clean(tree.findtext(".//h1") or "")
    for candidate in (
        info.first("og:title", "twitter:title"),
        headline if isinstance(headline, str) else "",
        h1,
        _clean(tree.findtext(".//title") or ""),
    ):
        title = strip_outlet_suffix(_clean(candidate), outlet)
        if title:
            return title
    return ""


def strip_outlet_suffix(title: str, outlet: str) -> str:
    """Drop a trailing (or leading) " | Outlet" part of a page title.

    A trailing part goes when it names the outlet, or when it is short (a
    section or site name) while the rest reads like a headline; at most two
    parts go ("Headline - World - BBC News"). A leading outlet name goes too.
    """
    for _ in range(2):
        seps = list(_TITLE_SEPARATORS.finditer(title))
        if not seps:
            return title
        head, tail = title[: seps[-1].start()].strip(), title[seps[-1].end() :].strip()
        if not (_names_outlet(tail, outlet) or (len(tail.split()) <= 3 and len(head.split()) >= 4)):
            break
        title = head
    seps = list(_TITLE_SEPARATORS.finditer(title))
    if seps and _names_outlet(title[: seps[0].start()], outlet):
        title = title[seps[0].end() :].strip()
    return title


def _names_outlet(part: str, outlet: str) -> bool:
    key, norm = re.sub(r"\W", "", outlet.lower()), re.sub(r"\W", "", part.lower())
    return len(norm) > 1 and bool(key) and (key in norm or norm in key)


def find_byline(tree: HtmlElement, info: PageMeta) -> str:
    """JSON-LD author names, meta author, else trafilatura's byline heuristics."""
    names = [n.strip() for n in _names(info.ld_value("author")) if n.strip()]
    names = [n for n in names if not n.startswith("http")]
    byline = ", ".join(dict.fromkeys(names)) or info.first("author", "article:author", "byl")
    if not byline or byline.startswith("http"):
        byline = _byline_element(tree)
    return _clean(re.sub(r"^by\s+", "", byline, flags=re.I))[:200]


_BYLINE_NODES = XPath(
    "(//*[@rel='author' or @itemprop='author' or contains(@class, 'byline')"
    " or contains(@class, 'author-name') or contains(@class, 'article-author')])[position() < 4]"
)


def _byline_element(tree: HtmlElement) -> str:
    """The text of a rel=author / byline element: one cheap XPath.

    trafilatura's author search is thorough but costs as much as a tenth of
    the whole extraction, too much for a field that is usually in the meta tags.
    """
    for el in _BYLINE_NODES(tree):
        text = _clean(el.text_content())
        if 3 < len(text) < 80 and not text.startswith("http"):
            return text
    return ""


def find_language(tree: HtmlElement, info: PageMeta) -> str:
    """A two-letter code from <html lang>, content-language or og:locale."""
    for raw in (
        tree.get("lang") or tree.get("xml:lang") or "",
        info.first("content-language", "language", "dc.language", "og:locale"),
        str(info.ld_value("inLanguage") or ""),
    ):
        match = _LANG.match(raw.strip())
        if match:
            return match.group(1).lower()
    return ""


def _clean(text: str) -> str:
    return _WS.sub(" ", text or "").strip()


# --------------------------------------------------------------------------- dates

_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "dc.date.issued",
    "dcterms.created",
    "date",
    "sailthru.date",
    "parsely-pub-date",
)


def parse_timestamp(raw: str) -> datetime | None:
    """An ISO-8601 timestamp, aware, in its own offset (naive times are taken as UTC).

    The offset is kept so that the calendar day stays the one the outlet printed;
    :func:`extract` converts to UTC at the end.
    """
    raw = (raw or "").strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}", raw):
        return None
    raw = re.sub(r"Z$", "+00:00", raw.replace(" ", "T", 1))
    raw = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", raw)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        try:
            value = datetime.fromisoformat(raw[:10])
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def declared_timestamp(info: PageMeta) -> datetime | None:
    """The publication time the page declares (JSON-LD, then meta tags)."""
    candidates = [info.ld_value("datePublished"), info.ld_value("dateCreated")]
    candidates += [info.meta.get(k) for k in _DATE_KEYS]
    for raw in candidates:
        if isinstance(raw, str):
            value = parse_timestamp(raw)
            if value:
                return value
    return None


def _htmldate(tree: HtmlElement, url: str) -> date | None:
    """htmldate's original-date search (it deep-copies the tree it is given)."""
    try:
        found = htmldate.find_date(
            tree, url=url or None, original_date=True, extensive_search=True
        )
    except (ValueError, TypeError, RecursionError):
        return None
    return date.fromisoformat(found) if found else None


def combine_dates(found: date | None, declared: datetime | None) -> datetime | None:
    """Prefer the declared timestamp when it agrees with htmldate (it has the time).

    htmldate is better at telling the original date from "updated" stamps and
    from dates of other stories (on the dev set it was right in 6 of 8
    disagreements), so when the two disagree its day wins.
    """
    if declared and (found is None or declared.date() == found):
        return declared
    if found:
        return datetime.combine(found, time(0, 0), tzinfo=UTC)
    return None


def is_partial_date(when: datetime) -> bool:
    """Is this likely htmldate's fill-in for a date without a day?

    htmldate returns a year- or month-only find ("built in 2009") as the 1st of
    January (resp. of the month) at midnight: no publication day, and months
    off the real one. A real midnight 1st of a month looks the same.
    """
    return when.day == 1 and when.time() == time(0, 0)


def _page_or_feed_date(found: datetime | None, feed: datetime | None) -> datetime | None:
    """The page's date, unless it is only a year or a month and the feed states a day."""
    if found is None:
        return feed
    if feed is not None and is_partial_date(found) and feed.date() != found.date():
        return feed
    return found


def extract_date(html: str | bytes | HtmlElement, url: str = "") -> datetime | None:
    """The publication date of a page, or None. Never raises on bad input.

    The result is timezone-aware in the page's own offset (UTC when the page
    gives none), so ``.date()`` is the day the outlet printed.
    """
    try:
        tree = html if isinstance(html, HtmlElement) else parse_html(html)
    except ExtractionError:
        return None
    return _date_from_tree(tree, read_page_meta(tree), url)


def _date_from_tree(tree: HtmlElement, info: PageMeta, url: str) -> datetime | None:
    return combine_dates(_htmldate(tree, url), declared_timestamp(info))


# ---------------------------------------------------------------------------- text


def main_text(tree: HtmlElement, url: str) -> str:
    """trafilatura's main text, comments excluded (it copies the tree it is given).

    trafilatura's fast mode (no readability/jusText fallback) scored the same
    on the Scrapinghub set at about two thirds of the time; the full run with
    fallbacks is kept for pages where fast mode finds little (< RESCUE_CHARS),
    which is where the fallbacks earn their cost.
    """
    try:
        text = _trafilatura(tree, url, fast=True)
        if len(text) >= RESCUE_CHARS and prose_share(text) >= MIN_PROSE_SHARE:
            return text
        return _trafilatura(tree, url, fast=False) or text
    except RecursionError as exc:
        raise ExtractionError("page nested too deeply") from exc


def prose_share(text: str) -> float:
    """Share of the characters that stand in sentence-like lines (six words or more).

    Fast mode sometimes returns a site's whole menu (hundreds of one-word
    lines) where the full run with fallbacks finds the article; a low share of
    prose is the tell that sends such a page to the full run.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    total = sum(len(line) for line in lines)
    if not total:
        return 0.0
    return sum(len(line) for line in lines if len(line.split()) >= 6) / total


def _trafilatura(tree: HtmlElement, url: str, fast: bool) -> str:
    return (
        trafilatura.extract(
            tree, url=url or None, include_comments=False, include_tables=True, fast=fast
        )
        or ""
    )


def page_copyright(tree: HtmlElement) -> str:
    """A copyright notice anywhere in the page (usually the footer).

    Only text nodes that mention copyright are looked at (an XPath filter in C),
    since walking every element's text is too slow on big pages.
    """
    for node in _COPYRIGHT_NODES(tree):
        parent = node.getparent() if hasattr(node, "getparent") else None
        if parent is None:
            continue
        text = _clean(parent.text_content()) if len(parent) < 8 else _clean(str(node))
        if 6 < len(text) < 250:
            _, found = split_copyright([text])
            if found:
                return found
    return ""


_COPYRIGHT_NODES = XPath(
    "//body//text()[contains(., '©') or contains(., 'opyright') or contains(., 'ights reserved')"
    " or contains(., 'ights Reserved') or contains(., 'IGHTS RESERVED')]"
)


def ld_body_rescue(text: str, info: PageMeta) -> str:
    """JSON-LD ``articleBody`` when it holds much more of the story than we found.

    Some templates (paywalls, lazy-loaded or "read more"-collapsed bodies) hide
    most paragraphs from the visible DOM while the publisher still declares the
    full body in JSON-LD. It is only trusted when it contains the opening of
    what trafilatura found, so a body of some other story is never taken.
    """
    body = info.ld_value("articleBody")
    if not isinstance(body, str) or len(body) < 1.5 * max(len(text), 200):
        return text
    words = _WORDS.findall(text)[:12]
    norm_body = " ".join(_WORDS.findall(body))
    if text and " ".join(words) not in norm_body:
        return text
    return "\n".join(p.strip() for p in re.split(r"\n+", body) if p.strip())


_WORDS = re.compile(r"\w+")


# ---------------------------------------------------------------------------- API


def extract(
    html: str | bytes,
    url: str = "",
    *,
    fallback_title: str = "",
    fallback_date: datetime | None = None,
) -> Article:
    """Extract the article of one page; ExtractionError when there is none."""
    try:
        return _extract(html, url, fallback_title, fallback_date)
    except ExtractionError:
        raise
    except (RecursionError, MemoryError, ValueError, TypeError, AttributeError) as exc:
        raise ExtractionError(f"cannot extract {url or 'page'}: {exc!r}") from exc


def _extract(
    html: str | bytes, url: str, fallback_title: str, fallback_date: datetime | None
) -> Article:
    tree = parse_html(html)
    info = read_page_meta(tree)
    outlet = find_outlet(info, url)
    title = find_title(tree, info, outlet) or _clean(fallback_title)
    byline = find_byline(tree, info)
    canonical = absolute_http_url(info.canonical or info.first("og:url"), url)
    base = canonical or url
    raw = ld_body_rescue(main_text(tree, url), info)
    description = info.first("description", "og:description", "twitter:description")
    lines, copyright_line = clean_lines(raw.split("\n"), title, byline, description)
    text = "\n".join(lines)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionError(f"no article text found in {url or 'page'}")
    return Article(
        url=url,
        title=title or lines[0][:200],
        text=text,
        canonical_url=canonical,
        outlet=outlet,
        byline=byline,
        published_at=_aware(_page_or_feed_date(_date_from_tree(tree, info, url),
                                               fallback_date)),
        language=find_language(tree, info),
        copyright=copyright_line or page_copyright(tree),
        image=absolute_http_url(
            info.first("og:image", "twitter:image", "twitter:image:src")
            or _url_value(info.ld_value("image")),
            base,
        ),
        description=description,
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
