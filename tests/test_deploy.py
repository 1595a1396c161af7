"""Deployment: ``newsdesk serve --workers N`` as real processes, and deploy/ checked.

The multi-process test starts the CLI as a subprocess on a free loopback port
and tells which worker served a request from the kernel's own books: the
server side of each still-open client connection is looked up in
/proc/net/tcp and its socket inode found among the workers' descriptors.
The files in deploy/ and the guide are checked against the real CLI (every
command line parses with its click command) and the real Settings.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml
from typer.core import TyperGroup
from typer.testing import CliRunner

from newsdesk import cli
from newsdesk.accounts import service
from newsdesk.config import Settings
from newsdesk.store.db import Database
from tests import readers
from tests.fixtureserver import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "deployment.md"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SETTINGS_VARS = {f"NEWSDESK_{f.name.upper()}" for f in fields(Settings)}
NEWSDESK_NAME = re.compile(r"NEWSDESK_[A-Z0-9_]+")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- serve --workers 2 ------------------------------------------------------------------


def _ppid(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended while we looked
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descendants(root: int) -> set[int]:
    """Every living process below ``root``, from the ppid field of /proc/*/stat."""
    parents = {int(p): _ppid(p) for p in os.listdir("/proc") if p.isdigit()}
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    """True unless the process is gone or a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _server_inode(server_port: int, client_port: int) -> str:
    """The socket inode of the server's end of one loopback connection."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        local, remote = cols[1].split(":"), cols[2].split(":")
        if int(local[1], 16) == server_port and int(remote[1], 16) == client_port:
            return cols[9]
    raise AssertionError(f"no server socket for client port {client_port}")


def _fd_links(pid: int) -> set[str]:
    """What the open descriptors of ``pid`` point at; empty once it has ended."""
    links = set()
    try:
        entries = list(os.scandir(f"/proc/{pid}/fd"))
    except OSError:  # a short-lived helper process (not a worker) has ended
        return set()
    for entry in entries:
        try:
            links.add(os.readlink(entry.path))
        except OSError:  # closed while we looked
            continue
    return links


def _owner(inode: str, pids: set[int]) -> int:
    """Which of ``pids`` holds the socket ``inode`` open."""
    for pid in pids:
        if f"socket:[{inode}]" in _fd_links(pid):
            return pid
    raise AssertionError(f"socket {inode} is held by none of {pids}")


def _get(port: int, ids: set[int]) -> HTTPConnection:
    """GET /api/articles on a new kept-alive connection; checks the seeded articles."""
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/articles?limit=50")
    response = conn.getresponse()
    assert response.status == 200
    assert {item["id"] for item in json.loads(response.read())["items"]} == ids
    return conn


def _serving_pids(parent: int, port: int, ids: set[int], seconds: float = 60) -> set[int]:
    """The worker processes seen answering batches of concurrent connections."""
    seen: set[int] = set()
    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(8) as pool:
        while len(seen) < 2 and time.monotonic() < deadline:
            conns = list(pool.map(lambda _: _get(port, ids), range(8)))
            workers = _descendants(parent)
            for conn in conns:
                assert conn.sock is not None
                inode = _server_inode(port, conn.sock.getsockname()[1])
                seen.add(_owner(inode, workers))
                conn.close()
    return seen


def _register(base: str, username: str) -> int:
    """Create an account through the form: a write, in whichever worker takes it."""
    with httpx.Client(base_url=base, timeout=60) as client:
        match = CSRF.search(client.get("/register").text)
        assert match
        data = {"username": username, "password": readers.PASSWORD,
                "confirm": readers.PASSWORD, "csrf_token": match.group(1)}
        return client.post("/register", data=data, follow_redirects=False).status_code


def _start(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_DATA_DIR=str(settings.data_dir),
               NEWSDESK_DATABASE_URL=settings.database_url, PYTHONPATH=str(ROOT))
    # host and port only as flags: the workers must get them from the parent's export
    argv = [sys.executable, "-m", "newsdesk.cli", "serve", "--workers", "2",
            "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=sink,
                                start_new_session=True)


def _stop(proc: subprocess.Popen[bytes], children: set[int]) -> None:
    """SIGTERM to the parent only, as systemd's KillMode=mixed does; nothing may survive."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)], "orphaned worker processes"


def test_serve_workers_share_the_database_and_stop_cleanly(settings: Settings,
                                                           tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    proc = _start(settings, port, log)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", proc, seconds=120)
        # The parent migrated before spawning: the schema is there for this process too.
        db = Database(settings.resolved_database_url)
        try:
            corpus = readers.seed(db)
            readers.make_user(db, "admin", admin=True)
            pids = _serving_pids(proc.pid, port, set(corpus.ids.values()))
            assert len(pids) >= 2, f"only {pids} answered; log: {log.read_text()[-2000:]}"
            for pid in filter(_alive, pids):  # the flags reached the workers by the environment
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                assert f"NEWSDESK_PORT={port}".encode() in environ
                assert b"NEWSDESK_WEB_WORKERS=2" in environ
            names = [f"reader{i}" for i in range(4)]
            with ThreadPoolExecutor(4) as pool:
                statuses = list(pool.map(
                    lambda n: _register(f"http://127.0.0.1:{port}", n), names))
            assert statuses == [303] * 4
            with db.read() as session:
                assert service.count_users(session) == 5
        finally:
            db.dispose()
        _stop(proc, _descendants(proc.pid))
    finally:
        if proc.poll() is None:  # a failed assertion above: leave nothing behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# -- deploy/ and docs/deployment.md against the CLI and Settings ------------------------


def _resolve(argv: list[str]) -> tuple[list[str], Any, list[str]]:
    """The command path (``["eval", "dates"]``), its click command and its arguments."""
    command: Any = typer.main.get_command(cli.app)
    path, args = [], list(argv)
    while isinstance(command, TyperGroup):
        assert args and not args[0].startswith("-"), f"no command in {argv}"
        sub = command.get_command(typer.Context(command), args[0])
        assert sub is not None, f"newsdesk has no command {args[0]!r} ({argv})"
        path.append(args.pop(0))
        command = sub
    return path, command, args


def assert_cli_accepts(argv: list[str]) -> None:
    """``newsdesk <argv>`` names a real command whose parser takes these options."""
    path, command, args = _resolve(argv)
    result = CliRunner().invoke(cli.app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    try:
        command.make_context(" ".join(["newsdesk", *path]), args)
    except typer.TyperException as exc:  # typer's click: unknown option, bad value, …
        raise AssertionError(f"newsdesk {shlex.join(argv)}: {exc}") from exc


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def test_the_units_exist() -> None:
    names = {p.name for p in UNITS}
    assert {"newsdesk-web.service", "newsdesk-worker.service",
            "newsdesk-scheduler.service"} <= names
    assert (DEPLOY / "systemd" / "newsdesk.env.example").is_file()


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_runs_a_real_command_sandboxed(path: Path) -> None:
    unit = _unit(path)
    svc = unit["Service"]
    argv = shlex.split(svc["ExecStart"])
    assert Path(argv[0]).name == "newsdesk" and argv[0].startswith("/")
    assert_cli_accepts(argv[1:])
    assert svc["EnvironmentFile"] == "/etc/newsdesk/newsdesk.env"
    assert svc["User"] == "newsdesk" or svc.get("DynamicUser") == "yes"
    for key, value in {"ProtectSystem": "strict", "NoNewPrivileges": "yes",
                       "PrivateTmp": "yes", "ReadWritePaths": "/var/lib/newsdesk"}.items():
        assert svc.get(key) == value, f"{path.name}: {key}"
    assert svc.get("MemoryMax")
    if svc.get("Type") != "oneshot":  # a timer starts the oneshot again anyway
        assert svc.get("Restart") == "on-failure"
        assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_timer_starts_an_existing_unit() -> None:
    for timer in (DEPLOY / "systemd").glob("*.timer"):
        target = _unit(timer)["Timer"]["Unit"]
        assert (DEPLOY / "systemd" / target).is_file()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own parser; ExecStart pointed at this venv's newsdesk so it exists."""
    exe = Path(sys.executable).parent / "newsdesk"
    if not exe.is_file():
        pytest.skip("no newsdesk script next to the interpreter")
    for unit in (DEPLOY / "systemd").glob("newsdesk-*"):
        text = unit.read_text(encoding="utf-8")
        (tmp_path / unit.name).write_text(text.replace("/opt/newsdesk/.venv/bin/newsdesk",
                                                       str(exe)))
    result = subprocess.run(["systemd-analyze", "verify",
                             *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_real_commands_with_documented_settings() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"web", "worker", "scheduler", "postgres", "redis"} <= set(services)
    for name, svc in services.items():
        if svc.get("image") != "newsdesk:latest":
            continue
        assert isinstance(svc["command"], list)
        assert_cli_accepts(svc["command"])  # the image's ENTRYPOINT is newsdesk
        env = svc.get("environment", {})
        assert isinstance(env, dict)
        unknown = {k for k in env if k.startswith("NEWSDESK_")} - SETTINGS_VARS
        assert not unknown, f"{name}: {unknown}"
        build = svc["build"]
        assert isinstance(build, dict)
        assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    for svc in services.values():
        for volume in svc.get("volumes", []):
            named = str(volume).split(":")[0]
            assert named.startswith((".", "/")) or named in compose["volumes"]


def test_every_newsdesk_variable_in_deploy_and_guide_is_a_setting() -> None:
    files = [GUIDE, *(p for p in DEPLOY.rglob("*") if p.is_file())]
    for path in files:
        unknown = set(NEWSDESK_NAME.findall(path.read_text(encoding="utf-8"))) - SETTINGS_VARS
        assert not unknown, f"{path.relative_to(ROOT)}: {sorted(unknown)}"


def _guide_commands() -> list[list[str]]:
    """Shell lines of the guide's code blocks that run ``newsdesk`` (after VAR=value)."""
    commands = []
    blocks = re.findall(r"```(?:sh|bash|console|shell)\n(.*?)```", GUIDE.read_text(), re.S)
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
                argv.pop(0)
            if argv and Path(argv[0]).name == "newsdesk":
                commands.append(argv[1:])
    return commands


def test_guide_commands_are_real() -> None:
    commands = _guide_commands()
    assert len(commands) >= 5
    for argv in commands:
        assert_cli_accepts(argv)
