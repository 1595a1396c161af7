"""The Fever API (``POST /fever/?api``), as Reeder, Unread and FeedMe use it.

Fever authenticates every call with ``api_key = md5("username:password")``.
The scheme needs the md5 itself to be looked up, so a Fever app password is
stored as the SHA-256 of that md5 (an ``api_tokens`` row of kind ``fever``):
the password and the md5 never reach the database, and the md5 of a random
256-bit password cannot be reversed. Like the Google Reader routes, these
carry no cookie-based credential and are added without the CSRF dependency.

Feeds are the reader's subscriptions (``accounts.subscriptions``); groups are
their folders, with stable crc32 ids; group 0 is Fever's "Kindling" (all).
The endpoint answers at Fever's ``/fever/`` and at FreshRSS's
``/api/fever.php``, since apps and libraries set up for FreshRSS append that.
The request and response shapes follow the Fever API document (feedafever.com/api).
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from newsdesk.accounts import service, state
from newsdesk.accounts import subscriptions as subs_mod
from newsdesk.store.tables import ApiTokenRow, ArticleRow, ArticleStateRow, UserRow, utcnow
from newsdesk.web import greader_streams as gs
from newsdesk.web.greader import Params, params, refuse_cookie_sessions
from newsdesk.web.render import db_of
from newsdesk.web.syndication import one_line

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_cookie_sessions)])
ITEMS_PER_CALL = 50
MAX_IDS = 50
RECENTLY = timedelta(hours=1)  # what ``unread_recently_read`` undoes


def issue_password(session: Session, user: UserRow, label: str = "") -> str:
    """A new Fever app password, shown once; stored as sha256(md5(user:password))."""
    password = f"nd_{secrets.token_urlsafe(24)}"
    key = api_key(user.username, password)
    session.add(ApiTokenRow(user_id=user.id, token_hash=service.sha256(key), kind="fever",
                            label=(label or "").strip()[:128], created_at=utcnow()))
    session.flush()
    return password


def api_key(username: str, password: str) -> str:
    """What a Fever client sends; md5 because the protocol says so, not for secrecy."""
    return hashlib.md5(f"{username}:{password}".encode(), usedforsecurity=False).hexdigest()


def group_id(category: str) -> int:
    return 1 + zlib.crc32(category.encode("utf-8")) % (2**31 - 2)


def _ids(value: str) -> list[int]:
    parts = [p.strip() for p in value.split(",")[:MAX_IDS]]
    return [int(p) for p in parts if p.isdigit() and len(p) < 11]


def _csv(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids)


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else 0


# -- reads ----------------------------------------------------------------------------


def _groups(reader: gs.Reader) -> dict[str, object]:
    cats = sorted({s.category for s in reader.subs})
    feeds_groups = [{"group_id": group_id(c),
                     "feed_ids": _csv([s.int_id for s in reader.subs if s.category == c])}
                    for c in cats]
    return {"groups": [{"id": group_id(c), "title": c} for c in cats],
            "feeds_groups": feeds_groups}


def _feeds(session: Session, reader: gs.Reader) -> dict[str, object]:
    feeds = []
    for sub in reader.subs:
        newest = session.scalar(select(ArticleRow.ingested_at).where(sub.clause())
                                .order_by(ArticleRow.ingested_at.desc()).limit(1))
        feeds.append({"id": sub.int_id, "favicon_id": 0, "title": sub.title, "url": sub.url,
                      "site_url": sub.html_url, "is_spark": 0,
                      "last_updated_on_time": _epoch(newest)})
    return {"feeds": feeds, "feeds_groups": _groups(reader)["feeds_groups"]}


def _item(item: gs.Item) -> dict[str, object]:
    row = item.row
    return {"id": row.id, "feed_id": item.origin.int_id,
            "title": one_line(row.title) or "(untitled)", "author": one_line(row.byline),
            "html": item.html, "url": item.link, "is_saved": int(item.starred),
            "is_read": int(item.read), "created_on_time": _epoch(row.sort_time)}


def _items(session: Session, reader: gs.Reader, values: Params) -> dict[str, object]:
    """``since_id`` ascending, ``max_id`` descending, ``with_ids`` as listed; 50 at most.

    ``max_id=0`` is how a client starts paging backwards: the newest items.
    """
    where = reader.reading_list()
    top = (values.get("max_id") or [""])[0]
    stmt = select(ArticleRow).where(where)
    if "with_ids" in values:
        rows = gs.by_ids(session, _ids(values["with_ids"][0]))
    elif top.isdigit() and len(top) < 11:
        if int(top):
            stmt = stmt.where(ArticleRow.id < int(top))
        rows = list(session.scalars(stmt.order_by(ArticleRow.id.desc()).limit(ITEMS_PER_CALL)))
    else:
        low = (values.get("since_id") or ["0"])[0]
        low_id = int(low[:10]) if low.isdigit() else 0
        rows = list(session.scalars(stmt.where(ArticleRow.id > low_id)
                                    .order_by(ArticleRow.id).limit(ITEMS_PER_CALL)))
    total = session.scalar(select(func.count(ArticleRow.id)).where(where))
    return {"items": [_item(i) for i in gs.items(session, reader, rows)],
            "total_items": int(total or 0)}


def _unread_ids(session: Session, reader: gs.Reader) -> str:
    stmt = (select(ArticleRow.id).where(reader.reading_list(),
                                        ~subs_mod.read_clause(reader.user_id))
            .order_by(ArticleRow.id))
    return _csv(list(session.scalars(stmt)))


def _saved_ids(session: Session, user_id: int) -> str:
    stmt = (select(ArticleStateRow.article_id).where(ArticleStateRow.user_id == user_id,
                                                     ArticleStateRow.saved_at.is_not(None))
            .order_by(ArticleStateRow.article_id))
    return _csv(list(session.scalars(stmt)))


# -- writes ---------------------------------------------------------------------------


def _mark_item(session: Session, user_id: int, article_id: int, how: str) -> None:
    if not subs_mod.valid_ids(session, [article_id]):
        return
    if how in ("read", "unread"):
        subs_mod.set_read(session, user_id, article_id, how == "read")
    elif how in ("saved", "unsaved"):
        state.set_saved(session, user_id, article_id, how == "saved")


def _mark_many(session: Session, reader: gs.Reader, values: Params) -> None:
    """``mark=feed|group&as=read&id=…&before=…``; group 0 is everything."""
    kind, target = values["mark"][0], (values.get("id") or [""])[0]
    before = gs.to_datetime((values.get("before") or [""])[0])
    if kind == "feed":
        subs = [s for s in reader.subs if str(s.int_id) == target]
    elif target == "0":
        subs = reader.subs
    else:
        subs = [s for s in reader.subs if str(group_id(s.category)) == target]
    if subs:
        subs_mod.mark_all_read(session, reader.user_id, subs_mod.reading_clause(subs), before)


def _mark(session: Session, reader: gs.Reader, values: Params) -> str:
    """Apply one ``mark``; the id list the spec says the answer carries ("" for none)."""
    kind, how = values["mark"][0], (values.get("as") or [""])[0]
    target = (values.get("id") or [""])[0]
    if kind == "item" and target.isdigit() and len(target) < 11:
        _mark_item(session, reader.user_id, int(target), how)
        return "saved_item_ids" if how in ("saved", "unsaved") else "unread_item_ids"
    if kind in ("feed", "group") and how == "read":
        _mark_many(session, reader, values)
        return "unread_item_ids"
    return ""


def _unread_recently_read(session: Session, user_id: int) -> None:
    """``unread_recently_read=1``: undo the reads of the last hour (Fever's "unread")."""
    since = utcnow() - RECENTLY
    session.execute(update(ArticleStateRow).where(
        ArticleStateRow.user_id == user_id, ArticleStateRow.read_at >= since)
        .values(read_at=None))


# -- the endpoint ---------------------------------------------------------------------


def _user(session: Session, values: Params) -> UserRow | None:
    key = (values.get("api_key") or [""])[0].strip().lower()
    return service.user_for_token(session, key, "fever") if len(key) == 32 else None


def _write(session: Session, reader: gs.Reader, values: Params) -> list[str]:
    """The writes of a call (POST data in the spec); the id lists to answer with."""
    wanted: list[str] = []
    if (values.get("unread_recently_read") or [""])[0] == "1":
        _unread_recently_read(session, reader.user_id)
        wanted.append("unread_item_ids")
    if "mark" in values:
        wanted.append(_mark(session, reader, values))
    return [w for w in wanted if w]


def _answer(session: Session, reader: gs.Reader, values: Params) -> dict[str, Any]:
    """The members asked for, each named by a (query string) argument."""
    body: dict[str, Any] = {}
    if "groups" in values:
        body.update(_groups(reader))
    if "feeds" in values:
        body.update(_feeds(session, reader))
    if "items" in values:
        body.update(_items(session, reader, values))
    if "unread_item_ids" in values:
        body["unread_item_ids"] = _unread_ids(session, reader)
    if "saved_item_ids" in values:
        body["saved_item_ids"] = _saved_ids(session, reader.user_id)
    if "favicons" in values:
        body["favicons"] = []
    if "links" in values:
        body["links"] = []
    return body


@router.api_route("/fever/", methods=["GET", "POST"])
@router.api_route("/fever", methods=["GET", "POST"])
@router.api_route("/api/fever.php", methods=["GET", "POST"])
def fever(request: Request, values: Annotated[Params, Depends(params)]) -> Response:
    """Always 200 JSON with ``auth`` 0 or 1, as clients expect; writes before reads."""
    base: dict[str, Any] = {"api_version": 3, "auth": 0}
    if "api" not in values:
        return JSONResponse(base)
    with db_of(request).write() as session:
        user = _user(session, values)
        if user is None:
            return JSONResponse(base)
        reader = gs.Reader.load(session, user.id, str(request.base_url).rstrip("/"))
        for member in _write(session, reader, values):
            values.setdefault(member, [""])  # answer with the lists the spec promises
        body = _answer(session, reader, values)
        newest = session.scalar(select(func.max(ArticleRow.ingested_at)))
    return JSONResponse({**base, "auth": 1, "last_refreshed_on_time": _epoch(newest), **body})


def install(app: FastAPI) -> None:
    """Add the route without the app-wide CSRF dependency (``api_key`` auth only)."""
    app.router.routes[0:0] = router.routes
