"""The Google Reader API, as FreshRSS and Miniflux speak it, plus FeedHQ's Atom streams.

Apps log in with ``POST /accounts/ClientLogin`` (username + a per-user
``greader`` app password from /account) and send the returned token as
``Authorization: GoogleLogin auth=…`` on every call. The token *is* the app
password, so revoking it on /account logs the app out; nothing else is stored.

CSRF: these routes authenticate only by that header (never by the session
cookie), so a cross-site form cannot ride on ambient credentials. They are
therefore added to the app without its CSRF dependency (see ``install``);
cookie-authenticated routes keep it. A request carrying the session cookie
(a browser) is refused with 403 before anything else happens.

``/reader/atom/<stream>`` is Google Reader's original Atom output, which
newsboat's FeedHQ mode reads (FreshRSS lacks it, so newsboat fails there).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from newsdesk.accounts import service, state
from newsdesk.accounts import subscriptions as subs_mod
from newsdesk.store.tables import UserRow
from newsdesk.web import auth
from newsdesk.web import greader_streams as gs
from newsdesk.web.render import db_of, now_of, settings_of
from newsdesk.web.syndication import one_line


def refuse_cookie_sessions(request: Request) -> None:
    """403 for a request carrying a newsdesk session cookie: only browsers send one.

    These routes skip the CSRF check because they never accept the cookie as a
    credential; refusing cookie-bearing requests outright keeps that promise
    visible (the security suite checks every POST route refuses a bare form).
    """
    if auth.SESSION_COOKIE in request.cookies:
        raise HTTPException(403, "Use an app password, not a browser session, for this API.")


router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_cookie_sessions)])
API = "/reader/api/0"
GR_NS = "http://www.google.com/schemas/reader/atom/"
ATOM_NS = "http://www.w3.org/2005/Atom"
GR_SCHEME = "http://www.google.com/reader/"
_AUTH = re.compile(r"GoogleLogin\s+auth=(\S{1,256})", re.IGNORECASE)
Params = dict[str, list[str]]


class Unauthorized(Exception):
    """No valid ``GoogleLogin`` token: a plain 401 as Google answered."""


async def _unauthorized(_request: Request, _exc: Exception) -> Response:
    return PlainTextResponse("Unauthorized", 401, headers={"Google-Bad-Token": "true"})


async def _bad_continuation(_request: Request, _exc: Exception) -> Response:
    """A ``c`` we never issued: 400 rather than silently restarting from the top."""
    return PlainTextResponse("Invalid continuation", 400)


async def params(request: Request) -> Params:
    """Query and form parameters merged; repeated keys (``i=…&i=…``) kept in order."""
    merged: Params = {}
    for key, value in request.query_params.multi_items():
        merged.setdefault(key, []).append(value)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").lower()
        if not content_type or content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            for key, item in form.multi_items():
                if isinstance(item, str):
                    merged.setdefault(key, []).append(item)
    return merged


def _token_of(request: Request) -> str:
    match = _AUTH.fullmatch(request.headers.get("authorization", "").strip())
    return match.group(1) if match else ""


def reader_user(request: Request) -> UserRow:
    """The owner of the ``GoogleLogin`` token; cookies are deliberately ignored."""
    token = _token_of(request)
    with db_of(request).read() as session:
        user = service.user_for_token(session, token, "greader") if token else None
    if user is None:
        raise Unauthorized()
    return user


User = Annotated[UserRow, Depends(reader_user)]
Form = Annotated[Params, Depends(params)]


def _one(values: Params, name: str, default: str = "") -> str:
    return (values.get(name) or [default])[0]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _reader(request: Request, session: Any, user: UserRow) -> gs.Reader:
    return gs.Reader.load(session, user.id, _base(request))


# -- login ----------------------------------------------------------------------------


@router.api_route("/accounts/ClientLogin", methods=["GET", "POST"])
def client_login(request: Request, values: Form) -> Response:
    """``Email``/``Passwd`` = username + app password; throttled like the login form."""
    username, password = _one(values, "Email"), _one(values, "Passwd")
    keys = service.throttle_keys(username, auth.client_ip(request))
    now = now_of(request)
    with db_of(request).write() as session:
        if service.retry_after(session, keys, now=now):
            return PlainTextResponse("Error=TooManyAttempts\n", 429)
        user = service.user_for_token(session, password, "greader")
        if user is None or user.username.lower() != username.strip().lower():
            service.record_failure(session, keys, now=now)
            return PlainTextResponse("Error=BadAuthentication\n", 401)
        service.touch_token(session, password)
    return PlainTextResponse(f"SID={password}\nLSID=null\nAuth={password}\n")


@router.get(API + "/token")
def token(request: Request, _user: User) -> Response:
    """The edit token ``T``; the header already proves who asks, so it is not checked."""
    digest = hashlib.sha256(_token_of(request).encode()).hexdigest()
    return PlainTextResponse(digest[:57])


@router.get(API + "/user-info")
def user_info(user: User) -> Response:
    return JSONResponse({"userId": str(user.id), "userName": user.username,
                         "userProfileId": str(user.id), "userEmail": "",
                         "isBloggerUser": False, "signupTimeSec": int(user.created_at.timestamp())})


# -- subscriptions --------------------------------------------------------------------


def _sub_json(sub: subs_mod.Subscription) -> dict[str, object]:
    return {"id": sub.stream_id, "title": sub.title, "url": sub.url, "htmlUrl": sub.html_url,
            "iconUrl": "", "sortid": f"{sub.int_id:08X}", "firstitemmsec": "0",
            "categories": [{"id": gs.LABEL + sub.category, "label": sub.category}]}


@router.get(API + "/subscription/list")
def subscription_list(request: Request, user: User) -> Response:
    with db_of(request).read() as session:
        subs = subs_mod.subscriptions(session, user.id, _base(request))
    return JSONResponse({"subscriptions": [_sub_json(s) for s in subs]})


def _subscribe_one(request: Request, user: UserRow, target: str, title: str) -> str:
    with db_of(request).write() as session:
        return subs_mod.subscribe(session, user.id, target, settings_of(request),
                                  base=_base(request), title=title)


@router.post(API + "/subscription/quickadd")
def quickadd(request: Request, user: User, values: Form) -> Response:
    query = _one(values, "quickadd")
    try:
        stream = _subscribe_one(request, user, query, "")
    except subs_mod.SubscriptionError as exc:
        return JSONResponse({"numResults": 0, "query": query, "error": str(exc)}, 400)
    return JSONResponse({"numResults": 1, "query": query, "streamId": stream,
                         "streamName": query})


@router.post(API + "/subscription/edit")
def subscription_edit(request: Request, user: User, values: Form) -> Response:
    """``ac=subscribe|unsubscribe`` (``edit``: titles and folders are the source's own)."""
    action = _one(values, "ac", "edit")
    try:
        for stream in values.get("s", []):
            if action == "subscribe":
                _subscribe_one(request, user, stream, _one(values, "t"))
            elif action == "unsubscribe":
                _unsubscribe(request, user, stream)
    except subs_mod.SubscriptionError as exc:
        return PlainTextResponse(str(exc), 400)
    return PlainTextResponse("OK")


def _unsubscribe(request: Request, user: UserRow, stream: str) -> None:
    with db_of(request).write() as session:
        subs = subs_mod.subscriptions(session, user.id, _base(request))
        found = subs_mod.find(subs, stream)
        if found is not None:
            subs_mod.unsubscribe(session, user.id, found)


@router.get(API + "/tag/list")
def tag_list(request: Request, user: User) -> Response:
    with db_of(request).read() as session:
        found = gs.labels(session, _reader(request, session, user), now_of(request))
    tags = [{"id": gs.STARRED}, {"id": gs.READ}]
    tags += [{"id": label.id, "type": label.kind} for label in found]
    return JSONResponse({"tags": tags})


@router.get(API + "/unread-count")
def unread_count(request: Request, user: User) -> Response:
    """Per feed, per folder, and the reading list as a whole."""
    with db_of(request).read() as session:
        reader = _reader(request, session, user)
        streams = [(s.stream_id, s.clause()) for s in reader.subs]
        streams += [(gs.LABEL + c, gs.stream_clause(session, reader, gs.LABEL + c))
                    for c in sorted({s.category for s in reader.subs})]
        streams.append((gs.READING_LIST, reader.reading_list()))
        counts = [(sid, *gs.count_unread(session, reader, clause)) for sid, clause in streams]
    out = [{"id": sid, "count": n, "newestItemTimestampUsec": str(gs.usec(newest) if newest
                                                                  else 0)}
           for sid, n, newest in counts]
    return JSONResponse({"max": max([n for _, n, _ in counts] or [0]), "unreadcounts": out})


# -- streams --------------------------------------------------------------------------


def _page(request: Request, user: UserRow,
          query: gs.StreamQuery) -> tuple[list[gs.Item], str]:
    with db_of(request).read() as session:
        reader = _reader(request, session, user)
        rows, cont = gs.run(session, reader, query)
        return gs.items(session, reader, rows), cont


def _contents(query: gs.StreamQuery, found: list[gs.Item], cont: str) -> Response:
    body: dict[str, object] = {
        "direction": "ltr", "id": query.stream, "title": query.stream,
        "updated": int(datetime.now(UTC).timestamp()),
        "items": [gs.item_json(i) for i in found]}
    if cont:
        body["continuation"] = cont
    return JSONResponse(body)


@router.get(API + "/stream/contents/{stream:path}")
@router.get(API + "/stream/contents")
def stream_contents(request: Request, user: User, values: Form, stream: str = "") -> Response:
    query = gs.StreamQuery.parse(values, stream)
    found, cont = _page(request, user, query)
    return _contents(query, found, cont)


@router.get(API + "/stream/items/ids")
def stream_item_ids(request: Request, user: User, values: Form) -> Response:
    query = gs.StreamQuery.parse(values)
    found, cont = _page(request, user, query)
    refs = [{"id": str(i.row.id), "directStreamIds": [],
             "timestampUsec": str(gs.usec(i.row.ingested_at))} for i in found]
    body: dict[str, object] = {"itemRefs": refs}
    if cont:
        body["continuation"] = cont
    return JSONResponse(body)


@router.api_route(API + "/stream/items/contents", methods=["GET", "POST"])
def stream_item_contents(request: Request, user: User, values: Form) -> Response:
    ids = [n for n in (gs.parse_item_id(v) for v in values.get("i", [])) if n is not None]
    with db_of(request).read() as session:
        reader = _reader(request, session, user)
        found = gs.items(session, reader, gs.by_ids(session, ids))
    return _contents(gs.StreamQuery(stream=gs.READING_LIST), found, "")


# -- state changes --------------------------------------------------------------------

_EDITS: dict[tuple[str, str], Callable[[Any, int, int], None]] = {
    ("a", gs.READ): lambda s, u, a: subs_mod.set_read(s, u, a, True),
    ("r", gs.READ): lambda s, u, a: subs_mod.set_read(s, u, a, False),
    ("a", gs.KEPT_UNREAD): lambda s, u, a: subs_mod.set_read(s, u, a, False),
    ("a", gs.STARRED): lambda s, u, a: state.set_saved(s, u, a, True),
    ("r", gs.STARRED): lambda s, u, a: state.set_saved(s, u, a, False),
}


@router.post(API + "/edit-tag")
def edit_tag(request: Request, user: User, values: Form) -> Response:
    """``a``/``r`` read and starred on items ``i``; other tags and unknown items are ignored."""
    ids = [n for n in (gs.parse_item_id(v) for v in values.get("i", [])) if n is not None]
    changes = [_EDITS[(op, gs.normalise_stream(tag))] for op in ("r", "a")
               for tag in values.get(op, []) if (op, gs.normalise_stream(tag)) in _EDITS]
    with db_of(request).write() as session:
        for article_id in subs_mod.valid_ids(session, ids):
            for change in changes:
                change(session, user.id, article_id)
    return PlainTextResponse("OK")


@router.post(API + "/mark-all-as-read")
def mark_all_as_read(request: Request, user: User, values: Form) -> Response:
    """Everything unread in stream ``s`` that arrived before ``ts`` (any epoch unit)."""
    before = gs.to_datetime(_one(values, "ts"))
    with db_of(request).write() as session:
        reader = _reader(request, session, user)
        clause = gs.stream_clause(session, reader, _one(values, "s", gs.READING_LIST))
        subs_mod.mark_all_read(session, user.id, clause, before)
    return PlainTextResponse("OK")


# -- Atom (FeedHQ / original Google Reader) -------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text:
        element.text = text
    return element


def _atom_entry(feed: ET.Element, item: gs.Item) -> None:
    row = item.row
    entry = _sub(feed, "entry", **{f"{{{GR_NS}}}crawl-timestamp-msec":
                                   str(gs.usec(row.ingested_at) // 1000)})
    _sub(entry, "id", gs.long_id(row.id), **{f"{{{GR_NS}}}original-id": item.link})
    for category in item.categories:
        _sub(entry, "category", term=category, scheme=GR_SCHEME,
             label=category.rsplit("/", 1)[-1])
    _sub(entry, "title", one_line(row.title) or "(untitled)", type="html")
    stamp = row.sort_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _sub(entry, "published", stamp)
    _sub(entry, "updated", stamp)
    _sub(entry, "link", rel="alternate", href=item.link, type="text/html")
    _sub(entry, "summary", item.html, type="html")
    author = _sub(entry, "author")
    _sub(author, "name", one_line(row.byline) or row.outlet or "newsdesk")
    source = _sub(entry, "source", **{f"{{{GR_NS}}}stream-id": item.origin.stream_id})
    _sub(source, "id", f"tag:google.com,2005:reader/{item.origin.stream_id}")
    _sub(source, "title", item.origin.title, type="html")
    _sub(source, "link", rel="alternate", href=item.origin.html_url, type="text/html")


def atom_document(stream: str, title: str, found: list[gs.Item], cont: str) -> bytes:
    ET.register_namespace("", ATOM_NS)
    ET.register_namespace("gr", GR_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = f"tag:google.com,2005:reader/{stream}"
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = datetime.now(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    if cont:
        ET.SubElement(feed, f"{{{GR_NS}}}continuation").text = cont
    for item in found:
        _atom_entry(feed, item)
    _qualify(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _qualify(element: ET.Element) -> None:
    """Put un-namespaced children (built with the short helper) into the Atom namespace."""
    for child in element.iter():
        if not child.tag.startswith("{"):
            child.tag = f"{{{ATOM_NS}}}{child.tag}"


def _atom_title(request: Request, user: UserRow, stream: str) -> str:
    with db_of(request).read() as session:
        subs = subs_mod.subscriptions(session, user.id, _base(request))
    found = subs_mod.find(subs, stream) if stream.startswith("feed/") else None
    return found.title if found else stream.rsplit("/", 1)[-1]


@router.get("/reader/atom/{stream:path}")
def atom_stream(request: Request, user: User, values: Form, stream: str) -> Response:
    """A stream as Google Reader Atom: read/fresh/starred as ``gr`` categories."""
    query = gs.StreamQuery.parse(values, stream)
    found, cont = _page(request, user, query)
    body = atom_document(query.stream, _atom_title(request, user, query.stream), found, cont)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def install(app: FastAPI) -> None:
    """Add the routes *without* the app-wide CSRF dependency (header auth only)."""
    app.router.routes[0:0] = router.routes
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(gs.BadContinuation, _bad_continuation)
