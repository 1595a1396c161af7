"""Ingest throughput of the whole pipeline next to the embedding step alone.

Each BBC corpus article is rendered as a plain HTML page (headline, byline,
paragraphs, page chrome) so the timed path is the product's: extract, store,
then enrich (dedup, tag, embed, cluster, index). The anchor is the embedder
alone on the same article texts, in the same run.
"""

from __future__ import annotations

import html
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newsdesk.config import Settings
from newsdesk.enrich.embed import article_text, load_embedder
from newsdesk.enrich.enricher import Enricher
from newsdesk.ingest.extract import extract
from newsdesk.store import articles as article_store
from newsdesk.store.db import Database

_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title} - {outlet}</title><meta property="og:site_name" content="{outlet}">
<link rel="canonical" href="{url}"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<main><article><h1>{title}</h1>{body}</article>
<aside><h2>Related Articles</h2><ul><li><a href="/x">More news</a></li></ul></aside></main>
<footer><p>About us | Contact | Privacy</p></footer></body></html>"""


def corpus_records(path: Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if limit is not None and n >= limit:
                return
            yield json.loads(line)


def render_page(record: dict[str, Any], n: int) -> tuple[str, str]:
    url = f"https://bench.newsdesk.invalid/{record.get('category', 'news')}/{n}"
    paragraphs = [p for p in str(record["text"]).split("\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    page = _PAGE.format(title=html.escape(record["title"]), outlet=html.escape(
        record.get("outlet", "BBC News")), url=url, body=body)
    return page, url


def measure(corpus: Path, limit: int | None = None) -> dict[str, Any]:
    """Articles per second: whole pipeline vs embedding alone, same articles, same run."""
    records = list(corpus_records(corpus, limit))
    pages = [render_page(r, n) for n, r in enumerate(records)]
    embedder = load_embedder()
    embedder.encode(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), sample="")
        db = Database(settings.resolved_database_url)
        db.migrate()
        start = time.perf_counter()
        for page, url in pages:
            article = extract(page, url)
            with db.write() as session:
                article_store.save_article(session, article)
        extracted = time.perf_counter()
        report = Enricher(settings, db, embedder).run_pending()
        pipeline_s = time.perf_counter() - start
        enrich_s = time.perf_counter() - extracted
        db.dispose()
    start = time.perf_counter()
    embedder.encode([article_text(r["title"], r["text"]) for r in records])
    embed_s = time.perf_counter() - start
    n = len(records)
    return {
        "articles": n,
        "pipeline_articles_per_s": round(n / pipeline_s, 2),
        "embedding_alone_articles_per_s": round(n / embed_s, 2),
        "ratio": round((n / pipeline_s) / (n / embed_s), 3),
        "seconds": {"pipeline": round(pipeline_s, 2), "extract_and_store":
                    round(pipeline_s - enrich_s, 2), "enrich": round(enrich_s, 2),
                    "embedding_alone": round(embed_s, 2)},
        "enrich": {"enriched": report.enriched, "duplicates": report.duplicates,
                   "stories": report.new_stories, "errors": len(report.errors)},
    }
