"""Request limits: oversized bodies get 413 before parsing; static traversal is a 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from tests.security.conftest import csrf_from, register

MiB = 1024 * 1024


def test_declared_oversized_body_is_413_without_reading(app: FastAPI,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bool] = []
    real_form = Request.form

    def spy(self: Request, *args: object, **kwargs: object) -> object:
        parsed.append(True)
        return real_form(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Request, "form", spy)
    client = TestClient(app)
    response = client.post("/login", content=b"a=" + b"x" * (MiB + 10),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert parsed == []


def test_streamed_oversized_body_is_413(app: FastAPI) -> None:
    client = register(TestClient(app), "alice")
    token = csrf_from(client, "/account")

    def chunks() -> Iterator[bytes]:
        yield f"csrf_token={token}&label=".encode()
        for _ in range(40):
            yield b"x" * 65536

    response = client.post("/account/tokens", content=chunks(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "too large" in response.text


def test_streamed_oversized_json_to_api_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = client.post("/api/ask", content=chunks(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["message"]


def test_small_bodies_pass(app: FastAPI) -> None:
    client = register(TestClient(app), "alice")
    token = csrf_from(client, "/account")
    response = client.post("/account/tokens", data={"csrf_token": token, "label": "x" * 100})
    assert response.status_code == 200


def test_nonsense_content_length_is_400(app: FastAPI) -> None:
    import asyncio

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        raise AssertionError("the body must not be read")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/login", "raw_path": b"/login",
             "query_string": b"", "headers": [(b"host", b"testserver"),
                                              (b"content-length", b"12abc")],
             "scheme": "http", "server": ("testserver", 80), "client": ("1.2.3.4", 1),
             "root_path": "", "http_version": "1.1", "app": app}
    asyncio.run(app.middleware_stack(scope, receive, send)  # type: ignore[misc]
                if app.middleware_stack else app.build_middleware_stack()(scope, receive, send))
    assert sent[0]["status"] == 400


TRAVERSALS = [
    "/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/app.py", "/static/%2e%2e%2fapp.py",
    "/static/..%5capp.py", "/static/%5c..%5capp.py", "/static/..\\app.py", "/static/....//app.py",
    "/static/..%252fapp.py", "/static/%2e%2e%5c%2e%2e%5cconfig.py", "/static/%00",
    "/static/style.css%00.txt", "/static/..%2f..%2f..%2fetc%2fpasswd", "/static//etc/passwd",
    "/static/%2fetc%2fpasswd", "/static/..%c0%afapp.py", "/static/.%2e/app.py",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_traversal_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, path
    assert "create_app" not in response.text and "root:" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


HOSTILE = ["' OR 1=1--", "NEAR(a b)", '"', '"unterminated', "*", "a AND", "OR", "NOT x",
           "col:ferry", "title:ferry", "^", "-", "(", ")", "\\", "%", "_", "\x00", "\u202e",
           "a" * 600, "😀" * 100, "<script>alert(1)</script>", "{{7*7}}", "; DROP TABLE articles;"]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_search_never_500(client: TestClient, query: str) -> None:
    page = client.get("/search", params={"q": query})
    assert page.status_code in (200, 400)
    assert "<script>alert(1)" not in page.text
    assert client.get("/api/search", params={"q": query}).status_code in (200, 400, 422)
