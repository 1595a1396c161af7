"""The one way newsdesk talks to the network: a guarded, bounded, polite HTTP fetcher.

Every URL newsdesk fetches comes from a user (a subscription) or from a page
someone else controls (feed items, redirects), so the fetcher treats every hop as
hostile:

* **SSRF.** The address check lives in the *connection layer*
  (:class:`GuardedBackend`): the host is resolved once, every resolved address is
  classified, and the socket is opened to the vetted IP itself. Checking the URL
  up front is not enough, because DNS can answer differently a second later
  (rebinding) and a redirect can point anywhere; checking where we actually
  connect closes both holes, on every hop and every reconnect.
* **Resource limits.** Connect timeout, one total deadline per request (a server
  trickling one byte a second cannot hold a worker), a cap on *decoded* bytes
  (decompression runs in bounded pieces, ``newsdesk.ingest.httpbody``, so a
  gzip/brotli bomb costs at most the cap), and a redirect budget with loop detection.
* **Politeness.** Conditional GET, per-host and global concurrency limits,
  ``Retry-After`` surfaced to the scheduler, robots.txt on request, and an honest
  User-Agent.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.robotparser import RobotFileParser

import anyio
import brotli
import httpcore
import httpx

from newsdesk.config import Settings
from newsdesk.ingest.httpbody import (
    DecoderChain,
    decode_body,
    lower_headers,
    media_type,
    parse_retry_after,
    parse_ttl,
)
from newsdesk.ingest.limiter import HostLimiter, LocalHostLimiter
from newsdesk.obs.metrics import observe_fetch

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Decides whether connecting to ``(ip, port)`` is allowed: ``None`` allows, a
#: string is the human reason for refusing. Injectable so tests can block one
#: loopback port while the fixture server on another stays reachable.
AddressPolicy = Callable[[IPAddress, int], str | None]

SCHEMES = ("http", "https")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 503})
DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.9, */*;q=0.8"
)


# --------------------------------------------------------------------------- errors


class FetchError(Exception):
    """A fetch that produced no usable response; ``str()`` is meant for a human."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        text = f"{self.url}: {self.reason}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:.0f}s)"
        return text


class BlockedAddressError(FetchError):
    """Refused because the host is (or resolves to) a non-public address."""


class RobotsDisallowedError(FetchError):
    """Refused because the site's robots.txt disallows our user agent."""


# --------------------------------------------------------------------- address policy

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to (mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or ``None`` when it is.

    ``is_global`` alone is not enough: it is True for multicast, and IPv6 forms
    that embed an IPv4 address must be judged by the address they reach.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = blocked_reason(embedded)
            if inner is not None or ip.ipv4_mapped is not None:
                return inner
    checks: tuple[tuple[str, bool], ...] = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    )
    return next((label for label, hit in checks if hit), None)


def public_only(ip: IPAddress, port: int) -> str | None:
    """The deployment policy: only public unicast addresses, any port."""
    reason = blocked_reason(ip)
    return None if reason is None else f"{reason} address"


def allow_all(ip: IPAddress, port: int) -> str | None:
    """The policy when ``allow_private_networks`` is set (tests, intranet feeds)."""
    return None


def policy_for(settings: Settings) -> AddressPolicy:
    """The address policy ``settings`` asks for."""
    return allow_all if settings.allow_private_networks else public_only


def _addresses(infos: Iterable[tuple[Any, ...]]) -> list[IPAddress]:
    """Unique addresses from getaddrinfo results, in resolver order."""
    seen: dict[IPAddress, None] = {}
    for info in infos:
        seen.setdefault(ipaddress.ip_address(str(info[4][0])), None)
    return list(seen)


