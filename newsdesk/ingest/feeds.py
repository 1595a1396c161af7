"""Parse RSS 0.9x/1.0/2.0, Atom and JSON Feed into one ``ParsedFeed``.

Miniflux style: each raw format is read by the tool that knows it best
(feedparser for the XML dialects, a small hand-written reader for JSON Feed)
and an adapter maps the result onto ``newsdesk.model``. Everything downstream
only sees normalised entries: absolute http(s) URLs, plain-text titles and
summaries, timezone-aware UTC dates. ``content_html`` is left raw on purpose:
the HTML sanitizer is a later stage and must see what the publisher sent.

The input is hostile bytes from the internet, so this module never fetches
anything and never expands DTD entities (see ``_channel_hints`` and the
billion-laughs / XXE tests).
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from newsdesk.model import FeedEntry, ParsedFeed

MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 2000
MAX_TAGS = 30
# Publishers with broken clocks or scheduled posts: a date further ahead than
# this is noise, and keeping it would pin the entry to the top of every list.
FUTURE_SLACK = timedelta(days=2)

_UPDATE_PERIOD_MINUTES = {
    "hourly": 60,
    "daily": 24 * 60,
    "weekly": 7 * 24 * 60,
    "monthly": 30 * 24 * 60,
    "yearly": 365 * 24 * 60,
}
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FEED_ROOTS = {"rss", "rdf", "feed"}


class FeedError(ValueError):
    """The bytes are not a feed we can read; the message says which URL and why."""


# --------------------------------------------------------------------------- entry points


def parse_feed(
    content: bytes, url: str, content_type: str = "", *, max_items: int = 200
) -> ParsedFeed:
    """Parse one feed document fetched from ``url`` into the normalised model.

    Raises ``FeedError`` when the document is not a feed at all (HTML page,
    garbage, empty); a feed that is merely broken but still yields entries is
    parsed leniently, as readers expect.
    """
    content = _strip_nuls(content)
    if not content.strip():
        raise FeedError(f"{url} is not a feed: empty document")
    if _is_json(content, content_type):
        feed = _parse_json_feed(content, url, max_items)
    else:
        feed = _parse_xml_feed(content, url, content_type, max_items)
    feed.entries = feed.entries[:max_items]
    return feed


def looks_like_feed(content: bytes, content_type: str) -> bool:
    """Cheap sniff: is this body a feed, whatever the server labelled it?

    Servers routinely label feeds ``text/html`` or ``text/plain``, so the body's
    root element decides for XML; the content type only helps to spot JSON Feed.
    """
    content = _strip_nuls(content)
    if _is_json(content, content_type):
        return _json_items(content) is not None
    root = _root_name(content)
    return root.rsplit(":", 1)[-1] in _FEED_ROOTS


# --------------------------------------------------------------------------- sniffing


def _strip_nuls(content: bytes) -> bytes:
    """Drop NUL bytes (they abort expat) unless the document is UTF-16/32, where they belong."""
    head = content[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
        return content
    return content.replace(b"\x00", b"")


def _head_text(content: bytes, size: int = 65536) -> str:
    """The start of the document as text, good enough to find the root element."""
    head = content[:size]
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, "replace")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", "replace")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", "replace")
    return head.decode("latin-1")


_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_ROOT_RE = re.compile(r"<([A-Za-z_][\w:.-]*)")
_DOCTYPE_HTML_RE = re.compile(r"<!doctype\s+html", re.I)


def _root_name(content: bytes) -> str:
    """Lower-cased name of the first element, or "html" for an HTML doctype."""
    head = _COMMENT_RE.sub("", _head_text(content))
    if _DOCTYPE_HTML_RE.search(head[:2048]):
        return "html"
    match = _ROOT_RE.search(head)
    return match.group(1).lower() if match else ""


def _is_json(content: bytes, content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in ("application/feed+json", "application/json"):
        return True
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


# --------------------------------------------------------------------------- XML feeds


def _parse_xml_feed(content: bytes, url: str, content_type: str, max_items: int) -> ParsedFeed:
    root = _root_name(content)
    if root == "html":
        raise FeedError(f"{url} is not a feed: it is an HTML page (try feed discovery)")
    # Slack over max_items because entries without a usable link are skipped later.
    content = _cap_text_runs(_trim_items(content, max_items * 2 + 10))
    raw = _feedparser_parse(content, content_type)
    _reject_non_feed(raw, url)
    ttl, skip_hours, skip_days = _channel_hints(content)
    meta = raw.feed
    feed = ParsedFeed(
        title=plain_text(meta.get("title", ""), MAX_TITLE_CHARS, _is_html(meta, "title")),
        site_url=_abs_url(url, meta.get("link", "")),
        language=str(meta.get("language", "")).strip()[:35],
        ttl_minutes=ttl,
        skip_hours=skip_hours,
        skip_days=skip_days,
        format=_format_of(str(raw.get("version", "")), root),
    )
    feed.entries = _adapt_entries(raw.entries, url, max_items)
    return feed


def _feedparser_parse(content: bytes, content_type: str) -> Any:
    """Run feedparser on bytes only: a ``str`` argument could make it open a URL or a file.

    feedparser strips unsafe ENTITY declarations itself (anything referencing
    other entities or SYSTEM/PUBLIC ids) and disables external general
    entities in expat, which is what keeps billion laughs and XXE harmless.
    ``sanitize_html=False``: newsdesk's own sanitizer runs later on ``content_html``.
    ``resolve_relative_uris=False``: feedparser's resolver re-serialises the
    markup through sgmllib, slowly; ``absolutize_html`` does the same job on
    the raw markup with the xml:base feedparser reports.

    The feed URL is deliberately *not* given as ``Content-Location``: feedparser
    would then resolve an opaque ``<guid>`` such as ``12345`` into
    ``https://host/feeds/12345`` and we could no longer tell that the entry has
    no real link. Links are resolved by ``_abs_url`` instead (xml:base is still
    honoured by feedparser).
    """
    headers = {"content-type": _trusted_content_type(content, content_type)} if content_type else {}
    return feedparser.parse(
        io.BytesIO(content),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _trusted_content_type(content: bytes, content_type: str) -> str:
    """Drop the header's charset when the body is valid UTF-8 anyway.

    Servers often append a default ``charset=ISO-8859-1`` to whatever they
    serve; feedparser trusts the header (RFC 3023) and would turn UTF-8 text
    into mojibake. Text in a legacy charset is almost never valid UTF-8, so a
    clean UTF-8 decode is stronger evidence than the header.
    """
    media_type, _, params = content_type.partition(";")
    if "charset" not in params.lower():
        return content_type
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return content_type
    return media_type.strip()


def _reject_non_feed(raw: Any, url: str) -> None:
    """A parse that found nothing feed-like is an error, a broken feed with entries is not."""
    if raw.entries:
        return
    has_title = bool(str(raw.feed.get("title", "")).strip())
    if raw.get("version") and (has_title or not raw.get("bozo")):
        return  # a valid (possibly empty) feed
    reason = raw.get("bozo_exception") or "no RSS, Atom or RDF root element"
    raise FeedError(f"{url} is not a feed: {reason}")


def _format_of(version: str, root: str) -> str:
    """feedparser's version string (or the root element) mapped to rss/atom/rdf."""
    if version in ("rss090", "rss10") or root.endswith("rdf"):
        return "rdf"
    if version.startswith("atom") or root == "feed":
        return "atom"
    return "rss"


