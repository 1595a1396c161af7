"""Proof with a real client: Debian's newsboat in FeedHQ mode against a live newsdesk.

newsboat logs in through ``/accounts/ClientLogin``, lists subscriptions from
``subscription/list``, downloads each feed from ``/reader/atom/<feed id>`` and
marks articles read with ``edit-tag``. The test drives it non-interactively
(``-x reload``, ``-x print-unread``) and through tmux for key presses, and
checks both directions of read state against newsdesk's own web pages and
database. Every wait is bounded; every process started here is stopped here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from newsdesk.accounts import follows, service, state
from newsdesk.config import Settings
from newsdesk.store.db import Database
from tests.compat import PASSWORD, World, seed
from tests.conftest import FAST_HASHER
from tests.liveserver import running

NEWSBOAT = shutil.which("newsboat")
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed "
                                "(apt-get install newsboat tmux)")
STEP = 30  # seconds any one newsboat run may take

@dataclass
class Live:
    url: str
    db: Database
    world: World
    user_id: int
    home: Path

    def newsboat(self, *args: str) -> str:
        """One non-interactive newsboat run with our config and cache; its stdout."""
        done = subprocess.run([str(NEWSBOAT), *self.files(), *args], capture_output=True,
                              text=True, timeout=STEP, env=self.env(), check=False)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def files(self) -> list[str]:
        return ["-C", str(self.home / "config"), "-c", str(self.home / "cache.db"),
                "-u", str(self.home / "urls")]

    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home), "TERM": "xterm"}

    def unread(self) -> int:
        self.newsboat("-x", "reload")
        out = self.newsboat("-x", "print-unread")
        match = re.search(r"(\d+) unread articles", out)
        assert match, out
        return int(match.group(1))

    def read_ids(self) -> set[int]:
        with self.db.read() as session:
            ids = self.world.planet + self.world.gazette
            return {i for i, s in state.states(session, self.user_id, ids).items() if s.read}



def _prepare(settings: Settings, home: Path) -> tuple[Database, World, int, str]:
    """Seed articles, a user following both outlets, and their app password."""
    db = Database(settings.resolved_database_url)
    db.migrate()
    world = seed(db)
    service.HASHER = FAST_HASHER
    with db.write() as session:
        user = service.create_user(session, "alice", PASSWORD)
        follows.set_follow(session, user.id, "outlet", "Daily Planet", "follow")
        follows.set_follow(session, user.id, "outlet", "Gazette", "follow")
        password = service.issue_token(session, user, "greader", "newsboat")
        user_id = user.id
    return db, world, user_id, password


@pytest.fixture
def live(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setattr(service, "HASHER", service.HASHER)  # restored after the test
    home = tmp_path / "home"
    home.mkdir()
    db, world, user_id, password = _prepare(settings, home)
    (home / "urls").write_text("")
    try:
        with running(settings, tmp_path) as url:
            _configure(home, url, password)
            yield Live(url, db, world, user_id, home)
    finally:
        db.dispose()


def _configure(home: Path, url: str, password: str) -> None:
    """newsboat's FeedHQ mode pointed at newsdesk's Google Reader API."""
    (home / "config").write_text(
        'urls-source "feedhq"\n'
        f'feedhq-url "{url}"\n'
        'feedhq-login "alice"\n'
        f'feedhq-password "{password}"\n'
        "feedhq-show-special-feeds no\n"
        "feedhq-min-items 50\n"
        "download-timeout 10\n"
        "confirm-exit no\n")


def _web_read(live: Live, article_id: int) -> None:
    """Open an article on newsdesk's website as alice, which marks it read."""
    with httpx.Client(base_url=live.url, timeout=10) as web:
        token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text)
        assert token
        answer = web.post("/login", data={"username": "alice", "password": PASSWORD,
                                          "csrf_token": token.group(1)})
        assert answer.status_code in (200, 303), answer.text[:300]
        assert web.get(f"/articles/{article_id}").status_code == 200


def test_newsboat_lists_and_syncs_read_state_from_newsdesk(live: Live) -> None:
    assert live.unread() == 8
    listing = live.newsboat("-x", "reload", "print-unread")
    assert "8 unread articles" in listing
    _web_read(live, live.world.planet[0])
    assert live.unread() == 7


def _tmux(*args: str, home: Path) -> str:
    done = subprocess.run([str(TMUX), "-L", f"nd{os.getpid()}", *args], capture_output=True,
                          text=True, timeout=STEP, check=False,
                          env={**os.environ, "HOME": str(home), "TERM": "xterm"})
    return done.stdout


def _screen_until(live: Live, pattern: str, seconds: float = STEP) -> str:
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", "nb", home=live.home)
        if re.search(pattern, screen):
            return screen
        time.sleep(0.3)
    raise AssertionError(f"never saw {pattern!r} on newsboat's screen:\n{screen}")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_reading_in_newsboat_marks_read_in_newsdesk(live: Live) -> None:
    assert live.unread() == 8
    assert live.read_ids() == set()
    command = " ".join([str(NEWSBOAT), *live.files()])
    _tmux("new-session", "-d", "-s", "nb", "-x", "160", "-y", "40", command, home=live.home)
    try:
        _screen_until(live, r"Daily Planet|Gazette")
        _tmux("send-keys", "-t", "nb", "Enter", home=live.home)  # open the first feed
        _screen_until(live, r"Planet story|Gazette item")
        _tmux("send-keys", "-t", "nb", "Enter", home=live.home)  # open its first article
        _screen_until(live, r"Title: |Feed: ")
        _tmux("send-keys", "-t", "nb", "q", home=live.home)  # back to the list: syncs read
        _screen_until(live, r"Articles in feed")
        deadline = time.monotonic() + STEP
        while not live.read_ids() and time.monotonic() < deadline:
            time.sleep(0.3)
        _tmux("send-keys", "-t", "nb", "q", "q", home=live.home)
    finally:
        _tmux("kill-server", home=live.home)
    read = live.read_ids()
    assert len(read) == 1, read
    assert live.unread() == 7
