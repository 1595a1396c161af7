"""HTTP bodies and headers: charset decoding, bounded decompression, cache headers.

Split from the fetcher so each piece can be read and tested on its own; the
fetcher (``newsdesk.ingest.fetch``) is the only caller that touches the network.
Decompression is done here, in pieces of at most ``PIECE`` bytes, because
letting the HTTP client inflate a body would let a gzip or brotli bomb allocate
its whole expansion before any size check could run.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import brotli
import charset_normalizer
import httpx

PIECE = 64 * 1024  # largest decoded piece held at once beyond the kept body
SNIFF_BYTES = 8192  # how far into a document to look for a declared charset

# ------------------------------------------------------------------ header parsing


def _http_date(value: str | None) -> datetime | None:
    """An HTTP-date as an aware datetime, or ``None`` when absent or malformed."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = _http_date(text)
        if when is None:
            return None
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if seconds >= 0 else None


def _cache_directives(value: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in value.split(","):
        name, _, arg = part.partition("=")
        if name.strip():
            directives[name.strip().lower()] = arg.strip().strip('"')
    return directives


def parse_ttl(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """How long the response may be reused, per Cache-Control max-age, else Expires.

    ``no-store``/``no-cache`` and an unparseable Expires mean "already stale" (0);
    ``None`` means the server said nothing, so the scheduler's default applies.
    """
    directives = _cache_directives(headers.get("cache-control", ""))
    if "max-age" in directives:
        try:
            return max(0.0, float(directives["max-age"]))
        except ValueError:
            return 0.0
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    if "expires" not in headers:
        return None
    expires = _http_date(headers["expires"])
    if expires is None:
        return 0.0
    base = _http_date(headers.get("date")) or now or datetime.now(UTC)
    return max(0.0, (expires - base).total_seconds())


def lower_headers(headers: httpx.Headers) -> dict[str, str]:
    """Response headers with lower-case keys; repeated headers joined by ", "."""
    merged: dict[str, str] = {}
    for key, value in headers.multi_items():
        key = key.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _header_charset(content_type: str) -> str | None:
    match = _CHARSET_PARAM.search(content_type)
    return match.group(1) if match else None


def _declared_charset(head: bytes) -> str | None:
    """The charset a document declares about itself (XML declaration or <meta>)."""
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", "ignore")
    # A byte-scanned document cannot really be UTF-16; browsers read it as UTF-8.
    return "utf-8" if label.lower().startswith("utf-16") else label


def _try_decode(content: bytes, label: str | None) -> str | None:
    """Strictly decode with ``label``; ``None`` if unknown or the bytes do not fit.

    ISO-8859-1 is read as windows-1252, as browsers do, so "smart quotes" from
    mislabelled pages come out as quotes rather than C1 control characters.
    """
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    candidates = ("cp1252", "latin-1") if name == "iso8859-1" else (name,)
    for candidate in candidates:
        try:
            return content.decode(candidate)
        except UnicodeDecodeError:
            continue
    return None


def decode_body(content: bytes, content_type: str = "") -> str:
    """Bytes to text, always succeeding.

    Order: a BOM (unambiguous, and browsers let it override the header), the
    header charset, the document's own declaration, strict UTF-8, then
    charset-normalizer's guess, and finally UTF-8 with replacement characters.
    """
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace")
    declared = (_header_charset(content_type), _declared_charset(content[:SNIFF_BYTES]), "utf-8")
    for label in declared:
        text = _try_decode(content, label)
        if text is not None:
            return text
    best = charset_normalizer.from_bytes(content).best()
    if best is not None:
        return str(best)
    return content.decode("utf-8", errors="replace")


# ------------------------------------------------------------------------ decoding


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _ZlibDecoder:
    """gzip/deflate, emitting at most ``PIECE`` bytes per step.

    ``max_length`` plus ``unconsumed_tail`` is what keeps a bomb from
    materialising: we never ask zlib for more than one piece at a time.
    """

    def __init__(self, wbits: int, raw_fallback: bool = False) -> None:
        self._d = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" is sometimes sent without zlib header

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._d.decompress(data, PIECE)
        except zlib.error:
            if not self._raw_fallback:
                raise
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data, PIECE)
        self._raw_fallback = False
        yield out
        while self._d.unconsumed_tail or len(out) == PIECE:
            out = self._d.decompress(self._d.unconsumed_tail, PIECE)
            yield out

    def flush(self) -> Iterator[bytes]:
        yield self._d.flush()


class _BrotliDecoder:
    """brotli with the same one-piece-at-a-time bound as :class:`_ZlibDecoder`."""

    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._d.process(data, output_buffer_limit=PIECE)
        yield out
        # Output can still be pending when can_accept_more_data() is True, so
        # drain with empty input until a call yields nothing.
        while out and not self._d.is_finished():
            out = self._d.process(b"", output_buffer_limit=PIECE)
            yield out

    def flush(self) -> Iterator[bytes]:
        yield from ()


def _decoder_for(coding: str) -> _Decoder | None:
    """Decoder for one content-coding; unknown codings pass through, as in httpx."""
    if coding in ("gzip", "x-gzip"):
        return _ZlibDecoder(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True)
    if coding == "br":
        return _BrotliDecoder()
    return None


class DecoderChain:
    """Undo a Content-Encoding list (applied left to right, so undone right to left)."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        decoders = (_decoder_for(c) for c in reversed(codings))
        self._decoders = [d for d in decoders if d is not None]

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def flush(self) -> Iterator[bytes]:
        for index, decoder in enumerate(self._decoders):
            for piece in decoder.flush():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._decoders):
            if data:
                yield data
            return
        for piece in self._decoders[index].feed(data):
            yield from self._through(index + 1, piece)


