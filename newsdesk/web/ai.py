"""The AI block as the reader sees it: anchored sentences, result panels, the brief.

Pages ask for one feature per request through plain GET parameters
(``?ai=summary``, ``?ask=…``, ``?explain=TAG``), so everything works without
JavaScript. The service is built on first use, not at start-up, because
loading the embedder costs a second that a reader who never clicks should not
pay. Any failure becomes a one-line notice in the panel: the article itself
must always render.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request

from newsdesk.ai import factory
from newsdesk.ai.ask import NOT_FOUND, Answer
from newsdesk.ai.brief import Brief
from newsdesk.ai.explain import Card
from newsdesk.ai.sentences import as_read, split_text
from newsdesk.ai.service import AIService, KeyPoints
from newsdesk.ai.summarize import Summary
from newsdesk.ai.types import Cited
from newsdesk.web.render import db_of, settings_of
from newsdesk.web.views import paragraphs

log = logging.getLogger(__name__)
_BUILD_LOCK = threading.Lock()
FAILED = "The AI features could not answer just now; the article is unaffected."
MAX_QUESTION = 500
FEATURES = ("summary", "keypoints")


def service_of(request: Request) -> AIService:
    """The app's one service, built on first use (tests may set ``app.state.ai``)."""
    state = request.app.state
    with _BUILD_LOCK:
        if getattr(state, "ai", None) is None:
            state.ai = factory.build_ai_service(settings_of(request), db_of(request))
    service: AIService = state.ai
    return service


# ---------- the article body with sentence anchors ----------

@dataclass(frozen=True)
class Segment:
    """A run of body text; ``anchor`` is set when it is one whole sentence."""

    text: str
    anchor: str = ""


def _line_segments(line: str, start: int, sentences: list[tuple[int, int, str]]) -> list[Segment]:
    out: list[Segment] = []
    cursor = start
    for s_start, s_end, anchor in sentences:
        if s_start > cursor:
            out.append(Segment(line[cursor - start:s_start - start]))
        out.append(Segment(line[s_start - start:s_end - start], anchor))
        cursor = s_end
    if cursor < start + len(line):
        out.append(Segment(line[cursor - start:]))
    # Keep the spaces between sentences: they are text too ("said. It", not "said.It").
    return [s for s in out if s.anchor or s.text] or [Segment(line.strip())]


def anchored_paragraphs(text: str) -> list[list[Segment]]:
    """Body paragraphs as segments, each sentence carrying the ``p{n}s{m}`` id citations use.

    Numbering comes from :func:`newsdesk.ai.sentences.split_text` itself
    (paragraphs are non-blank lines, from 1), so an anchor in a result always
    names an element of this body. Should splitting fail, plain paragraphs.
    """
    try:
        sentences = split_text(text)
    except Exception:  # the body must render even if the sentence splitter cannot load
        log.exception("sentence splitting failed")
        return [[Segment(p)] for p in paragraphs(text)]
    by_paragraph: dict[int, list[tuple[int, int, str]]] = {}
    for s in sentences:
        by_paragraph.setdefault(s.paragraph, []).append((s.start, s.end, s.anchor))
    out: list[list[Segment]] = []
    offset = 0
    for line in text.split("\n"):
        start, offset = offset, offset + len(line) + 1
        if line.strip():
            segs = _line_segments(line, start, by_paragraph.get(len(out) + 1, []))
            out.append(_strip_ends(segs))
    return out


def _strip_ends(segs: list[Segment]) -> list[Segment]:
    """Paragraphs are shown trimmed, as before anchors existed."""
    if segs and not segs[0].anchor:
        segs[0] = Segment(segs[0].text.lstrip())
    if segs and not segs[-1].anchor:
        segs[-1] = Segment(segs[-1].text.rstrip())
    return [s for s in segs if s.text]


# ---------- result panels ----------

@dataclass(frozen=True)
class Quote:
    """A cited sentence and the link to where it stands."""

    n: int
    text: str
    href: str
    outlet: str
    place: str  # "¶3" for the reader

    @property
    def shown(self) -> str:
        """The quote as running text shows it (``as_read``)."""
        return as_read(self.text)


@dataclass(frozen=True)
class MentionView:
    title: str
    href: str
    outlet: str
    when: datetime | None
    quote: Quote


@dataclass
class Panel:
    """One feature's result on a page; ``error`` replaces everything else when set."""

    kind: str
    heading: str
    quotes: list[Quote] = field(default_factory=list)
    text: str = ""
    found: bool = True
    mode: str = "extractive"
    note: str = ""
    error: str = ""
    question: str = ""
    mentions: list[MentionView] = field(default_factory=list)
    related: list[str] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """True when an LLM wrote ``text`` (so the quotes are its sources)."""
        return self.mode == "llm" and bool(self.text)


def href_of(c: Cited, here: int | str | None) -> str:
    """``#p3s2`` on the cited article's own page, else that article's page at the anchor."""
    if here is not None and str(c.article_id) == str(here):
        return f"#{c.anchor}"
    return f"/articles/{c.article_id}#{c.anchor}"


def quotes(cites: list[Cited], here: int | str | None) -> list[Quote]:
    return [Quote(i, c.text, href_of(c, here), c.outlet, "¶" + c.anchor[1:].split("s")[0])
            for i, c in enumerate(cites, 1)]


