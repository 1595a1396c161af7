"""``newsdesk bench`` / ``make bench``: every performance target in one JSON object.

Each part measures the product's code with its anchor in the same run: the
whole ingest pipeline next to the embedder alone; ANN next to exact search;
the AI block's latency; the web server's memory with the 100k collection.
The machine is shared and noisy, so the load average is reported with them.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from newsdesk.config import Settings


def server_memory(data_dir: Path, db_file: Path, pages: int = 30) -> dict[str, Any]:
    """Resident memory of ``newsdesk serve`` over the bench database after real page views."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir),
           "NEWSDESK_DATABASE_URL": f"sqlite:///{db_file}", "NEWSDESK_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "newsdesk.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base)
        rng = random.Random(5)
        with httpx.Client(base_url=base, timeout=120) as client:
            for path in ["/", "/search?q=government", "/api/articles?limit=50"] + [
                    f"/articles/{rng.randint(1, 100_000)}" for _ in range(pages)]:
                client.get(path)
        rss_kib = _rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"rss_mib": round(rss_kib / 1024, 1), "pages_viewed": pages + 3,
            "target_mib": 1024}


def _wait_up(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/healthz", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError("the server did not start")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run(settings: Settings, *, articles: int = 500, collection: int = 100_000,
        bench_dir: Path | None = None) -> dict[str, Any]:
    """All measurements; parts whose data is missing say so instead of failing."""
    from newsdesk.ai import bench as ai_bench
    from newsdesk.enrich.embed import load_embedder
    from newsdesk.eval import bench_search, throughput

    corpus = Path(settings.sample) / "corpus" / "bbc-news-2225.jsonl"
    if not corpus.exists():
        return {"skipped": f"the BBC corpus is not at {corpus} (set NEWSDESK_SAMPLE)"}
    bench_dir = bench_dir or Path(settings.data_dir) / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"load_average_start": round(os.getloadavg()[0], 2)}
    result["ingest"] = throughput.measure(corpus, limit=articles)
    result["search"] = bench_search.run(settings.with_(data_dir=bench_dir), n=collection,
                                        corpus=corpus)
    embedder = load_embedder(settings)
    docs = ai_bench.read_corpus(corpus)
    service = ai_bench.AIService(embedder)
    sample = random.Random(3).sample(docs, 40)
    service.summary(sample[0])
    result["ai"] = {"article": ai_bench.bench_article(service, sample),
                    "question": ai_bench.bench_questions(embedder, corpus, 10_000, 20)}
    db_file = bench_dir / f"bench-{collection}-v{bench_search.BENCH_VERSION}.db"
    result["server"] = server_memory(bench_dir, db_file)
    result["load_average_end"] = round(os.getloadavg()[0], 2)
    return result