def _vet(host: str, port: int, addresses: list[IPAddress], policy: AddressPolicy) -> None:
    """Refuse the host if *any* address it resolves to is refused.

    Refusing on any (not all) bad answer stops a name that mixes a public and a
    private record from being used to reach the private one on a retry.
    """
    for ip in addresses:
        reason = policy(ip, port)
        if reason is not None:
            via = "" if host == str(ip) else f" (resolved from {host})"
            raise BlockedAddressError(
                host,
                f"refusing to connect to {ip}{via}: {reason}; "
                "only public addresses are allowed unless allow_private_networks is set",
            )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that only ever connects to vetted addresses.

    httpcore hands ``connect_tcp`` the URL's host; we resolve it, apply the
    policy to every answer and connect to the IP we checked, so the check and
    the connection cannot disagree. TLS still verifies and sends SNI for the
    hostname, because httpcore passes ``server_hostname`` to ``start_tls``.
    """

    def __init__(
        self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        _vet(host, port, addresses, self._policy)
        last: Exception = httpcore.ConnectError(f"no address for {host}")
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        return _addresses(infos)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for fetching")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# ----------------------------------------------------------------------- URL checks


def _parse_url(url: str | httpx.URL) -> httpx.URL:
    """Parse and normalise a URL we are about to fetch; only http(s) with a host."""
    shown = str(url)
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise FetchError(shown, f"invalid URL: {exc}") from None
    if parsed.scheme not in SCHEMES:
        scheme = parsed.scheme or "no scheme"
        raise FetchError(shown, f"only http and https URLs can be fetched (got {scheme})")
    if not parsed.host:
        raise FetchError(shown, "URL has no host")
    return parsed.copy_with(fragment=None)


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def check_url(url: str, settings: Settings) -> str:
    """Validate a URL at subscription time and return it normalised.

    This is the early, friendly check (a clear error when the user types an
    intranet address); the binding check still happens at connect time.
    """
    parsed = _parse_url(url)
    try:
        infos = socket.getaddrinfo(parsed.host, _port(parsed), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(str(parsed), f"cannot resolve host {parsed.host}: {exc}") from None
    try:
        _vet(parsed.host, _port(parsed), _addresses(infos), policy_for(settings))
    except BlockedAddressError as exc:
        raise BlockedAddressError(str(parsed), exc.reason) from None
    return str(parsed)


# -------------------------------------------------------------------------- result


@dataclass
class FetchResult:
    """A successful (2xx) or not-modified (304) response, body fully read and decoded."""

    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""
    retry_after: float | None = None
    ttl_seconds: float | None = None

    def text(self) -> str:
        """The body as text (see :func:`decode_body`), NUL characters removed.

        NULs are stripped because no later stage wants them and PostgreSQL text
        columns reject them outright.
        """
        return decode_body(self.content, self.headers.get("content-type", "")).replace("\x00", "")


# ------------------------------------------------------------------------- fetcher


@dataclass
class _Reply:
    """One hop's response, before we decide whether it is final."""

    url: httpx.URL
    status: int
    headers: dict[str, str]
    content: bytes = b""


class _Budget:
    """The total-time allowance of one ``get``, spent only while on the network.

    Time queued behind our own concurrency limits is not charged: a busy
    ingest run must not make slow-to-schedule requests time out.
    """

    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.spent = 0.0

    @asynccontextmanager
    async def spend(self, url: httpx.URL) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            async with asyncio.timeout(max(0.0, self.total - self.spent)):
                yield
        except TimeoutError:
            raise FetchError(
                str(url), f"no complete response within {self.total:g}s"
            ) from None
        finally:
            self.spent += loop.time() - start


