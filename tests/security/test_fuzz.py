"""Property-based fuzzing, bounded in time: parsers fail only in their own way,
sanitising is idempotent and neutralising, escaping holds, redirects stay on site.

Each test caps ``max_examples`` and ``deadline`` so the file runs in well under
30 seconds; derandomize keeps CI runs reproducible.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.accounts import markup
from newsdesk.config import Settings
from newsdesk.ingest.extract import ExtractionError, extract
from newsdesk.ingest.feeds import FeedError, parse_feed
from newsdesk.web.app import create_app
from newsdesk.web.auth import safe_next
from newsdesk.web.render import build_templates, utc_now

FAST = settings(max_examples=60, deadline=timedelta(seconds=2), derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

HOSTILE_BITS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=x>",
                "javascript:alert(1)", "JaVaScRiPt&#58;alert(1)", "data:text/html,<b>",
                "<iframe src=//evil>", "<base href=//evil>", '<meta http-equiv="refresh">',
                "<form action=//evil>", "<object data=x>", "]]>", "<![CDATA[", "&amp;", "&#0;",
                "\x00", "\ufffd", "<!ENTITY x SYSTEM 'file:///etc/passwd'>", "&x;", "<a href=",
                "srcset='javascript:alert(1) 1x'", "<", ">", '"', "'"]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE_BITS), st.text(max_size=40)),
                        max_size=12).map("".join)

RSS = """<?xml version="1.0"?>{dtd}<rss version="2.0"><channel><title>{title}</title>
<link>https://example.com/</link><item><title>{title}</title><link>{link}</link>
<description>{body}</description><author>{title}</author><category>{title}</category>
<pubDate>{date}</pubDate></item></channel></rss>"""
DTDS = ["", '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:1/x">]>']


@FAST
@given(st.binary(max_size=2048), st.sampled_from(["", "application/rss+xml", "text/html",
                                                   "application/json", "text/xml; charset=x"]))
def test_parse_feed_raw_bytes_only_raise_feed_error(data: bytes, content_type: str) -> None:
    with contextlib.suppress(FeedError):
        parse_feed(data, "https://example.com/feed", content_type)


@FAST
@given(title=hostile_text, body=hostile_text, link=hostile_text, date=hostile_text,
       dtd=st.sampled_from(DTDS), cut=st.integers(min_value=0, max_value=2000))
def test_parse_feed_structured_only_raise_feed_error(title: str, body: str, link: str,
                                                     date: str, dtd: str, cut: int) -> None:
    document = RSS.format(title=title, body=body, link=link, date=date, dtd=dtd)
    data = document.encode("utf-8", "surrogatepass")[: cut or None]
    try:
        feed = parse_feed(data, "https://example.com/feed")
    except FeedError:
        return
    for entry in feed.entries:  # whatever comes out is valid text, nothing expanded
        str(entry).encode("utf-8")
        assert "aaaaaaaaaa" * 6 not in str(entry)


PAGE = ("<html><head><title>{title}</title><meta property='og:title' content='{title}'>"
        "</head><body><article><h1>{title}</h1>{paras}</article></body></html>")


@settings(max_examples=30, deadline=timedelta(seconds=3), derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(title=hostile_text, paras=st.lists(hostile_text, max_size=6),
       raw=st.one_of(st.none(), st.binary(max_size=1024)))
def test_extract_only_raises_extraction_error(title: str, paras: list[str],
                                             raw: bytes | None) -> None:
    page: str | bytes = raw if raw is not None else PAGE.format(
        title=title, paras="".join(f"<p>{p}</p>" for p in paras))
    try:
        article = extract(page, "https://example.com/a")
    except ExtractionError:
        return
    article.title.encode("utf-8")
    article.text.encode("utf-8")


class _Tags(HTMLParser):
    """Collects what a browser would see as elements and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _assert_only_allowed(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.found:
        assert tag in markup.ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ("href", "rel") and tag == "a", (tag, name)
            if name == "href":
                assert value is not None and markup.is_web_url(value), value


@FAST
@given(hostile_text)
def test_sanitize_is_idempotent_and_neutralises(fragment: str) -> None:
    once = markup.sanitize(fragment)
    assert markup.sanitize(once) == once
    _assert_only_allowed(once)


@FAST
@given(hostile_text)
def test_comment_render_is_safe(text: str) -> None:
    rendered = markup.render(text)
    assert markup.sanitize(rendered) == rendered
    _assert_only_allowed(rendered)


ENV = build_templates(lambda: utc_now).env
TEMPLATE = ENV.from_string('<p title="{{ x }}">{{ x }}</p>')


@FAST
@given(hostile_text)
def test_autoescape_keeps_user_text_inert(text: str) -> None:
    html = TEMPLATE.render(x=text)
    inner = html[len('<p title="'):-len("</p>")]
    assert "<" not in inner and '"' not in inner.split('">', 1)[0]


@FAST
@given(st.one_of(hostile_text, st.text(alphabet="/\\:%2Fef.@ \t", max_size=20)))
def test_safe_next_stays_on_site(value: str) -> None:
    target = safe_next(value)
    assert target == "/" or (target.startswith("/") and not target.startswith("//")
                             and "\\" not in target and target == value)


@pytest.fixture(scope="module")
def search_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    data = Path(tmp_path_factory.mktemp("fuzz"))
    return TestClient(create_app(Settings(data_dir=data, sample="")))


@settings(max_examples=40, deadline=timedelta(seconds=2), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.one_of(hostile_text, st.text(alphabet='"*()^:-+ ORANDNEAR\'%_\\', max_size=30)))
def test_search_never_500(search_client: TestClient, query: str) -> None:
    query = query.replace("\x00", "")
    for path in ("/search", "/api/search"):
        response = search_client.get(path, params={"q": query})
        assert response.status_code < 500, (path, query)
