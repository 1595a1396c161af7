"""``newsdesk demo``: subscribe to the default outlets and fill the store.

When the outlets cannot be reached (an offline machine, a closed network) it
says so in one line and ingests the offline sample instead, so the reader is
never empty.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rich.console import Console

from newsdesk.config import Settings
from newsdesk.ingest.opml import parse_opml
from newsdesk.ingest.pipeline import IngestReport, Pipeline
from newsdesk.store import articles, sources
from newsdesk.store.db import Database

ProgressFactory = Callable[[int, str], AbstractContextManager[Any]]

# Inside ../shared/data, the parts that make a good sample: a real news corpus
# and real article pages (the extraction benchmark's HTML).
SAMPLE_PARTS = ("corpus", "extraction/scrapinghub-dev/html")


def subscribe_defaults(db: Database, opml_path: Path) -> int:
    """Subscribe to the shipped outlets unless the user already has sources."""
    with db.write() as session:
        if sources.list_sources(session):
            return 0
        added = 0
        for feed in parse_opml(opml_path.read_bytes()):
            _, new = sources.add_source(session, feed.xml_url, title=feed.title,
                                        site_url=feed.html_url, category=feed.category)
            added += new
        return added


def sample_paths(sample: str) -> list[Path]:
    """The folders or files of the offline sample that exist."""
    if not sample:
        return []
    root = Path(sample)
    parts = [root / part for part in SAMPLE_PARTS if (root / part).exists()]
    return parts or ([root] if root.exists() else [])


def run_demo_ingest(settings: Settings, db: Database, opml_path: Path, console: Console,
                    progress: ProgressFactory) -> IngestReport:
    """Fetch the outlets; fall back to the offline sample when none answers."""
    from newsdesk.ingest.local import count_items

    subscribe_defaults(db, opml_path)
    pipeline = Pipeline(settings, db)
    with progress(pipeline.due_count(), "fetching outlets") as bar:
        task = bar.tasks[0].id
        report = asyncio.run(pipeline.run_due(lambda n: bar.advance(task, n)))
    reached = report.sources - report.failed_sources
    with db.read() as session:
        stored = articles.count_articles(session)
    if report.sources == 0:
        console.print(f"No source is due for a check yet; showing the {stored} stored articles.")
        return report
    if reached:
        console.print(f"{reached} outlets answered; {report.created} new articles.")
        return report
    paths = sample_paths(settings.sample)
    if not paths:
        console.print(f"The outlets cannot be reached and no offline sample is configured "
                      f"(NEWSDESK_SAMPLE); showing the {stored} stored articles.")
        return report
    console.print(f"The outlets cannot be reached ({report.failed_sources} failed); "
                  f"ingesting the offline sample from {settings.sample} instead.")
    for path in paths:
        with progress(count_items(path), f"sample: {path.name}") as bar:
            advance = functools.partial(bar.advance, bar.tasks[0].id)
            report.merge(pipeline.ingest_path(path, advance))
    return report
