"""Request body cap: 413 before anything parses an oversized upload.

A declared ``Content-Length`` over the cap is refused without reading a byte.
Bodies without one (chunked) are counted as they stream in; once the count
passes the cap the app's reading is aborted and whatever it was about to
answer is replaced by the 413. Memory stays bounded by the cap either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Rejecter = Callable[[Request, int], Awaitable[Response]]


class BodyTooLarge(Exception):
    """Raised inside ``receive`` to stop the app reading further."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, on_reject: Rejecter) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = self._declared_status(scope)
        if status:
            await self._reject(scope, receive, send, status)
            return
        await self._counted(scope, receive, send)

    def _declared_status(self, scope: Scope) -> int:
        """413 for a declared length over the cap, 400 for a nonsense one, else 0."""
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                text = value.decode("latin-1").strip()
                if not text.isdigit():
                    return 400
                return 413 if int(text) > self.max_bytes else 0
        return 0

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        tripped = False

        async def limited_receive() -> Message:
            nonlocal received, tripped
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    tripped = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            if not tripped:  # drop the app's own answer (often a 400) once we refused
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not tripped:
                raise
        if tripped:
            await self._reject(scope, receive, send, 413)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        response = await self.on_reject(Request(scope), status)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
