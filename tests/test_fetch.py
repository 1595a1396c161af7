"""The fetcher over real HTTP on loopback: limits, SSRF guard, politeness, decoding.

No HTTP layer is mocked: every test talks to the threaded fixture server through
real sockets, so the guard is proven where it matters, at connect time.
"""

from __future__ import annotations

import asyncio
import codecs
import gzip
import ipaddress
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from typing import Any

import brotli
import pytest

from newsdesk.config import MiB, Settings
from newsdesk.ingest.fetch import (
    BlockedAddressError,
    Fetcher,
    FetchError,
    FetchResult,
    RobotsDisallowedError,
    blocked_reason,
    check_url,
    fetch_sync,
)
from newsdesk.ingest.httpbody import parse_retry_after, parse_ttl
from tests.fixtureserver import FixtureServer, Request, Response, slow_stream


def get(settings: Settings, url: str, **kw: Any) -> FetchResult:
    return fetch_sync(settings, url, **kw)


def raises(settings: Settings, url: str, exc: type[FetchError] = FetchError, **kw: Any) -> Any:
    with pytest.raises(exc) as info:
        fetch_sync(settings, url, **kw)
    return info.value


@pytest.fixture
def other_server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    yield srv
    srv.stop()


# ------------------------------------------------------------------ status paths


def test_ok_response_fields_and_request_headers(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/feed", Response(
        body="<rss/>",
        content_type="application/rss+xml; charset=utf-8",
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT",
                 "Cache-Control": "public, max-age=600", "X-Thing": "Yes"},
    ))
    result = get(settings, url + "#frag")
    assert (result.status, result.url, result.content) == (200, url, b"<rss/>")
    assert not result.not_modified
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert result.content_type == "application/rss+xml"
    assert result.headers["x-thing"] == "Yes"
    assert all(k == k.lower() for k in result.headers)
    assert result.ttl_seconds == 600
    assert result.retry_after is None
    sent = server.hits("/feed")[0].headers
    assert sent["user-agent"] == settings.user_agent
    assert "rss" in sent["accept"]
    assert "br" in sent["accept-encoding"] and "gzip" in sent["accept-encoding"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_custom_accept_header(server: FixtureServer, settings: Settings) -> None:
    get(settings, server.add("/j", Response(body="{}")), accept="application/feed+json")
    assert server.hits("/j")[0].headers["accept"] == "application/feed+json"


def test_204_is_an_empty_success(server: FixtureServer, settings: Settings) -> None:
    result = get(settings, server.add("/e", Response(status=204)))
    assert (result.status, result.content, result.text()) == (204, b"", "")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 500, 502, 504])
def test_error_statuses_raise_with_status(
    server: FixtureServer, settings: Settings, status: int
) -> None:
    url = server.add("/x", Response(status=status, body="nope"))
    err = raises(settings, url)
    assert err.status == status
    assert err.retry_after is None
    assert str(err) == f"{url}: HTTP {status}"
    assert type(err) is FetchError


def test_429_with_retry_after_seconds(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/busy", Response(status=429, headers={"Retry-After": "120"}))
    err = raises(settings, url)
    assert (err.status, err.retry_after) == (429, 120.0)
    assert "retry after 120s" in str(err)


def test_503_with_retry_after_http_date(server: FixtureServer, settings: Settings) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    err = raises(settings, server.add("/down", Response(status=503, headers={"Retry-After": when})))
    assert err.status == 503
    assert 85 <= err.retry_after <= 90


@pytest.mark.parametrize("header", [None, "soon", "-5", ""])
def test_503_without_usable_retry_after(
    server: FixtureServer, settings: Settings, header: str | None
) -> None:
    headers = {} if header is None else {"Retry-After": header}
    err = raises(settings, server.add("/down", Response(status=503, headers=headers)))
    assert (err.status, err.retry_after) == (503, None)


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 00:02:00 GMT", now) == 120.0
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now) == 0.0  # past: go now
    assert parse_retry_after("later") is None
    assert parse_retry_after(None) is None


