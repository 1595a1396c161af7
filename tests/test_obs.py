"""Observability: request ids, JSON logs, /metrics, /readyz, queue depth, multiprocess metrics.

Everything real: the app through Starlette's TestClient, fetches over loopback
HTTP, Redis and RabbitMQ on their local ports (skipped when absent), Celery in
eager mode (its real tracer, which fires the signals), and separate Python
processes writing to one multiprocess directory.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from newsdesk.config import Settings
from newsdesk.ingest.fetch import BlockedAddressError, Fetcher, FetchError
from newsdesk.ingest.pipeline import Pipeline
from newsdesk.obs import logs, metrics
from newsdesk.store.db import Database
from newsdesk.web.app import create_app
from tests.fixtureserver import FixtureServer, Response, free_port

REDIS_URL = "redis://127.0.0.1:6379/11"  # a db index of its own: nothing else lives there
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
ROOT = Path(__file__).resolve().parents[1]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a text exposition, keyed by name and label set."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    logs.configure_logging(Settings(log_format="json", log_level="INFO"), "test", buffer)
    yield buffer
    logs.unconfigure_logging()


def log_lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line]


def redis_client() -> redis.Redis:

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return client


# ------------------------------------------------------------------ request ids and logs


def test_request_id_is_echoed_when_sane_and_generated_otherwise(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7.a_B"}).headers[
        "X-Request-ID"] == "lb-7.a_B"
    for bad in ("x" * 65, "two words", "semi;colon", ""):
        rid = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert rid != bad and len(rid) == 32 and int(rid, 16) >= 0
    first, second = (client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second


def test_json_access_log_carries_the_request_id(client: TestClient, json_log: io.StringIO
                                                ) -> None:
    client.get("/articles/424242", headers={"X-Request-ID": "req-42"})
    access = [line for line in log_lines(json_log) if line["logger"] == "newsdesk.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-42" and line["process"] == "test"
    assert line["level"] == "INFO" and str(line["message"]).startswith("GET /articles/424242 404")
    assert line["route"] == "/articles/{article_id}" and line["status"] == 404
    assert {"time", "task_id", "duration_ms", "method", "path"} <= line.keys()


def test_text_format_appends_the_bound_ids() -> None:
    buffer = io.StringIO()
    logs.configure_logging(Settings(log_format="text"), "worker", buffer)
    try:
        token = logs.task_id_var.set("t-1")
        logging.getLogger("newsdesk.jobs").warning("fetched %d", 3)
        logs.task_id_var.reset(token)
    finally:
        logs.unconfigure_logging()
    assert buffer.getvalue().rstrip().endswith(
        "WARNING worker newsdesk.jobs: fetched 3 [task_id=t-1]")


def test_bad_log_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="LOG_LEVEL"):
        logs.configure_logging(Settings(log_level="loud"), "cli", io.StringIO())
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.configure_logging(Settings(log_format="xml"), "cli", io.StringIO())


def test_a_crash_is_a_friendly_500_with_an_id_and_a_5xx_sample(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    before = sample("newsdesk_http_request_duration_seconds_count", route="/boom", method="GET",
                    status="5xx")
    reply = client.get("/boom")
    assert reply.status_code == 500 and reply.headers["X-Request-ID"]
    assert "Traceback" not in reply.text and "secret internals" not in reply.text
    assert sample("newsdesk_http_request_duration_seconds_count", route="/boom", method="GET",
                  status="5xx") == before + 1


# -------------------------------------------------------------------------- /metrics


def test_metrics_exposes_every_family_after_some_requests(client: TestClient) -> None:
    client.get("/")
    client.get("/articles/1")
    client.request("BREW", "/")
    text = client.get("/metrics").text
    got = samples(text)
    assert got[("newsdesk_http_request_duration_seconds_count", frozenset(
        {"route": "/articles/{article_id}", "method": "GET", "status": "4xx"}.items()))] >= 1
    assert any(name == "newsdesk_http_request_duration_seconds_count"
               and dict(labels).get("method") == "OTHER" for name, labels in got)
    for family in ("newsdesk_fetches_total", "newsdesk_fetch_errors_total",
                   "newsdesk_tasks_total", "newsdesk_task_duration_seconds",
                   "newsdesk_articles_stored_total", "newsdesk_task_retries_total"):
        assert f"# HELP {family.removesuffix('_total')}" in text, family
    for gauge in ("newsdesk_articles_per_minute", "newsdesk_enrichment_backlog",
                  "newsdesk_sources_due", "newsdesk_sources_failing"):
        assert got[(gauge, frozenset())] == 0
    assert got[("newsdesk_probe_up", frozenset({"probe": "database"}.items()))] == 1
    assert not any(name == "newsdesk_queue_depth" for name, _ in got)  # no broker


PAGE = ("<html lang='en'><head><title>Cranes go electric</title></head><body><article>"
        "<h1>Cranes go electric</h1><p>The harbour authority approved a plan on Monday to "
        "electrify every crane at the container terminal by the end of next year.</p><p>The "
        "project costs about 80 million euros and is paid in part by a regional climate "
        "fund, according to the authority's annual report.</p></article></body></html>")


def test_fetches_and_stored_articles_are_counted(server: FixtureServer, settings: Settings,
                                                 strict_settings: Settings, db: Database,
                                                 client: TestClient) -> None:
    url = server.add("/story", Response(body=PAGE))
    ok, created = (sample("newsdesk_fetches_total", outcome="ok"),
                   sample("newsdesk_articles_stored_total", status="created"))
    assert asyncio.run(Pipeline(settings, db).add(url))[0] == "article"
    assert sample("newsdesk_fetches_total", outcome="ok") == ok + 1
    assert sample("newsdesk_articles_stored_total", status="created") == created + 1

    async def fail(fetch_settings: Settings, path: str) -> None:
        async with Fetcher(fetch_settings) as fetcher:
            await fetcher.get(server.url(path))

    errors = {kind: sample("newsdesk_fetch_errors_total", kind=kind)
              for kind in ("http_4xx", "blocked")}
    with pytest.raises(FetchError):
        asyncio.run(fail(settings, "/missing"))
    with pytest.raises(BlockedAddressError):
        asyncio.run(fail(strict_settings, "/story"))
    for kind, before in errors.items():
        assert sample("newsdesk_fetch_errors_total", kind=kind) == before + 1
    got = samples(client.get("/metrics").text)
    assert got[("newsdesk_articles_per_minute", frozenset())] == pytest.approx(1 / 5)
    assert got[("newsdesk_enrichment_backlog", frozenset())] == 1


# --------------------------------------------------------------------------- /readyz


def test_readyz_is_ready_on_a_migrated_database(client: TestClient) -> None:
    reply = client.get("/readyz")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_fails_fast_when_the_broker_is_down(settings: Settings, db: Database) -> None:
    port = free_port()
    down = settings.with_(broker_url=f"amqp://guest:secret@127.0.0.1:{port}//",
                          redis_url=f"redis://:secret@127.0.0.1:{port}/0")
    with TestClient(create_app(down, db)) as client:
        started = time.monotonic()
        reply = client.get("/readyz")
        assert time.monotonic() - started < 3
    body = reply.json()
    assert reply.status_code == 503 and body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok" and body["checks"]["redis"] != "ok"
    assert "secret" not in reply.text and "Traceback" not in reply.text


def test_readyz_fails_when_the_schema_is_behind(settings: Settings) -> None:
    unmigrated = Database(settings.resolved_database_url)  # a fresh, empty database
    try:
        with TestClient(create_app(settings, unmigrated)) as client:
            reply = client.get("/readyz")
    finally:
        unmigrated.dispose()
    assert reply.status_code == 503
    assert "newsdesk migrate" in reply.json()["checks"]["database"]


def test_readyz_checks_a_live_redis_broker(settings: Settings, db: Database) -> None:
    redis_client()
    with TestClient(create_app(settings.with_(broker_url=REDIS_URL), db)) as client:
        reply = client.get("/readyz")
    assert reply.status_code == 200
    assert reply.json()["checks"] == {"database": "ok", "broker": "ok", "redis": "ok"}


# ----------------------------------------------------------------------- queue depth


def test_queue_depth_from_redis(settings: Settings, db: Database) -> None:
    client = redis_client()
    keys = [q + suffix for q in metrics.QUEUES for suffix in ("", "\x06\x163", "\x06\x169")]
    client.delete(*keys)
    try:
        client.rpush("fetch", "a", "b", "c")
        client.rpush("enrich\x06\x169", "urgent")  # a priority list of Celery's Redis transport
        assert metrics.queue_depths(REDIS_URL) == {"fetch": 3, "extract": 0, "enrich": 1}
        app = create_app(settings.with_(broker_url=REDIS_URL), db)
        with TestClient(app) as web:
            got = samples(web.get("/metrics").text)
        assert got[("newsdesk_queue_depth", frozenset({"queue": "fetch"}.items()))] == 3
        assert got[("newsdesk_probe_up", frozenset({"probe": "queues"}.items()))] == 1
    finally:
        client.delete(*keys)
        client.close()


def test_queue_depth_from_rabbitmq() -> None:
    from kombu import Connection, Exchange, Producer, Queue
    from kombu.exceptions import OperationalError

    name = f"newsdesk-test-{uuid.uuid4().hex[:8]}"
    # Publisher confirms: publish returns once the broker has queued the message, so the
    # depth read next cannot race the second publish (it did, once, in a full run).
    with Connection(AMQP_URL, connect_timeout=1,
                    transport_options={"confirm_publish": True}) as conn:
        try:
            conn.ensure_connection(max_retries=0)
        except OperationalError:
            pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
        queue = Queue(name, Exchange(""), routing_key=name, auto_delete=False)
        queue(conn.default_channel).declare()
        try:
            producer = Producer(conn.default_channel)
            for n in range(2):
                producer.publish({"n": n}, routing_key=name)
            missing = f"{name}-missing"
            assert metrics.queue_depths(AMQP_URL, [name, missing]) == {name: 2, missing: 0}
        finally:
            queue(conn.default_channel).delete()


def test_a_failing_probe_is_reported_not_raised() -> None:
    def broken() -> list[object]:
        raise ConnectionError("broker gone")

    collector = metrics.StateCollector({"queues": broken})  # type: ignore[dict-item]
    families = {f.name: f for f in collector.collect()}
    assert [s.value for s in families["newsdesk_probe_up"].samples] == [0]


# --------------------------------------------------------------------- celery hooks


def test_celery_hooks_bind_the_task_id_and_count_outcomes(json_log: io.StringIO) -> None:
    from celery import Celery

    from newsdesk.obs.celery import install_celery_hooks

    install_celery_hooks()
    install_celery_hooks()  # idempotent
    app = Celery("obs-test", broker="memory://", backend="cache+memory://")
    app.conf.task_always_eager = True

    @app.task(name="obs_test.echo")
    def echo(value: int) -> int:
        logging.getLogger("newsdesk.jobs").info("echoing %d", value)
        return value

    @app.task(name="obs_test.boom")
    def boom() -> None:
        raise ValueError("bad input")

    before = {outcome: sample("newsdesk_tasks_total", task=task, outcome=outcome)
              for task, outcome in (("obs_test.echo", "success"), ("obs_test.boom", "failure"))}
    result = echo.delay(7)
    assert result.get() == 7
    assert boom.delay().failed()
    assert sample("newsdesk_tasks_total", task="obs_test.echo", outcome="success") == (
        before["success"] + 1)
    assert sample("newsdesk_tasks_total", task="obs_test.boom", outcome="failure") == (
        before["failure"] + 1)
    assert sample("newsdesk_task_duration_seconds_count", task="obs_test.echo",
                  outcome="success") >= 1
    lines = [line for line in log_lines(json_log) if line["message"] == "echoing 7"]
    assert lines and lines[0]["task_id"] == result.id
    assert logs.task_id_var.get() == ""  # unbound after the task


# ------------------------------------------------------------------------ multiprocess

WRITER = """
import sys
from newsdesk.config import Settings
from newsdesk.obs import metrics
assert metrics.setup(Settings(metrics_dir=sys.argv[1]))
metrics.count_article("created")
metrics.record_request("/articles/{article_id}", "GET", 200, 0.02)
"""


def test_metrics_from_several_processes_add_up(tmp_path: Path, settings: Settings,
                                               db: Database) -> None:
    folder = tmp_path / "metrics"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], cwd=ROOT)
             for _ in range(2)]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    body, _ = metrics.render(Settings(metrics_dir=str(folder)))
    got = samples(body.decode())
    assert got[("newsdesk_articles_stored_total", frozenset({"status": "created"}.items()))] == 2
    with TestClient(create_app(settings.with_(metrics_dir=str(folder)), db)) as client:
        served = samples(client.get("/metrics").text)
    assert served[("newsdesk_http_request_duration_seconds_count", frozenset(
        {"route": "/articles/{article_id}", "method": "GET", "status": "2xx"}.items()))] == 2
    assert served[("newsdesk_probe_up", frozenset({"probe": "database"}.items()))] == 1
