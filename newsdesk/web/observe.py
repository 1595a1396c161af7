"""Per-request id, access log line and latency histogram, as one cheap ASGI middleware.

Outermost in the app, so it times and labels everything, the friendly 500
page of :class:`~newsdesk.web.security.SecurityMiddleware` included. The id
comes from a proxy's ``X-Request-ID`` when that is a sane token, so one id
follows a request from the proxy's log through ours; otherwise it is new.
Latency is labelled by route *template* (``/articles/{article_id}``), never the
raw path, so a crawler cannot blow up the number of series.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsdesk.obs.logs import request_id_var
from newsdesk.obs.metrics import record_request

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CONVERTOR = re.compile(r"\{(\w+):[^}]*\}")
UNMATCHED = "unmatched"

access_log = logging.getLogger("newsdesk.access")


def incoming_request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is 1-64 chars of [A-Za-z0-9._-], else ""."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else ""
    return ""


def new_request_id() -> str:
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's template (Starlette puts the route in the scope), without
    convertors: ``/articles/{article_id:int}`` is labelled ``/articles/{article_id}``."""
    path = getattr(scope.get("route"), "path", None)
    return _CONVERTOR.sub(r"{\1}", path) if isinstance(path, str) and path else UNMATCHED


def method_label(method: str) -> str:
    """Methods are client-chosen strings: anything unusual shares one label."""
    return method if method in _METHODS else "OTHER"


class RequestContextMiddleware:
    """Binds the request id, echoes it in the response, logs and times the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500  # what the server sends if the app dies before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _finish(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)


def _finish(scope: Scope, status: int, seconds: float) -> None:
    method = str(scope.get("method", ""))
    route = route_template(scope)
    record_request(route, method_label(method), status, seconds)
    if access_log.isEnabledFor(logging.INFO):
        path = str(scope.get("path", ""))
        access_log.info("%s %s %d %.1fms", method, path, status, seconds * 1000,
                        extra={"method": method, "path": path, "route": route,
                               "status": status, "duration_ms": round(seconds * 1000, 2)})
