"""Celery signal hooks: task ids in every log line, task counts and latency in metrics.

The worker calls :func:`install_celery_hooks` once at start. Signals rather
than a task base class, so every task is covered whoever wrote it, and the
hooks run in the process (prefork child or thread) that runs the task, where
the context variable has to be bound.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from celery import signals

from newsdesk.obs import logs, metrics

log = logging.getLogger(__name__)


@dataclass
class _Running:
    started: float
    token: contextvars.Token[str]


_running: dict[str, _Running] = {}
_running_lock = threading.Lock()
_installed: list[bool] = []


def install_celery_hooks() -> None:
    """Connect the hooks (idempotent: a second call connects nothing twice)."""
    if _installed:
        return
    signals.task_prerun.connect(_prerun, weak=False)
    signals.task_postrun.connect(_postrun, weak=False)
    signals.task_failure.connect(_failure, weak=False)
    signals.task_retry.connect(_retry, weak=False)
    signals.worker_process_shutdown.connect(_process_shutdown, weak=False)
    signals.setup_logging.connect(_keep_our_logging, weak=False)
    _installed.append(True)


def _task_name(task: Any) -> str:
    return str(getattr(task, "name", None) or "unknown")


def _prerun(task_id: str = "", task: Any = None, **_: Any) -> None:
    """Bind the task id for log lines and start the clock."""
    token = logs.task_id_var.set(task_id)
    with _running_lock:
        _running[task_id] = _Running(time.perf_counter(), token)


def _postrun(task_id: str = "", task: Any = None, state: str | None = None, **_: Any) -> None:
    """Count the task by its final state (success, failure, retry, ...) and unbind its id."""
    with _running_lock:
        running = _running.pop(task_id, None)
    if running is None:
        return
    outcome = (state or "unknown").lower()
    metrics.record_task(_task_name(task), outcome, time.perf_counter() - running.started)
    try:
        logs.task_id_var.reset(running.token)
    except ValueError:  # postrun in another context than prerun: just clear it
        logs.task_id_var.set("")


def _failure(sender: Any = None, task_id: str = "", exception: BaseException | None = None,
             **_: Any) -> None:
    """Count failures no postrun will report: a hard time limit kills the child process,
    and the parent, which never ran the task here, reports the failure."""
    with _running_lock:
        ran_here = task_id in _running
    if not ran_here:
        metrics.record_task(_task_name(sender), "failure", None)
        log.error("task %s %s failed outside its process: %r", _task_name(sender), task_id,
                  exception, extra={"task_id": task_id})


def _retry(sender: Any = None, **_: Any) -> None:
    metrics.metrics().task_retries.labels(task=_task_name(sender)).inc()


def _process_shutdown(pid: int | None = None, **_: Any) -> None:
    """A prefork child is exiting: its live gauges must leave the multiprocess aggregate."""
    metrics.mark_process_dead(pid or os.getpid())


def _keep_our_logging(loglevel: Any = None, **_: Any) -> None:
    """Stop Celery from replacing the root logger's handlers with its own format.

    Connecting any receiver to ``setup_logging`` does that; when this process
    never configured logging (a worker started without the CLI) fall back to
    a plain basicConfig at Celery's level so nothing is lost.
    """
    if not logs.is_configured():
        logging.basicConfig(level=loglevel or logging.INFO)
