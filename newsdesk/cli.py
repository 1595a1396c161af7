"""The ``newsdesk`` command line: the top layer, wiring settings into every stage."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsdesk.accounts.cli import user_app
from newsdesk.config import Settings
from newsdesk.store.db import Database

if TYPE_CHECKING:  # the AI stack loads only for the commands that use it
    from newsdesk.ai.service import AIService
    from newsdesk.ai.types import Cited

app = typer.Typer(help="newsdesk: a self-hosted AI news desk.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
eval_app = typer.Typer(help="Measure newsdesk against real benchmark data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(user_app, name="user")
console = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        _fail(str(exc))
        raise  # unreachable


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


def _open_db(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db


@contextmanager
def _progress(total: int, label: str) -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        progress.add_task(label, total=total)
        yield progress


def _advance(progress: Progress) -> object:
    task = progress.tasks[0].id
    return lambda n: progress.advance(task, n)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = _settings()
    _open_db(settings)
    out.print(f"database ready: {settings.resolved_database_url}")


@app.command()
def add(url: str) -> None:
    """Add a feed, a site (its feed is discovered) or a single article URL."""
    from newsdesk.ingest.fetch import FetchError
    from newsdesk.ingest.pipeline import Pipeline

    settings = _settings()
    pipeline = Pipeline(settings, _open_db(settings))
    try:
        kind, detail = asyncio.run(pipeline.add(url))
    except (FetchError, ValueError) as exc:
        _fail(str(exc))
        return
    out.print(f"added {kind}: {detail}")


@app.command("import-opml")
def import_opml(path: Path) -> None:
    """Subscribe to every feed of an OPML file."""
    from newsdesk.ingest.opml import OpmlError, parse_opml
    from newsdesk.store import sources

    settings = _settings()
    db = _open_db(settings)
    try:
        feeds = parse_opml(path.read_bytes())
    except (OSError, OpmlError) as exc:
        _fail(f"{path}: {exc}")
        return
    added = 0
    with db.write() as session:
        for feed in feeds:
            _, new = sources.add_source(session, feed.xml_url, title=feed.title,
                                        site_url=feed.html_url, category=feed.category)
            added += new
    out.print(f"{added} new sources ({len(feeds)} in {path.name})")


@app.command("export-opml")
def export_opml(output: Annotated[Path | None, typer.Option("--output", "-o")] = None) -> None:
    """Write every subscription as OPML 2.0 (to stdout by default)."""
    from newsdesk.ingest.opml import OpmlFeed, write_opml
    from newsdesk.store import sources

    db = _open_db(_settings())
    with db.read() as session:
        feeds = [OpmlFeed(xml_url=s.url, title=s.title, html_url=s.site_url, category=s.category)
                 for s in sources.list_sources(session) if s.kind == "feed"]
    text = write_opml(feeds, "newsdesk subscriptions")
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@app.command()
def ingest(
    path: Annotated[Path | None, typer.Argument()] = None,
    enrich_after: Annotated[bool, typer.Option("--enrich/--no-enrich",
                                               help="tag, dedup, embed and cluster after")] = True,
) -> None:
    """Fetch every due source once, or ingest local HTML files / JSONL corpora at PATH."""
    from newsdesk.ingest.pipeline import Pipeline

    settings = _settings()
    db = _open_db(settings)
    pipeline = Pipeline(settings, db)
    if path is not None:
        report = _ingest_local(pipeline, path)
    else:
        with _progress(pipeline.due_count(), "fetching sources") as progress:
            report = asyncio.run(pipeline.run_due(_advance(progress)))  # type: ignore[arg-type]
    _print_report(report)
    if enrich_after:
        run_enrich(settings, db)


@app.command()
def enrich() -> None:
    """Tag, deduplicate, embed and cluster every stored article not enriched yet."""
    settings = _settings()
    run_enrich(settings, _open_db(settings))


def run_enrich(settings: Settings, db: Database) -> None:
    """Enrich pending articles with a progress bar; prints the report as JSON."""
    from newsdesk.enrich.enricher import Enricher

    enricher = Enricher(settings, db)
    pending = len(enricher.pending(limit=10_000_000))
    if not pending:
        return
    with _progress(pending, "enriching") as progress:
        report = enricher.run_pending(_advance(progress))  # type: ignore[arg-type]
    for error in report.errors[:10]:
        console.print(f"[yellow]enrich:[/yellow] {error}", soft_wrap=True)
    out.print(json.dumps({"enriched": report.enriched, "duplicates": report.duplicates,
                          "new_stories": report.new_stories, "errors": len(report.errors)}))


def _ingest_local(pipeline: object, path: Path) -> object:
    from newsdesk.ingest.local import LocalInputError, count_items
    from newsdesk.ingest.pipeline import Pipeline

    assert isinstance(pipeline, Pipeline)
    try:
        total = count_items(path)
    except LocalInputError as exc:
        _fail(str(exc))
    with _progress(total, f"ingesting {path.name}") as progress:
        return pipeline.ingest_path(path, _advance(progress))  # type: ignore[arg-type]


def _print_report(report: object) -> None:
    from newsdesk.ingest.pipeline import IngestReport

    assert isinstance(report, IngestReport)
    for error in report.errors[:10]:
        console.print(f"[yellow]skipped:[/yellow] {error}")
    if len(report.errors) > 10:
        console.print(f"[yellow]… and {len(report.errors) - 10} more errors[/yellow]")
    out.print(json.dumps(report.as_dict()))


@app.command("sources")
def list_sources() -> None:
    """List sources with their schedule and last error."""
    from newsdesk.store import sources

    db = _open_db(_settings())
    table = Table("id", "title", "url", "errors", "next check", "last error")
    with db.read() as session:
        for s in sources.list_sources(session):
            nxt = s.next_check_at.strftime("%Y-%m-%d %H:%M") if s.next_check_at else "now"
            table.add_row(str(s.id), s.title, s.url, str(s.error_count), nxt,
                          (s.last_error or "")[:80])
    out.print(table)


@app.command()
def export(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="one JSON article per line")] = True,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Export every article as the API's JSON objects, one per line."""
    from newsdesk.store import articles
    from newsdesk.store.serialize import article_json

    db = _open_db(_settings())
    sink = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with db.read() as session:
            offset = 0
            while batch := articles.latest_articles(session, limit=200, offset=offset):
                for row in batch:
                    sink.write(json.dumps(article_json(session, row), ensure_ascii=False) + "\n")
                offset += len(batch)
    finally:
        if output:
            sink.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Serve the web reader and the JSON API."""
    settings = _settings()
    settings = settings.with_(host=host or settings.host, port=port or settings.port)
    _serve(settings, _open_db(settings))


def _serve(settings: Settings, db: Database) -> None:
    import uvicorn

    from newsdesk.web.app import create_app

    out.print(f"newsdesk is serving on [bold]http://{settings.host}:{settings.port}/[/bold]")
    uvicorn.run(create_app(settings, db), host=settings.host, port=settings.port,
                log_level="warning")


def default_sources_opml() -> Path:
    return Path(str(resources.files("newsdesk") / "data" / "default-sources.opml"))


@app.command()
def demo(serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True) -> None:
    """Subscribe to the default outlets, ingest them (or the offline sample), and serve."""
    from newsdesk.demo import run_demo_ingest

    settings = _settings()
    db = _open_db(settings)
    run_demo_ingest(settings, db, default_sources_opml(), console, _progress)
    if not serve_after:
        run_enrich(settings, db)
        return
    # Serve at once and enrich alongside: the articles are readable now, and
    # hashtags, stories and semantic related articles fill in as the batches land.
    console.print("Enriching in the background: hashtags, stories and related articles "
                  "appear as it goes.")
    threading.Thread(target=run_enrich, args=(settings, db), daemon=True,
                     name="enrich").start()
    _serve(settings, db)


def _ai(settings: Settings, db: Database) -> AIService:
    """The same service the web app builds (embedder, optional LLM, store retrieval)."""
    from newsdesk.ai.factory import build_ai_service

    return build_ai_service(settings, db)


def _cited_lines(cites: list[Cited], bullet: str) -> list[str]:
    """``[p3s2] sentence`` lines; another article's quotes carry its page link."""
    lines = []
    for c in cites:
        where = f" ({c.outlet}, /articles/{c.article_id}#{c.anchor})" if c.outlet else ""
        lines.append(f"{bullet}[{c.anchor}] {c.text}{where}")
    return lines