def test_parse_ttl_forms() -> None:
    date = "Wed, 01 Jan 2025 00:00:00 GMT"
    assert parse_ttl({"cache-control": "max-age=300, must-revalidate"}) == 300
    assert parse_ttl({"cache-control": "no-cache"}) == 0
    assert parse_ttl({"cache-control": "max-age=60", "expires": "garbage"}) == 60
    assert parse_ttl({"date": date, "expires": "Wed, 01 Jan 2025 01:00:00 GMT"}) == 3600
    assert parse_ttl({"expires": "0"}) == 0
    assert parse_ttl({}) is None


def test_ttl_from_expires_over_http(server: FixtureServer, settings: Settings) -> None:
    expires = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    result = get(settings, server.add("/x", Response(body="x", headers={"Expires": expires})))
    assert result.ttl_seconds is not None and 3590 <= result.ttl_seconds <= 3600


def test_connection_refused_is_a_fetch_error(settings: Settings) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    err = raises(settings, f"http://127.0.0.1:{port}/")
    assert "could not connect" in err.reason and err.status is None


@pytest.mark.parametrize("url", ["ftp://example.com/f", "file:///etc/passwd", "example.com/x",
                                 "javascript:alert(1)", "http://[::1/"])
def test_non_http_urls_are_refused(settings: Settings, url: str) -> None:
    err = raises(settings, url)
    assert not isinstance(err, BlockedAddressError)


# ---------------------------------------------------------------- conditional GET


def _conditional(etag: str, last_modified: str) -> Any:
    def handler(req: Request) -> Response:
        if req.headers.get("if-none-match") == etag or (
            req.headers.get("if-modified-since") == last_modified
        ):
            return Response(status=304, headers={"ETag": etag})
        return Response(body="fresh", headers={"ETag": etag, "Last-Modified": last_modified})
    return handler