_ITEM_OPEN_RE = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_ITEM_CLOSE_RE = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")


def _trim_items(content: bytes, limit: int) -> bytes:
    """Cut the items after the first ``limit`` out of the raw bytes.

    feedparser is pure Python and takes ~0.1 ms per item; a hostile or runaway
    feed with 100,000 items would stall a worker for tens of seconds only for
    us to keep 200. Removing the middle (from item ``limit+1`` to the last
    closing tag) keeps the document well formed, including trailing channel
    elements such as ``<skipHours>``.
    """
    start = None
    for count, match in enumerate(_ITEM_OPEN_RE.finditer(content), start=1):
        if count > limit:
            start = match.start()
            break
    if start is None:
        return content
    last_close = None
    for last_close in _ITEM_CLOSE_RE.finditer(content, start):  # noqa: B007
        pass
    if last_close is None:
        return content[:start]
    return content[:start] + content[last_close.end():]


MAX_TEXT_RUN = 512 * 1024
_LONG_RUN_RE = re.compile(rb">([^<]{%d,})<" % MAX_TEXT_RUN)
_PARTIAL_ENTITY_RE = re.compile(rb"&[#\w]{0,32}$")


def _cap_text_runs(content: bytes) -> bytes:
    """Shorten any text node longer than ``MAX_TEXT_RUN`` bytes before parsing.

    expat reports every entity reference as a separate callback and feedparser
    spends microseconds on each, so a 10 MB escaped-HTML title costs half a
    minute; no title or summary we keep needs more than a few KB. Cuts land on
    a UTF-8 character boundary and never inside an entity reference. UTF-16
    documents (NULs in the head) are left alone.
    """
    if len(content) <= MAX_TEXT_RUN or b"\x00" in content[:4]:
        return content

    def cut(match: re.Match[bytes]) -> bytes:
        text = match.group(1)[:MAX_TEXT_RUN]
        end = len(text)
        while end and 0x80 <= text[end - 1] <= 0xBF:
            end -= 1
        if end and text[end - 1] >= 0xC0:
            end -= 1  # drop the lead byte of the split character
        text = _PARTIAL_ENTITY_RE.sub(b"", text[: end or len(text)])
        return b">" + text + b"<"

    return _LONG_RUN_RE.sub(cut, content)


