"""Prometheus metrics: event counters and histograms, plus state read at scrape time.

Two kinds of numbers, kept apart on purpose:

* **Events** (fetches, tasks, stored articles, page latency) are counted where
  they happen, in whichever process does the work. With ``metrics_dir`` set they
  go through prometheus_client's multiprocess mode (one mmap file per process),
  so ``/metrics`` on one node adds up the web workers and every Celery worker.
* **State** (queue depth, articles per minute, enrichment backlog, sources due or
  failing) is read from the broker and the database when ``/metrics`` is
  scraped, by :class:`StateCollector`: nothing to keep in sync, never stale.

Metrics are built lazily on first use, because prometheus_client decides per
metric, at construction, whether it is multiprocess: :func:`setup` must run
before that, and the CLI calls it first thing in every process.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from newsdesk.config import Settings

log = logging.getLogger(__name__)

QUEUES = ("fetch", "extract", "enrich")
"""The Celery queues whose depth ``/metrics`` reports."""

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TASK_BUCKETS = (0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Metrics:
    """Every event metric newsdesk records (names and labels: docs/operations.md)."""

    fetches: Counter
    fetch_errors: Counter
    fetch_seconds: Histogram
    tasks: Counter
    task_seconds: Histogram
    task_retries: Counter
    articles_stored: Counter
    http_seconds: Histogram


def _build(registry: CollectorRegistry) -> Metrics:
    def counter(name: str, doc: str, labels: Sequence[str]) -> Counter:
        return Counter(name, doc, labels, registry=registry)

    def histogram(name: str, doc: str, labels: Sequence[str], buckets: Sequence[float]
                  ) -> Histogram:
        return Histogram(name, doc, labels, buckets=buckets, registry=registry)

    return Metrics(
        fetches=counter("newsdesk_fetches", "HTTP fetches by outcome (ok, not_modified, error)",
                        ["outcome"]),
        fetch_errors=counter("newsdesk_fetch_errors", "Failed HTTP fetches by error kind",
                             ["kind"]),
        fetch_seconds=histogram("newsdesk_fetch_duration_seconds",
                                "Wall time of one fetch, redirects included", ["outcome"],
                                FETCH_BUCKETS),
        tasks=counter("newsdesk_tasks", "Background tasks finished, by task and outcome",
                      ["task", "outcome"]),
        task_seconds=histogram("newsdesk_task_duration_seconds", "Run time of one task",
                               ["task", "outcome"], TASK_BUCKETS),
        task_retries=counter("newsdesk_task_retries", "Task retries scheduled", ["task"]),
        articles_stored=counter("newsdesk_articles_stored",
                                "Articles saved, by result (created, updated, unchanged, "
                                "duplicate)", ["status"]),
        http_seconds=histogram("newsdesk_http_request_duration_seconds",
                               "Web request latency by route template, method, status class",
                               ["route", "method", "status"], HTTP_BUCKETS),
    )


_lock = threading.Lock()
_current: list[Metrics] = []
_multiproc_dir: list[str] = []


def metrics() -> Metrics:
    """The process's metrics, built on first use (after :func:`setup`, if it runs)."""
    if not _current:
        with _lock:
            if not _current:
                _current.append(_build(REGISTRY))
    return _current[0]


def setup(settings: Settings) -> bool:
    """Switch this process to multiprocess metrics when ``metrics_dir`` is set.

    Call before anything records a metric (the CLI does, at start). Sets
    ``PROMETHEUS_MULTIPROC_DIR`` for prometheus_client and registers an exit hook
    that marks this process dead (its live gauges leave the aggregate). Wipe the
    directory when the whole node restarts, never while processes still run.
    Returns whether multiprocess mode is on.
    """
    if not settings.metrics_dir:
        return False
    path = Path(settings.metrics_dir)
    path.mkdir(parents=True, exist_ok=True)
    with _lock:
        if _multiproc_dir:
            return True
        os.environ[MULTIPROC_ENV] = str(path)
        values.ValueClass = values.MultiProcessValue()
        _multiproc_dir.append(str(path))
        _rebuild()
    atexit.register(mark_process_dead)
    return True


