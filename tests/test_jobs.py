"""Background work on real Celery workers and real brokers (Redis, RabbitMQ).

A worker subprocess (``newsdesk worker``) runs against the test's database
(SQLite file or PostgreSQL schema) with feeds and pages served on loopback; the
scheduler queues the due sources; the tests wait until every article is stored
exactly once and enriched. Skipped per broker when it is not running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded
from kombu import Connection
from sqlalchemy import func, select
from typer.testing import CliRunner

from newsdesk.cli import app as cli_app
from newsdesk.config import Settings
from newsdesk.enrich.enricher import Enricher
from newsdesk.jobs.app import QUEUES, make_celery
from newsdesk.jobs.locks import exclusive
from newsdesk.jobs.messages import entry_from_message, entry_to_message
from newsdesk.jobs.runtime import Runtime
from newsdesk.jobs.scheduler import Scheduler
from newsdesk.model import Article, FeedEntry
from newsdesk.store import articles as article_store
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, ArticleTagRow, SourceRow
from tests.fixtureserver import FixtureServer, Request, Response

ROOT = Path(__file__).resolve().parents[1]
NEWSDESK = ROOT / ".venv" / "bin" / "newsdesk"
REDIS_URL = "redis://127.0.0.1:6379/9"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"

# Five different stories; "port" is linked from both feeds (stored once all the same).
STORIES = {
    "port": ("Rotterdam port electrifies its cranes", [
        "The Port of Rotterdam approved a plan on Monday to electrify every crane at the "
        "Maasvlakte container terminal by the end of next year, officials said.",
        "The project will cost about 80 million euros and is paid for in part by a European "
        "Union climate fund, according to the port authority's annual report.",
        "Dock workers' union FNV welcomed the decision but asked for training guarantees "
        "before the first electric cranes arrive in the spring."]),
    "rail": ("Deutsche Bahn orders new night trains", [
        "Deutsche Bahn said on Tuesday it had ordered forty sleeper carriages from Siemens "
        "Mobility for routes linking Berlin, Vienna and Paris from 2027.",
        "The order is worth 600 million euros and follows a surge in demand for overnight "
        "travel across Europe, the company's chief executive told reporters in Berlin.",
        "Environmental groups praised the move, while rival operators in Austria said they "
        "would expand their own Nightjet fleet over the same period."]),
    "wheat": ("Drought cuts Australian wheat forecast", [
        "Australia's agriculture bureau cut its wheat harvest forecast by a fifth on "
        "Wednesday after the driest winter in New South Wales for two decades.",
        "Farmers in Victoria and South Australia also reported poor rainfall, and analysts in "
        "Sydney said global prices could rise if Argentina's crop disappoints as well.",
        "The bureau will publish a revised estimate in December, once the harvest is under "
        "way in Queensland and Western Australia."]),
    "chips": ("Samsung opens chip plant in Texas", [
        "Samsung Electronics opened its new semiconductor factory in Taylor, Texas, on "
        "Thursday, three years after construction began, the company said in Seoul.",
        "The plant will make advanced processors for artificial intelligence and has "
        "received billions of dollars in subsidies under the CHIPS Act, officials said.",
        "Texas Governor Greg Abbott attended the opening and said the factory would employ "
        "about two thousand people once it runs at full capacity next year."]),
    "vote": ("Chile's senate passes pension reform", [
        "Chile's Senate approved a long-debated pension reform late on Friday, raising "
        "employer contributions and creating a state-run fund, lawmakers said in Valparaiso.",
        "President Gabriel Boric called the vote historic, while opposition senators from "
        "Renovacion Nacional said the reform would cost jobs at small businesses.",
        "The bill now returns to the Chamber of Deputies in Santiago for a final vote "
        "expected before the end of the month."]),
}
FEEDS = {"/feed-a": ["port", "rail", "wheat"], "/feed-b": ["port", "chips", "vote"]}


def _page(slug: str) -> str:
    title, paragraphs = STORIES[slug]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html lang='en'><head><title>{title}</title>"
            "<meta property='og:site_name' content='Loopback News'>"
            "<meta property='article:published_time' content='2025-03-04T10:00:00Z'></head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>")


def _rss(server: FixtureServer, slugs: list[str]) -> str:
    items = "".join(f"<item><title>{STORIES[s][0]}</title><link>{server.url('/a/' + s)}</link>"
                    "</item>" for s in slugs)
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>Loopback News</title>"
            f"<link>{server.base}/</link>{items}</channel></rss>")


def _serve_news(server: FixtureServer, db: Database,
                page: Callable[[str], Response | Callable[[Request], Response]]) -> None:
    """Register both feeds and every page, and subscribe to the feeds."""
    for slug in STORIES:
        server.add(f"/a/{slug}", page(slug))
    with db.write() as session:
        for path, slugs in FEEDS.items():
            url = server.add(path, Response(body=_rss(server, slugs),
                                            content_type="application/rss+xml"))
            source_store.add_source(session, url)


# -- brokers and workers ----------------------------------------------------------------


def _redis_broker() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return REDIS_URL


def _amqp_broker() -> str:
    try:
        with Connection(AMQP_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
            channel = conn.default_channel
            for name in QUEUES:
                channel.queue_declare(name, durable=True, auto_delete=False)
                channel.queue_purge(name)
    except Exception as exc:  # any failure to reach it means "not available here"
        pytest.skip(f"RabbitMQ is not reachable on 127.0.0.1:5672: {exc}")
    return AMQP_URL


BROKERS = {"redis": _redis_broker, "rabbitmq": _amqp_broker}


def _job_settings(settings: Settings, broker: str) -> Settings:
    return settings.with_(broker_url=broker, task_time_limit=60.0, scheduler_interval=1.0)


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update({
        "NEWSDESK_DATA_DIR": str(settings.data_dir),
        "NEWSDESK_DATABASE_URL": settings.database_url,
        "NEWSDESK_ALLOW_PRIVATE_NETWORKS": "1",
        "NEWSDESK_BROKER_URL": settings.broker_url,
        "NEWSDESK_TASK_TIME_LIMIT": str(settings.task_time_limit),
        "NEWSDESK_CONNECT_TIMEOUT": "2",
        "NEWSDESK_TOTAL_TIMEOUT": "10",
        "NEWSDESK_SAMPLE": "",
        "NEWSDESK_LOG_LEVEL": "INFO",
    })
    return env


@contextmanager
def _worker(settings: Settings, log: Path,
            concurrency: int = 2) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``newsdesk worker`` (prefork) in its own process group, stopped afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen([str(NEWSDESK), "worker", "--concurrency", str(concurrency)],
                                env=_worker_env(settings), stdout=out, stderr=subprocess.STDOUT,
                                cwd=ROOT, start_new_session=True)
    try:
        _wait_for(lambda: b" ready." in log.read_bytes() or proc.poll() is not None, 40)
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        yield proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:  # cold shutdown: the test's work is done, nothing to finish
        os.killpg(proc.pid, signal.SIGQUIT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Pool processes that outlived their parent (after a kill -9) go too.
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait_for(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    return False


def _all_enriched(db: Database, expected: int) -> bool:
    with db.read() as session:
        total, done = session.execute(
            select(func.count(ArticleRow.id), func.count(ArticleRow.enriched_at))).one()
    return bool(total == expected and done == expected)


def _assert_stored_once_and_enriched(db: Database, server: FixtureServer) -> None:
    with db.read() as session:
        rows = list(session.scalars(select(ArticleRow)))
        urls = sorted(r.url for r in rows)
        tagged = session.scalar(select(func.count(func.distinct(ArticleTagRow.article_id))))
        sources = list(session.scalars(select(SourceRow)))
    assert urls == sorted(server.url(f"/a/{s}") for s in STORIES)
    assert all(r.story_id is not None and r.enriched_at is not None for r in rows)
    assert tagged == len(STORIES)
    for source in sources:  # the fetch replaced the scheduler's lease with the real next check
        assert source.error_count == 0 and source.last_success_at is not None
        assert source.next_check_at is not None
        gap = (source.next_check_at - source.last_success_at).total_seconds()
        assert gap >= 5 * 60


# -- end to end ---------------------------------------------------------------------------


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_workers_store_every_article_once_and_enrich_it(
        broker: str, settings: Settings, db: Database, server: FixtureServer,
        tmp_path: Path) -> None:
    settings = _job_settings(settings, BROKERS[broker]())
    _serve_news(server, db, lambda slug: Response(body=_page(slug)))
    with _worker(settings, tmp_path / "worker.log"):
        scheduler = Scheduler(settings, db, make_celery(settings))
        assert scheduler.run_once() == 2
        assert scheduler.run_once() == 0  # leased: a second tick queues nothing twice
        finished = _wait_for(lambda: _all_enriched(db, len(STORIES)), 60)
        assert finished, (tmp_path / "worker.log").read_text(errors="replace")[-4000:]
    # "port" is in both feeds: two extract tasks may fetch it at once, one stores it.
    _assert_stored_once_and_enriched(db, server)
    # Each worker process keeps its fetcher: robots.txt once per process, not per article.
    assert len(server.hits("/robots.txt")) <= 2


@pytest.mark.slow
def test_a_task_killed_mid_run_is_redelivered(settings: Settings, db: Database,
                                              server: FixtureServer, tmp_path: Path) -> None:
    settings = _job_settings(settings, BROKERS["redis"]())
    hit = threading.Event()

    def slow_once(slug: str) -> Callable[[Request], Response]:
        def handler(req: Request) -> Response:
            if not hit.is_set():
                hit.set()
                time.sleep(3)  # the worker running this task is killed meanwhile
            return Response(body=_page(slug))
        return handler

    _serve_news(server, db, lambda slug: slow_once(slug) if slug == "rail" else
                Response(body=_page(slug)))
    log = tmp_path / "worker.log"
    with _worker(settings, log, concurrency=1) as proc:
        Scheduler(settings, db, make_celery(settings)).run_once()
        assert hit.wait(30), log.read_text(errors="replace")[-4000:]
        for child in _children(proc.pid):
            os.kill(child, signal.SIGKILL)
        finished = _wait_for(lambda: _all_enriched(db, len(STORIES)), 60)
        assert finished, log.read_text(errors="replace")[-4000:]
    assert len(server.hits("/a/rail")) >= 2  # the killed task ran again
    assert b"WorkerLostError" in log.read_bytes()
    _assert_stored_once_and_enriched(db, server)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


# -- pieces, without a worker ---------------------------------------------------------------


def test_an_interrupted_fetch_frees_its_host_slot_and_the_loop(
        settings: Settings, db: Database, server: FixtureServer) -> None:
    """What a soft time limit does to a task: the next task on the process runs normally."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        # A worker killed by an earlier test may still hold a lease on this
        # host (that is what leases are for); it would make this one wait.
        client.delete("newsdesk:host:127.0.0.1")
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    server.add("/slow", lambda req: (time.sleep(8), Response(body="late"))[1])
    server.add("/fast", Response(body="ok", content_type="text/plain"))
    runtime = Runtime(settings.with_(redis_url=REDIS_URL, per_host_concurrency=1,
                                     total_timeout=20.0))

    def interrupt(*_: object) -> None:
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(SoftTimeLimitExceeded):
            runtime.fetch(lambda fetcher: fetcher.get(server.url("/slow")))
        started = time.monotonic()
        result = runtime.fetch(lambda fetcher: fetcher.get(server.url("/fast")))
        assert result.content == b"ok"
        assert time.monotonic() - started < 5  # the one slot was handed back, not left to expire
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        runtime.close()