@contextmanager
def _translate_errors(url: httpx.URL, settings: Settings) -> Iterator[None]:
    """Turn transport exceptions into :class:`FetchError` with a readable reason."""
    shown = str(url)
    try:
        yield
    except BlockedAddressError as exc:
        raise BlockedAddressError(shown, exc.reason) from None
    except httpx.ConnectTimeout:
        raise FetchError(shown, f"connect timed out after {settings.connect_timeout:g}s") from None
    except httpx.ConnectError as exc:
        raise FetchError(shown, f"could not connect: {exc}") from None
    except httpx.TimeoutException:
        raise FetchError(shown, f"timed out (limit {settings.total_timeout:g}s)") from None
    except httpx.HTTPError as exc:
        raise FetchError(shown, f"HTTP failure: {type(exc).__name__}: {exc}") from None
    except (zlib.error, brotli.error) as exc:
        raise FetchError(shown, f"could not decompress the body: {exc}") from None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every Fetcher: loading the CA bundle costs ~0.1 s
    a time, which a refresh of hundreds of feeds (or a task per feed) should pay once."""
    return httpx.create_ssl_context(trust_env=False)


def _build_client(settings: Settings, policy: AddressPolicy) -> httpx.AsyncClient:
    """An httpx client whose connection pool dials through :class:`GuardedBackend`.

    httpx has no public hook for the network backend, so we build its transport
    and swap in an httpcore pool configured like the one it would make, plus the
    guarded backend. ``trust_env=False`` everywhere: an environment proxy would
    connect on our behalf and bypass the address check.
    """
    ssl_context = _ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=settings.total_concurrency,
        max_keepalive_connections=settings.total_concurrency,
        keepalive_expiry=5.0,
        http1=True,
        http2=False,
        network_backend=GuardedBackend(policy),
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(settings.total_timeout, connect=settings.connect_timeout),
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate, br"},
    )


class Fetcher:
    """Fetch URLs for one ingest run: shared connections, limits and robots cache.

    Use as ``async with Fetcher(settings) as fetcher: await fetcher.get(url)``.
    ``address_policy`` overrides the SSRF policy derived from settings (tests).
    ``host_limiter`` replaces the in-process per-host semaphores, e.g. with a
    :class:`~newsdesk.ingest.limiter.RedisHostLimiter` shared by all workers; the
    caller owns (and closes) it.
    """

    def __init__(self, settings: Settings, *, address_policy: AddressPolicy | None = None,
                 host_limiter: HostLimiter | None = None) -> None:
        self._settings = settings
        self._client = _build_client(settings, address_policy or policy_for(settings))
        self._total = asyncio.Semaphore(settings.total_concurrency)
        self._per_host: HostLimiter = host_limiter or LocalHostLimiter(
            settings.per_host_concurrency)
        self._robots: dict[str, RobotFileParser] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    @observe_fetch  # newsdesk_fetches_total by outcome, error kind, duration
    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        check_robots: bool = False,
        accept: str | None = None,
    ) -> FetchResult:
        """GET ``url``, following up to ``max_redirects`` redirects, each hop re-checked.

        Raises :class:`FetchError` (or a subclass) for anything but a 2xx/304.
        """
        headers = {"Accept": accept or DEFAULT_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        robots = check_robots and self._settings.respect_robots
        current = _parse_url(url)
        seen = {str(current)}
        budget = _Budget(self._settings.total_timeout)
        for _ in range(self._settings.max_redirects + 1):
            if robots:
                await self._enforce_robots(current)
            reply = await self._hop(current, headers, budget)
            target = self._redirect_target(reply)
            if target is None:
                return _finish(reply, etag, last_modified)
            if str(target) in seen:
                raise FetchError(url, f"redirect loop at {target}")
            seen.add(str(target))
            current = target
        raise FetchError(url, f"more than {self._settings.max_redirects} redirects")

    @staticmethod
    def _redirect_target(reply: _Reply) -> httpx.URL | None:
        if reply.status not in REDIRECT_STATUSES:
            return None
        location = reply.headers.get("location", "").strip()
        if not location:
            raise FetchError(str(reply.url), "redirect without a Location", status=reply.status)
        try:
            return _parse_url(reply.url.join(location))
        except httpx.InvalidURL as exc:
            raise FetchError(str(reply.url), f"bad redirect Location: {exc}") from None

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold a per-host slot, then a global one (in that order, so requests
        queued for a busy host do not sit on global slots other hosts could use)."""
        async with self._per_host.slot(host), self._total:
            yield

    async def _hop(self, url: httpx.URL, headers: dict[str, str], budget: _Budget) -> _Reply:
        async with self._slot(url.host), budget.spend(url):
            with _translate_errors(url, self._settings):
                return await self._exchange(url, headers)

    async def _exchange(self, url: httpx.URL, headers: dict[str, str]) -> _Reply:
        async with self._client.stream("GET", url, headers=headers) as response:
            reply = _Reply(url, response.status_code, lower_headers(response.headers))
            if 200 <= reply.status < 300:
                reply.content = await self._read_body(url, response, reply.headers)
            return reply

    async def _read_body(
        self, url: httpx.URL, response: httpx.Response, headers: dict[str, str]
    ) -> bytes:
        """Read and decode the body, failing as soon as it exceeds the cap."""
        limit = self._settings.max_body_bytes
        too_big = FetchError(str(url), f"body larger than the {limit}-byte limit")
        encoding = headers.get("content-encoding", "")
        declared = headers.get("content-length", "")
        if not encoding and declared.isdigit() and int(declared) > limit:
            raise too_big
        decoder = DecoderChain(encoding)
        parts: list[bytes] = []
        size = 0

        def keep(pieces: Iterator[bytes]) -> None:
            nonlocal size
            for piece in pieces:
                size += len(piece)
                if size > limit:
                    raise too_big
                parts.append(piece)

        async for raw in response.aiter_raw():
            keep(decoder.feed(raw))
        keep(decoder.flush())
        return b"".join(parts)

    # ------------------------------------------------------------------ robots

    async def _enforce_robots(self, url: httpx.URL) -> None:
        parser = await self._robots_for(url)
        if not parser.can_fetch(self._settings.user_agent, str(url)):
            raise RobotsDisallowedError(
                str(url), "disallowed by the site's robots.txt for our user agent"
            )

    async def _robots_for(self, url: httpx.URL) -> RobotFileParser:
        """The parsed robots.txt of ``url``'s origin, fetched once per Fetcher."""
        origin = f"{url.scheme}://{url.host}:{_port(url)}"
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._robots:
                self._robots[origin] = await self._load_robots(url)
        return self._robots[origin]

    async def _load_robots(self, url: httpx.URL) -> RobotFileParser:
        """Fetch robots.txt through the guarded path; any failure means "allowed".

        RFC 9309 allows everything for a missing (4xx) file; for 5xx and
        unreachable hosts we also allow rather than stall a feed indefinitely.
        """
        robots_url = str(url.copy_with(path="/robots.txt", query=None))
        parser = RobotFileParser(robots_url)
        try:
            result = await self.get(robots_url, accept="text/plain")
            lines = result.text().splitlines()
        except FetchError:
            lines = []
        parser.parse(lines)
        return parser


