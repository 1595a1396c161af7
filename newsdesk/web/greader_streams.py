"""Google Reader streams over newsdesk's articles: ids, stream ids, queries, items.

Kept apart from the routes so the JSON API and the Atom endpoint newsboat
reads share one definition of "what is in this stream for this reader".
Labels expose more than folders: ``user/-/label/#Slug`` is a hashtag and
``user/-/label/Story <id> · <title>`` a story, so apps can browse both.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from newsdesk.accounts import follows, state
from newsdesk.accounts import subscriptions as subs_mod
from newsdesk.accounts.subscriptions import Subscription
from newsdesk.store import stories, tags
from newsdesk.store.tables import MAX_ID, ArticleRow, ArticleTagRow, SourceRow, TagRow
from newsdesk.web import syndication, views

LONG_PREFIX = "tag:google.com,2005:reader/item/"
STATE = "user/-/state/com.google/"
READING_LIST = STATE + "reading-list"
READ = STATE + "read"
STARRED = STATE + "starred"
KEPT_UNREAD = STATE + "kept-unread"
LABEL = "user/-/label/"
MAX_N = 1000
_USER_PREFIX = re.compile(r"^user/\d+/")
_STORY_LABEL = re.compile(r"^Story (\d{1,10})\b")
_CURSOR = re.compile(r"^(-?\d{1,19})\.(\d{1,10})$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sort_time() -> ColumnElement[datetime]:
    """When an article appeared: published, else ingested (as ``ArticleRow.sort_time``)."""
    return func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)


# -- ids ------------------------------------------------------------------------------


def long_id(article_id: int) -> str:
    return f"{LONG_PREFIX}{article_id:016x}"


def parse_item_id(value: str) -> int | None:
    """Long form, bare 16-hex-digit form, or decimal short form; None if invalid."""
    text = value.strip()
    try:
        if text.startswith(LONG_PREFIX):
            number = int(text[len(LONG_PREFIX):], 16)
        elif len(text) == 16:
            number = int(text, 16)
        else:
            number = int(text, 10)
    except ValueError:
        return None
    return number if 0 < number <= MAX_ID else None


def normalise_stream(stream: str) -> str:
    """``user/1234/state/…`` (a client echoing our user id) means ``user/-/state/…``."""
    return _USER_PREFIX.sub("user/-/", stream.strip())


def to_datetime(value: str) -> datetime | None:
    """Seconds, milliseconds or microseconds since the epoch, told apart by size."""
    try:
        number = int(value)
    except ValueError:
        return None
    if number > 10**14:
        number //= 10**6
    elif number > 10**11:
        number //= 10**3
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def usec(moment: datetime) -> int:
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1_000_000)


# -- the reader's world ---------------------------------------------------------------


@dataclass
class Reader:
    """One request's view: the user, their subscriptions, their mutes."""

    user_id: int
    base: str
    subs: list[Subscription]
    prefs: follows.Prefs

    @classmethod
    def load(cls, session: Session, user_id: int, base: str) -> Reader:
        return cls(user_id, base, subs_mod.subscriptions(session, user_id, base),
                   follows.preferences(session, user_id))

    def reading_list(self) -> ColumnElement[bool]:
        return and_(subs_mod.reading_clause(self.subs), *follows.unmuted_clauses(self.prefs))

    def origin_of(self, row: ArticleRow) -> Subscription:
        """The feed an article came through: a followed source, else its outlet."""
        for sub in self.subs:
            if sub.kind == subs_mod.SOURCE and row.source_id == int(sub.target):
                return sub
        url = subs_mod.outlet_feed_url(self.base, row.outlet)
        return next((s for s in self.subs if s.url == url), Subscription(
            subs_mod.OUTLET, row.outlet, row.outlet or "newsdesk", url,
            subs_mod.outlet_page_url(self.base, row.outlet), subs_mod.OUTLET_CATEGORY))


@dataclass(frozen=True)
class Label:
    id: str
    kind: str  # "folder" | "tag"


def labels(session: Session, reader: Reader, now: datetime) -> list[Label]:
    """Folders of the subscriptions, then followed and trending hashtags and stories."""
    found = [Label(LABEL + c, "folder") for c in sorted({s.category for s in reader.subs})]
    slugs = sorted(reader.prefs.follow["tag"])
    slugs += [t.tag.slug for t in tags.trending_tags(session, now - timedelta(days=7), 20)
              if t.tag.slug not in slugs]
    found += [Label(f"{LABEL}#{slug}", "tag") for slug in slugs]
    ids = sorted(reader.prefs.story_ids("follow"))
    ids += [s.id for s in stories.latest_stories(session, limit=10, now=now) if s.id not in ids]
    for story_id in ids:
        story = stories.get_story(session, story_id)
        if story is not None:
            title = syndication.one_line(story.title)[:80]
            found.append(Label(f"{LABEL}Story {story_id} · {title}", "tag"))
    return found