@app.command()
def summarize(
    article_id: Annotated[int, typer.Argument(help="the article's id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Print an article's summary and key points, each sentence with its anchor."""
    from newsdesk.ai.factory import UnknownId, article_doc

    settings = _settings()
    db = _open_db(settings)
    service = _ai(settings, db)
    try:
        doc = article_doc(db, article_id)
    except UnknownId as exc:
        _fail(str(exc))
        return
    summary, points = service.summary(doc), service.key_points(doc)
    if as_json:
        typer.echo(json.dumps({"id": article_id, "summary": summary.as_dict(),
                               "keypoints": points.as_dict()}, ensure_ascii=False))
        return
    lines = [f"Summary ({summary.mode})"]
    lines += [f"  {summary.text}"] if summary.mode == "llm" else []
    lines += _cited_lines(summary.sentences, "  ")
    lines += [f"  note: {summary.note}"] if summary.note else []
    lines += ["", "Key points", *_cited_lines(points.points, "  - ")]
    typer.echo("\n".join(lines))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="a question, in quotes")],
    scope: Annotated[str, typer.Option(help="all | article | story")] = "all",
    ident: Annotated[int | None, typer.Option("--id", help="article or story id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Answer a question by quoting the coverage, or say it is not found."""
    from newsdesk.ai.factory import SCOPES, UnknownId, answer

    if scope not in SCOPES:
        _fail(f"--scope must be one of {', '.join(SCOPES)}")
    if scope != "all" and ident is None:
        _fail(f"--id is required with --scope {scope}")
    question = " ".join(question.split())[:500]
    if not question:
        _fail("the question is empty")
    settings = _settings()
    db = _open_db(settings)
    service = _ai(settings, db)
    try:
        result = answer(service, db, question, scope, ident)
    except UnknownId as exc:
        _fail(str(exc))
        return
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    lines = [result.text] if (result.mode == "llm" or not result.found) else []
    lines += [f"[{i}] " + line for i, line in
              enumerate(_cited_lines(result.citations, ""), 1)] if result.found else []
    lines += [f"note: {result.note}"] if result.note else []
    typer.echo("\n".join(lines))


@app.command()
def bench(
    articles: Annotated[int, typer.Option(help="BBC articles through the whole pipeline")] = 500,
    collection: Annotated[int, typer.Option(help="articles in the search collection")] = 100_000,
) -> None:
    """Measure throughput, search, AI latency and memory; the last line is one JSON object."""
    from newsdesk.eval.bench import run

    settings = _settings()
    console.print("benchmarking: this takes several minutes (the 100k collection is cached)")
    out.print(json.dumps(run(settings, articles=articles, collection=collection)),
              soft_wrap=True)


@eval_app.command("extraction")
def eval_extraction(
    dataset: Annotated[Path, typer.Option(help="a folder of ../shared/data/extraction/")],
    limit: Annotated[int | None, typer.Option(help="only the first N pages")] = None,
) -> None:
    """Score our extractor and plain trafilatura side by side; last line is JSON."""
    from newsdesk.eval import extraction

    _run_eval(lambda progress: extraction.evaluate(dataset, limit=limit, progress=progress))


@eval_app.command("dates")
def eval_dates(
    dataset: Annotated[Path, typer.Option(help="../shared/data/dates/htmldate-dev")],
    limit: Annotated[int | None, typer.Option(help="only the first N pages")] = None,
) -> None:
    """Score our publication dates and htmldate side by side; last line is JSON."""
    from newsdesk.eval import dates

    _run_eval(lambda progress: dates.evaluate(dataset, limit=limit, progress=progress))


@eval_app.command("clustering")
def eval_clustering(
    dataset: Annotated[Path, typer.Option(help="a JSONL file of ../shared/data/clustering/")],
    limit: Annotated[int | None, typer.Option(help="only the first N articles")] = None,
) -> None:
    """Stream articles through the product's online clusterer next to two baselines."""
    from newsdesk.eval import clustering

    _run_eval(lambda progress: clustering.evaluate(dataset, limit=limit, progress=progress))


@eval_app.command("summaries")
def eval_summaries(
    dataset: Annotated[Path, typer.Option(help="a JSONL file of ../shared/data/summaries/")],
    limit: Annotated[int | None, typer.Option(help="only the first N items")] = None,
    words: Annotated[int | None, typer.Option(help="cut both summaries to N words")] = None,
) -> None:
    """ROUGE of our summaries and LEAD-3 in the same run; last line is JSON."""
    from newsdesk.eval import summaries

    _run_eval(lambda progress: summaries.evaluate(dataset, limit=limit, words=words,
                                                  progress=progress))


def _run_eval(run: object) -> None:
    assert callable(run)
    columns = (TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("eval", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = run(report)
        except (OSError, ValueError) as exc:
            _fail(str(exc))
    out.print(json.dumps(result), soft_wrap=True)


if __name__ == "__main__":
    app()
