"""A real newsdesk server on loopback, in its own process, for tests that drive real clients.

Real apps (newsboat, a Fever library) talk HTTP to a port, so the app runs
under uvicorn in a subprocess over the test's database. Started and stopped
here; every wait is bounded.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsdesk.config import Settings
from tests.fixtureserver import free_port, stop_process, wait_until_up

SERVER = """
import sys
from pathlib import Path

import uvicorn

from newsdesk.config import Settings
from newsdesk.web.app import create_app

settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2],
                    allow_private_networks=True, sample="")
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


@contextmanager
def running(settings: Settings, data_dir: Path) -> Iterator[str]:
    """newsdesk serving ``settings.database_url`` on a free port; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(data_dir),
                             settings.database_url, str(port)])
    try:
        wait_until_up(url, proc)
        yield url
    finally:
        stop_process(proc)
