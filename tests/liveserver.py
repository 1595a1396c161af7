"""A real newsdesk server on loopback, in its own process, for tests that drive real clients.

Real apps (newsboat, a Fever library) talk HTTP to a port, so the app runs
under uvicorn in a subprocess over the test's database. Started and stopped
here; every wait is bounded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsdesk.config import Settings
from tests.fixtureserver import free_port, stop_process, wait_until_up

SERVER = """
import importlib
import sys
from pathlib import Path

import uvicorn

from newsdesk.config import Settings
from newsdesk.web.app import create_app

data_dir, database_url, port, clock, fast_hash = sys.argv[1:6]
if fast_hash:  # registration in a browser stays fast
    from newsdesk.accounts import service
    from tests.conftest import FAST_HASHER

    service.HASHER = FAST_HASHER
settings = Settings(data_dir=Path(data_dir), database_url=database_url,
                    allow_private_networks=True, sample="")
app = create_app(settings)
if clock:  # "module:NAME" of a fixed datetime: seeded articles stay fresh, times stable
    module, name = clock.split(":")
    now = getattr(importlib.import_module(module), name)
    app.state.clock = lambda: now
uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
"""

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def running(settings: Settings, data_dir: Path, *, clock: str = "",
            fast_hash: bool = False) -> Iterator[str]:
    """newsdesk serving ``settings.database_url`` on a free port; yields its base URL.

    ``clock``: "module:NAME" of a datetime the app takes as now; ``fast_hash``:
    argon2 with the tests' cheap parameters in the server too.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(data_dir), settings.database_url,
                             str(port), clock, "1" if fast_hash else ""], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_until_up(url, proc)
        yield url
    finally:
        stop_process(proc)
