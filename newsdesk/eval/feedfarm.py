"""A loopback farm of RSS feeds for the refresh benchmark (``newsdesk eval refresh``).

Each feed is served from a host of its own (``127.0.0.2``, ``127.0.0.3``... are
all loopback on Linux, and no ``*.localhost`` name resolves here), so the
fetcher's per-host limits apply as they would to 200 real publishers. Feeds
answer with ETag and Last-Modified and with 304 to a matching conditional
request; every item has a page too, for ``crawl_pages=always`` runs.

The farm runs in a child process with its own event loop, so serving costs
the measured process nothing but the sockets. Item texts come from the BBC
corpus in ``../shared/data`` at run time (never copied into the repository) or,
without it, are generated.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType

_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_WORDS = [
    "harbour", "council", "budget", "minister", "rail", "energy", "court", "league", "market",
    "storm", "election", "strike", "hospital", "school", "festival", "bank", "tariff", "vaccine",
    "drought", "bridge", "airline", "museum", "union", "record", "police", "treaty", "satellite",
    "factory", "orchestra", "harvest"
]


@dataclass(frozen=True)
class FarmSpec:
    """What to serve: ``feeds`` feeds of ``items`` items of about ``words`` words."""

    feeds: int = 200
    items: int = 20
    words: int = 300
    corpus: str = ""  # a BBC-style JSONL file; generated text when empty or missing


@dataclass
class _Site:
    """One publisher: its feed (with validators) and its item pages."""

    feed: bytes
    etag: str
    last_modified: str
    pages: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Stats:
    """Requests the farm answered, by kind; the benchmark checks them."""

    feeds: int = 0
    not_modified: int = 0
    pages: int = 0
    other: int = 0


def host_address(index: int) -> str:
    """The loopback address of site ``index``: 127.0.0.2 to .254, then 127.0.1.2 and on."""
    third, fourth = divmod(index, 253)
    if third >= 256 * 256:
        raise ValueError("too many farm hosts")
    return f"127.{third // 256}.{third % 256}.{fourth + 2}"


# ------------------------------------------------------------------------ content


def _records(spec: FarmSpec) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) for every item, from the corpus or generated."""
    needed = spec.feeds * spec.items
    path = Path(spec.corpus) if spec.corpus else None
    found: list[tuple[str, list[str]]] = []
    if path is not None and path.is_file():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                paras = [p.strip() for p in str(rec["text"]).split("\n") if p.strip()]
                if sum(len(p.split()) for p in paras) >= spec.words:  # items of ~words words
                    found.append((str(rec["title"]), paras))
    if not found:
        found = [_generated(n) for n in range(min(needed, 2000))]
    return [_variant(found[n % len(found)], n // len(found), n) for n in range(needed)]


def _generated(n: int) -> tuple[str, list[str]]:
    rng = random.Random(n)
    sentences = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16))).capitalize()
                 + "." for _ in range(40)]
    paras = [" ".join(sentences[i:i + 4]) for i in range(0, 40, 4)]
    return f"{rng.choice(_WORDS).capitalize()} {rng.choice(_WORDS)} report {n}", paras


def _variant(record: tuple[str, list[str]], round_: int, n: int) -> tuple[str, list[str]]:
    """A corpus text reused for a second item gets a distinct first paragraph."""
    title, paras = record
    if round_ == 0:
        return title, paras
    return f"{title} ({round_ + 1})", [f"Update {round_ + 1} to report {n}.", *paras[1:]]


def _cut(paras: list[str], words: int) -> list[str]:
    """Whole paragraphs until about ``words`` words."""
    out: list[str] = []
    count = 0
    for para in paras:
        if count >= words:
            break
        take = para.split()[: max(words - count, 0) + 40]
        out.append(" ".join(take))
        count += len(take)
    return out


def _item_body(paras: list[str]) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in paras)


def _page(title: str, body: str, outlet: str) -> bytes:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta property='og:site_name' content='{outlet}'></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}</article>"
            f"<footer>About us</footer></body></html>").encode()


