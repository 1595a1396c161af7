"""Account pages: register, log in, log out, and /account (password, tokens, delete).

Every state change is a POST that passed ``auth.csrf_protect`` (installed
app-wide). Failures re-render the form with one fixed message; success
answers 303 so a reload never re-submits. Pages that show secrets or forms
for them are ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from starlette.responses import RedirectResponse, Response

from newsdesk.accounts import service
from newsdesk.store.tables import UserRow
from newsdesk.web import auth, fever
from newsdesk.web.render import db_of, error_response, render

router = APIRouter(default_response_class=HTMLResponse)

LOGIN_FAILED = "Wrong username or password."
THROTTLED = "Too many failed attempts. Wait a few minutes and try again."
NO_STORE = {"Cache-Control": "no-store"}
DONE = {"password": "Your password was changed. Other sessions were logged out.",
        "revoked": "The token was revoked.", "welcome": "Welcome! Your account is ready."}

Text = Annotated[str, Form(max_length=4096)]
Next = Annotated[str, Form(max_length=2048)]
Current = Annotated[UserRow, Depends(auth.require_user)]


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200,
          extra: dict[str, str] | None = None) -> Response:
    return render(request, name, context, status, headers={**NO_STORE, **(extra or {})})


def _logged_in(request: Request, user: UserRow, next_url: str) -> Response:
    """Start a fresh session (new cookie and CSRF token: no fixation) and redirect."""
    days = auth.config_of(request).session_days
    with db_of(request).write() as session:
        row = session.get(UserRow, user.id)
        assert row is not None
        cookie, _csrf = service.start_session(session, row, days=days, now=auth.now(request))
    response = RedirectResponse(auth.safe_next(next_url), status_code=303)
    auth.set_cookie(request, response, auth.SESSION_COOKIE, cookie, max_age=days * 86400)
    return response


# -- log in / out -----------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _page(request, "login.html", {"next": auth.safe_next(next), "error": "",
                                         "username": ""})


@router.post("/login")
def login(request: Request, username: Text = "", password: Text = "",
          next: Next = "/") -> Response:
    """Throttled per username and per client address; one message for every failure."""
    keys = service.throttle_keys(username, auth.client_ip(request))
    now = auth.now(request)
    context = {"next": auth.safe_next(next), "username": username}
    with db_of(request).write() as session:
        wait = service.retry_after(session, keys, now=now)
        user = None if wait else service.authenticate(session, username, password)
        if user is None and not wait:
            service.record_failure(session, keys, now=now)
        elif user is not None:
            service.clear_failures(session, username)
    if wait:
        return _page(request, "login.html", {**context, "error": THROTTLED}, 429,
                     {"Retry-After": str(wait)})
    if user is None:
        return _page(request, "login.html", {**context, "error": LOGIN_FAILED}, 401)
    return _logged_in(request, user, next)


@router.post("/logout")
def logout(request: Request) -> Response:
    """Deletes the server-side session, so the cookie is dead even if copied."""
    cookie = request.cookies.get(auth.SESSION_COOKIE, "")
    if cookie:
        with db_of(request).write() as session:
            service.end_session(session, cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=auth.is_https(request))
    return response


# -- register ---------------------------------------------------------------------------


def _registration_open(request: Request) -> None:
    if not auth.config_of(request).allow_registration:
        raise HTTPException(403, "Registration is closed on this site. "
                                 "Ask an administrator for an account.")


@router.get("/register")
def register_form(request: Request, next: str = "/") -> Response:
    _registration_open(request)
    return _page(request, "register.html", {"next": auth.safe_next(next), "error": "",
                                            "username": ""})


@router.post("/register")
def register(request: Request, username: Text = "", password: Text = "", confirm: Text = "",
             next: Next = "/") -> Response:
    """The first account on a site becomes its administrator."""
    _registration_open(request)
    context = {"next": auth.safe_next(next), "username": username}
    error = "" if password == confirm else "The two passwords differ."
    user: UserRow | None = None
    if not error:
        try:
            with db_of(request).write() as session:
                user = service.create_user(session, username, password)
        except service.AccountError as exc:
            error = str(exc)
        except IntegrityError:  # a concurrent registration won the name
            error = "That username is taken."
    if user is None:
        return _page(request, "register.html", {**context, "error": error}, 400)
    return _logged_in(request, user, next)


# -- /account ---------------------------------------------------------------------------


def _account(request: Request, user: UserRow, status: int = 200, **extra: Any) -> Response:
    with db_of(request).read() as session:
        tokens = service.list_tokens(session, user)
    context = {"user": user, "tokens": tokens, "error": "", "notice": "", "new_token": "",
               "error_for": "", **extra}
    return _page(request, "account.html", context, status)


account_page = _account  # the OPML routes answer with this page too


@router.get("/account")
def account(request: Request, user: Current, done: str = "") -> Response:
    return _account(request, user, notice=DONE.get(done, ""))


@router.post("/account/password")
def change_password(request: Request, user: Current, current: Text = "", new: Text = "",
                    confirm: Text = "") -> Response:
    """Needs the current password; every other session of the user ends."""
    error = "" if new == confirm else "The two new passwords differ."
    if not error:
        try:
            with db_of(request).write() as session:
                row = session.get(UserRow, user.id)
                assert row is not None
                service.change_password(session, row, current, new,
                                        keep_cookie=request.cookies.get(auth.SESSION_COOKIE))
        except service.AccountError as exc:
            error = str(exc)
    if error:
        return _account(request, user, 400, error=error, error_for="password")
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/tokens")
def issue_token(request: Request, user: Current,
                label: Annotated[str, Form(max_length=128)] = "",
                kind: Annotated[str, Form(max_length=16)] = "api") -> Response:
    """Shown once on the page that answers; only its hash is stored."""
    try:
        with db_of(request).write() as session:
            row = session.get(UserRow, user.id)
            assert row is not None
            token = (fever.issue_password(session, row, label) if kind == "fever"
                     else service.issue_token(session, row, kind, label))
    except service.AccountError as exc:
        return _account(request, user, 400, error=str(exc), error_for="tokens")
    return _account(request, user, new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, user: Current, token_id: int) -> Response:
    """Another user's token id is a 404, the same as one that never existed."""
    with db_of(request).write() as session:
        found = service.revoke_token(session, user, token_id)
    if not found:
        raise HTTPException(404)
    return RedirectResponse("/account?done=revoked", status_code=303)


@router.post("/account/delete")
def delete_account(request: Request, user: Current, password: Text = "") -> Response:
    """Re-authenticates, then deletes the user with their sessions, tokens and data."""
    with db_of(request).write() as session:
        row = session.get(UserRow, user.id)
        ok = row is not None and service.check_password(row, password)
        if ok and row is not None:
            service.delete_user(session, row)
    if not ok:
        return _account(request, user, 400, error="The password is not right.",
                        error_for="delete")
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=auth.is_https(request))
    return response


def forbidden(request: Request, message: str) -> Response:
    """A 403 page other routers can return directly."""
    return error_response(request, 403, message)