def _secure_xml_parser() -> etree.XMLParser:
    """lxml parser that never resolves entities, never touches the network, caps tree size."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        recover=True,
    )


def _channel_hints(content: bytes) -> tuple[int | None, set[int], set[str]]:
    """``ttl`` (from <ttl> or sy:updatePeriod/Frequency), skipHours and skipDays.

    feedparser does not expose skipHours/skipDays, so these few small channel
    elements are read with a locked-down lxml parser.
    """
    try:
        root = etree.fromstring(content, _secure_xml_parser())
    except (etree.LxmlError, ValueError):
        return None, set(), set()
    if root is None:
        return None, set(), set()
    ttl = _ttl_minutes(root)
    hours = {h for h in (_hour(t) for t in _channel_texts(root, "skipHours", "hour")) if h >= 0}
    days = {d for d in (_day(t) for t in _channel_texts(root, "skipDays", "day")) if d}
    return ttl, hours, days


def _channel_texts(root: Any, parent: str, child: str = "") -> list[str]:
    """Texts of channel-level (or feed-level) elements, namespace-agnostic."""
    path = f"*[local-name()='{parent}']"
    if child:
        path += f"/*[local-name()='{child}']"
    nodes = root.xpath(f"/*/*[local-name()='channel']/{path} | /*/{path}")
    return [str(n.text or "").strip() for n in nodes]


def _ttl_minutes(root: Any) -> int | None:
    for text in _channel_texts(root, "ttl"):
        if text.isdigit() and int(text) > 0:
            return int(text)
    periods = _channel_texts(root, "updatePeriod")
    if not periods or periods[0].lower() not in _UPDATE_PERIOD_MINUTES:
        return None
    freqs = _channel_texts(root, "updateFrequency")
    freq = int(freqs[0]) if freqs and freqs[0].isdigit() and int(freqs[0]) > 0 else 1
    return max(1, _UPDATE_PERIOD_MINUTES[periods[0].lower()] // freq)


def _hour(text: str) -> int:
    """An RSS skipHours hour (0-23; some feeds write 24 for midnight), -1 when invalid."""
    if not text.isdigit():
        return -1
    hour = int(text)
    return 0 if hour == 24 else hour if hour < 24 else -1


def _day(text: str) -> str:
    name = text.strip().capitalize()
    return name if name in _DAYS else ""


# --------------------------------------------------------------------------- XML entries


def _adapt_entries(raw_entries: Iterable[Any], feed_url: str, max_items: int) -> list[FeedEntry]:
    entries: list[FeedEntry] = []
    now = datetime.now(UTC)
    for raw in raw_entries:
        entry = _adapt_entry(raw, feed_url, now)
        if entry is not None:
            entries.append(entry)
            if len(entries) >= max_items:
                break
    return entries


def _adapt_entry(raw: Any, feed_url: str, now: datetime) -> FeedEntry | None:
    guid = str(raw.get("id", "")).strip()
    url = _entry_url(raw, guid, feed_url)
    if not url:
        return None
    markup, base = _raw_content(raw)
    content_html = absolutize_html(markup, _abs_url(url, base) or url)
    summary_src = raw.get("summary", "") or content_html
    return FeedEntry(
        url=url,
        title=plain_text(raw.get("title", ""), MAX_TITLE_CHARS, _is_html(raw, "title")),
        summary=plain_text(summary_src, MAX_SUMMARY_CHARS, html_markup=True),
        content_html=clean_control(content_html),
        author=_author(raw),
        published_at=_entry_date(raw, now),
        guid=guid,
        image=_entry_image(raw, url),
        tags=_tags(t.get("term") or t.get("label") or "" for t in raw.get("tags", [])),
    )


def _entry_url(raw: Any, guid: str, feed_url: str) -> str:
    """The entry's absolute link; a guid only stands in for it when it is itself a URL.

    feedparser copies an ``isPermaLink`` guid into ``link`` when there is none,
    even when the guid is an opaque id, hence the ``guidislink`` check.
    """
    link = str(raw.get("link", "")).strip()
    if link and raw.get("guidislink") and not _is_http_url(guid):
        link = ""
    if not link and _is_http_url(guid):
        link = guid
    return _abs_url(feed_url, link)


def _raw_content(raw: Any) -> tuple[str, str]:
    """Full HTML body (content:encoded / atom:content, else the description) and its xml:base."""
    for part in [*raw.get("content", []), raw.get("summary_detail") or {}]:
        value = str(part.get("value", ""))
        if value.strip():
            return value, str(part.get("base") or "")
    return "", ""


def _author(raw: Any) -> str:
    detail = raw.get("author_detail") or {}
    name = detail.get("name") or raw.get("author", "")
    if not name:
        names = [a.get("name", "") for a in raw.get("authors", []) if a.get("name")]
        name = ", ".join(names)
    return plain_text(str(name), 200)


def _entry_date(raw: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = raw.get(key)
        if parsed:
            return _not_future(datetime.fromtimestamp(calendar.timegm(parsed), UTC), now)
    return None


def _not_future(value: datetime | None, now: datetime) -> datetime | None:
    """Drop dates far in the future: a broken clock must not pin an entry to the top."""
    if value is None or value > now + FUTURE_SLACK:
        return None
    return value


def _entry_image(raw: Any, base: str) -> str:
    """First image among media:content, media:thumbnail and image enclosures."""
    for media in raw.get("media_content", []):
        kind = str(media.get("medium") or media.get("type") or "image")
        if media.get("url") and kind.startswith("image"):
            return _abs_url(base, media["url"])
    for thumb in raw.get("media_thumbnail", []):
        if thumb.get("url"):
            return _abs_url(base, thumb["url"])
    for enclosure in raw.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return _abs_url(base, enclosure["href"])
    return ""


def _is_html(node: Mapping[str, Any], key: str) -> bool:
    """Whether feedparser saw markup in ``key`` (RSS titles are text, Atom may say html)."""
    detail = node.get(f"{key}_detail") or {}
    return "html" in str(detail.get("type", ""))


# --------------------------------------------------------------------------- JSON Feed


# feedparser does not support JSON Feed (https://jsonfeed.org/version/1.1), so
# it is read by hand here; the format is small and plain JSON.


def _json_items(content: bytes) -> tuple[dict[str, Any], list[Any]] | None:
    """The decoded JSON Feed object and its items, or None when it is not one."""
    try:
        text = content.decode(json.detect_encoding(content), "replace")
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        return None
    return doc, doc["items"]


def _parse_json_feed(content: bytes, url: str, max_items: int) -> ParsedFeed:
    parsed = _json_items(content)
    if parsed is None:
        raise FeedError(f"{url} is not a feed: JSON without a JSON Feed 'items' list")
    doc, items = parsed
    feed = ParsedFeed(
        title=plain_text(_str(doc.get("title")), MAX_TITLE_CHARS),
        site_url=_abs_url(url, _str(doc.get("home_page_url"))),
        language=_str(doc.get("language")).strip()[:35],
        format="json",
    )
    now = datetime.now(UTC)
    for item in items[: max_items * 2 + 10]:
        entry = _json_entry(item, url, now) if isinstance(item, dict) else None
        if entry is not None:
            feed.entries.append(entry)
    return feed


def _json_entry(item: dict[str, Any], feed_url: str, now: datetime) -> FeedEntry | None:
    guid = _str(item.get("id")).strip()
    link = _str(item.get("url")) or _str(item.get("external_url"))
    if not link and _is_http_url(guid):
        link = guid
    url = _abs_url(feed_url, link)
    if not url:
        return None
    content_html = absolutize_html(_str(item.get("content_html")), url)
    if not content_html and item.get("content_text"):
        content_html = _text_to_html(_str(item.get("content_text")))
    summary = _str(item.get("summary")) or content_html
    published = _parse_date(_str(item.get("date_published")) or _str(item.get("date_modified")))
    return FeedEntry(
        url=url,
        title=plain_text(_str(item.get("title")), MAX_TITLE_CHARS),
        summary=plain_text(summary, MAX_SUMMARY_CHARS, html_markup=True),
        content_html=clean_control(content_html),
        author=_json_author(item),
        published_at=_not_future(published, now),
        guid=guid,
        image=_abs_url(url, _str(item.get("image")) or _str(item.get("banner_image"))),
        tags=_tags(_str(t) for t in item.get("tags") or [] if isinstance(t, str)),
    )


def _json_author(item: dict[str, Any]) -> str:
    """JSON Feed 1.1 ``authors`` list, or the 1.0 ``author`` object."""
    people = item.get("authors") or [item.get("author")]
    names = [_str(p.get("name")) for p in people if isinstance(p, dict) and p.get("name")]
    return plain_text(", ".join(names), 200)


def _text_to_html(text: str) -> str:
    """content_text as minimal HTML so that content_html is always HTML."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paras)


