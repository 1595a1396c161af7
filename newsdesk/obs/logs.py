"""Logging set up once per process: human text or one JSON object per line.

Request and task ids live in context variables, not in every call site: the
web middleware and the Celery hooks bind them, and a logging filter copies them
onto each record, so any ``logging.getLogger(__name__).info(...)`` deep in the
pipeline is attributable to the request or task that caused it.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from newsdesk.config import Settings

request_id_var: ContextVar[str] = ContextVar("newsdesk_request_id", default="")
task_id_var: ContextVar[str] = ContextVar("newsdesk_task_id", default="")

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(process_role)s %(name)s: %(message)s%(ids)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message")
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_state: dict[str, str] = {}  # "process" once configure_logging ran


class ContextFilter(logging.Filter):
    """Copies the bound request/task id and the process role onto every record."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def filter(self, record: logging.LogRecord) -> bool:
        fields = vars(record)  # an explicit extra={"task_id": ...} wins over the context
        fields["request_id"] = fields.get("request_id") or request_id_var.get()
        fields["task_id"] = fields.get("task_id") or task_id_var.get()
        fields["process_role"] = self.process
        ids = [f"{key}={fields[key]}" for key in ("request_id", "task_id") if fields[key]]
        fields["ids"] = f" [{' '.join(ids)}]" if ids else ""
        return True


class NewsdeskJsonFormatter(JsonFormatter):
    """JSON lines with stable keys: time, level, logger, message, process, ids, extras.

    ``process`` is the role (web, worker, ...) rather than LogRecord's pid,
    which is kept as ``pid``; the text-only helper attributes are dropped.
    """

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("ids", None)
        log_data["process"] = log_data.pop("process_role", "")
        log_data["pid"] = record.process

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC with milliseconds: sortable and unambiguous across hosts."""
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def json_formatter() -> logging.Formatter:
    return NewsdeskJsonFormatter(list(JSON_FIELDS), rename_fields=dict(JSON_RENAMES))


def text_formatter() -> logging.Formatter:
    return logging.Formatter(TEXT_FORMAT)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time, not when it was configured.

    Test runners (and Typer's CliRunner) swap stderr for a buffer they later
    close; a handler holding on to that buffer would fail on every later line.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        return None


def build_handler(settings: Settings, process: str, stream: Any = None) -> logging.Handler:
    """A stream handler (stderr by default) with the configured format and the id filter."""
    if settings.log_format not in ("text", "json"):
        raise ValueError(f"NEWSDESK_LOG_FORMAT must be text or json, not {settings.log_format!r}")
    handler = StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(json_formatter() if settings.log_format == "json" else text_formatter())
    handler.addFilter(ContextFilter(process))
    return handler


QUIET_LOGGERS = ("alembic", "httpx", "httpcore", "trafilatura", "htmldate")
"""Libraries that log every migration check or request at INFO."""


def configure_logging(settings: Settings, process: str, stream: Any = None) -> None:
    """Route every logger through one handler on the root logger; idempotent.

    Called once per process by the CLI (``process`` names its role: serve,
    worker, ingest, ...). Calling it again replaces the handler, so a test or
    a re-exec never doubles every line.
    """
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise ValueError(f"NEWSDESK_LOG_LEVEL={settings.log_level!r} is not a logging level")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "newsdesk", False)]:
        root.removeHandler(old)
    handler = build_handler(settings, process, stream)
    handler.newsdesk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:  # chatter at INFO that says nothing an operator acts on
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
    _state["process"] = process


def unconfigure_logging() -> None:
    """Undo :func:`configure_logging` (tests; embedding newsdesk in another program)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "newsdesk", False)]:
        root.removeHandler(old)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(False)
    _state.clear()


def is_configured() -> bool:
    """Whether this process configured logging (the web app then adopts uvicorn's loggers)."""
    return "process" in _state


def adopt_uvicorn_loggers() -> None:
    """Send uvicorn's own logs through our handler; its access log is replaced by ours.

    ``uvicorn.run`` installs its own handlers after the CLI configured logging,
    so the web app calls this at startup, once uvicorn is done.
    """
    if not is_configured():
        return
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
