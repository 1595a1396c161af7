"""Accounts: users, password hashes, server-side sessions, API tokens, login throttling.

Everything here takes an open SQLAlchemy ``Session`` (``db.write()`` for changes,
``db.read()`` for look-ups) so callers decide the transaction. Secrets never
reach the database in the clear: passwords are argon2id hashes, session
cookies and API tokens are stored as their SHA-256, which is enough because
they are 256-bit random values (no dictionary to attack).
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from newsdesk.store.tables import (
    ApiTokenRow,
    ArticleStateRow,
    CommentReportRow,
    CommentRow,
    FollowRow,
    LoginAttemptRow,
    UserRow,
    UserSessionRow,
    utcnow,
)

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 copes, but a 10 MB "password" is a cheap DoS
TOKEN_KINDS = frozenset({"api", "greader", "fever"})


class AccountError(ValueError):
    """A user-facing reason an account operation was refused (safe to show)."""


@dataclass(frozen=True)
class Policy:
    """Tunables with safe defaults; the web layer may pass its own."""

    session_days: int = 30
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)


DEFAULT_POLICY = Policy()

# Module-level so tests can swap in a cheap hasher; argon2id with the library's
# current recommended parameters (RFC 9106 low-memory profile).
HASHER = PasswordHasher()
_DUMMY_HASH: dict[int, str] = {}


def _hasher() -> PasswordHasher:
    return HASHER


def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so timing does not reveal them."""
    key = id(_hasher())
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = _hasher().hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH[key]


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


# -- validation -------------------------------------------------------------------------


def validate_username(username: str) -> str:
    """1-64 of ``[A-Za-z0-9_.-]``: no look-alikes, no markup, safe in URLs."""
    if not USERNAME_RE.fullmatch(username or ""):
        raise AccountError("Usernames are 1 to 64 letters, digits, '.', '_' or '-'.")
    return username


def validate_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Passwords can be at most {MAX_PASSWORD} characters.")
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- users ------------------------------------------------------------------------------


def find_user(session: Session, username: str) -> UserRow | None:
    """Case-insensitive, so ``Admin`` cannot be registered next to ``admin``."""
    if not USERNAME_RE.fullmatch(username or ""):
        return None
    stmt = select(UserRow).where(func.lower(UserRow.username) == username.lower())
    return session.scalars(stmt).first()


def get_user(session: Session, user_id: int) -> UserRow | None:
    return session.get(UserRow, user_id)


_FIRST_USER_LOCK = 0x75736572  # "user"


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(UserRow)) or 0)