def _rebuild() -> None:
    """Recreate metrics built before :func:`setup` so they write to the shared files."""
    if not _current:
        return
    for metric in vars(_current.pop()).values():
        REGISTRY.unregister(metric)
    _current.append(_build(REGISTRY))


def mark_process_dead(pid: int | None = None) -> None:
    """Drop a finished process's live gauges from the aggregate (no-op in one process)."""
    if _multiproc_dir:
        multiprocess.mark_process_dead(pid or os.getpid(), _multiproc_dir[0])


# ---------------------------------------------------------------------- recording

P = ParamSpec("P")
R = TypeVar("R")

_KIND_BY_CLASS = {"BlockedAddressError": "blocked", "RobotsDisallowedError": "robots"}
_KIND_BY_REASON = (("timed out", "timeout"), ("larger than", "too_large"),
                   ("redirect", "redirect"), ("connect", "connect"), ("resolve", "connect"),
                   ("decompress", "decode"), ("URL", "invalid_url"))


def fetch_error_kind(exc: BaseException) -> str:
    """A small, fixed vocabulary of fetch failures, so the label set stays bounded.

    Duck-typed on ``FetchError`` (this layer cannot import the fetcher): an
    explicit ``kind`` attribute wins, then the class, the HTTP status, the reason.
    """
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str) and kind:
        return kind
    name = type(exc).__name__
    if name in _KIND_BY_CLASS:
        return _KIND_BY_CLASS[name]
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return "http_429" if status == 429 else f"http_{status // 100}xx"
    if name != "FetchError":
        return "exception"
    reason = str(getattr(exc, "reason", ""))
    return next((kind for needle, kind in _KIND_BY_REASON if needle in reason), "other")


def record_fetch(outcome: str, seconds: float, error_kind: str = "") -> None:
    m = metrics()
    m.fetches.labels(outcome=outcome).inc()
    m.fetch_seconds.labels(outcome=outcome).observe(seconds)
    if error_kind:
        m.fetch_errors.labels(kind=error_kind).inc()