def _finish(reply: _Reply, etag: str | None, last_modified: str | None) -> FetchResult:
    """Turn the final hop into a result, or the right :class:`FetchError`."""
    headers = reply.headers
    retry_after = parse_retry_after(headers.get("retry-after"))
    url = str(reply.url)
    if reply.status in RETRY_STATUSES:
        raise FetchError(
            url, f"HTTP {reply.status}", status=reply.status, retry_after=retry_after
        )
    not_modified = reply.status == 304
    if not (200 <= reply.status < 300 or not_modified):
        raise FetchError(url, f"HTTP {reply.status}", status=reply.status)
    return FetchResult(
        url=url,
        status=reply.status,
        headers=headers,
        content=b"" if not_modified else reply.content,
        not_modified=not_modified,
        # A 304 need not repeat the validators; keep the caller's so they persist.
        etag=headers.get("etag") or (etag if not_modified else None),
        last_modified=headers.get("last-modified") or (last_modified if not_modified else None),
        content_type=media_type(headers.get("content-type", "")),
        retry_after=retry_after,
        ttl_seconds=parse_ttl(headers),
    )


def fetch_sync(settings: Settings, url: str, **kw: Any) -> FetchResult:
    """Fetch one URL from synchronous code (the CLI); opens and closes a Fetcher."""

    async def run() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.get(url, **kw)

    return asyncio.run(run())