def create_user(session: Session, username: str, password: str, *,
                admin: bool | None = None) -> UserRow:
    """Create a user; with ``admin=None`` the first user of the site becomes admin."""
    validate_username(username)
    validate_password(password)
    if find_user(session, username) is not None:
        raise AccountError("That username is taken.")
    if admin is None:
        if session.get_bind().dialect.name == "postgresql":
            # Two first registrations at once on PostgreSQL would both count zero
            # users; this lock (held to commit) makes the second one see the first.
            session.execute(text(f"SELECT pg_advisory_xact_lock({_FIRST_USER_LOCK})"))
        admin = count_users(session) == 0
    user = UserRow(username=username, password_hash=hash_password(password), is_admin=admin,
                   is_banned=False, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> UserRow | None:
    """The user if the password is right and they are not banned, else None.

    Unknown users cost one dummy verification, so the answer time does not tell
    an attacker which usernames exist. Hashes made with older parameters are
    upgraded in place (needs a write session to persist).
    """
    user = find_user(session, username)
    if user is None or len(password or "") > MAX_PASSWORD:
        _verify(_dummy_hash(), password[:MAX_PASSWORD] if password else "x")
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return None if user.is_banned else user


def set_password(session: Session, user: UserRow, new_password: str) -> None:
    """Set a password (CLI reset) and log the user out everywhere."""
    validate_password(new_password)
    user.password_hash = hash_password(new_password)
    end_all_sessions(session, user)


def change_password(session: Session, user: UserRow, current: str, new_password: str, *,
                    keep_cookie: str | None = None) -> None:
    """Change after re-checking the current password; other sessions end."""
    if not _verify(user.password_hash, current):
        raise AccountError("The current password is not right.")
    validate_password(new_password)
    user.password_hash = hash_password(new_password)
    end_all_sessions(session, user, keep_cookie=keep_cookie)


def check_password(user: UserRow, password: str) -> bool:
    """Re-authentication for dangerous actions (delete account)."""
    return _verify(user.password_hash, password)


def delete_user(session: Session, user: UserRow) -> None:
    """Delete the user and everything they own.

    Rows are deleted explicitly rather than trusting ``ON DELETE CASCADE``, so
    the data goes even on a SQLite connection opened without foreign keys.
    Replies by others to this user's comments go with them (the schema cascades).
    """
    uid = user.id
    for table in (UserSessionRow, ApiTokenRow, CommentReportRow, FollowRow, ArticleStateRow):
        session.execute(delete(table).where(table.user_id == uid))
    session.execute(delete(CommentRow).where(CommentRow.user_id == uid))
    session.execute(delete(LoginAttemptRow).where(
        LoginAttemptRow.key == _user_key(user.username)))
    session.delete(user)
    session.flush()


# -- sessions ---------------------------------------------------------------------------


def start_session(session: Session, user: UserRow, *, days: int | None = None,
                  now: datetime | None = None) -> tuple[str, str]:
    """A new login: returns (cookie token, CSRF token); only the cookie's hash is kept."""
    now = now or utcnow()
    _purge_expired_sessions(session, user.id, now)
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    lifetime = timedelta(days=days if days is not None else DEFAULT_POLICY.session_days)
    session.add(UserSessionRow(token_hash=sha256(cookie), user_id=user.id, csrf_token=csrf,
                               created_at=now, expires_at=now + lifetime))
    session.flush()
    return cookie, csrf


def user_for_session(session: Session, cookie_token: str, *,
                     now: datetime | None = None) -> tuple[UserRow, str] | None:
    """The logged-in user and the session's CSRF token, or None (unknown, expired, banned)."""
    if not cookie_token or len(cookie_token) > 256:
        return None
    row = session.get(UserSessionRow, sha256(cookie_token))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or user.is_banned:
        return None
    return user, row.csrf_token


def end_session(session: Session, cookie_token: str) -> None:
    """Log out: the row goes, so a stolen copy of the cookie stops working too."""
    if cookie_token:
        session.execute(delete(UserSessionRow).where(
            UserSessionRow.token_hash == sha256(cookie_token)))


def end_all_sessions(session: Session, user: UserRow, *, keep_cookie: str | None = None) -> None:
    """Log a user out everywhere (password change, reset, ban), optionally but this one."""
    stmt = delete(UserSessionRow).where(UserSessionRow.user_id == user.id)
    if keep_cookie:
        stmt = stmt.where(UserSessionRow.token_hash != sha256(keep_cookie))
    session.execute(stmt)


def _purge_expired_sessions(session: Session, user_id: int, now: datetime) -> None:
    session.execute(delete(UserSessionRow).where(
        UserSessionRow.user_id == user_id, UserSessionRow.expires_at <= now))


# -- API tokens -------------------------------------------------------------------------


def issue_token(session: Session, user: UserRow, kind: str = "api", label: str = "") -> str:
    """A new token, shown once; the database keeps only its SHA-256."""
    if kind not in TOKEN_KINDS:
        raise AccountError(f"Unknown token kind {kind!r}.")
    token = f"nd_{secrets.token_urlsafe(32)}"
    session.add(ApiTokenRow(user_id=user.id, token_hash=sha256(token), kind=kind,
                            label=(label or "").strip()[:128], created_at=utcnow()))
    session.flush()
    return token


def user_for_token(session: Session, token: str, kind: str = "api") -> UserRow | None:
    """The owner of a token of this kind, unless they are banned."""
    if not token or len(token) > 256:
        return None
    stmt = select(ApiTokenRow).where(ApiTokenRow.token_hash == sha256(token),
                                     ApiTokenRow.kind == kind)
    row = session.scalars(stmt).first()
    if row is None:
        return None
    user = session.get(UserRow, row.user_id)
    return None if user is None or user.is_banned else user


def touch_token(session: Session, token: str) -> None:
    """Record use (write session); kept apart so look-ups can run in read snapshots."""
    row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.token_hash == sha256(token)))
    found = row.first()
    if found is not None:
        found.last_used_at = utcnow()


def list_tokens(session: Session, user: UserRow) -> list[ApiTokenRow]:
    stmt = select(ApiTokenRow).where(ApiTokenRow.user_id == user.id).order_by(ApiTokenRow.id)
    return list(session.scalars(stmt))


def revoke_token(session: Session, user: UserRow, token_id: int) -> bool:
    """Only the owner's own tokens: another user's id is simply not found."""
    result = session.execute(delete(ApiTokenRow).where(
        ApiTokenRow.id == token_id, ApiTokenRow.user_id == user.id))
    return bool(getattr(result, "rowcount", 0))


# -- throttling -------------------------------------------------------------------------


def _user_key(username: str) -> str:
    return f"user:{(username or '').lower()[:200]}"


def throttle_keys(username: str, client_ip: str) -> list[str]:
    """Failures count per username and per client address, separately."""
    return [_user_key(username), f"ip:{client_ip[:200]}"]


def retry_after(session: Session, keys: list[str], *, now: datetime | None = None,
                policy: Policy = DEFAULT_POLICY) -> int:
    """Seconds until another attempt is allowed; 0 when not throttled."""
    now = now or utcnow()
    since = now - policy.failure_window
    wait = 0.0
    for key in keys:
        stmt = (select(LoginAttemptRow.at)
                .where(LoginAttemptRow.key == key, LoginAttemptRow.at > since)
                .order_by(LoginAttemptRow.at))
        times = list(session.scalars(stmt))
        if len(times) >= policy.max_failures:
            frees_at = times[len(times) - policy.max_failures] + policy.failure_window
            wait = max(wait, (frees_at - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else 0


def record_failure(session: Session, keys: list[str], *, now: datetime | None = None,
                   policy: Policy = DEFAULT_POLICY) -> None:
    """Remember a failed login; also prunes attempts older than the window."""
    now = now or utcnow()
    session.execute(delete(LoginAttemptRow).where(
        LoginAttemptRow.at <= now - policy.failure_window))
    for key in keys:
        session.add(LoginAttemptRow(key=key, at=now))
    session.flush()


def clear_failures(session: Session, username: str) -> None:
    """A successful login forgives the username's failures (not the address's)."""
    session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.key == _user_key(username)))