def test_conditional_get_with_etag(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/c", _conditional('"abc"', "Wed, 01 Jan 2025 00:00:00 GMT"))
    first = get(settings, url)
    assert first.content == b"fresh" and first.etag == '"abc"'
    again = get(settings, url, etag=first.etag)
    assert again.not_modified and again.status == 304
    assert again.content == b"" and again.text() == ""
    assert again.etag == '"abc"'
    assert server.hits("/c")[1].headers["if-none-match"] == '"abc"'


def test_conditional_get_with_last_modified(server: FixtureServer, settings: Settings) -> None:
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    url = server.add("/c", _conditional('"abc"', stamp))
    result = get(settings, url, last_modified=stamp)
    assert result.not_modified and result.content == b""
    assert result.last_modified == stamp  # kept from the request: the 304 did not repeat it
    assert server.hits("/c")[0].headers["if-modified-since"] == stamp
    changed = get(settings, url, last_modified="Tue, 31 Dec 2024 00:00:00 GMT")
    assert not changed.not_modified and changed.content == b"fresh"


# --------------------------------------------------------------------- redirects


def _chain(server: FixtureServer, length: int) -> str:
    """/r0 -> /r1 -> ... -> /r{length} (the final page)."""
    for i in range(length):
        server.add(f"/r{i}", Response(status=302, headers={"Location": f"/r{i + 1}"}))
    server.add(f"/r{length}", Response(body="end"))
    return server.url("/r0")


def test_five_redirects_are_followed(server: FixtureServer, settings: Settings) -> None:
    result = get(settings, _chain(server, 5))
    assert result.content == b"end" and result.url == server.url("/r5")


def test_six_redirects_are_refused(server: FixtureServer, settings: Settings) -> None:
    err = raises(settings, _chain(server, 6))
    assert "more than 5 redirects" in str(err)
    assert not server.hits("/r6")


def test_redirect_budget_follows_settings(server: FixtureServer, settings: Settings) -> None:
    raises(settings.with_(max_redirects=1), _chain(server, 2))
    assert get(settings.with_(max_redirects=2), _chain(server, 2)).content == b"end"


def test_redirect_loop_stops(server: FixtureServer, settings: Settings) -> None:
    server.add("/a", Response(status=301, headers={"Location": "/b"}))
    url = server.add("/b", Response(status=301, headers={"Location": server.url("/a")}))
    err = raises(settings, url)
    assert "redirect loop" in err.reason
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_each_redirect_status_is_followed(
    server: FixtureServer, settings: Settings, status: int
) -> None:
    url = server.add("/old", Response(status=status, headers={"Location": "new?x=1"}))
    server.add("/new", Response(body="moved"))
    result = get(settings, url)
    assert (result.content, result.url) == (b"moved", server.url("/new?x=1"))


def test_redirect_without_location_is_an_error(server: FixtureServer, settings: Settings) -> None:
    err = raises(settings, server.add("/r", Response(status=302)))
    assert err.status == 302 and "Location" in err.reason


def test_redirect_to_another_scheme_is_refused(server: FixtureServer, settings: Settings) -> None:
    err = raises(settings, server.add("/r", Response(status=302,
                                                     headers={"Location": "file:///etc/passwd"})))
    assert "only http and https" in err.reason


def test_redirect_across_servers(
    server: FixtureServer, other_server: FixtureServer, settings: Settings
) -> None:
    target = other_server.add("/there", Response(body="there"))
    url = server.add("/here", Response(status=307, headers={"Location": target}))
    assert get(settings, url).url == target


# ------------------------------------------------------------------------- limits


def test_declared_oversize_body_is_refused(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/big", Response(body=b"x" * (64 * 1024 + 1)))
    err = raises(settings.with_(max_body_bytes=64 * 1024), url)
    assert "limit" in err.reason


def test_body_at_the_cap_is_accepted(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/big", Response(body=b"x" * (64 * 1024)))
    assert len(get(settings.with_(max_body_bytes=64 * 1024), url).content) == 64 * 1024


def test_undeclared_oversize_stream_is_cut(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/s", Response(stream=lambda: iter([b"y" * 65536] * 64)))  # 4 MiB, no length
    err = raises(settings.with_(max_body_bytes=256 * 1024), url)
    assert "limit" in err.reason


@cache
def _gzip_bomb() -> bytes:
    """100 MiB of zeros, gzipped (about 100 KiB on the wire)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MiB)
    return b"".join(packer.compress(block) for _ in range(100)) + packer.flush()


@cache
def _brotli_bomb() -> bytes:
    """100 MiB of zeros, brotli-compressed (a few hundred bytes on the wire)."""
    packer = brotli.Compressor(quality=5)
    block = bytes(MiB)
    return b"".join(packer.process(block) for _ in range(100)) + packer.finish()


@pytest.mark.parametrize(("encoding", "bomb"), [("gzip", _gzip_bomb), ("br", _brotli_bomb)])
def test_decompression_bomb_is_cut_with_bounded_memory(
    server: FixtureServer, settings: Settings, encoding: str, bomb: Any
) -> None:
    url = server.add("/bomb", Response(body=bomb(), headers={"Content-Encoding": encoding}))
    tracemalloc.start()
    try:
        started = time.monotonic()
        err = raises(settings.with_(max_body_bytes=MiB), url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "limit" in err.reason
    assert peak < 8 * MiB  # the cap plus a few pieces (about 3 MiB seen), not 100 MiB
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "br", "gzip, br"])
def test_compressed_bodies_are_decoded(
    server: FixtureServer, settings: Settings, encoding: str
) -> None:
    text = ("Nachrichten für alle. " * 5000).encode()
    packers = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "raw-deflate": lambda b: zlib.compress(b)[2:-4],
        "br": brotli.compress,
        "gzip, br": lambda b: brotli.compress(gzip.compress(b)),
    }
    header = "deflate" if encoding == "raw-deflate" else encoding
    url = server.add("/z", Response(body=packers[encoding](text),
                                    headers={"Content-Encoding": header}))
    assert get(settings, url).content == text


def test_corrupt_gzip_is_a_fetch_error(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/z", Response(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    assert "decompress" in raises(settings, url).reason


def test_slow_trickle_is_cut_at_the_deadline(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/slow", Response(stream=slow_stream(b"x", 1.0, 30)))
    started = time.monotonic()
    err = raises(settings.with_(total_timeout=2.0), url)
    elapsed = time.monotonic() - started
    assert "within 2s" in err.reason
    assert 1.8 <= elapsed < 3.5


def test_slow_headers_are_cut_at_the_deadline(server: FixtureServer, settings: Settings) -> None:
    def stall(req: Request) -> Response:
        time.sleep(3)
        return Response(body="late")
    started = time.monotonic()
    raises(settings.with_(total_timeout=1.0), server.add("/stall", stall))
    assert time.monotonic() - started < 2


# -------------------------------------------------------------------- concurrency


class InFlight:
    """A handler that records the most requests it ever had in flight at once."""

    def __init__(self, delay: float = 0.25) -> None:
        self.delay = delay
        self.current = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, req: Request) -> Response:
        with self.lock:
            self.current += 1
            self.peak = max(self.peak, self.current)
        time.sleep(self.delay)
        with self.lock:
            self.current -= 1
        return Response(body="ok")


async def _gather(settings: Settings, urls: list[str]) -> list[FetchResult]:
    async with Fetcher(settings) as fetcher:
        return await asyncio.gather(*(fetcher.get(u) for u in urls))


def test_per_host_concurrency_is_capped(server: FixtureServer, settings: Settings) -> None:
    counter = InFlight()
    url = server.add("/slow", counter)
    results = asyncio.run(_gather(settings, [f"{url}?n={i}" for i in range(6)]))
    assert len(results) == 6
    assert counter.peak == settings.per_host_concurrency == 2


def test_total_concurrency_is_capped(server: FixtureServer, settings: Settings) -> None:
    counter = InFlight()
    server.add("/slow", counter)
    hosts = ["127.0.0.1", "localhost"]  # two host names, one server
    urls = [f"http://{h}:{server.port}/slow?n={i}" for i in range(4) for h in hosts]
    asyncio.run(_gather(settings.with_(total_concurrency=3, per_host_concurrency=2), urls))
    assert counter.peak == 3


def test_queueing_does_not_eat_the_deadline(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/slow", InFlight(delay=0.5))
    fast = settings.with_(total_timeout=1.0, per_host_concurrency=1)
    results = asyncio.run(_gather(fast, [f"{url}?n={i}" for i in range(4)]))  # 2 s in all
    assert len(results) == 4


# ------------------------------------------------------------------------- robots

ROBOTS = "User-agent: newsdesk\nDisallow: /private\n\nUser-agent: *\nDisallow: /\n"


def server_base(url: str) -> str:
    return url[: url.index("/", len("http://"))]


async def _robots_run(settings: Settings, urls: list[str]) -> list[str]:
    outcomes = []
    async with Fetcher(settings) as fetcher:
        for url in urls:
            try:
                await fetcher.get(url, check_robots=True)
                outcomes.append("ok")
            except RobotsDisallowedError as err:
                assert "robots.txt" in str(err)
                outcomes.append(f"robots {err.url.removeprefix(server_base(url))}")
    return outcomes


def test_robots_disallow_is_honoured_and_cached(server: FixtureServer, settings: Settings) -> None:
    server.add("/robots.txt", Response(body=ROBOTS, content_type="text/plain"))
    for path in ("/private/a", "/public"):
        server.add(path, Response(body="page"))
    urls = [server.url(p) for p in ("/private/a", "/public", "/private/a")]
    # Our own group applies; the catch-all "Disallow: /" for others does not.
    assert asyncio.run(_robots_run(settings, urls)) == ["robots /private/a", "ok",
                                                        "robots /private/a"]
    assert not server.hits("/private/a")
    assert len(server.hits("/robots.txt")) == 1
    assert server.hits("/robots.txt")[0].headers["user-agent"] == settings.user_agent


def test_robots_applies_to_redirect_targets(server: FixtureServer, settings: Settings) -> None:
    server.add("/robots.txt", Response(body=ROBOTS, content_type="text/plain"))
    url = server.add("/go", Response(status=302, headers={"Location": "/private/x"}))
    assert asyncio.run(_robots_run(settings, [url])) == ["robots /private/x"]
    assert not server.hits("/private/x")


def test_robots_wildcard_group_applies(server: FixtureServer, settings: Settings) -> None:
    server.add("/robots.txt", Response(body="User-agent: *\nDisallow: /drafts/\n",
                                       content_type="text/plain"))
    server.add("/news/1", Response(body="page"))
    urls = [server.url("/drafts/1"), server.url("/news/1")]
    assert asyncio.run(_robots_run(settings, urls)) == ["robots /drafts/1", "ok"]


@pytest.mark.parametrize("status", [404, 500])
def test_unavailable_robots_allows(server: FixtureServer, settings: Settings, status: int) -> None:
    server.add("/robots.txt", Response(status=status))
    url = server.add("/private/a", Response(body="page"))
    assert asyncio.run(_robots_run(settings, [url])) == ["ok"]


def test_robots_not_consulted_unless_asked(server: FixtureServer, settings: Settings) -> None:
    server.add("/robots.txt", Response(body=ROBOTS, content_type="text/plain"))
    url = server.add("/private/a", Response(body="page"))
    assert get(settings, url).content == b"page"
    assert get(settings.with_(respect_robots=False), url, check_robots=True).content == b"page"
    assert not server.hits("/robots.txt")


# ------------------------------------------------------------------------ charset


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"caf\xe9", "text/html; charset=ISO-8859-1", "café"),
        (b"\x93quoted\x94", "text/html; charset=iso-8859-1", "“quoted”"),  # as browsers do
        (b"\xcf\xf0\xe8\xe2\xe5\xf2", "text/plain; charset=windows-1251", "Привет"),
        ('<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251"), "text/html",
         '<meta charset="windows-1251"><p>Привет</p>'),
        ('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">Мир'.encode("koi8-r"),
         "text/html", '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">Мир'),
        ('<?xml version="1.0" encoding="ISO-8859-15"?><t>€</t>'.encode("iso-8859-15"),
         "application/xml", '<?xml version="1.0" encoding="ISO-8859-15"?><t>€</t>'),
        (codecs.BOM_UTF8 + "Grüße".encode(), "text/html; charset=iso-8859-1", "Grüße"),
        (codecs.BOM_UTF16_LE + "Grüße".encode("utf-16-le"), "text/plain", "Grüße"),
        ("naïve".encode(), "text/html", "naïve"),
        (b"a\x00b\x00c", "text/plain; charset=utf-8", "abc"),
        ("mixed\x00 ünïcode".encode(), "text/plain", "mixed ünïcode"),
        (b"bogus charset \xc3\xa9", "text/plain; charset=no-such-codec", "bogus charset é"),
    ],
)
def test_text_decoding(
    server: FixtureServer, settings: Settings, body: bytes, content_type: str, expected: str
) -> None:
    result = get(settings, server.add("/t", Response(body=body, content_type=content_type)))
    assert result.content == body
    assert result.text() == expected


def test_undeclared_legacy_text_is_detected(server: FixtureServer, settings: Settings) -> None:
    news = ("В понедельник правительство объявило о новых мерах поддержки малого бизнеса. "
            "Министр финансов заявил, что программа начнёт действовать уже в следующем месяце.")
    result = get(settings, server.add("/t", Response(body=news.encode("cp1251"),
                                                     content_type="text/plain")))
    assert result.text() == news


def test_garbage_bytes_still_give_valid_text(server: FixtureServer, settings: Settings) -> None:
    body = bytes(range(256)) * 4
    text = get(settings, server.add("/t", Response(body=body, content_type="text/plain"))).text()
    assert isinstance(text, str) and "\x00" not in text
    text.encode("utf-8")  # no lone surrogates


# --------------------------------------------------------------------------- SSRF


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "0x7f.1", "2130706433", "127.1", "[::ffff:127.0.0.1]",
             "0177.0.0.1"]
)
def test_strict_settings_refuse_loopback_in_every_disguise(
    server: FixtureServer, strict_settings: Settings, host: str
) -> None:
    server.add("/", Response(body="secret"))
    err = raises(strict_settings, f"http://{host}:{server.port}/")
    if host == "0177.0.0.1":  # octal: httpx already rejects the URL as malformed
        assert "invalid URL" in err.reason
    else:
        assert isinstance(err, BlockedAddressError) and "loopback" in err.reason
    assert server.connections == 0
    assert not server.requests


def test_strict_refusal_also_applies_to_robots(
    server: FixtureServer, strict_settings: Settings
) -> None:
    raises(strict_settings, server.url("/"), BlockedAddressError, check_robots=True)
    assert server.connections == 0


def _block_port(port: int) -> Any:
    """A policy that allows loopback except one port: stands in for "a private host"."""
    def policy(ip: Any, p: int) -> str | None:
        return "test-blocked address" if p == port else None
    return policy


async def _get_with_policy(settings: Settings, policy: Any, url: str) -> FetchResult:
    async with Fetcher(settings, address_policy=policy) as fetcher:
        return await fetcher.get(url)


@pytest.mark.parametrize("target_host", ["127.0.0.1", "0x7f.1", "localhost"])
def test_every_redirect_hop_is_checked_at_connect_time(
    server: FixtureServer, other_server: FixtureServer, settings: Settings, target_host: str
) -> None:
    other_server.add("/internal", Response(body="secret"))
    target = f"http://{target_host}:{other_server.port}/internal"
    url = server.add("/innocent", Response(status=302, headers={"Location": target}))
    policy = _block_port(other_server.port)
    with pytest.raises(BlockedAddressError) as info:
        asyncio.run(_get_with_policy(settings, policy, url))
    assert info.value.url == target
    assert "test-blocked" in str(info.value)
    assert len(server.hits("/innocent")) == 1  # the first hop was allowed and made
    assert other_server.connections == 0  # the second never reached the socket


def test_policy_applies_to_first_hop_too(server: FixtureServer, settings: Settings) -> None:
    url = server.add("/", Response(body="x"))
    with pytest.raises(BlockedAddressError):
        asyncio.run(_get_with_policy(settings, _block_port(server.port), url))
    assert server.connections == 0


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("10.1.2.3", "private"),
        ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "shared (CGNAT)"), ("100.127.255.254", "shared (CGNAT)"),
        ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("240.0.0.1", "private"),
        ("255.255.255.255", "private"), ("192.0.2.1", "private"), ("::1", "loopback"),
        ("::", "unspecified"), ("fc00::1", "private"), ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"), ("ff02::1", "multicast"), ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
    ],
)
def test_blocked_address_classes(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "1.1.1.1",
                                     "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "http://localhost:8080/x", "http://0x7f.1/", "http://2130706433/",
     "http://127.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.1/",
     "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/", "http://100.64.0.1/",
     "http://[fe80::1]/", "http://[fc00::1]/", "http://224.0.0.1/"],
)
def test_check_url_refuses_private_targets(strict_settings: Settings, url: str) -> None:
    with pytest.raises(BlockedAddressError) as info:
        check_url(url, strict_settings)
    assert "allow_private_networks" in str(info.value)


def test_check_url_normalises_and_allows(strict_settings: Settings, settings: Settings) -> None:
    assert check_url("  HTTP://93.184.216.34:80/Path?q=1#top ", strict_settings) == (
        "http://93.184.216.34/Path?q=1"
    )
    assert check_url("https://[2606:4700:4700::1111]/", strict_settings) == (
        "https://[2606:4700:4700::1111]/"
    )
    assert check_url("http://LOCALHOST:8080/a", settings) == "http://localhost:8080/a"


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/", "file:///etc/passwd", "93.184.216.34",
                                 "gopher://localhost/", "http:///nohost"])
def test_check_url_refuses_other_schemes(strict_settings: Settings, url: str) -> None:
    with pytest.raises(FetchError) as info:
        check_url(url, strict_settings)
    assert not isinstance(info.value, BlockedAddressError)


def test_fetch_error_message_is_readable() -> None:
    err = FetchError("http://x/", "HTTP 503", status=503, retry_after=30)
    assert str(err) == "http://x/: HTTP 503 (retry after 30s)"
    assert isinstance(BlockedAddressError("u", "r"), FetchError)
    assert isinstance(RobotsDisallowedError("u", "r"), FetchError)
