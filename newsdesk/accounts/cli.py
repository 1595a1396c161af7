"""``newsdesk user ...``: create accounts and reset passwords from the shell.

Kept apart from ``newsdesk/cli.py`` so the account commands can be tested and
changed without touching the rest of the CLI. Passwords never appear on the
command line (where ``ps`` and shell history would keep them): they are
prompted for, or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import IntegrityError

from newsdesk.accounts import service
from newsdesk.config import Settings
from newsdesk.store.db import Database

user_app = typer.Typer(help="Manage reader accounts.", no_args_is_help=True)
console = Console(stderr=True)

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="read the password from the first line of standard input")]


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)


def _open_db() -> Database:
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        _fail(str(exc))
        raise
    db = Database(settings.resolved_database_url)
    db.migrate()
    return db


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("add")
def add(name: str, admin: Annotated[bool, typer.Option("--admin", help="make an administrator")]
        = False, password_stdin: PasswordStdin = False) -> None:
    """Create an account (the first account is always an administrator)."""
    password = _read_password(password_stdin)
    db = _open_db()
    try:
        with db.write() as session:
            user = service.create_user(session, name, password, admin=True if admin else None)
            role = "administrator" if user.is_admin else "reader"
    except service.AccountError as exc:
        _fail(str(exc))
    except IntegrityError:
        _fail("That username is taken.")
    finally:
        db.dispose()
    console.print(f"Created {role} {name}.")


@user_app.command("reset-password")
def reset_password(name: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password and log the user out of every session."""
    password = _read_password(password_stdin)
    db = _open_db()
    try:
        with db.write() as session:
            user = service.find_user(session, name)
            if user is None:
                _fail(f"No user named {name!r}.")
            assert user is not None
            service.set_password(session, user, password)
    except service.AccountError as exc:
        _fail(str(exc))
    finally:
        db.dispose()
    console.print(f"Password of {name} changed; their sessions were ended.")
