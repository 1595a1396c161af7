"""The OpenAPI document at /api/openapi.json, and schemathesis holding the API to it.

Two ways: in-process per operation (below, quick to read when one fails), and
schemathesis's own command line against newsdesk running under uvicorn on
loopback, every phase (coverage, fuzzing, stateful) and every check over real
HTTP, as a user of the API would run it.

schemathesis generates requests from the schema (valid and invalid
parameters, edge values) and checks every answer: no 5xx, a documented
status, and a body that conforms to the documented schema. The AI endpoints
are included with the real embedder (the session ``embedder`` fixture, loaded
once) and fewer examples, since each answer runs the model. Bounded
(examples per operation, no deadline) so the file runs in about a minute.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from newsdesk.ai import factory
from newsdesk.ai.service import AIService
from newsdesk.config import Settings
from newsdesk.model import Article, Tag
from newsdesk.store import articles, dedup, tags
from newsdesk.store.db import Database
from newsdesk.store.tables import ArticleRow, StoryRow
from newsdesk.web.app import create_app
from tests.liveserver import running

NOW = datetime(2025, 6, 22, 12, 0, tzinfo=UTC)
EXAMPLES = 30  # per operation and mode: 14 runs stay well under a minute
AI_EXAMPLES = 8  # each answer runs MiniLM; 10 runs of these add ~20 s

ARTICLES = [
    Article(url=f"https://{outlet.lower().replace(' ', '-')}.example/{i}", title=title,
            text=f"{title}.\nA second paragraph about the ferry and the pier.", outlet=outlet,
            byline="Mira Holm" if i == 0 else "", language="en",
            published_at=None if i == 4 else NOW - timedelta(hours=i * 5))
    for i, (outlet, title) in enumerate([
        ("Lakeside Gazette", "Lake ferry service resumes after winter storms"),
        ("Valley Herald", "Ferry returns to the lake as rebuilt pier opens"),
        ("Wire Copy", "Ferry returns to the lake as rebuilt pier opens (copy)"),
        ("Valley Herald", "Orchards expect a record apple harvest"),
        ("Town Notes", "An undated archive piece <b>with markup</b> & \"quotes\""),
    ])
]


def _seed(db: Database) -> None:
    """Five articles, one story of three, a copy, and tags, so 200s have content."""
    with db.write() as session:
        ids = [articles.save_article(session, a).article_id for a in ARTICLES]
        story = StoryRow(title="Lake ferry returns", first_outlet="Valley Herald",
                         first_seen_at=NOW - timedelta(hours=10), updated_at=NOW,
                         article_count=3, outlet_count=3, lead_article_id=ids[0])
        session.add(story)
        session.flush()
        for article_id in ids[:3]:
            row = session.get(ArticleRow, article_id)
            assert row is not None
            row.story_id = story.id
        dedup.mark_duplicate(session, ids[2], ids[1])
        ferry = Tag(slug="LakeFerry", name="Lake ferry", kind="topic", score=1.0)
        for article_id in ids[:3]:
            tags.set_article_tags(session, article_id, [ferry])


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    db = Database(settings.resolved_database_url)
    db.migrate()
    _seed(db)
    application = create_app(settings, db)
    application.state.clock = lambda: NOW
    yield application
    db.dispose()


OPERATIONS = [("GET", p) for p in (
    "/api/articles", "/api/articles/{article_id}", "/api/search", "/api/outlets",
    "/api/stories", "/api/stories/{story_id}", "/api/tags/{tag}")]
AI_OPERATIONS = [("GET", "/api/articles/{article_id}/summary"),
                 ("GET", "/api/articles/{article_id}/keypoints"), ("POST", "/api/ask"),
                 ("GET", "/api/explain/{tag}"), ("GET", "/api/stories/{story_id}/brief")]


# schemathesis.pytest.from_fixture needs pytest internals that pytest 9 removed, so the
# strategies are driven with hypothesis directly: one test per operation and mode.
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
CASES = [(method, path, mode) for method, path in OPERATIONS + AI_OPERATIONS
         for mode in (POSITIVE, NEGATIVE)
         if not (path == "/api/outlets" and mode is NEGATIVE)]  # no parameters to get wrong


@pytest.fixture
def ai_app(app: FastAPI, embedder: Any) -> FastAPI:
    """The app with its AI service built on the session's embedder (not reloaded per test)."""
    pytest.importorskip("onnxruntime")
    db = app.state.db
    app.state.ai = AIService(embedder, retrieve=lambda q: list(factory.retrieve_rows(db, q)))
    return app


@pytest.mark.parametrize(("method", "path", "mode"), CASES,
                         ids=[f"{m} {p}-{g.value}" for m, p, g in CASES])
def test_api_conforms_to_its_schema(request: pytest.FixtureRequest, method: str, path: str,
                                    mode: schemathesis.GenerationMode) -> None:
    is_ai = (method, path) in AI_OPERATIONS
    app: FastAPI = request.getfixturevalue("ai_app" if is_ai else "app")
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operation = loaded.find_operation_by_path(method, path)
    assert operation is not None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=AI_EXAMPLES if is_ai else EXAMPLES, deadline=None,
              derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        # OpenAPI cannot say "offset or page, not both" about two query parameters; the
        # documented 400 says it in words, so a schema-valid pair may be refused.
        case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])

    run()


