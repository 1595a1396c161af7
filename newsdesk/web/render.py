"""Template environment, request-scoped helpers and error responses.

Pages and the API reach shared state (database, settings, clock, templates)
through ``request.app.state`` via these helpers, so routers never import the
app module and tests can swap the clock to pin "24 minutes ago".
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from newsdesk.config import Settings
from newsdesk.enrich.related import RelatedFinder
from newsdesk.store.db import Database
from newsdesk.web import timefmt, views
from newsdesk.web.security import nonce_of

TEMPLATES = Path(__file__).parent / "templates"
SITE_NAME = "newsdesk"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def related_of(request: Request) -> RelatedFinder:
    """The app's related-articles finder (semantic once articles have vectors)."""
    finder: RelatedFinder = request.app.state.related
    return finder


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now_of(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


def is_api(request: Request) -> bool:
    path: str = request.url.path
    return path == "/api" or path.startswith("/api/")


def build_templates(clock_source: Callable[[], Clock]) -> Jinja2Templates:
    """Autoescaping Jinja with the filters templates need.

    ``clock_source`` is read on every call so a test replacing the app's
    clock after start-up is honoured.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update({
        "reltime": lambda dt: timefmt.relative(dt, clock_source()()),
        "absdate": timefmt.absolute,
        "isodate": timefmt.iso,
        "longdate": timefmt.long_date,
        "safe_url": views.safe_url,
        "outlet_path": views.outlet_path,
        "badge": views.badge_class,
        "initial": views.initial,
        "script_json": lambda data: Markup(views.script_json(data)),  # noqa: S704 - escaped
    })
    env.globals["site_name"] = SITE_NAME

    def common(request: Request) -> dict[str, Any]:
        return {"csp_nonce": nonce_of(request), "now": clock_source()(),
                "path": request.url.path}

    return Jinja2Templates(env=env, context_processors=[common])


def render(request: Request, name: str, context: dict[str, Any], status: int = 200,
           headers: Mapping[str, str] | None = None) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status,
                                      headers=headers)


ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
               422: "invalid_parameters", 500: "internal_error"}

FRIENDLY = {
    400: "That request did not make sense to us. Check the address and try again.",
    404: "We couldn't find that page. It may have been removed, or the link may be wrong.",
    405: "That action is not available here.",
    422: "Some parameters were not valid.",
    500: "Something went wrong on our side. The error has been logged; please try again.",
}


def error_code(status: int) -> str:
    return ERROR_CODES.get(status, "error" if status >= 500 else "bad_request")


def error_response(request: Request, status: int, message: str = "",
                   details: list[dict[str, Any]] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    """JSON under /api, a friendly HTML page elsewhere; never a traceback."""
    message = message or FRIENDLY.get(status, HTTPStatus(status).phrase)
    if is_api(request):
        body: dict[str, Any] = {"code": error_code(status), "message": message}
        if details:
            body["details"] = details
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    try:
        context = {"status": status, "title": HTTPStatus(status).phrase, "message": message}
        return render(request, "error.html", context, status, headers)
    except Exception:  # the error page itself failed: fall back to plain, escaped HTML
        text = html.escape(message)
        return HTMLResponse(f"<!doctype html><title>Error</title><h1>{status}</h1><p>{text}</p>",
                            status_code=status, headers=headers)
