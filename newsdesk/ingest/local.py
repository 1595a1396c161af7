"""Local input: saved HTML pages, folders of them, and JSONL corpora.

Each reader turns a file into normalised ``Article`` objects and nothing else;
storing them is the pipeline's job.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsdesk.ingest.extract import ExtractionError, extract
from newsdesk.model import Article

HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")


class LocalInputError(ValueError):
    """A local file that cannot be read as an article or a corpus line."""


@dataclass(frozen=True)
class LocalItem:
    """One unit of local work: an article, or the reason it could not be read."""

    origin: str
    article: Article | None = None
    error: str = ""


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def discover_files(path: Path) -> list[Path]:
    """Every HTML or JSONL file at ``path`` (a file or a folder, recursively), sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LocalInputError(f"{path}: no such file or folder")
    suffixes = HTML_SUFFIXES + JSONL_SUFFIXES
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))


def read_html_file(path: Path) -> Article:
    """Extract the article of a saved page; its URL is the page's canonical, else the file."""
    html = _read_bytes(path)
    article = extract(html, url=path.resolve().as_uri())
    if article.canonical_url and article.url.startswith("file:"):
        article.url = article.canonical_url
    return article


def _parse_date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def article_from_record(record: dict[str, object], origin: str) -> Article:
    """Adapt one corpus line (``{"title","text","outlet",...}``) to an Article."""
    title = str(record.get("title") or "").strip()
    text = str(record.get("text") or record.get("article") or "").strip()
    if not title or not text:
        raise LocalInputError(f"{origin}: a corpus line needs a title and a text")
    url = str(record.get("url") or "")
    if not url.startswith(("http://", "https://")):
        url = f"urn:newsdesk:{origin}"
    paragraphs = [p.strip() for p in text.replace("\r", "").split("\n") if p.strip()]
    return Article(
        url=url,
        canonical_url=str(record.get("canonical_url") or ""),
        title=title[:1000],
        text="\n".join(paragraphs),
        outlet=str(record.get("outlet") or ""),
        byline=str(record.get("byline") or record.get("author") or ""),
        published_at=_parse_date(record.get("published_at") or record.get("date")),
        language=str(record.get("language") or ""),
        copyright=str(record.get("copyright") or ""),
        image=str(record.get("image") or ""),
    )


def read_jsonl(path: Path) -> Iterator[LocalItem]:
    """Articles of a JSONL corpus; a bad line is reported and skipped, never fatal."""
    stem = path.name.split(".")[0]
    with (gzip.open(path, "rt", encoding="utf-8", errors="replace") if path.name.endswith(".gz")
          else path.open(encoding="utf-8", errors="replace")) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise LocalInputError("a corpus line must be a JSON object")
                origin = f"{stem}:{record.get('id', number)}"
                yield LocalItem(origin, article_from_record(record, origin))
            except (ValueError, LocalInputError) as exc:
                yield LocalItem(f"{path}:{number}", error=str(exc))


def read_path(path: Path) -> Iterator[LocalItem]:
    """Every article under ``path``: HTML pages and JSONL corpora alike."""
    for file in discover_files(path):
        if file.name.lower().endswith(JSONL_SUFFIXES):
            yield from read_jsonl(file)
            continue
        try:
            yield LocalItem(str(file), read_html_file(file))
        except (ExtractionError, OSError, EOFError, gzip.BadGzipFile) as exc:
            yield LocalItem(str(file), error=f"{file}: {exc}")


def count_items(path: Path) -> int:
    """How many articles ``read_path`` will try (lines for JSONL), for a progress bar."""
    total = 0
    for file in discover_files(path):
        if file.name.lower().endswith(JSONL_SUFFIXES):
            opener = gzip.open if file.name.endswith(".gz") else open
            with opener(file, "rb") as fh:
                total += sum(1 for line in fh if line.strip())
        else:
            total += 1
    return total
