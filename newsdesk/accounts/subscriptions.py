"""A reader's subscriptions, in the shape feed-reader apps expect.

Google Reader, Fever and OPML all think in *feeds*. newsdesk thinks in
outlets a reader follows (``follows`` rows of kind ``outlet``) plus, for a
feed URL added from an app or an OPML file, the source itself (kind
``source``, target = the source id: an outlet name is unknown until the feed
is first fetched). This module maps both ways and builds the SQL clauses the
API streams share, so every protocol sees the same subscriptions and the
same read/starred state as the web pages.

Feed ids follow Google Reader: ``feed/<url>``. A source's url is its own; an
outlet's is newsdesk's Atom feed for it, so the id is also a working feed.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote

from sqlalchemy import ColumnElement, and_, delete, exists, false, or_, select, update
from sqlalchemy.orm import Session

from newsdesk.accounts import follows
from newsdesk.accounts.state import mark_read
from newsdesk.config import Settings
from newsdesk.ingest import fetch
from newsdesk.ingest.opml import OpmlFeed
from newsdesk.store import sources as source_store
from newsdesk.store.tables import (
    MAX_ID,
    ArticleRow,
    ArticleStateRow,
    FollowRow,
    SourceRow,
    utcnow,
)

SOURCE = "source"
OUTLET = "outlet"
OUTLET_CATEGORY = "Outlets"
_OUTLET_URL = re.compile(r"/outlets/(?P<name>.+)/feed\.atom$")
OUTLET_ID_BASE = 1 << 30  # Fever needs integer feed ids; outlets get hashed ones above sources


class SubscriptionError(ValueError):
    """A feed that cannot be subscribed to (bad URL, blocked address, unknown outlet)."""


@dataclass(frozen=True)
class Subscription:
    """One feed of a reader: an outlet they follow or a source they added."""

    kind: str  # "outlet" | "source"
    target: str  # outlet name | source id
    title: str
    url: str  # the feed URL (for outlets: newsdesk's own Atom feed of it)
    html_url: str
    category: str

    @property
    def stream_id(self) -> str:
        return f"feed/{self.url}"

    @property
    def int_id(self) -> int:
        """A stable integer id (Fever): the source id, or a hash of the outlet name."""
        if self.kind == SOURCE:
            return int(self.target)
        return outlet_int_id(self.target)

    def clause(self) -> ColumnElement[bool]:
        """The articles of this feed."""
        if self.kind == SOURCE:
            return ArticleRow.source_id == int(self.target)
        return ArticleRow.outlet == self.target


def outlet_int_id(name: str) -> int:
    return OUTLET_ID_BASE + (zlib.crc32(name.encode("utf-8")) % OUTLET_ID_BASE)


def outlet_feed_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/outlets/{quote(name, safe='')}/feed.atom"


def outlet_from_url(url: str) -> str | None:
    """The outlet name in one of newsdesk's outlet feed URLs (any host), else None."""
    match = _OUTLET_URL.search(url)
    return unquote(match.group("name")) if match else None


