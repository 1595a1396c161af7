"""The one base class of newsdesk's Celery tasks: what to retry and where state lives.

Transient failures (the database or a broker briefly away, a timeout) are
retried with capped exponential back-off and full jitter, so a restarting
PostgreSQL does not get every worker back at the same second. Anything else is
permanent: retrying a malformed message or a bug only repeats the failure, so
the task fails at once and Celery logs it with its traceback. A feed or page
that cannot be fetched is neither: the pipeline records it on the source,
which backs off on its own schedule.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc
from celery import Task

from newsdesk.config import Settings

if TYPE_CHECKING:
    from newsdesk.jobs.runtime import Runtime

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,  # connection lost, server restarting, SQLite busy
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,  # the broker, when a task queues follow-up work
    ConnectionError,
    TimeoutError,
)


class NewsdeskTask(Task):
    """Late acknowledgement, no result, and the process's runtime at hand."""

    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True

    @property
    def runtime(self) -> Runtime:
        """This worker process's runtime (built once per process, see ``NewsdeskCelery``)."""
        runtime: Runtime = self.app.runtime()
        return runtime


def retry_options(settings: Settings,
                  extra: tuple[type[BaseException], ...] = ()) -> dict[str, Any]:
    """``app.task`` options for Celery's autoretry: transient errors only, capped back-off."""
    return {
        "autoretry_for": TRANSIENT + extra,
        "max_retries": settings.task_max_retries,
        "retry_backoff": True,
        "retry_backoff_max": max(1, int(settings.task_max_backoff)),
        "retry_jitter": True,
    }