# -- stream queries -------------------------------------------------------------------


def _feed_clause(session: Session, reader: Reader, stream: str) -> ColumnElement[bool]:
    sub = subs_mod.find(reader.subs, stream)
    if sub is not None:
        return sub.clause()
    url = stream.removeprefix("feed/")
    source = session.scalars(select(SourceRow).where(SourceRow.url == url)).first()
    if source is not None:
        return ArticleRow.source_id == source.id
    outlet = subs_mod.outlet_from_url(url)
    return ArticleRow.outlet == outlet if outlet else and_(false())


def _label_clause(session: Session, reader: Reader, name: str) -> ColumnElement[bool]:
    if name.startswith("#"):
        tag_ids = select(TagRow.id).where(TagRow.slug == name[1:])
        return ArticleRow.id.in_(select(ArticleTagRow.article_id)
                                 .where(ArticleTagRow.tag_id.in_(tag_ids)))
    story = _STORY_LABEL.match(name)
    if story:
        return ArticleRow.story_id == int(story.group(1))
    in_folder = [s for s in reader.subs if s.category == name]
    return subs_mod.reading_clause(in_folder)


def stream_clause(session: Session, reader: Reader, stream: str) -> ColumnElement[bool]:
    """The articles of a stream id; an unknown stream is simply empty."""
    stream = normalise_stream(stream)
    if stream == READING_LIST:
        return reader.reading_list()
    if stream == STARRED:
        return subs_mod.starred_clause(reader.user_id)
    if stream == READ:
        return subs_mod.read_clause(reader.user_id)
    if stream.startswith("feed/"):
        return _feed_clause(session, reader, stream)
    if stream.startswith(LABEL):
        return _label_clause(session, reader, stream[len(LABEL):])
    return and_(false())


def state_clause(reader: Reader, target: str) -> ColumnElement[bool] | None:
    """``xt``/``it`` targets we understand: read and starred (others are ignored)."""
    target = normalise_stream(target)
    if target == READ:
        return subs_mod.read_clause(reader.user_id)
    if target == STARRED:
        return subs_mod.starred_clause(reader.user_id)
    return None


class BadContinuation(ValueError):
    """A ``c`` parameter that is not a continuation this server handed out."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last item's sort time and id (the keyset, not an offset).

    An offset shifts when articles arrive between two pages, so a client
    paging newest-first would see the same items again; a keyset does not,
    which is why FreshRSS and Miniflux page this way too.
    """

    at: datetime
    article_id: int

    @classmethod
    def after(cls, row: ArticleRow) -> Cursor:
        return cls(row.sort_time, row.id)

    def token(self) -> str:
        """Opaque to clients: url-safe base64 of ``<usec since epoch>.<id>``."""
        moment = self.at if self.at.tzinfo else self.at.replace(tzinfo=UTC)
        exact = (moment - EPOCH) // timedelta(microseconds=1)
        raw = f"{exact}.{self.article_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """The cursor in ``token``; ``BadContinuation`` for anything we did not issue."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise BadContinuation(token[:40]) from exc
        match = _CURSOR.fullmatch(raw)
        if not match or not 0 < int(match.group(2)) <= MAX_ID:
            raise BadContinuation(token[:40])
        try:
            at = EPOCH + timedelta(microseconds=int(match.group(1)))
        except OverflowError as exc:
            raise BadContinuation(token[:40]) from exc
        return cls(at, int(match.group(2)))


@dataclass
class StreamQuery:
    """The paging and filter parameters every stream endpoint accepts."""

    stream: str = READING_LIST
    n: int = 20
    oldest_first: bool = False
    newer_than: datetime | None = None  # ot
    older_than: datetime | None = None  # nt
    exclude: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    after: Cursor | None = None  # c

    @classmethod
    def parse(cls, params: dict[str, list[str]], stream: str = "") -> StreamQuery:
        """The query of a request; ``BadContinuation`` for a forged or garbled ``c``."""
        def one(name: str) -> str:
            return (params.get(name) or [""])[0]

        n = int(one("n")) if one("n").isdigit() and len(one("n")) < 10 else 20
        cont = one("c").strip()
        return cls(stream=stream or one("s") or READING_LIST, n=max(1, min(n, MAX_N)),
                   oldest_first=one("r") == "o", newer_than=to_datetime(one("ot")),
                   older_than=to_datetime(one("nt")), exclude=params.get("xt", []),
                   include=params.get("it", []),
                   after=Cursor.parse(cont) if cont else None)