def summary_panel(result: Summary, here: int | str) -> Panel:
    return Panel("summary", "Summary", quotes(result.sentences, here),
                 text=result.text if result.mode == "llm" else "", mode=result.mode,
                 note=result.note)


def keypoints_panel(result: KeyPoints, here: int | str) -> Panel:
    return Panel("keypoints", "Key points", quotes(result.points, here), mode=result.mode,
                 note=result.note)


def answer_panel(result: Answer, question: str, here: int | str | None) -> Panel:
    text = result.text if result.mode == "llm" or not result.found else ""
    return Panel("ask", "Answer", quotes(result.citations, here) if result.found else [],
                 text=text or ("" if result.found else NOT_FOUND), found=result.found,
                 mode=result.mode, note=result.note, question=question)


def card_panel(card: Card, here: int | str | None) -> Panel:
    mentions = [MentionView(m.title, f"/articles/{m.article_id}", m.outlet, m.published_at,
                            quotes([m.sentence], here)[0]) for m in card.recent_mentions]
    return Panel("explain", card.name, quotes(card.description_sentences, here),
                 found=card.found, note=card.note, mentions=mentions,
                 related=list(card.related_terms),
                 text="" if card.found else "Not found in the coverage.")


def run(request: Request, job: Callable[[AIService], Panel], kind: str) -> Panel:
    """Run one feature; whatever goes wrong, the page gets a one-line notice instead."""
    try:
        return job(service_of(request))
    except factory.UnknownId as exc:
        return Panel(kind, "", error=str(exc))
    except Exception:
        log.exception("AI feature %s failed", kind)
        return Panel(kind, "", error=FAILED)


# ---------- what the reader asked for ----------

@dataclass(frozen=True)
class AIRequest:
    """The article page's AI parameters, already cleaned."""

    feature: str = ""  # summary | keypoints | ask | explain | ""
    question: str = ""
    scope: str = "article"
    tag: str = ""


def parse_request(ai: str = "", ask: str = "", scope: str = "", explain: str = "") -> AIRequest:
    """Forgiving like the search box: odd values are ignored or trimmed, never an error."""
    scope = scope if scope in factory.SCOPES else "article"
    question = " ".join(ask.split())[:MAX_QUESTION]
    if question:
        return AIRequest("ask", question, scope)
    if explain.strip():
        return AIRequest("explain", tag=explain.strip().lstrip("#")[:128])
    return AIRequest(ai if ai in FEATURES else "")


def article_job(req: AIRequest, request: Request, doc_id: int,
                story_id: int | None) -> Callable[[AIService], Panel] | None:
    """The work for the article page's request (run after the read session closes)."""
    db = db_of(request)
    if req.feature in FEATURES:
        def feature(svc: AIService) -> Panel:
            doc = factory.article_doc(db, doc_id)
            if req.feature == "summary":
                return summary_panel(svc.summary(doc), doc.id)
            return keypoints_panel(svc.key_points(doc), doc.id)
        return feature
    if req.feature == "ask":
        scope = "article" if req.scope == "story" and story_id is None else req.scope
        ident = story_id if scope == "story" else doc_id
        return lambda svc: answer_panel(factory.answer(svc, db, req.question, scope, ident),
                                        req.question, doc_id)
    if req.feature == "explain":
        return lambda svc: card_panel(factory.explain_tag(svc, db, req.tag), doc_id)
    return None


def story_ask_job(request: Request, story_id: int,
                  question: str) -> Callable[[AIService], Panel]:
    db = db_of(request)
    return lambda svc: answer_panel(factory.answer(svc, db, question, "story", story_id),
                                    question, None)


# ---------- story brief ----------

@dataclass(frozen=True)
class FactView:
    quote: Quote
    outlets: list[str]


@dataclass
class BriefView:
    facts: list[FactView] = field(default_factory=list)
    adds: list[tuple[str, list[Quote]]] = field(default_factory=list)
    timeline: list[MentionView] = field(default_factory=list)
    text: str = ""
    mode: str = "extractive"
    note: str = ""
    error: str = ""
    pending: bool = False  # not built yet: the page offers to build it


def brief_view(brief: Brief) -> BriefView:
    cited = quotes([f.sentence for f in brief.what_happened], None)
    facts = [FactView(q, f.outlets) for q, f in zip(cited, brief.what_happened, strict=True)]
    adds = [(outlet, quotes(cs, None)) for outlet, cs in brief.unique_by_outlet.items()]
    events = [MentionView(e.title, f"/articles/{e.article_id}", e.outlet, e.when,
                          Quote(0, "", "", e.outlet, "")) for e in brief.timeline]
    return BriefView(facts, adds, events, brief.text if brief.mode == "llm" else "",
                     brief.mode, brief.note)


def story_brief(request: Request, story_id: int, *, build: bool) -> BriefView:
    """The brief for the story page: built now when asked (``build``), else the latest one.

    Without ``build`` the page never waits for embeddings: it shows the brief
    built last (a newer one is built in the background) or, for a story never
    briefed, a link that builds it (ai.js follows that link by itself).
    """
    try:
        if not build:
            latest = factory.brief_if_ready(service_of(request), db_of(request), story_id)
            return brief_view(latest) if latest is not None else BriefView(pending=True)
        return brief_view(factory.brief_for(service_of(request), db_of(request), story_id))
    except Exception:
        log.exception("story brief failed for %s", story_id)
        return BriefView(error="The brief of this story could not be computed just now.")
