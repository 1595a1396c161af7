"""Security headers on every response, and a last-resort 500 that leaks nothing.

Written as a plain ASGI middleware (not ``BaseHTTPMiddleware``) so it also
wraps streamed and static responses, and so it can catch an unhandled error
*inside* the app and still answer with a friendly page carrying the headers:
Starlette's own 500 handler sits outside user middleware and would not.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

ErrorRenderer = Callable[[Request, Exception], Awaitable[Response]]


def content_security_policy(nonce: str) -> str:
    """Only our own scripts and styles run; inline scripts need this request's nonce."""
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ))


def security_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }


def nonce_of(request: Request) -> str:
    """The nonce the middleware chose for this request (templates put it on scripts)."""
    return str(getattr(request.state, "csp_nonce", ""))


class SecurityMiddleware:
    """Adds the headers to every HTTP response and turns crashes into a clean 500."""

    def __init__(self, app: ASGIApp, on_error: ErrorRenderer) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        headers = security_headers(nonce)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                mutable = MutableHeaders(scope=message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started:  # too late for a clean page; let the server close the connection
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            response = await self.on_error(Request(scope), exc)
            await response(scope, receive, send_with_headers)