def test_scheduler_leases_each_due_source_once(settings: Settings, db: Database) -> None:
    settings = settings.with_(broker_url="memory://", source_error_limit=3)
    with db.write() as session:
        for i in range(6):
            row, _ = source_store.add_source(session, f"https://example{i % 2}.org/feed{i}")
            row.error_count = 5 if i == 5 else 0  # given up on: never scheduled
    scheduler = Scheduler(settings.with_(scheduler_per_host=2), db, make_celery(settings))
    picked: list[list[int]] = []
    threads = [threading.Thread(target=lambda: picked.append(scheduler.lease_due()))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [i for batch in picked for i in batch] + scheduler.lease_due()
    # Every due source exactly once (none twice across the racing ticks), the one
    # given up on never, and at most two of one host in any batch.
    assert sorted(taken) == [1, 2, 3, 4, 5]
    assert all(len([i for i in batch if i % 2]) <= 2 for batch in picked)
    assert scheduler.lease_due() == []


def test_enrich_lock_lets_one_holder_in(settings: Settings, db: Database) -> None:
    clients: list[redis.Redis | None] = [None]
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        clients.append(redis.Redis.from_url(REDIS_URL))
    except redis.exceptions.ConnectionError:
        pass
    name = f"test:lock:{os.getpid()}:{time.time_ns()}"
    for client in clients:
        other = Database(settings.resolved_database_url)  # another process's connections
        try:
            with exclusive(db, client, lease_seconds=10, name=name) as first:
                assert first
                with exclusive(other, client, lease_seconds=10, name=name) as second:
                    assert not second
            with exclusive(other, client, lease_seconds=10, name=name) as again:
                assert again  # released on exit
        finally:
            other.dispose()


def test_enricher_rebuilds_its_indexes_after_another_process_enriched(
        settings: Settings, db: Database, embedder: object) -> None:
    """A copy enriched by B of an article A enriched is still found to be a copy."""
    text = " ".join(STORIES["rail"][1]) * 2
    ids = []
    for i, body in enumerate([" ".join(STORIES["wheat"][1]), text, text]):
        article = Article(url=f"https://outlet{i}.example/{i}", title=f"Story {i}", text=body,
                          outlet=f"Outlet {i}")
        with db.write() as session:
            ids.append(article_store.save_article(session, article).article_id)
    a = Enricher(settings, db, embedder=embedder)  # type: ignore[arg-type]
    b = Enricher(settings, db, embedder=embedder)  # type: ignore[arg-type]
    b.enrich([ids[0]])  # B builds its indexes
    a.enrich([ids[1]])  # then A enriches the original
    assert b.refresh_if_stale()
    b.enrich([ids[2]])  # B must know A's article to see the copy
    with db.read() as session:
        assert session.get(ArticleRow, ids[2]).duplicate_of == ids[1]  # type: ignore[union-attr]
    assert not b.refresh_if_stale()


def test_entry_messages_round_trip_and_reject_bad_input() -> None:
    from datetime import UTC, datetime

    entry = FeedEntry(url="https://example.org/a", title="A", author="Jo", tags=["x"],
                      published_at=datetime(2025, 3, 4, 10, tzinfo=UTC))
    assert entry_from_message(entry_to_message(entry)) == entry
    for bad in (None, [], {"title": "no url"}, {"url": "https://e.org", "title": 3},
                {"url": "https://e.org", "tags": "x"}, {"url": "https://e.org",
                                                        "published_at": "yesterday"}):
        with pytest.raises(ValueError):
            entry_from_message(bad)


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_background_commands_need_a_broker(command: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NEWSDESK_BROKER_URL", raising=False)
    result = CliRunner().invoke(cli_app, [command])
    assert result.exit_code == 1
    assert "NEWSDESK_BROKER_URL" in result.output and "Traceback" not in result.output