def _str(value: object) -> str:
    """JSON values as str: ids may be numbers, missing fields None."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _parse_date(value: str) -> datetime | None:
    """RFC 3339 (JSON Feed) with an RFC 822 fallback for sloppy publishers, as UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --------------------------------------------------------------------------- text helpers


_SCRIPT_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_BLOCK_RE = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|pre|hr)\b[^>]*>",
    re.I,
)
_TAG_RE = re.compile(r"<[^>]*>")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WS_RE = re.compile(r"\s+")


def clean_control(text: str) -> str:
    """Remove C0 control characters (NUL included) that databases and browsers reject."""
    return _CONTROL_RE.sub("", text)


def plain_text(value: object, limit: int, html_markup: bool = False) -> str:
    """One-line plain text: tags stripped (when markup), entities unescaped, capped.

    Regexes rather than an HTML parser: titles and summaries are short and this
    runs for every entry; the input is pre-cut so a 10 MB title costs nothing.
    """
    text = str(value or "")[: limit * 20]
    if html_markup:
        text = _SCRIPT_RE.sub(" ", _COMMENT_RE.sub(" ", text))
        text = _TAG_RE.sub("", _BLOCK_RE.sub(" ", text))
    text = _WS_RE.sub(" ", clean_control(html.unescape(text))).strip()
    return truncate(text, limit)


