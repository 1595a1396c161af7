"""The reader's web app: server-rendered pages plus a small JSON API.

Everything works without JavaScript; the scripts on a page are JSON-LD and
the optional ``/static/ai.js`` enhancement, both carrying the per-request CSP
nonce. The database is created here only
when the caller does not pass one (tests and the CLI pass their own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from newsdesk import __version__
from newsdesk.config import Settings
from newsdesk.enrich.related import RelatedFinder
from newsdesk.obs import setup_process
from newsdesk.obs.logs import adopt_uvicorn_loggers
from newsdesk.store.db import POOL_SIZE, Database
from newsdesk.web import (
    account_opml,
    account_pages,
    admin_pages,
    ai_api,
    api,
    auth,
    feeds_out,
    fever,
    greader,
    health,
    openapi,
    pages,
    queries,
    reader,
    reader_pages,
)
from newsdesk.web.limits import BodyLimitMiddleware
from newsdesk.web.observe import RequestContextMiddleware
from newsdesk.web.render import build_templates, error_response, is_api, utc_now
from newsdesk.web.security import SecurityMiddleware

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """Build the app; migrate and own a database from settings if none is given."""
    owned = db is None
    if db is None:
        db = Database(settings.resolved_database_url)
        db.migrate()
    app = FastAPI(title="newsdesk", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json", lifespan=_lifespan(db, owned),
                  dependencies=[Depends(auth.csrf_protect)])
    app.state.settings = settings
    app.state.db = db
    app.state.clock = utc_now
    app.state.related = RelatedFinder(settings, db)  # loads the model on first use
    app.state.ai = None  # newsdesk.web.ai.service_of builds it on first use
    app.state.memo = queries.Memo(queries.TRENDING_TTL_SECONDS)  # costly, may be a bit stale
    app.state.state_collector = health.state_collector(settings, db)  # /metrics probes
    app.state.templates = build_templates(lambda: app.state.clock)
    app.state.templates.env.globals["feed_links"] = feeds_out.feed_links
    auth.install(app, settings)  # CSRF cookie middleware, login redirect, template globals
    reader.install_globals(app.state.templates)  # follow_mode() for follow/mute buttons
    app.add_middleware(BodyLimitMiddleware, max_bytes=app.state.auth.max_request_bytes,
                       on_reject=_body_rejected)  # inside SecurityMiddleware: 413 gets headers
    app.add_middleware(SecurityMiddleware, on_error=_server_error)
    app.add_middleware(RequestContextMiddleware)  # outermost: ids and timing cover all
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(ai_api.router)
    app.include_router(feeds_out.router)  # before pages: /outlets/{name:path} would match feeds
    app.include_router(pages.router)
    openapi.install(app)
    app.include_router(account_pages.router)
    app.include_router(account_opml.router)
    greader.install(app)  # header-authenticated: added without the CSRF dependency
    fever.install(app)
    app.include_router(reader_pages.router)
    app.include_router(admin_pages.router)
    app.add_api_route("/healthz", _healthz, include_in_schema=False)
    app.add_api_route("/readyz", health.readyz, include_in_schema=False)
    app.add_api_route("/metrics", health.metrics_endpoint, include_in_schema=False)
    return app


async def _healthz() -> dict[str, str]:
    """Liveness for process supervisors and the bench: the process answers."""
    return {"status": "ok"}


WEB_THREADS = POOL_SIZE // 2
"""Concurrent page handlers per web process (see the lifespan below)."""


def _lifespan(db: Database, owned: bool) -> Any:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        adopt_uvicorn_loggers()  # uvicorn.run set up its loggers after ours
        # Page handlers run in worker threads and a page may hold two pooled
        # connections at once (its read session, then the related-articles index
        # counting vectors). With anyio's default 40 threads and a 15-connection
        # pool, 64 readers deadlocked the pool until its 30 s timeout; threads are
        # capped at half the pool instead (and more would not help on 2 cores).
        anyio.to_thread.current_default_thread_limiter().total_tokens = WEB_THREADS
        yield
        if owned:  # a database passed in belongs to the caller
            db.dispose()

    return lifespan


async def _server_error(request: Request, _exc: Exception) -> Response:
    return error_response(request, 500)


async def _body_rejected(request: Request, status: int) -> Response:
    message = "That request was too large." if status == 413 else ""
    return error_response(request, status, message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # Starlette's default detail is the bare status phrase; show our friendlier text then.
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = ""
    return error_response(request, exc.status_code, detail, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422 with the offending parameters for the API; a plain 400 page for readers."""
    assert isinstance(exc, RequestValidationError)
    if not is_api(request):
        return error_response(request, 400)
    details = [{"loc": [str(p) for p in err.get("loc", ())], "message": str(err.get("msg", ""))}
               for err in exc.errors()]
    return error_response(request, 422, "Invalid request parameters.", details)


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


def create_app_from_env() -> FastAPI:
    """The app of one ``newsdesk serve --workers N`` process, built from its environment.

    uvicorn imports this by name in every worker it spawns, and a spawned
    process inherits nothing but the environment, into which the CLI exported
    its effective settings; so this is a process entry point like the CLI and
    the one place under it that reads ``NEWSDESK_*``. The parent migrated the
    schema before spawning, so the worker opens its own engines without running
    Alembic again, and disposes of them when uvicorn shuts it down.
    """
    settings = Settings.from_env()
    setup_process(settings, "serve")  # spawned: nothing of the CLI's setup is inherited
    db = Database(settings.resolved_database_url)
    app = create_app(settings, db)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: FastAPI) -> AsyncIterator[Any]:
        try:
            async with inner(the_app) as state:
                yield state
        finally:
            db.dispose()  # a closed connection, not an EOF in the PostgreSQL log

    app.router.lifespan_context = lifespan
    return app