def observe_fetch(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate an async fetch: count it by outcome and time it, errors included."""

    @functools.wraps(fn)
    async def observed(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            record_fetch("error", time.perf_counter() - started, fetch_error_kind(exc))
            raise
        outcome = "not_modified" if getattr(result, "not_modified", False) else "ok"
        record_fetch(outcome, time.perf_counter() - started)
        return result

    return observed


def count_article(status: str) -> None:
    """One article saved with this result (``SaveResult.status``)."""
    metrics().articles_stored.labels(status=status).inc()


def record_task(task: str, outcome: str, seconds: float | None) -> None:
    m = metrics()
    m.tasks.labels(task=task, outcome=outcome).inc()
    if seconds is not None:
        m.task_seconds.labels(task=task, outcome=outcome).observe(seconds)


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    status_class = f"{status // 100}xx" if 100 <= status < 600 else "other"
    metrics().http_seconds.labels(route=route, method=method, status=status_class
                                  ).observe(seconds)


# ------------------------------------------------------------------ state at scrape

Probe = Callable[[], Iterable[Metric]]


class StateCollector(Collector):
    """Runs named probes at scrape time; a failing probe is logged and reported, not fatal.

    ``newsdesk_probe_up{probe}`` is 0 for a probe that failed on this scrape
    (database down, broker unreachable), so an alert can tell "no backlog"
    from "could not look".
    """

    def __init__(self, probes: Mapping[str, Probe]) -> None:
        self.probes = dict(probes)

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("newsdesk_probe_up", "Whether a scrape-time probe answered",
                               labels=["probe"])
        families: list[Metric] = []
        for name, probe in self.probes.items():
            try:
                families.extend(probe())
                up.add_metric([name], 1)
            except Exception as exc:  # every scrape would repeat a traceback: one line
                log.warning("metrics probe %s failed: %s: %s", name, type(exc).__name__, exc)
                up.add_metric([name], 0)
        return [*families, up]


@dataclass(frozen=True)
class DatabaseStats:
    """What the store knows about throughput and backlog (filled by the web layer)."""

    articles_last_5m: int
    enrichment_backlog: int
    sources: int
    sources_due: int
    sources_failing: int


def database_families(stats: DatabaseStats) -> list[Metric]:
    def gauge(name: str, doc: str, value: float) -> Metric:
        return GaugeMetricFamily(name, doc, value=value)

    return [
        gauge("newsdesk_articles_per_minute", "Articles stored per minute over the last 5 minutes",
              stats.articles_last_5m / 5),
        gauge("newsdesk_enrichment_backlog", "Stored articles not enriched yet",
              stats.enrichment_backlog),
        gauge("newsdesk_sources", "Subscribed sources", stats.sources),
        gauge("newsdesk_sources_due", "Unpaused sources whose next check is due",
              stats.sources_due),
        gauge("newsdesk_sources_failing", "Sources whose last check failed",
              stats.sources_failing),
    ]


def queue_families(depths: Mapping[str, int]) -> list[Metric]:
    family = GaugeMetricFamily("newsdesk_queue_depth", "Messages waiting in a Celery queue",
                               labels=["queue"])
    for queue, depth in depths.items():
        family.add_metric([queue], depth)
    return [family]


# Celery's Redis transport keeps priorities 3, 6 and 9 in lists of their own.
_REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depths(broker_url: str, queues: Sequence[str] = QUEUES, timeout: float = 1.0
                 ) -> dict[str, int]:
    """Messages waiting per queue: Redis LLEN, or an AMQP passive declare; {} without a broker."""
    if broker_url.startswith(("redis://", "rediss://")):
        return _redis_depths(broker_url, queues, timeout)
    if broker_url.startswith(("amqp://", "amqps://", "pyamqp://")):
        return _amqp_depths(broker_url, queues, timeout)
    return {}


def _redis_depths(url: str, queues: Sequence[str], timeout: float) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for suffix in _REDIS_PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
    finally:
        client.close()
    n = len(_REDIS_PRIORITY_SUFFIXES)
    return {queue: int(sum(lengths[i * n:(i + 1) * n])) for i, queue in enumerate(queues)}


def _amqp_depths(url: str, queues: Sequence[str], timeout: float) -> dict[str, int]:
    from amqp.exceptions import NotFound
    from kombu import Connection

    depths: dict[str, int] = {}
    with Connection(url, connect_timeout=timeout, transport_options={"max_retries": 0}
                    ) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        for queue in queues:
            channel = conn.channel()
            try:
                depths[queue] = int(channel.queue_declare(queue=queue, passive=True).message_count)
            except NotFound:  # not declared yet: nothing was ever sent to it
                depths[queue] = 0
            finally:
                _close_quietly(channel)
    return depths


def _close_quietly(channel: Any) -> None:
    """A failed passive declare already closed the channel; closing again is harmless."""
    try:
        channel.close()
    except Exception as exc:  # the broker already dropped it
        log.debug("closing AMQP channel: %s", exc)


# ------------------------------------------------------------------------ exposition


class _Forward(Collector):
    """Exposes another registry's metrics from a per-scrape registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


def render(settings: Settings, extra: Sequence[Collector] = ()) -> tuple[bytes, str]:
    """The text exposition for ``/metrics``: every process's events plus the state probes."""
    registry = CollectorRegistry(auto_describe=False)
    metrics()  # the families exist (at zero) before the first event
    if settings.metrics_dir:
        multiprocess.MultiProcessCollector(registry, path=settings.metrics_dir)
    else:
        registry.register(_Forward(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
