"""A real HTTP server on loopback for network-shaped tests.

Tests register routes (path -> response) and read back the request log. It is a
plain ``http.server`` on a thread: real sockets, real HTTP, no mocked layer.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    # Optional generator of body chunks (for slow or huge bodies); overrides ``body``.
    stream: Callable[[], Iterator[bytes]] | None = None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[Request], Response]


class FixtureServer:
    """Serve registered routes on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        self.routes: dict[str, Response | Handler] = {}
        self.requests: list[Request] = []
        self.connections = 0
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def do_POST(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                req = Request(self.command, self.path, headers)
                server.requests.append(req)
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None:
                    resp = Response(404, "not found", content_type="text/plain")
                elif callable(route):
                    resp = route(req)
                else:
                    resp = route
                body = resp.body.encode("utf-8") if isinstance(resp.body, str) else resp.body
                self.send_response(resp.status)
                headers = {"Content-Type": resp.content_type, **resp.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                if resp.stream is not None:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        for chunk in resp.stream():
                            self.wfile.write(chunk)
                            self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    self.close_connection = True
                    return
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head and resp.status not in (204, 304):
                    self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll interval so stop() (shutdown) returns in ~50 ms, not 0.5 s per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, response: Response | Handler) -> str:
        self.routes[path] = response
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def slow_stream(chunk: bytes, every: float, count: int) -> Callable[[], Iterator[bytes]]:
    """A body that trickles ``chunk`` every ``every`` seconds."""

    def gen() -> Iterator[bytes]:
        for _ in range(count):
            yield chunk
            time.sleep(every)

    return gen


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on right now (for servers started by tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Poll ``url``/healthz until newsdesk answers; fail fast if the process died."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not start in {seconds:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a server started by a test; SIGKILL it if it has not exited in 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
