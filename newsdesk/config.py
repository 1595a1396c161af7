"""One settings object, read from ``NEWSDESK_*`` environment variables and passed in.

Nothing below this module reads the environment: every stage receives the
``Settings`` it needs, which keeps tests hermetic (build a ``Settings`` by hand)
and makes the set of knobs discoverable in one place. ``docs/configuration.md``
documents each field; a test fails when one is missing there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from newsdesk import __version__

MiB = 1024 * 1024

_TRUE = {"1", "true", "yes", "on"}


def _default_sample() -> str:
    """The offline sample: real pages and corpus in ``../shared/data`` when present."""
    here = Path.cwd() / ".." / "shared" / "data"
    return str(here.resolve()) if here.is_dir() else ""


@dataclass(frozen=True)
class Settings:
    """Every tunable of newsdesk. Field names map to ``NEWSDESK_<NAME>`` env vars."""

    data_dir: Path = Path("data")
    database_url: str = ""
    # Fetching (see newsdesk.ingest.fetch)
    user_agent: str = (
        f"newsdesk/{__version__} (+https://github.com/newsdesk/newsdesk; self-hosted news reader)"
    )
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_body_bytes: int = 15 * MiB
    max_redirects: int = 5
    per_host_concurrency: int = 2
    total_concurrency: int = 16
    allow_private_networks: bool = False
    respect_robots: bool = True
    # Scheduling and back-off for failing sources
    min_refresh_minutes: int = 5
    max_refresh_minutes: int = 24 * 60
    default_refresh_minutes: int = 60
    max_backoff_minutes: int = 24 * 60
    max_items_per_feed: int = 200
    # Fetch each entry's page: "auto" only when the feed carries a teaser, "always", "never"
    crawl_pages: str = "auto"
    # Sources failing this many times in a row are no longer scheduled (0: never give up)
    source_error_limit: int = 10
    # Processes parsing feeds during a refresh of many sources (-1: one per spare core)
    parse_processes: int = -1
    # Background work (newsdesk.jobs); everything runs in-process when broker_url is empty
    broker_url: str = ""
    redis_url: str = ""
    scheduler_interval: float = 30.0
    scheduler_batch_size: int = 100
    scheduler_per_host: int = 10
    worker_concurrency: int = 2
    task_time_limit: float = 300.0
    task_max_retries: int = 5
    task_max_backoff: float = 600.0
    # Observability (newsdesk.obs)
    log_format: str = "text"
    log_level: str = "INFO"
    metrics_dir: str = ""
    # Offline sample used by `newsdesk demo` when outlets cannot be reached
    sample: str = field(default_factory=_default_sample)
    # Optional LLM behind an OpenAI-compatible endpoint (newsdesk.ai.llm); off when empty
    llm_url: str = ""
    llm_model: str = ""
    llm_timeout: float = 20.0
    llm_max_tokens: int = 256
    llm_cooldown: float = 60.0
    llm_api_key: str = ""
    # Accounts (newsdesk.accounts, newsdesk.web.auth)
    allow_registration: bool = True
    session_days: int = 30
    trust_proxy: bool = False
    secure_cookies: bool = False
    max_request_bytes: int = 1 * MiB
    # Web server
    host: str = "127.0.0.1"
    port: int = 8000
    page_size: int = 30
    web_workers: int = 1

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL; SQLite in ``data_dir`` unless one is configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'newsdesk.db').as_posix()}"

    @property
    def resolved_redis_url(self) -> str:
        """Redis for the shared per-host limiter and locks: set, else a Redis broker, else none."""
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url.startswith(("redis://", "rediss://")) else ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``NEWSDESK_*`` variables, converting each to its field type."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"NEWSDESK_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = _convert(f.name, str(f.type), raw)
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests and CLI flags use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _convert(name: str, type_name: str, raw: str) -> object:
    try:
        if type_name == "bool":
            return raw.strip().lower() in _TRUE
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "Path":
            return Path(raw)
    except ValueError as exc:
        raise ValueError(f"NEWSDESK_{name.upper()}={raw!r} is not a valid {type_name}") from exc
    return raw