def test_schemathesis_cli_finds_nothing_against_the_running_server(settings: Settings,
                                                                   tmp_path: Path) -> None:
    """``st run`` over HTTP: no 5xx, no undocumented status, no schema violation.

    One check is left out, as in-process: ``positive_data_acceptance`` expects
    a 2xx for every schema-valid request, but OpenAPI cannot say "``offset`` or
    ``page``, not both", which the API refuses with its documented 400. (The
    stateful phase also fills a path id from a null ``story_id`` as "None".)
    """
    db = Database(settings.resolved_database_url)
    db.migrate()
    _seed(db)
    db.dispose()
    st = Path(sys.executable).with_name("st")
    with running(settings, tmp_path, clock="tests.test_openapi:NOW") as url:
        result = subprocess.run(
            [str(st), "run", f"{url}/api/openapi.json", "--max-examples", "15",
             "--generation-deterministic", "--exclude-checks", "positive_data_acceptance",
             "--request-timeout", "60", "--no-color", "--workers", "1"],
            capture_output=True, text=True, timeout=240, check=False, cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert "Tested: 12" in out and " passed" in out, out[-3000:]


# ---------- the document itself ----------

@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    response = TestClient(app).get("/api/openapi.json")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_every_core_operation_is_documented(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for path in ("/api/articles", "/api/articles/{article_id}", "/api/search", "/api/outlets",
                 "/api/stories", "/api/stories/{story_id}", "/api/tags/{tag}"):
        op = paths[path]["get"]
        ok = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"].startswith("#/components/schemas/")
        assert op["tags"] and op["tags"] != ["api"]
        for status, answer in op["responses"].items():
            if status != "200":
                schema_ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert schema_ref == "#/components/schemas/Error"
    assert all(p.startswith("/api/") for p in paths)  # HTML pages are not the JSON API
    assert "HTTPValidationError" not in str(document)  # FastAPI's 422 body is not ours


def test_paging_and_errors_are_described(document: dict[str, Any]) -> None:
    op = document["paths"]["/api/articles"]["get"]
    names = {p["name"]: p for p in op["parameters"]}
    assert set(names) == {"limit", "offset", "page"}
    assert names["limit"]["schema"]["maximum"] == 100 and names["limit"]["description"]
    assert {"400", "422"} <= set(op["responses"])
    assert "404" in document["paths"]["/api/articles/{article_id}"]["get"]["responses"]
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message"}
    assert {t["name"] for t in document["tags"]} >= {"articles", "stories", "tags", "search"}


def test_api_tokens_are_optional(app: FastAPI, document: dict[str, Any]) -> None:
    """Documented only because accounts issue them; reading never requires one."""
    if not hasattr(app.state, "auth"):
        pytest.skip("this build has no accounts, hence no API tokens")
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    op = document["paths"]["/api/articles"]["get"]
    assert {} in op["security"] and {"bearerAuth": []} in op["security"]
    anonymous = TestClient(app).get("/api/articles")
    assert anonymous.status_code == 200


def test_known_items_match_their_models(app: FastAPI, document: dict[str, Any]) -> None:
    """Real 200s with every optional part present: related, copies, a story, a tag."""
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    client = TestClient(app)
    for path, url in [("/api/articles/{article_id}", "/api/articles/1"),
                      ("/api/articles/{article_id}", "/api/articles/2"),
                      ("/api/stories/{story_id}", "/api/stories/1"),
                      ("/api/tags/{tag}", "/api/tags/LakeFerry"),
                      ("/api/search", "/api/search?q=ferry"),
                      ("/api/stories", "/api/stories"),
                      ("/api/articles", "/api/articles?page=2&limit=2")]:
        response = client.get(url)
        assert response.status_code == 200, url
        loaded[path]["GET"].validate_response(response)


def test_ai_answers_on_known_items_conform(ai_app: FastAPI) -> None:
    """Generated ids are mostly unknown (404); these reach the model and answer 200."""
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", ai_app)
    client = TestClient(ai_app)
    calls = [("GET", "/api/articles/{article_id}/summary", "/api/articles/1/summary", None),
             ("GET", "/api/articles/{article_id}/keypoints", "/api/articles/2/keypoints", None),
             ("GET", "/api/stories/{story_id}/brief", "/api/stories/1/brief", None),
             ("GET", "/api/explain/{tag}", "/api/explain/LakeFerry", None),
             ("POST", "/api/ask", "/api/ask", {"question": "When does the ferry return?"}),
             ("POST", "/api/ask", "/api/ask", {"question": "Ferry?", "scope": "story", "id": 1})]
    for method, path, url, body in calls:
        response = client.request(method, url, json=body)
        assert response.status_code == 200, (url, response.text[:300])
        loaded[path][method].validate_response(response)
    missing = client.post("/api/ask", json={"question": "x", "scope": "article", "id": 999})
    assert missing.status_code == 404
    loaded["/api/ask"]["POST"].validate_response(missing)
