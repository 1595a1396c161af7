"""The Celery application: broker, queues, reliability options and the tasks.

Background work runs the in-process pipeline's own code on Celery workers. It is
configured for at-least-once delivery, because every task is idempotent and a
lost article is worse than a repeated one:

* ``acks_late`` + ``reject_on_worker_lost``: a message is acknowledged after
  its task finished, so a worker killed mid-task (OOM, ``kill -9``, a
  deploy) hands the task to another worker instead of dropping it;
* ``prefetch_multiplier=1``: a busy process holds no queue of tasks that idle
  ones could run (tasks are long, messages cheap);
* three queues, ``fetch``, ``extract`` and ``enrich``, so a long enrichment
  backlog never holds feed polling back and workers can be sized per queue.

No result backend: tasks record their outcome in the database.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown
from kombu import Exchange, Queue

from newsdesk.config import Settings
from newsdesk.jobs.runtime import Runtime

QUEUES = ("fetch", "extract", "enrich")
FETCH_SOURCE = "newsdesk.fetch_source"
EXTRACT_ENTRY = "newsdesk.extract_entry"
ENRICH_PENDING = "newsdesk.enrich_pending"
ROUTES = {FETCH_SOURCE: "fetch", EXTRACT_ENTRY: "extract", ENRICH_PENDING: "enrich"}


class NewsdeskCelery(Celery):
    """A Celery app that carries its Settings and one Runtime per process.

    The runtime (database engines, pipeline, enricher with its models and
    indexes) is expensive and not fork-safe, so each worker process builds
    its own once, on ``worker_process_init``, and every task reuses it.
    """

    def __init__(self, settings: Settings, **kw: Any) -> None:
        super().__init__("newsdesk", **kw)
        self.settings = settings
        self._runtime: Runtime | None = None
        self._runtime_lock = threading.Lock()

    def runtime(self) -> Runtime:
        """This process's runtime, built on first use (pools without process init)."""
        with self._runtime_lock:
            if self._runtime is None:
                self._runtime = Runtime(self.settings)
            return self._runtime

    def close_runtime(self) -> None:
        with self._runtime_lock:
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery options newsdesk relies on (see the module docstring for why)."""
    hard = float(settings.task_time_limit)
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        # Redis redelivers an unacknowledged message after this long; it must
        # outlast a queued task plus a running one, or both would run twice.
        "broker_transport_options": {"visibility_timeout": int(2 * hard + 60)},
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_time_limit": hard,
        "task_soft_time_limit": hard * 0.9,
        # Each queue its own direct exchange and key: a bare Queue(name) would bind
        # all three to the default exchange under one key and mix them.
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name)
                        for name in QUEUES],
        "task_default_queue": "fetch",
        "task_routes": {name: {"queue": queue} for name, queue in ROUTES.items()},
        "enable_utc": True,
    }


def make_celery(settings: Settings) -> NewsdeskCelery:
    """The Celery app for ``settings``, with newsdesk's tasks registered."""
    from newsdesk.jobs import tasks

    app = NewsdeskCelery(settings, set_as_current=False)
    app.conf.update(celery_config(settings))
    tasks.register(app)
    _connect_process_signals(app)
    return app


def _connect_process_signals(app: NewsdeskCelery) -> None:
    """Build the runtime when a pool process starts; close it when it exits."""

    def on_init(**_: Any) -> None:
        app.runtime()

    def on_shutdown(**_: Any) -> None:
        app.close_runtime()

    uid = f"newsdesk-runtime-{id(app)}"
    worker_process_init.connect(on_init, weak=False, dispatch_uid=uid + "-init")
    worker_process_shutdown.connect(on_shutdown, weak=False, dispatch_uid=uid + "-shutdown")