def _past(cursor: Cursor, oldest_first: bool) -> ColumnElement[bool]:
    """Strictly beyond the cursor in the stream's order (time, then id as tie-break)."""
    at, last = cursor.at, cursor.article_id
    if oldest_first:
        return or_(sort_time() > at, and_(sort_time() == at, ArticleRow.id > last))
    return or_(sort_time() < at, and_(sort_time() == at, ArticleRow.id < last))


def _where(session: Session, reader: Reader, query: StreamQuery) -> list[ColumnElement[bool]]:
    where = [stream_clause(session, reader, query.stream)]
    for target in query.exclude:
        clause = state_clause(reader, target)
        if clause is not None:
            where.append(~clause)
    for target in query.include:
        clause = state_clause(reader, target)
        if clause is not None:
            where.append(clause)
    if query.newer_than is not None:
        where.append(sort_time() >= query.newer_than)
    if query.older_than is not None:
        where.append(sort_time() < query.older_than)
    if query.after is not None:
        where.append(_past(query.after, query.oldest_first))
    return where


def run(session: Session, reader: Reader,
        query: StreamQuery) -> tuple[list[ArticleRow], str]:
    """One page of the stream and the continuation for the next ("" at the end)."""
    order = ((sort_time().asc(), ArticleRow.id.asc()) if query.oldest_first
             else (sort_time().desc(), ArticleRow.id.desc()))
    stmt = (select(ArticleRow).where(*_where(session, reader, query)).order_by(*order)
            .limit(query.n + 1))
    rows = list(session.scalars(stmt))
    page = rows[:query.n]
    return page, Cursor.after(page[-1]).token() if len(rows) > query.n else ""


def count_unread(session: Session, reader: Reader,
                 clause: ColumnElement[bool]) -> tuple[int, datetime | None]:
    """Unread articles matching ``clause`` and the newest one's time."""
    stmt = select(func.count(ArticleRow.id), func.max(ArticleRow.ingested_at)).where(
        clause, ~subs_mod.read_clause(reader.user_id))
    count, newest = session.execute(stmt).one()
    return int(count or 0), newest


def by_ids(session: Session, ids: Iterable[int]) -> list[ArticleRow]:
    wanted = [i for i in ids if 0 < i <= MAX_ID]
    if not wanted:
        return []
    rows = {r.id: r for r in session.scalars(select(ArticleRow).where(
        ArticleRow.id.in_(wanted)))}
    return [rows[i] for i in wanted if i in rows]


# -- items ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """An article as a Reader item, ready for JSON or Atom."""

    row: ArticleRow
    origin: Subscription
    read: bool
    starred: bool

    @property
    def link(self) -> str:
        return views.safe_url(self.row.canonical_url) or views.safe_url(self.row.url)

    @property
    def html(self) -> str:
        return syndication.content_html(self.row, self.link)

    @property
    def categories(self) -> list[str]:
        found = [READING_LIST, READ if self.read else STATE + "fresh"]
        if self.starred:
            found.append(STARRED)
        found.append(LABEL + self.origin.category)
        return found


def items(session: Session, reader: Reader, rows: list[ArticleRow]) -> list[Item]:
    flags = state.states(session, reader.user_id, [r.id for r in rows])
    empty = state.State()
    return [Item(r, reader.origin_of(r), flags.get(r.id, empty).read,
                 flags.get(r.id, empty).saved) for r in rows]


def item_json(item: Item) -> dict[str, object]:
    row = item.row
    published = row.sort_time
    return {
        "id": long_id(row.id),
        "crawlTimeMsec": str(usec(row.ingested_at) // 1000),
        "timestampUsec": str(usec(row.ingested_at)),
        "published": int(published.timestamp()),
        "updated": int(published.timestamp()),
        "title": syndication.one_line(row.title) or "(untitled)",
        "canonical": [{"href": item.link}],
        "alternate": [{"href": item.link, "type": "text/html"}],
        "summary": {"direction": "ltr", "content": item.html},
        "author": syndication.one_line(row.byline),
        "categories": item.categories,
        "origin": {"streamId": item.origin.stream_id, "title": item.origin.title,
                   "htmlUrl": item.origin.html_url},
    }
