"""Follow and mute hashtags, outlets and stories, and the "For you" ranking built on them.

A row in ``follows`` says a reader follows (``mode='follow'``) or mutes
(``mode='mute'``) one target: a tag slug, an outlet name or a story id. Muting
is a promise: a muted target never appears on "For you" or the front page for
that reader, so the filters here are SQL clauses the page queries share rather
than a post-filter a page could forget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from newsdesk.accounts.state import unread_for_tag
from newsdesk.store import stories, tags
from newsdesk.store.tables import ArticleRow, ArticleTagRow, FollowRow, TagRow, utcnow

KINDS = ("tag", "outlet", "story")
MODES = ("follow", "mute")
WEIGHTS = {"story": 3.0, "tag": 1.5, "outlet": 1.0}
HALF_LIFE_HOURS = 24.0
POOL = 500


class FollowError(ValueError):
    """An unknown kind, mode or target."""


@dataclass
class Prefs:
    """A reader's follows and mutes, by kind; story ids are kept as ints."""

    follow: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    mute: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})

    @property
    def follows_anything(self) -> bool:
        return any(self.follow.values())

    @property
    def mutes_anything(self) -> bool:
        return any(self.mute.values())

    def mode_of(self, kind: str, target: str) -> str:
        """"follow", "mute" or "" for one target, for the buttons on a page."""
        if target in self.follow.get(kind, set()):
            return "follow"
        return "mute" if target in self.mute.get(kind, set()) else ""

    def story_ids(self, mode: str) -> set[int]:
        source = self.follow if mode == "follow" else self.mute
        return {int(t) for t in source["story"] if t.isdigit()}


def preferences(session: Session, user_id: int) -> Prefs:
    prefs = Prefs()
    for row in session.scalars(select(FollowRow).where(FollowRow.user_id == user_id)):
        bucket = prefs.follow if row.mode == "follow" else prefs.mute
        bucket.setdefault(row.kind, set()).add(row.target)
    return prefs


def canonical_target(session: Session, kind: str, target: str) -> str:
    """The stored form of a target (canonical tag slug, story id); FollowError if unknown."""
    target = target.strip()
    if kind == "tag":
        tag = tags.tag_by_slug(session, target) if 0 < len(target) <= 128 else None
        if tag is not None:
            return tag.slug
    elif kind == "outlet":
        if 0 < len(target) <= 256 and session.scalar(
                select(ArticleRow.id).where(ArticleRow.outlet == target).limit(1)) is not None:
            return target
    elif kind == "story":
        if target.isdigit() and len(target) < 19 and stories.get_story(session, int(target)):
            return str(int(target))
    else:
        raise FollowError("You can follow hashtags, outlets and stories.")
    raise FollowError(f"We couldn't find that {kind}.")


def set_follow(session: Session, user_id: int, kind: str, target: str, mode: str,
               now: datetime | None = None) -> str:
    """Follow, mute, or (mode "") forget one target; returns the canonical target."""
    if mode not in (*MODES, ""):
        raise FollowError("Unknown follow mode.")
    canonical = canonical_target(session, kind, target)
    row = session.get(FollowRow, (user_id, kind, canonical))
    if not mode:
        if row is not None:
            session.delete(row)
        return canonical
    if row is None:
        session.add(FollowRow(user_id=user_id, kind=kind, target=canonical, mode=mode,
                              created_at=now or utcnow()))
    else:
        row.mode = mode
    session.flush()
    return canonical


def _tag_ids(slugs: set[str]) -> object:
    return select(TagRow.id).where(TagRow.slug.in_(sorted(slugs)))


def _has_tag(slugs: set[str]) -> ColumnElement[bool]:
    return exists().where(ArticleTagRow.article_id == ArticleRow.id,
                          ArticleTagRow.tag_id.in_(_tag_ids(slugs)))  # type: ignore[arg-type]


def unmuted_clauses(prefs: Prefs | None) -> list[ColumnElement[bool]]:
    """WHERE clauses that drop articles from muted outlets, stories and tags."""
    if prefs is None or not prefs.mutes_anything:
        return []
    clauses: list[ColumnElement[bool]] = []
    if prefs.mute["outlet"]:
        clauses.append(ArticleRow.outlet.not_in(sorted(prefs.mute["outlet"])))
    if prefs.story_ids("mute"):
        clauses.append(or_(ArticleRow.story_id.is_(None),
                           ArticleRow.story_id.not_in(sorted(prefs.story_ids("mute")))))
    if prefs.mute["tag"]:
        clauses.append(~_has_tag(prefs.mute["tag"]))
    return clauses


def followed_clause(prefs: Prefs) -> ColumnElement[bool]:
    """Articles that match at least one thing the reader follows."""
    parts: list[ColumnElement[bool]] = []
    if prefs.follow["outlet"]:
        parts.append(ArticleRow.outlet.in_(sorted(prefs.follow["outlet"])))
    if prefs.story_ids("follow"):
        parts.append(ArticleRow.story_id.in_(sorted(prefs.story_ids("follow"))))
    if prefs.follow["tag"]:
        parts.append(_has_tag(prefs.follow["tag"]))
    return or_(*parts) if parts else and_(ArticleRow.id.is_(None))


