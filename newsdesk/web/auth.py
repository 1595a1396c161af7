"""Who is asking, and may they change anything: sessions, CSRF, safe redirects.

Sessions live in the database (``newsdesk.accounts.service``); the cookie only
holds a random token. Every POST/PUT/PATCH/DELETE passes ``csrf_protect``
(installed app-wide by ``create_app``): a foreign ``Origin``/``Referer`` is
refused outright, and a request riding on a session cookie must also carry the
session's CSRF token. Anonymous HTML forms (login, register) use a
double-submit token bound to a cookie, so login CSRF is refused too. Requests
authenticated by ``Authorization: Bearer`` carry no ambient credential and need
no token.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jinja2
from fastapi import Depends, FastAPI, HTTPException
from markupsafe import Markup, escape
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsdesk.accounts import service
from newsdesk.config import Settings
from newsdesk.store.tables import UserRow
from newsdesk.web.render import db_of, error_response, is_api, now_of

SESSION_COOKIE = "newsdesk_session"
ANON_CSRF_COOKIE = "newsdesk_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MiB = 1024 * 1024


@dataclass(frozen=True)
class AuthConfig:
    """Account and web-safety knobs, taken from ``Settings`` (tests build them directly)."""

    allow_registration: bool = True
    session_days: int = 30
    trust_proxy: bool = False  # honour X-Forwarded-Proto / X-Forwarded-For
    secure_cookies: bool = False  # force Secure even on plain http (TLS proxy not trusted)
    max_request_bytes: int = MiB

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthConfig:
        return cls(allow_registration=settings.allow_registration,
                   session_days=settings.session_days, trust_proxy=settings.trust_proxy,
                   secure_cookies=settings.secure_cookies,
                   max_request_bytes=settings.max_request_bytes)


def config_of(request: Request) -> AuthConfig:
    config = getattr(request.app.state, "auth", None)
    return config if isinstance(config, AuthConfig) else AuthConfig()


# -- transport facts --------------------------------------------------------------------


def is_https(request: Request) -> bool:
    """HTTPS directly, or via a TLS-terminating proxy we were told to trust."""
    config = config_of(request)
    if request.url.scheme == "https":
        return True
    if config.trust_proxy:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def client_ip(request: Request) -> str:
    """The peer address; behind a trusted proxy, the last hop it appended."""
    if config_of(request).trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1][:64]
    return request.client.host if request.client else "unknown"


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    """HttpOnly, SameSite=Lax, Secure on HTTPS: never readable by script, not sent cross-site."""
    secure = is_https(request) or config_of(request).secure_cookies
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=secure)


# -- who is asking ----------------------------------------------------------------------


def _lookup(request: Request) -> tuple[UserRow, str] | None:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie:
        with db_of(request).read() as session:
            found = service.user_for_session(session, cookie, now=now_of(request))
        if found is not None:
            request.state.auth_via = "session"
            return found
    bearer = _bearer(request)
    if bearer:
        with db_of(request).read() as session:
            user = service.user_for_token(session, bearer, "api")
        if user is not None:
            request.state.auth_via = "token"
            return user, ""
    return None


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def current_user(request: Request) -> UserRow | None:
    """The logged-in user (session cookie or API bearer token), cached per request."""
    if getattr(request.state, "auth_checked", False):
        cached: UserRow | None = request.state.auth_user
        return cached
    found = _lookup(request)
    user = found[0] if found else None
    request.state.auth_user = user
    request.state.session_csrf = found[1] if found else ""
    request.state.auth_checked = True
    return user


class LoginRequired(Exception):
    """Raised by ``require_user``; HTML gets a redirect to /login, the API a 401."""


def require_user(request: Request) -> UserRow:
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    return user


def require_admin(user: UserRow = Depends(require_user)) -> UserRow:  # noqa: B008
    if not user.is_admin:
        raise HTTPException(403, "Only administrators can do that.")
    return user


async def _login_required(request: Request, _exc: Exception) -> Response:
    if is_api(request):
        return error_response(request, 401, "Log in or send an API token.",
                              headers={"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


# -- CSRF -------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The token forms must echo: the session's, or an anonymous double-submit one."""
    current_user(request)
    token: str = getattr(request.state, "session_csrf", "")
    if token:
        return token
    existing = request.cookies.get(ANON_CSRF_COOKIE, "")
    if re.fullmatch(r"[A-Za-z0-9_-]{32,64}", existing):
        return existing
    fresh: str | None = getattr(request.state, "anon_csrf_new", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.anon_csrf_new = fresh
    return fresh


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if (scheme, port) in (("http", 80), ("https", 443)):
        port = None
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def own_origin(request: Request) -> str:
    scheme = "https" if is_https(request) else "http"
    return _origin_of(f"{scheme}://{request.headers.get('host', request.url.netloc)}")


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site.

    Neither header present means a non-browser client (or a privacy proxy);
    the token check then decides.
    """
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and _safe_origin(origin) == own_origin(request)
    referer = request.headers.get("referer")
    if referer:
        return _safe_origin(referer) == own_origin(request)
    return True


def _safe_origin(url: str) -> str:
    try:
        return _origin_of(url.strip())
    except ValueError:
        return "invalid:"


async def _submitted_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def csrf_protect(request: Request) -> None:
    """403 for a state change from a foreign origin or without the right token."""
    if request.method not in UNSAFE_METHODS or getattr(request.state, "csrf_ok", False):
        return
    if not same_origin(request):
        raise HTTPException(403, "This request came from another site and was refused.")
    user = current_user(request)
    via = getattr(request.state, "auth_via", "")
    if via == "token":
        request.state.csrf_ok = True
        return
    if user is None and is_api(request) and SESSION_COOKIE not in request.cookies:
        request.state.csrf_ok = True  # no ambient credential to abuse
        return
    expected = request.state.session_csrf if user else request.cookies.get(ANON_CSRF_COOKIE, "")
    submitted = await _submitted_token(request)
    if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise HTTPException(403, "The form expired or did not come from this site. "
                                 "Reload the page and try again.")
    request.state.csrf_ok = True


# -- redirects --------------------------------------------------------------------------

_BAD_NEXT = re.compile(r"[\x00-\x20\\\x7f]")


def safe_next(value: str | None, default: str = "/") -> str:
    """A same-site path to go to after login, or ``default``.

    Only ``/path`` forms pass: ``//host``, ``/\\host``, ``https:host``,
    ``javascript:``, encoded slashes and anything with whitespace, control
    characters or backslashes fall back, also after percent-decoding.
    """
    if not value or len(value) > 2048:
        return default
    decoded = value
    for _ in range(3):  # catch %2F%2F and double encodings
        if not _plain_path(decoded):
            return default
        decoded = unquote(decoded)
    return value if _plain_path(decoded) else default


def _plain_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//") or _BAD_NEXT.search(value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


# -- wiring -----------------------------------------------------------------------------


class AnonCsrfCookieMiddleware:
    """Sets the anonymous CSRF cookie when a page rendered a fresh token.

    Templates mint the token while rendering, after the route chose its
    response, so the cookie is added on the way out.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = scope.get("state", {}).get("anon_csrf_new")
                if token:
                    holder = Response()
                    set_cookie(Request(scope), holder, ANON_CSRF_COOKIE, token)
                    MutableHeaders(scope=message).append(
                        "set-cookie", holder.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _template_globals(templates: Jinja2Templates) -> None:
    @jinja2.pass_context
    def csrf_field(context: Any) -> Markup:
        request = context.get("request")
        token = csrf_token(request) if isinstance(request, Request) else ""
        return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')  # noqa: S704

    @jinja2.pass_context
    def viewer(context: Any) -> UserRow | None:
        request = context.get("request")
        if not isinstance(request, Request):
            return None
        try:
            return current_user(request)
        except Exception:  # an error page must render even when the database is down
            return None

    templates.env.globals["csrf_field"] = csrf_field
    templates.env.globals["viewer"] = viewer


def install(app: FastAPI, settings: Settings) -> None:
    """Config, template globals, the login redirect and the cookie middleware."""
    app.state.auth = AuthConfig.from_settings(settings)
    _template_globals(app.state.templates)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_middleware(AnonCsrfCookieMiddleware)


def now(request: Request) -> datetime:
    """The app clock (tests pin it), for session expiry and throttling windows."""
    return now_of(request)
