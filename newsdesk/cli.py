"""The ``newsdesk`` command line: the top layer, wiring settings into every stage."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from newsdesk.accounts.cli import user_app
from newsdesk.config import Settings
from newsdesk.store.db import Database

if TYPE_CHECKING:  # the AI stack loads only for the commands that use it
    from newsdesk.ai.service import AIService
    from newsdesk.ai.types import Cited
    from newsdesk.store.check import CheckReport
    from newsdesk.store.migrate import MigrationReport

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


@app.callback()
def _process(ctx: typer.Context) -> None:
    """Metrics mode and logging, once per process, named after the command (serve, worker...)."""
    from newsdesk.obs import setup_process

    try:
        setup_process(_settings(), ctx.invoked_subcommand or "cli")
    except ValueError as exc:  # a bad NEWSDESK_LOG_LEVEL or NEWSDESK_LOG_FORMAT
        _fail(str(exc))


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


@app.command("migrate-db")
def migrate_db(
    target: Annotated[str, typer.Option("--to", help="database URL to copy into")],
    source: Annotated[str | None, typer.Option(
        "--from", help="database URL to copy from (default: this installation's)")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="replace the rows of a non-empty target")] = False,
) -> None:
    """Move a whole installation to another database (SQLite <-> PostgreSQL) and verify it."""
    from newsdesk.store.migrate import MigrationError, migrate_database, redact

    source = source or _settings().resolved_database_url
    console.print(f"copying {redact(source)} -> {redact(target)}", soft_wrap=True)
    columns = (TextColumn("{task.description}"), TextColumn("{task.completed} rows"),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            tasks: dict[str, TaskID] = {}

            def advance(table: str, rows: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(table)
                progress.advance(tasks[table], rows)

            report = migrate_database(source, target, force=force, progress=advance)
    except MigrationError as exc:
        _fail(str(exc))
        return
    _print_migration(report)
    if not report.identical:
        raise typer.Exit(1)


def _print_migration(report: MigrationReport) -> None:
    table = Table("table", "source rows", "target rows", "checksum", "identical")
    for t in report.tables:
        table.add_row(t.name, str(t.source_rows), str(t.target_rows), t.target_checksum[:12],
                      "[green]yes[/green]" if t.identical else "[red]NO[/red]")
    console.print(table)
    console.print("search index: rebuilt by the target (SQLite FTS5 triggers, PostgreSQL "
                  "generated tsvector). ANN index: not copied; each node rebuilds its file "
                  "from article_vectors on first use (or run `newsdesk enrich`).", soft_wrap=True)
    sys.stdout.write(json.dumps(report.as_dict()) + "\n")


@app.command()
def check(
    as_json: Annotated[bool, typer.Option("--json", help="print the report as one JSON line")]
    = False,
) -> None:
    """Verify the installation is consistent; exits non-zero listing the problems."""
    from newsdesk.store.check import check_installation

    settings = _settings()
    report = check_installation(settings, _open_db(settings))
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict()) + "\n")
    else:
        _print_check(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_check(report: CheckReport) -> None:
    table = Table("check", "result", "examples")
    for f in report.findings:
        result = "[green]ok[/green]" if f.ok else f"[red]{f.problems} problems[/red]"
        table.add_row(f.description, result, "\n".join(f.examples))
    out.print(table)
    verdict = "consistent" if report.ok else f"{len(report.problems)} checks failed"
    out.print(f"{report.articles} articles, {verdict} ({report.seconds:.2f} s)")


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
    from newsdesk.jobs.enrichment import enrich_exclusively

    enricher = Enricher(settings, db)
    pending = len(enricher.pending(limit=10_000_000))
    if not pending:
        return
    with _progress(pending, "enriching") as progress:
        report = enrich_exclusively(settings, db, enricher,
                                    _advance(progress))  # type: ignore[arg-type]
    if report is None:
        console.print("Another process (a worker) is enriching right now; it will "
                      "finish the pending articles.")
        return
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
    host: Annotated[str | None, typer.Option(help="address to bind [NEWSDESK_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="port to bind [NEWSDESK_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="web processes [NEWSDESK_WEB_WORKERS]")] = None,
) -> None:
    """Serve the web reader and the JSON API, in one process or in --workers N."""
    settings = _settings()
    settings = settings.with_(host=host or settings.host, port=port or settings.port,
                              web_workers=workers or settings.web_workers)
    _serve(settings, _open_db(settings))  # migrated here, once, before any worker starts


# uvicorn kills a worker that does not answer its supervisor's ping in time. Its
# default, 5 s, is shorter than a worker's start on a loaded 2-core host (imports
# of C extensions hold the GIL the ping thread needs), which made it kill and
# respawn the same worker forever; a hung worker is still replaced within this.
WORKER_PING_SECONDS = 30


def _serve(settings: Settings, db: Database) -> None:
    """Serve ``db`` in this process, or run ``settings.web_workers`` processes.

    Several workers are spawned by uvicorn, which passes them nothing but the
    environment and the listening socket: each builds its own Settings and
    Database in ``create_app_from_env``. So the effective settings (flags
    included) are exported first, and the schema must already be migrated
    (the caller's ``_open_db``): N processes never race through Alembic.
    """
    import uvicorn

    out.print(f"newsdesk is serving on [bold]http://{settings.host}:{settings.port}/[/bold]"
              + (f" with {settings.web_workers} workers" if settings.web_workers > 1 else ""))
    if settings.web_workers <= 1:
        from newsdesk.web.app import create_app

        uvicorn.run(create_app(settings, db), host=settings.host, port=settings.port,
                    log_level="warning")
        return
    db.dispose()  # the parent holds no connection while the workers run; it reopens on use
    _export_settings(settings)
    uvicorn.run("newsdesk.web.app:create_app_from_env", factory=True,
                workers=settings.web_workers, host=settings.host, port=settings.port,
                log_level="warning", timeout_worker_healthcheck=WORKER_PING_SECONDS)


def _export_settings(settings: Settings) -> None:
    """Write every effective setting as ``NEWSDESK_*`` so spawned processes rebuild the same."""
    for f in fields(settings):
        value = getattr(settings, f.name)
        text = ("1" if value else "0") if isinstance(value, bool) else str(value)
        os.environ[f"NEWSDESK_{f.name.upper()}"] = text


def _broker_settings() -> Settings:
    """Settings for the background commands, which make no sense without a broker."""
    settings = _settings()
    if not settings.broker_url:
        _fail("background work needs a broker: set NEWSDESK_BROKER_URL to a Redis "
              "(redis://host:6379/0) or RabbitMQ (amqp://user:pass@host:5672//) URL; "
              "without one, `newsdesk ingest` and `newsdesk enrich` do the work in-process")
    return settings


def _install_celery_hooks() -> None:
    """Task ids in log lines and task metrics, when newsdesk.obs is installed."""
    try:
        from newsdesk.obs.celery import install_celery_hooks
    except ModuleNotFoundError as exc:
        if exc.name not in ("newsdesk.obs", "newsdesk.obs.celery"):
            raise
        return
    install_celery_hooks()


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="queues to consume, comma-separated")] = (
        "fetch,extract,enrich"),
    concurrency: Annotated[int | None, typer.Option(
        min=1, help="worker processes [NEWSDESK_WORKER_CONCURRENCY]")] = None,
) -> None:
    """Run a Celery worker (prefork pool) for the fetch, extract and enrich queues."""
    from newsdesk.jobs.app import QUEUES, make_celery

    settings = _broker_settings()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown or not names:
        _fail(f"unknown queue(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(QUEUES)}")
    _open_db(settings).dispose()  # migrated once here, before the pool forks
    _install_celery_hooks()
    make_celery(settings).worker_main([
        "worker", "--pool=prefork", f"--queues={','.join(names)}",
        f"--concurrency={concurrency or settings.worker_concurrency}",
        f"--loglevel={settings.log_level}", f"--hostname=newsdesk-{os.getpid()}@%h",
        "--without-mingle", "--without-gossip",  # no peer chatter: faster start, less traffic
    ])


@app.command()
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="queue one batch of due sources and exit")]
    = False,
) -> None:
    """Queue due sources for the workers every NEWSDESK_SCHEDULER_INTERVAL seconds."""
    import signal

    from kombu.exceptions import OperationalError
    from kombu.utils.url import maybe_sanitize_url

    from newsdesk.jobs.app import make_celery
    from newsdesk.jobs.scheduler import Scheduler

    settings = _broker_settings()
    runner = Scheduler(settings, _open_db(settings), make_celery(settings))
    if once:
        try:
            queued = runner.run_once()
        except OperationalError as exc:
            _fail(f"cannot reach the broker at {maybe_sanitize_url(settings.broker_url)}: {exc}")
            return
        out.print(f"queued {queued} sources")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"scheduling every {settings.scheduler_interval:g}s (Ctrl-C to stop)")
    try:
        runner.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


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
    dates_from_text: Annotated[bool, typer.Option(
        help="date undated articles from their text as the extractor would; "
             "the time-blind run is reported beside it")] = False,
) -> None:
    """Stream articles through the product's online clusterer next to two baselines."""
    from newsdesk.eval import clustering

    _run_eval(lambda progress: clustering.evaluate(dataset, limit=limit, progress=progress,
                                                   dates_from_text=dates_from_text))


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



@eval_app.command("refresh")
def eval_refresh(
    feeds: Annotated[int, typer.Option(help="feeds in the loopback farm")] = 200,
    items: Annotated[int, typer.Option(help="items per feed")] = 20,
    words: Annotated[int, typer.Option(help="words per item")] = 300,
    corpus: Annotated[str | None, typer.Option(
        help="JSONL with title/text (default: the BBC corpus of the shared data; "
             "'' generates text)")] = None,
    database_url: Annotated[str, typer.Option(
        help="an EMPTY database to measure on (default: a new SQLite file in a temp dir)")] = "",
    enrich: Annotated[bool, typer.Option(help="also time the enrichment catch-up")] = True,
) -> None:
    """Refresh speed: first pass, 304 pass and enrichment catch-up; last line is JSON."""
    from newsdesk.eval import refresh
    from newsdesk.eval.feedfarm import FarmSpec

    settings = _settings()
    text = refresh.default_corpus(settings) if corpus is None else corpus
    spec = FarmSpec(feeds=feeds, items=items, words=words, corpus=text)
    _run_eval(lambda progress: refresh.run_in_tempdir(
        settings, spec, database_url=database_url, progress=progress, enrich=enrich))

PG_ADMIN_URL = "postgresql://127.0.0.1:5432/test"
"""Where the load and crash runs create (and drop) a database of their own on PostgreSQL."""


@eval_app.command("load")
def eval_load(
    backend: Annotated[str, typer.Option(help="sqlite or postgresql")] = "sqlite",
    broker: Annotated[str, typer.Option(help="Celery broker URL")] = "redis://127.0.0.1:6379/5",
    feeds: Annotated[int, typer.Option(help="feeds ingested while readers read")] = 500,
    items: Annotated[int, typer.Option(help="items per feed")] = 20,
    readers: Annotated[int, typer.Option(help="concurrent readers (wrk connections)")] = 64,
    workers: Annotated[int, typer.Option(help="worker processes")] = 2,
    until_enriched: Annotated[bool, typer.Option(
        "--until-enriched/--until-ingested",
        help="keep reading until enrichment has caught up too")] = True,
    pg_admin_url: Annotated[str, typer.Option(help="PostgreSQL to create a database in")]
    = PG_ADMIN_URL,
    keep_logs: Annotated[Path | None, typer.Option(help="copy every process log here")] = None,
) -> None:
    """Readers on every page kind while workers ingest; last line is JSON (issue #6)."""
    from newsdesk.eval import load

    _check_backend(backend)
    result = _guarded(lambda: load.run(
        _settings(), backend=backend, broker_url=broker, pg_admin_url=pg_admin_url,
        feeds=feeds, items=items, readers=readers, workers=workers,
        until_enriched=until_enriched, keep_logs=keep_logs))
    out.print(json.dumps(result), soft_wrap=True)


@eval_app.command("crash")
def eval_crash(
    backend: Annotated[str, typer.Option(help="sqlite or postgresql")] = "sqlite",
    broker: Annotated[str, typer.Option(help="Celery broker URL")] = (
        "amqp://guest:guest@127.0.0.1:5672//"),
    feeds: Annotated[int, typer.Option(help="feeds in the loopback farm")] = 250,
    items: Annotated[int, typer.Option(help="items per feed")] = 20,
    kills: Annotated[int, typer.Option(help="SIGKILLs during the ingest")] = 10,
    workers: Annotated[int, typer.Option(help="worker processes")] = 2,
    corpus: Annotated[str | None, typer.Option(
        help="JSONL with title/text (default: the BBC corpus; '' generates unique texts)")]
    = None,
    anchor: Annotated[bool, typer.Option(help="also run without kills, side by side")] = True,
    pg_admin_url: Annotated[str, typer.Option(help="PostgreSQL to create a database in")]
    = PG_ADMIN_URL,
    keep_logs: Annotated[Path | None, typer.Option(help="copy every process log here")] = None,
) -> None:
    """kill -9 workers during an ingest, then check exactly-once; last line is JSON."""
    from newsdesk.eval import crash

    _check_backend(backend)
    result = _guarded(lambda: crash.run(
        _settings(), backend=backend, broker_url=broker, pg_admin_url=pg_admin_url,
        feeds=feeds, items=items, kills=kills, workers=workers, anchor=anchor,
        corpus=corpus, keep_logs=keep_logs))
    out.print(json.dumps(result), soft_wrap=True)
    if not result["passed"]:
        raise typer.Exit(1)


def _check_backend(backend: str) -> None:
    if backend not in ("sqlite", "postgresql"):
        _fail(f"--backend must be sqlite or postgresql, not {backend!r}")


def _guarded(run: Callable[[], dict[str, object]]) -> dict[str, object]:
    """Run a benchmark; a missing tool or an unreachable service is one clear line.

    SIGTERM (``timeout``, Ctrl-C from a supervisor) unwinds like Ctrl-C, so the
    benchmark's ``finally`` blocks stop the servers and workers it started.
    """
    import signal

    from newsdesk.eval.wrk import WrkMissing

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run()
    except (OSError, TimeoutError, WrkMissing) as exc:
        _fail(f"{type(exc).__name__}: {exc}")
        raise  # unreachable: _fail exits


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
