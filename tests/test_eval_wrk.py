"""The load benchmark's wrk driver against a real server on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsdesk.eval import wrk
from tests.fixtureserver import FixtureServer, Response

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def test_wrk_reports_latency_and_counts_server_errors(server: FixtureServer,
                                                      tmp_path: Path) -> None:
    server.routes["/ok"] = Response(body="fine")
    server.routes["/broken"] = Response(status=503, body="down")
    run = wrk.start(server.base, ["/ok", "/ok", "/broken"], tmp_path, connections=4,
                    threads=1, seconds=2)
    run.proc.wait(30)
    result = run.finish()
    assert result["requests"] > 0 and result["p99_ms"] >= result["p50_ms"] > 0
    statuses = {int(k): v for k, v in result["statuses"].items()}
    assert set(statuses) == {200, 503}
    assert result["server_errors"] == statuses[503] > 0
    assert sum(statuses.values()) == result["requests"]
