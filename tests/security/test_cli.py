"""``newsdesk user add/reset-password``: passwords from stdin, sessions end on reset."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsdesk.accounts import service
from newsdesk.cli import app
from newsdesk.store.db import Database
from newsdesk.store.tables import UserRow


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'newsdesk.db'}")
    db.migrate()
    return db


def test_user_add_and_reset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    added = runner.invoke(app, ["user", "add", "root", "--password-stdin"],
                          input="first password\n")
    assert added.exit_code == 0, added.output
    short = runner.invoke(app, ["user", "add", "bob", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    db = _db(tmp_path)
    with db.write() as session:
        user = service.find_user(session, "root")
        assert isinstance(user, UserRow) and user.is_admin
        service.start_session(session, user)
    reset = runner.invoke(app, ["user", "reset-password", "root", "--password-stdin"],
                          input="second password\n")
    assert reset.exit_code == 0, reset.output
    with db.read() as session:
        assert service.authenticate(session, "root", "second password") is not None
        assert service.authenticate(session, "root", "first password") is None
    missing = runner.invoke(app, ["user", "reset-password", "nobody", "--password-stdin"],
                            input="whatever123\n")
    assert missing.exit_code == 1
    db.dispose()
