"""Comments on articles and stories: posting, threads, edits, reports, moderation.

Threads are one level deep on purpose: a reply to a reply attaches to the
top-level comment it belongs to, so a thread stays readable on a phone and
nobody can build a 50-deep staircase. Bodies are stored as the plain text the
reader typed (so editing shows what they wrote) and rendered through
:mod:`newsdesk.accounts.markup` on display. Every check that protects another
reader (ownership, bans, rate limits) lives here, not in the web layer, so the
API and the pages cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from newsdesk.accounts import markup
from newsdesk.store.tables import (
    ArticleRow,
    CommentReportRow,
    CommentRow,
    StoryRow,
    UserRow,
    utcnow,
)

PER_MINUTE = 5
PER_DAY = 50
MAX_REASON = 500
VISIBLE, HIDDEN, DELETED = "visible", "hidden", "deleted"
PLACEHOLDERS = {DELETED: "[deleted]", HIDDEN: "[removed by a moderator]"}


class CommentError(Exception):
    """A refused comment action; ``status`` is the HTTP status the web layer answers with."""

    status = 400


class NotAllowed(CommentError):
    status = 403


class NotFound(CommentError):
    status = 404


class RateLimited(CommentError):
    status = 429


@dataclass(frozen=True)
class Target:
    """What a comment hangs on: exactly one of an article or a story."""

    article_id: int | None = None
    story_id: int | None = None

    def __post_init__(self) -> None:
        if (self.article_id is None) == (self.story_id is None):
            raise ValueError("a comment target is one article or one story")


@dataclass
class CommentView:
    """One comment as shown; ``placeholder`` replaces the body of a removed one."""

    id: int
    user_id: int
    author: str
    body_html: str
    status: str
    created_at: datetime
    edited_at: datetime | None
    parent_id: int | None
    replies: list[CommentView] = field(default_factory=list)

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS.get(self.status, "")


@dataclass(frozen=True)
class Thread:
    comments: list[CommentView]
    count: int  # visible comments only, what "N comments" means to a reader


def _clean_body(body: str) -> str:
    text = markup.normalize_text(body)
    if not text:
        raise CommentError("A comment cannot be empty.")
    if len(text) > markup.MAX_BODY:
        raise CommentError(f"A comment can be at most {markup.MAX_BODY} characters long.")
    return text


def _check_target(session: Session, target: Target) -> None:
    row = (session.get(ArticleRow, target.article_id) if target.article_id is not None
           else session.get(StoryRow, target.story_id))
    if row is None:
        raise NotFound("There is nothing to comment on here.")


def check_rate(session: Session, user_id: int, now: datetime) -> None:
    """At most PER_MINUTE comments a minute and PER_DAY a day, so one account cannot flood."""
    for window, limit, label in ((timedelta(minutes=1), PER_MINUTE, "a minute"),
                                 (timedelta(days=1), PER_DAY, "a day")):
        n = session.scalar(select(func.count(CommentRow.id)).where(
            CommentRow.user_id == user_id, CommentRow.created_at > now - window))
        if int(n or 0) >= limit:
            raise RateLimited(f"You can post at most {limit} comments {label}. "
                              "Please wait a little and try again.")


def _thread_root(session: Session, target: Target, parent_id: int) -> int:
    """The top-level comment a reply joins; the parent must be live and on this target."""
    parent = session.get(CommentRow, parent_id)
    if (parent is None or parent.article_id != target.article_id
            or parent.story_id != target.story_id):
        raise NotFound("The comment you are replying to does not exist here.")
    if parent.status != VISIBLE:
        raise CommentError("You cannot reply to a removed comment.")
    return parent.parent_id if parent.parent_id is not None else parent.id


def add_comment(session: Session, user: UserRow, target: Target, body: str, *,
                parent_id: int | None = None, now: datetime | None = None) -> CommentRow:
    """Post a comment (or a reply) after the ban, target and rate checks."""
    now = now or utcnow()
    if user.is_banned:
        raise NotAllowed("Your account cannot post comments.")
    text = _clean_body(body)
    _check_target(session, target)
    root = _thread_root(session, target, parent_id) if parent_id is not None else None
    check_rate(session, user.id, now)
    row = CommentRow(user_id=user.id, article_id=target.article_id, story_id=target.story_id,
                     parent_id=root, body=text, status=VISIBLE, created_at=now)
    session.add(row)
    session.flush()
    return row


def own_comment(session: Session, user: UserRow, comment_id: int) -> CommentRow:
    """A comment the user wrote and may still change; anyone else's is 403."""
    row = session.get(CommentRow, comment_id)
    if row is None or row.status == DELETED:
        raise NotFound("We couldn't find that comment.")
    if row.user_id != user.id:
        raise NotAllowed("You can only change your own comments.")
    if row.status != VISIBLE:
        raise NotAllowed("A moderator removed this comment; it cannot be changed.")
    return row


def edit_comment(session: Session, user: UserRow, comment_id: int, body: str,
                 now: datetime | None = None) -> CommentRow:
    row = own_comment(session, user, comment_id)
    if user.is_banned:
        raise NotAllowed("Your account cannot post comments.")
    row.body = _clean_body(body)
    row.edited_at = now or utcnow()
    return row


def delete_comment(session: Session, user: UserRow, comment_id: int) -> CommentRow:
    """Mark deleted and wipe the text; replies keep a "[deleted]" parent to hang on."""
    row = own_comment(session, user, comment_id)
    row.status = DELETED
    row.body = ""
    return row


