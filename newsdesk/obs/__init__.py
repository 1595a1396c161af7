"""Observability: structured logs with request/task ids, Prometheus metrics, Celery hooks.

A ground layer like ``newsdesk.config``: it imports nothing else from newsdesk,
so every layer (fetching, the pipeline, the web app, workers) can report into
it without breaking the layer rule. See ``docs/operations.md``.
"""

from __future__ import annotations

from newsdesk.config import Settings


def setup_process(settings: Settings, process: str) -> None:
    """Everything a process entry point does once, first: metrics mode, then logging.

    The CLI calls it for every command (``process`` is the command name: serve,
    worker, ingest, ...), as does any other entry point that builds its own
    Settings (a spawned web worker). Metrics first: prometheus_client fixes the
    multiprocess mode of a metric when it is created.
    """
    from newsdesk.obs import logs, metrics

    metrics.setup(settings)
    logs.configure_logging(settings, process)
