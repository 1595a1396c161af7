"""Comment markup: plain text in, a tiny safe HTML subset out.

Readers type plain text. We turn blank-line-separated blocks into paragraphs,
single newlines into ``<br>``, ``*word*`` into emphasis, ``**word**`` into
strong, and bare http(s) URLs into links. The result always passes through
nh3 with an allow-list (p, br, em, strong, a[href] with http/https only), so
even a bug in the formatter cannot let a tag or a ``javascript:`` URL through.
Sanitising is idempotent: cleaning clean output changes nothing, which keeps
stored or re-rendered text stable and is checked by the tests.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

MAX_BODY = 5000
ALLOWED_TAGS = frozenset({"p", "br", "em", "strong", "a"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
LINK_REL = "nofollow ugc noopener"

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_STRONG = re.compile(r"\*\*(\S(?:[^*]*?\S)?)\*\*")
_EM = re.compile(r"\*(\S(?:[^*]*?\S)?)\*")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _href_filter(tag: str, attr: str, value: str) -> str | None:
    """Keep only absolute http(s) links; nh3 alone would keep relative ones."""
    if tag != "a" or attr != "href":
        return value
    return value if is_web_url(value) else None


def is_web_url(url: str) -> bool:
    """True for an absolute http or https URL with a host and no control characters."""
    if _CONTROL.search(url) or "\n" in url or "\t" in url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def sanitize(fragment: str) -> str:
    """Reduce any HTML to the comment subset; safe on hostile input, idempotent."""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes={"http", "https"},
        link_rel=LINK_REL,
        attribute_filter=_href_filter,
        strip_comments=True,
    )


def normalize_text(text: str) -> str:
    """What we store: newlines unified, control characters dropped, ends trimmed."""
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", unified).strip()


def _split_url(match: str) -> tuple[str, str]:
    """A matched URL without the punctuation that ends the sentence around it."""
    url = match
    while url and url[-1] in _TRAILING:
        url = url[:-1]
    return url, match[len(url):]


def _emphasis(escaped: str) -> str:
    return _EM.sub(r"<em>\1</em>", _STRONG.sub(r"<strong>\1</strong>", escaped))


def _inline(line: str) -> str:
    """One line: text escaped and emphasised, URLs linked; never raw user markup."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(line):
        url, rest = _split_url(match.group(0))
        out.append(_emphasis(html.escape(line[pos:match.start()], quote=False)))
        if is_web_url(url):
            safe = html.escape(url, quote=True)
            out.append(f'<a href="{safe}">{safe}</a>')
        else:
            out.append(html.escape(url, quote=False))
        out.append(html.escape(rest, quote=False))
        pos = match.end()
    out.append(_emphasis(html.escape(line[pos:], quote=False)))
    return "".join(out)


def render(text: str) -> str:
    """A stored comment body as sanitised HTML paragraphs."""
    blocks = [b.strip() for b in _PARAGRAPH_BREAK.split(normalize_text(text)) if b.strip()]
    paragraphs = ("<p>" + "<br>".join(_inline(line) for line in block.split("\n")) + "</p>"
                  for block in blocks)
    return sanitize("".join(paragraphs))
