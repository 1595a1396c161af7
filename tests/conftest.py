from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsdesk.config import Settings
from tests.fixtureserver import FixtureServer

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seed" / "000_af01607751a1112c.txt"
DATA = SHARED / "data"


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test: private networks allowed (the fixture server is on loopback)."""
    return Settings(
        data_dir=tmp_path,
        allow_private_networks=True,
        connect_timeout=2.0,
        total_timeout=5.0,
        sample="",
    )


@pytest.fixture
def strict_settings(tmp_path: Path) -> Settings:
    """Settings as a real deployment has them: private networks refused."""
    return Settings(data_dir=tmp_path, allow_private_networks=False, connect_timeout=2.0,
                    total_timeout=5.0, sample="")