def report_comment(session: Session, user: UserRow, comment_id: int, reason: str = "",
                   now: datetime | None = None) -> bool:
    """Flag a comment for moderators; False when this user already reported it."""
    row = session.get(CommentRow, comment_id)
    if row is None or row.status != VISIBLE:
        raise NotFound("We couldn't find that comment.")
    if row.user_id == user.id:
        raise CommentError("You cannot report your own comment.")
    seen = session.scalar(select(CommentReportRow.id).where(
        CommentReportRow.comment_id == comment_id, CommentReportRow.user_id == user.id))
    if seen is not None:
        return False
    session.add(CommentReportRow(comment_id=comment_id, user_id=user.id,
                                 reason=markup.normalize_text(reason)[:MAX_REASON],
                                 created_at=now or utcnow()))
    session.flush()
    return True


def comment_path(row: CommentRow) -> str:
    """Where a comment is shown, with its anchor."""
    base = (f"/articles/{row.article_id}" if row.article_id is not None
            else f"/stories/{row.story_id}")
    return f"{base}#comment-{row.id}"


# -- reading a thread -------------------------------------------------------------------


def _view(row: CommentRow, author: str) -> CommentView:
    body = markup.render(row.body) if row.status == VISIBLE else ""
    return CommentView(id=row.id, user_id=row.user_id, author=author, body_html=body,
                       status=row.status, created_at=row.created_at, edited_at=row.edited_at,
                       parent_id=row.parent_id)


def thread(session: Session, target: Target) -> Thread:
    """Top-level comments oldest first, each with its visible replies.

    A removed top-level comment stays as a placeholder only while it has
    visible replies; removed replies simply disappear.
    """
    where = (CommentRow.article_id == target.article_id if target.article_id is not None
             else CommentRow.story_id == target.story_id)
    rows = session.execute(select(CommentRow, UserRow.username)
                           .join(UserRow, UserRow.id == CommentRow.user_id)
                           .where(where).order_by(CommentRow.created_at, CommentRow.id)).all()
    roots: dict[int, CommentView] = {}
    replies: list[CommentView] = []
    for row, author in rows:
        view = _view(row, author)
        if row.parent_id is None:
            roots[view.id] = view
        else:
            replies.append(view)
    for reply in replies:
        if reply.status == VISIBLE and reply.parent_id in roots:
            roots[reply.parent_id].replies.append(reply)
    shown = [c for c in roots.values() if c.status == VISIBLE or c.replies]
    count = sum((c.status == VISIBLE) + len(c.replies) for c in shown)
    return Thread(comments=shown, count=count)


def count_comments(session: Session, target: Target) -> int:
    return thread(session, target).count


# -- moderation ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """A comment in the moderation queue with its author and the reports against it."""

    comment_id: int
    author: str
    author_id: int
    author_banned: bool
    author_admin: bool  # administrators cannot be banned: the queue offers no Ban for them
    body_html: str
    status: str
    path: str
    reports: int
    reasons: list[str]


def _queue_item(session: Session, row: CommentRow, author: UserRow) -> QueueItem:
    reports = list(session.scalars(select(CommentReportRow).where(
        CommentReportRow.comment_id == row.id, CommentReportRow.resolved.is_(False))))
    return QueueItem(comment_id=row.id, author=author.username, author_id=author.id,
                     author_banned=author.is_banned, author_admin=author.is_admin,
                     body_html=markup.render(row.body),
                     status=row.status, path=comment_path(row), reports=len(reports),
                     reasons=[r.reason for r in reports if r.reason])


def moderation_queue(session: Session, limit: int = 200) -> list[QueueItem]:
    """Comments with open reports, then hidden ones (so a hide can be undone)."""
    open_ids = select(CommentReportRow.comment_id).where(CommentReportRow.resolved.is_(False))
    stmt = (select(CommentRow, UserRow).join(UserRow, UserRow.id == CommentRow.user_id)
            .where((CommentRow.id.in_(open_ids)) | (CommentRow.status == HIDDEN))
            .where(CommentRow.status != DELETED)
            .order_by(CommentRow.created_at.desc()).limit(limit))
    items = [_queue_item(session, row, user) for row, user in session.execute(stmt).all()]
    return sorted(items, key=lambda i: (i.reports == 0, i.status != VISIBLE))


IdsLike = Select[tuple[int]] | Select[int] | list[int]


def _resolve_reports(session: Session, comment_ids: IdsLike) -> None:
    session.execute(update(CommentReportRow).where(CommentReportRow.comment_id.in_(comment_ids))
                    .values(resolved=True))


def set_status(session: Session, comment_id: int, status: str) -> CommentRow:
    """Hide or restore a comment (moderators only; the caller checks) and close its reports."""
    row = session.get(CommentRow, comment_id)
    if row is None or row.status == DELETED:
        raise NotFound("We couldn't find that comment.")
    if status not in (VISIBLE, HIDDEN):
        raise CommentError("Unknown comment status.")
    row.status = status
    _resolve_reports(session, [row.id])
    return row


def ban_user(session: Session, user_id: int, banned: bool = True) -> UserRow:
    """Ban (or unban) an account; banning also hides everything it has posted."""
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFound("We couldn't find that user.")
    if banned and user.is_admin:
        raise CommentError("An administrator cannot be banned.")
    user.is_banned = banned
    if banned:
        mine = select(CommentRow.id).where(CommentRow.user_id == user_id)
        session.execute(update(CommentRow).where(CommentRow.user_id == user_id,
                                                 CommentRow.status == VISIBLE)
                        .values(status=HIDDEN))
        _resolve_reports(session, mine)
    return user