def muted_ids(session: Session, prefs: Prefs | None, article_ids: list[int]) -> set[int]:
    """Which of these articles the reader has muted (for story cards built elsewhere)."""
    clauses = unmuted_clauses(prefs)
    if not clauses or not article_ids:
        return set()
    kept = set(session.scalars(select(ArticleRow.id).where(
        ArticleRow.id.in_(article_ids), *clauses)))
    return set(article_ids) - kept


def latest_unmuted(session: Session, prefs: Prefs | None, *, limit: int,
                   offset: int = 0) -> tuple[list[ArticleRow], int]:
    """The front page's "Latest" (originals, newest first) minus what the reader muted."""
    where = [ArticleRow.duplicate_of.is_(None), *unmuted_clauses(prefs)]
    total = int(session.scalar(select(func.count(ArticleRow.id)).where(*where)) or 0)
    stmt = (select(ArticleRow).where(*where)
            .order_by(ArticleRow.published_at.desc().nulls_last(), ArticleRow.id.desc())
            .limit(limit).offset(offset))
    return list(session.scalars(stmt)), total


# -- "For you" ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why an article is on "For you": one followed thing it matches."""

    kind: str
    target: str
    label: str  # "#Russia", "Reuters", the story's title

    @property
    def text(self) -> str:
        if self.kind == "story":
            return f"Because you follow the story “{self.label}”"
        return f"Because you follow {self.label}"


@dataclass(frozen=True)
class Pick:
    article: ArticleRow
    reasons: list[Reason]
    score: float


def _tag_matches(session: Session, ids: list[int], slugs: set[str]) -> dict[int, list[str]]:
    if not ids or not slugs:
        return {}
    rows = session.execute(select(ArticleTagRow.article_id, TagRow.slug)
                           .join(TagRow, TagRow.id == ArticleTagRow.tag_id)
                           .where(ArticleTagRow.article_id.in_(ids),
                                  TagRow.slug.in_(sorted(slugs)))
                           .order_by(ArticleTagRow.score.desc(), TagRow.slug)).all()
    found: dict[int, list[str]] = {}
    for article_id, slug in rows:
        found.setdefault(int(article_id), []).append(str(slug))
    return found


def _reasons(session: Session, row: ArticleRow, prefs: Prefs, slugs: list[str]) -> list[Reason]:
    """Strongest first: a followed story, then tags, then the outlet."""
    out: list[Reason] = []
    if row.story_id is not None and str(row.story_id) in prefs.follow["story"]:
        story = stories.get_story(session, row.story_id)
        out.append(Reason("story", str(row.story_id), (story.title if story else "") or row.title))
    out.extend(Reason("tag", slug, f"#{slug}") for slug in slugs)
    if row.outlet in prefs.follow["outlet"]:
        out.append(Reason("outlet", row.outlet, row.outlet))
    return out


def _log_score(reasons: list[Reason], when: datetime, now: datetime) -> float:
    """log(matched weight) minus exponential age decay: fresh and well-matched first.

    Working in logs keeps a years-old archive from underflowing to a tie.
    """
    weight = sum(WEIGHTS[r.kind] for r in reasons) or 1.0
    age_h = max(0.0, (now - when).total_seconds() / 3600.0)
    return math.log(weight) - age_h / HALF_LIFE_HOURS * math.log(2)


def for_you(session: Session, user_id: int, now: datetime | None = None,
            pool: int = POOL) -> list[Pick]:
    """Recent articles matching what the reader follows, ranked, muted ones never included."""
    now = now or utcnow()
    prefs = preferences(session, user_id)
    if not prefs.follows_anything:
        return []
    stmt = (select(ArticleRow)
            .where(ArticleRow.duplicate_of.is_(None), followed_clause(prefs),
                   *unmuted_clauses(prefs))
            .order_by(ArticleRow.published_at.desc().nulls_last(), ArticleRow.id.desc())
            .limit(pool))
    rows = list(session.scalars(stmt))
    matches = _tag_matches(session, [r.id for r in rows], prefs.follow["tag"])
    picks = []
    for row in rows:
        reasons = _reasons(session, row, prefs, matches.get(row.id, []))
        picks.append(Pick(row, reasons, _log_score(reasons, row.sort_time, now)))
    picks.sort(key=lambda p: (-p.score, -p.article.id))
    return picks


@dataclass(frozen=True)
class Followed:
    """A followed or muted target as listed on "For you", with unread articles for tags."""

    kind: str
    target: str
    mode: str
    label: str
    unread: int | None = None


def followed_list(session: Session, user_id: int) -> list[Followed]:
    """Everything the reader follows or mutes, with per-tag unread counts."""
    rows = session.scalars(select(FollowRow).where(FollowRow.user_id == user_id,
                                                   FollowRow.kind.in_(KINDS))
                           .order_by(FollowRow.mode, FollowRow.kind, FollowRow.target))
    out = []
    for row in rows:
        label = f"#{row.target}" if row.kind == "tag" else row.target
        if row.kind == "story":
            story = stories.get_story(session, int(row.target))
            label = (story.title if story else "") or f"Story {row.target}"
        unread = (unread_for_tag(session, user_id, row.target)
                  if row.kind == "tag" and row.mode == "follow" else None)
        out.append(Followed(row.kind, row.target, row.mode, label, unread))
    return out