def build_site(index: int, base: str, records: list[tuple[str, list[str]]], words: int,
               now: datetime) -> _Site:
    """The feed of site ``index`` (RSS 2.0 + content:encoded) and its pages."""
    outlet = f"Farm Desk {index}"
    items, pages = [], {}
    for j, (title, paras) in enumerate(records):
        path = f"/news/{index}-{j}.html"
        body = _item_body(_cut(paras, words))
        when = format_datetime(now - timedelta(hours=3 * j, minutes=index % 60), usegmt=True)
        etitle = html.escape(title)
        items.append(
            f"<item><title>{etitle}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
            f"<pubDate>{when}</pubDate><description>{html.escape(paras[0][:200])}"
            f"</description><content:encoded><![CDATA[{body}]]></content:encoded></item>")
        pages[path] = _page(etitle, body, outlet)
    feed = (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
            f"xmlns:content='{_CONTENT_NS}'><channel><title>{outlet}</title>"
            f"<link>{base}/</link><description>Benchmark feed</description>"
            f"{''.join(items)}</channel></rss>").encode()
    etag = '"' + hashlib.sha256(feed).hexdigest()[:16] + '"'
    return _Site(feed, etag, format_datetime(now, usegmt=True), pages)


# ------------------------------------------------------------------------- server


def _respond(site: _Site, path: str, headers: dict[str, str], stats: Stats) -> bytes:
    """The whole HTTP/1.1 response for one request (keep-alive)."""
    path = path.split("?", 1)[0]
    if path == "/feed.xml":
        validators = f"ETag: {site.etag}\r\nLast-Modified: {site.last_modified}\r\n"
        if (headers.get("if-none-match") == site.etag
                or headers.get("if-modified-since") == site.last_modified):
            stats.not_modified += 1
            return f"HTTP/1.1 304 Not Modified\r\n{validators}\r\n".encode()
        stats.feeds += 1
        return _ok(site.feed, "application/rss+xml; charset=utf-8", validators)
    page = site.pages.get(path)
    if page is not None:
        stats.pages += 1
        return _ok(page, "text/html; charset=utf-8", "")
    stats.other += 1
    return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


def _ok(body: bytes, content_type: str, extra: str) -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _handle(site: _Site, stats: Stats, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    """Serve requests on one connection until the client closes it."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:] if line)}
            writer.write(_respond(site, parts[1] if len(parts) > 1 else "/", headers, stats))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(spec: FarmSpec) -> None:
    """Bind one server per site, print the feed URLs, then answer commands on stdin."""
    now = datetime.now(UTC).replace(microsecond=0)
    records = _records(spec)
    stats = Stats()
    servers, urls = [], []
    for i in range(spec.feeds):
        holder: list[_Site] = []

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter,
                         holder: list[_Site] = holder) -> None:
            await _handle(holder[0], stats, r, w)

        address = host_address(i)
        server = await asyncio.start_server(handle, address, 0, backlog=256)
        base = f"http://{address}:{server.sockets[0].getsockname()[1]}"
        holder.append(build_site(i, base, records[i * spec.items:(i + 1) * spec.items],
                                 spec.words, now))
        servers.append(server)
        urls.append(base + "/feed.xml")
    print(json.dumps(urls), flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "stats":
        print(json.dumps(stats.__dict__), flush=True)
    for server in servers:
        server.close()


class FeedFarm:
    """``with FeedFarm(spec) as farm: farm.feed_urls``; the child process stops on exit.

    A plain subprocess (``python -m newsdesk.eval.feedfarm``) rather than
    multiprocessing, so it works whatever the parent's ``__main__`` is.
    """

    def __init__(self, spec: FarmSpec) -> None:
        self.spec = spec
        self.feed_urls: list[str] = []
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> FeedFarm:
        args = [sys.executable, "-m", "newsdesk.eval.feedfarm", json.dumps(self.spec.__dict__)]
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603
                                      text=True)
        line = self._ask(None)
        if not line:
            self._stop()
            raise RuntimeError("the feed farm exited before serving")
        self.feed_urls = list(json.loads(line))
        return self

    def stats(self) -> Stats:
        return Stats(**json.loads(self._ask("stats")))

    def _ask(self, command: str | None) -> str:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        if command is not None:
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
        return self._proc.stdout.readline()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.communicate("stop\n", timeout=10)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            proc.kill()
            proc.wait(5)


if __name__ == "__main__":
    asyncio.run(_serve(FarmSpec(**json.loads(sys.argv[1]))))
