"""View objects for story intelligence: story cards, the full-coverage page, tags.

Like :mod:`newsdesk.web.views`, everything is gathered into plain frozen
dataclasses while the read session is open, so templates never query. Counts
shown to readers are taken from the articles actually stored, not from the
clusterer's running totals, so a page never claims more than it lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby
from urllib.parse import quote

from sqlalchemy.orm import Session

from newsdesk.store import dedup, stories, tags
from newsdesk.store.tables import ArticleRow, StoryRow, TagRow
from newsdesk.web.views import Card, card

OTHER_HEADLINES = 3


def tag_path(slug: str) -> str:
    """The reader's page for a tag; slugs are ASCII, quoted anyway for safety."""
    return "/tags/" + quote(slug, safe="")


def story_path(story_id: int) -> str:
    return f"/stories/{story_id}"


@dataclass(frozen=True)
class TagLink:
    """A hashtag as shown: ``#NorthKorea`` linking to its page, with its kind."""

    slug: str
    name: str
    kind: str

    @property
    def path(self) -> str:
        return tag_path(self.slug)


def tag_link(row: TagRow) -> TagLink:
    return TagLink(row.slug, row.name, row.kind)


def article_tags(session: Session, article_id: int) -> list[TagLink]:
    return [tag_link(row) for row in tags.article_tags(session, article_id)]


def _originals(rows: Sequence[ArticleRow]) -> list[ArticleRow]:
    """Rows without syndicated copies; all rows if (oddly) every one is a copy."""
    return [r for r in rows if r.duplicate_of is None] or list(rows)


def _lead(story: StoryRow, originals: list[ArticleRow]) -> ArticleRow:
    """The clusterer's lead article when it is an original here, else the first report."""
    return next((r for r in originals if r.id == story.lead_article_id), originals[0])


def _other_outlets(lead: ArticleRow, originals: list[ArticleRow], n: int) -> list[ArticleRow]:
    """Newest headline of up to ``n`` other outlets: breadth of coverage at a glance."""
    picked: dict[str, ArticleRow] = {}
    for row in sorted(originals, key=lambda r: r.sort_time, reverse=True):
        if row.outlet != lead.outlet and row.outlet not in picked:
            picked[row.outlet] = row
    return list(picked.values())[:n]


@dataclass(frozen=True)
class StoryCard:
    """A front-page story: its lead article plus a few other outlets' headlines."""

    id: int
    lead: Card
    others: list[Card]
    articles: int
    outlets: int

    @property
    def path(self) -> str:
        return story_path(self.id)

    @property
    def is_single(self) -> bool:
        """One article only: shown like a plain card, with no coverage link."""
        return self.articles <= 1


def story_card(session: Session, story: StoryRow) -> StoryCard | None:
    """The card for one story, or None if none of its articles is stored any more."""
    rows = stories.story_articles(session, story.id)
    if not rows:
        return None
    originals = _originals(rows)
    lead = _lead(story, originals)
    others = [card(r, 120) for r in _other_outlets(lead, originals, OTHER_HEADLINES)]
    return StoryCard(id=story.id, lead=card(lead), others=others, articles=len(rows),
                     outlets=len({r.outlet for r in rows}))


@dataclass(frozen=True)
class CoverageItem:
    """One article on a story page; ``copy_of`` marks a syndicated copy."""

    card: Card
    at: datetime
    copy_of: int | None = None


@dataclass(frozen=True)
class OutletGroup:
    outlet: str
    first_at: datetime
    items: list[CoverageItem]


@dataclass(frozen=True)
class TimelineDay:
    day: date
    items: list[CoverageItem]


@dataclass(frozen=True)
class StoryPage:
    """Everything the "Full coverage" page shows."""

    id: int
    title: str
    first_outlet: str
    first_at: datetime
    updated_at: datetime
    articles: int
    outlets: int
    groups: list[OutletGroup]
    timeline: list[TimelineDay] = field(default_factory=list)
    more: list[TopicStory] = field(default_factory=list)


@dataclass(frozen=True)
class TopicStory:
    """Another story of the same topic, as "More on this topic" lists it."""

    id: int
    title: str
    articles: int
    outlets: int
    updated_at: datetime

    @property
    def path(self) -> str:
        return story_path(self.id)


def topic_stories(session: Session, story: StoryRow) -> list[TopicStory]:
    """The other stories of the story's topic, latest first."""
    return [TopicStory(r.id, r.title, r.article_count, r.outlet_count, r.updated_at)
            for r in stories.topic_stories(session, story)]


def _item(row: ArticleRow) -> CoverageItem:
    return CoverageItem(card=card(row, 160), at=row.sort_time, copy_of=row.duplicate_of)


def _groups(session: Session, story_id: int, items: list[CoverageItem]) -> list[OutletGroup]:
    """Each outlet's articles, outlets in the order they first reported the story."""
    order = stories.story_outlets(session, story_id)
    by_outlet: dict[str, list[CoverageItem]] = {}
    for item in items:
        by_outlet.setdefault(item.card.outlet, []).append(item)
    return [OutletGroup(c.outlet, c.first_at, by_outlet.get(c.outlet, [])) for c in order]


def _timeline(items: list[CoverageItem]) -> list[TimelineDay]:
    """All articles oldest first, under a heading per calendar day (UTC)."""
    return [TimelineDay(day, list(group))
            for day, group in groupby(items, key=lambda i: i.at.date())]


def story_page(session: Session, story: StoryRow) -> StoryPage | None:
    """The full-coverage view of one story, or None when it has no stored article."""
    rows = stories.story_articles(session, story.id)
    if not rows:
        return None
    items = [_item(r) for r in rows]
    first = _originals(rows)[0]
    return StoryPage(
        id=story.id, title=story.title or first.title,
        first_outlet=first.outlet, first_at=first.sort_time, updated_at=rows[-1].sort_time,
        articles=len(rows), outlets=len({r.outlet for r in rows}),
        groups=_groups(session, story.id, items), timeline=_timeline(items),
        more=topic_stories(session, story))


@dataclass(frozen=True)
class ArticleCoverage:
    """What the article page says about the article's story and copies."""

    story_id: int | None
    story_articles: int
    story_outlets: int
    copies: list[Card]
    original: Card | None

    @property
    def story_path(self) -> str:
        return story_path(self.story_id) if self.story_id is not None else ""


def article_coverage(session: Session, row: ArticleRow) -> ArticleCoverage:
    """The "Part of a story", "Also published by" and "copy of" facts for one article."""
    outlets = stories.story_outlets(session, row.story_id) if row.story_id is not None else []
    n_articles = sum(c.articles for c in outlets)
    group = dedup.duplicates_of(session, row.id)
    original = next((r for r in group if r.id == row.duplicate_of), None)
    copies = [card(r) for r in group if r.id != row.duplicate_of]
    return ArticleCoverage(
        story_id=row.story_id if n_articles > 1 else None,
        story_articles=n_articles, story_outlets=len(outlets),
        copies=copies, original=card(original) if original is not None else None)
