from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from newsdesk.config import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [f.name for f in fields(Settings) if f"`NEWSDESK_{f.name.upper()}`" not in text]
    assert missing == []


def test_from_env_converts_types() -> None:
    s = Settings.from_env({"NEWSDESK_PORT": "9001", "NEWSDESK_ALLOW_PRIVATE_NETWORKS": "yes",
                           "NEWSDESK_TOTAL_TIMEOUT": "2.5", "NEWSDESK_DATA_DIR": "/tmp/x"})
    assert s.port == 9001 and s.allow_private_networks is True and s.total_timeout == 2.5
    assert s.resolved_database_url == "sqlite:////tmp/x/newsdesk.db"


def test_bad_value_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="NEWSDESK_PORT"):
        Settings.from_env({"NEWSDESK_PORT": "eighty"})