def truncate(text: str, limit: int) -> str:
    """Cap at ``limit`` characters, on a word boundary when one is near, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


_URL_ATTR_RE = re.compile(r"""(\b(?:href|src|poster)\s*=\s*)(["'])(.*?)\2""", re.I | re.S)


def absolutize_html(markup: str, base: str) -> str:
    """Resolve relative href/src/poster URLs in ``markup`` against the entry URL.

    The markup is otherwise left byte-for-byte as sent (the sanitizer runs
    later); only attribute values that resolve to http(s) are rewritten, so
    ``#anchors``, ``data:`` and ``mailto:`` pass through. Relative to the entry
    URL, like Miniflux, because that is the page a reader would be on.
    """

    def fix(match: re.Match[str]) -> str:
        value = html.unescape(match.group(3).strip())
        if not value or value.startswith("#") or _is_http_url(value):
            return match.group(0)
        resolved = _abs_url(base, value)
        if not resolved:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{html.escape(resolved)}{match.group(2)}"

    return _URL_ATTR_RE.sub(fix, markup) if base else markup


def _tags(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        tag = plain_text(value, 100)
        if tag and tag.lower() not in {s.lower() for s in seen}:
            seen[tag] = None
        if len(seen) >= MAX_TAGS:
            break
    return list(seen)


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _abs_url(base: str, link: object) -> str:
    """``link`` resolved against ``base``; empty unless the result is http(s)."""
    link = str(link or "").strip()
    if not link:
        return ""
    try:
        resolved = urljoin(base, link)
    except ValueError:
        return ""
    return resolved if _is_http_url(resolved) else ""
