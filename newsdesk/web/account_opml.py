"""Per-reader OPML: export your subscriptions, import another reader's list.

Subscriptions are the outlets a reader follows plus feeds they added
(``accounts.subscriptions``), the same list the Google Reader and Fever APIs
serve. Import goes through the CLI's defusedxml parser and ``check_url``, so
an uploaded file cannot expand entities or point newsdesk at intranet hosts.
These are cookie-session routes and keep the app-wide CSRF check.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from newsdesk.accounts import subscriptions as subs_mod
from newsdesk.ingest.opml import OpmlError, parse_opml, write_opml
from newsdesk.store.tables import UserRow
from newsdesk.web import auth
from newsdesk.web.account_pages import account_page
from newsdesk.web.render import db_of, settings_of

router = APIRouter(include_in_schema=False)
MAX_OPML = 512 * 1024
MAX_FEEDS = 500
Current = Annotated[UserRow, Depends(auth.require_user)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/account/opml")
def export_opml(request: Request, user: Current) -> Response:
    """OPML 2.0 of the reader's subscriptions, as a download."""
    with db_of(request).read() as session:
        subs = subs_mod.subscriptions(session, user.id, _base(request))
    body = write_opml(subs_mod.to_opml(subs), f"{user.username} on newsdesk")
    return Response(body, media_type="text/x-opml; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="newsdesk-subscriptions.opml"',
        "Cache-Control": "no-store"})


@router.post("/account/opml")
async def import_opml(request: Request, user: Current,
                      file: Annotated[UploadFile, File()]) -> Response:
    """Follow every feed in the file; one line per feed that could not be added."""
    data = await file.read(MAX_OPML + 1)
    if len(data) > MAX_OPML:
        return account_page(request, user, 400, error="That OPML file is too large.",
                            error_for="opml")
    try:
        feeds = parse_opml(data)[:MAX_FEEDS]
    except OpmlError as exc:
        return account_page(request, user, 400, error=f"That file is not usable OPML: {exc}",
                            error_for="opml")
    done, errors = await run_in_threadpool(_import, request, user, feeds)
    notice = f"Subscribed to {done} feed{'s' if done != 1 else ''}."
    if errors:
        notice += f" {len(errors)} could not be added: " + "; ".join(errors[:5])
    return account_page(request, user, notice=notice)


def _import(request: Request, user: UserRow,
            feeds: list[subs_mod.OpmlFeed]) -> tuple[int, list[str]]:
    """Blocking work (DNS checks, database) off the event loop."""
    with db_of(request).write() as session:
        return subs_mod.import_opml(session, user.id, feeds, settings_of(request),
                                    _base(request))