def outlet_page_url(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/outlets/{quote(name, safe='')}"


# -- reading --------------------------------------------------------------------------


def _outlet_categories(session: Session, names: list[str]) -> dict[str, str]:
    """An outlet's folder: the category of a source that brought its articles."""
    if not names:
        return {}
    rows = session.execute(
        select(ArticleRow.outlet, SourceRow.category)
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .where(ArticleRow.outlet.in_(names), SourceRow.category != "")
        .group_by(ArticleRow.outlet, SourceRow.category)).all()
    return {str(outlet): str(category) for outlet, category in rows}


def subscriptions(session: Session, user_id: int, base: str) -> list[Subscription]:
    """Everything the reader subscribes to, outlets then sources, by title."""
    rows = list(session.scalars(select(FollowRow).where(
        FollowRow.user_id == user_id, FollowRow.mode == "follow",
        FollowRow.kind.in_((OUTLET, SOURCE)))))
    outlets = sorted(r.target for r in rows if r.kind == OUTLET)
    cats = _outlet_categories(session, outlets)
    subs = [Subscription(OUTLET, name, name, outlet_feed_url(base, name),
                         outlet_page_url(base, name), cats.get(name, OUTLET_CATEGORY))
            for name in outlets]
    ids = [int(r.target) for r in rows if r.kind == SOURCE and r.target.isdigit()]
    for src in session.scalars(select(SourceRow).where(SourceRow.id.in_(ids))):
        subs.append(_source_sub(src))
    return sorted(subs, key=lambda s: (s.title.lower(), s.url))


def _source_sub(src: SourceRow) -> Subscription:
    return Subscription(SOURCE, str(src.id), src.title or src.url, src.url,
                        src.site_url or src.url, src.category or "Sources")


def reading_clause(subs: list[Subscription]) -> ColumnElement[bool]:
    """Articles of any of these feeds (none when the list is empty)."""
    if not subs:
        return and_(false())
    return or_(*[s.clause() for s in subs])


def find(subs: list[Subscription], stream_id: str) -> Subscription | None:
    """The subscription with this ``feed/…`` id (outlet URLs match on any host)."""
    url = stream_id.removeprefix("feed/")
    for sub in subs:
        if sub.url == url:
            return sub
    name = outlet_from_url(url)
    return next((s for s in subs if s.kind == OUTLET and s.target == name), None)


# -- changing -------------------------------------------------------------------------


def _follow_source(session: Session, user_id: int, source_id: int) -> None:
    row = session.get(FollowRow, (user_id, SOURCE, str(source_id)))
    if row is None:
        session.add(FollowRow(user_id=user_id, kind=SOURCE, target=str(source_id),
                              mode="follow", created_at=utcnow()))
    else:
        row.mode = "follow"
    session.flush()


def subscribe(session: Session, user_id: int, target: str, settings: Settings, *,
              base: str, title: str = "", category: str = "") -> str:
    """Subscribe to a feed URL, a ``feed/<url>`` id or an outlet name; returns the stream id.

    An outlet's newsdesk feed URL or a known outlet name follows the outlet;
    a source already polled is followed as is; any other URL is checked
    (``check_url`` refuses private and unresolvable addresses) and added as a
    new source, which the scheduler then polls.
    """
    url = target.strip().removeprefix("feed/")
    name = outlet_from_url(url) or ("" if "://" in url else url)
    if name:
        try:
            follows.set_follow(session, user_id, OUTLET, name, "follow")
        except follows.FollowError as exc:
            raise SubscriptionError(str(exc)) from None
        return f"feed/{outlet_feed_url(base, name)}"
    src = session.scalars(select(SourceRow).where(SourceRow.url == url)).first()
    if src is None:
        try:
            url = fetch.check_url(url, settings)
        except (fetch.FetchError, ValueError) as exc:
            raise SubscriptionError(f"That feed address cannot be used: {exc}") from None
        src, _new = source_store.add_source(session, url, title=title[:512],
                                            category=category[:256])
    _follow_source(session, user_id, src.id)
    return f"feed/{src.url}"


def unsubscribe(session: Session, user_id: int, sub: Subscription) -> None:
    session.execute(delete(FollowRow).where(
        FollowRow.user_id == user_id, FollowRow.kind == sub.kind,
        FollowRow.target == sub.target))


# -- read / starred -------------------------------------------------------------------


def valid_ids(session: Session, ids: list[int]) -> list[int]:
    """The ids that name existing articles (unknown ones are skipped, as FreshRSS does)."""
    ids = [i for i in ids if 0 < i <= MAX_ID]
    if not ids:
        return []
    return list(session.scalars(select(ArticleRow.id).where(ArticleRow.id.in_(ids))))


def set_read(session: Session, user_id: int, article_id: int, read: bool) -> None:
    """Read reuses ``state.mark_read``; unread clears the timestamp (apps allow it)."""
    if read:
        mark_read(session, user_id, article_id)
        return
    session.execute(update(ArticleStateRow).where(
        ArticleStateRow.user_id == user_id, ArticleStateRow.article_id == article_id)
        .values(read_at=None))


def read_clause(user_id: int) -> ColumnElement[bool]:
    return exists().where(ArticleStateRow.article_id == ArticleRow.id,
                          ArticleStateRow.user_id == user_id,
                          ArticleStateRow.read_at.is_not(None))


def starred_clause(user_id: int) -> ColumnElement[bool]:
    return exists().where(ArticleStateRow.article_id == ArticleRow.id,
                          ArticleStateRow.user_id == user_id,
                          ArticleStateRow.saved_at.is_not(None))


def mark_all_read(session: Session, user_id: int, where: ColumnElement[bool],
                  before: datetime | None) -> int:
    """Mark every unread article matching ``where`` (and older than ``before``) read."""
    clauses = [where, ~read_clause(user_id)]
    if before is not None:
        clauses.append(ArticleRow.ingested_at <= before)
    ids = list(session.scalars(select(ArticleRow.id).where(*clauses)))
    now = utcnow()
    for article_id in ids:
        mark_read(session, user_id, article_id, now)
    return len(ids)


# -- OPML -----------------------------------------------------------------------------


def to_opml(subs: list[Subscription]) -> list[OpmlFeed]:
    return [OpmlFeed(xml_url=s.url, title=s.title, html_url=s.html_url,
                     category="" if s.category in (OUTLET_CATEGORY, "Sources") else s.category)
            for s in subs]


def import_opml(session: Session, user_id: int, feeds: list[OpmlFeed],
                settings: Settings, base: str) -> tuple[int, list[str]]:
    """Subscribe to every feed of an OPML file; returns (subscribed, errors)."""
    done, errors = 0, []
    for feed in feeds:
        try:
            subscribe(session, user_id, feed.xml_url, settings, base=base,
                      title=feed.title, category=feed.category)
            done += 1
        except SubscriptionError as exc:
            errors.append(f"{feed.xml_url[:200]}: {exc}")
    return done, errors
