"""Check that a citation is a verbatim sentence (or trimmed span) of its article.

Faithfulness is the AI block's promise, so it is checkable by anyone holding
the article: the cited characters must be exactly ``text[start:end]`` and lie
inside the sentence the anchor names. Tests run every offline output through
this; the API could too before serving a persisted result.
"""

from __future__ import annotations

from collections.abc import Iterable

from newsdesk.ai.sentences import split_article
from newsdesk.ai.types import ArticleLike, Cited


def problem(cited: Cited, article: ArticleLike) -> str:
    """Empty when ``cited`` is a span of ``article`` at its anchor, else what is wrong."""
    if str(cited.article_id) != str(article.id):
        return f"cites article {cited.article_id}, not {article.id}"
    if article.text[cited.start:cited.end] != cited.text:
        return f"text differs from the article at {cited.start}:{cited.end}"
    for s in split_article(article):
        if s.anchor == cited.anchor:
            if s.start <= cited.start and cited.end <= s.end:
                return ""
            return f"span lies outside sentence {cited.anchor}"
    return f"no sentence {cited.anchor}"


def problems(cites: Iterable[Cited], articles: Iterable[ArticleLike]) -> list[str]:
    """Every faithfulness problem of ``cites`` against the articles they cite."""
    by_id = {str(a.id): a for a in articles}
    out: list[str] = []
    for c in cites:
        article = by_id.get(str(c.article_id))
        reason = problem(c, article) if article is not None else "cites an unknown article"
        if reason:
            out.append(f"{c.anchor}: {reason}: {c.text[:60]!r}")
    return out
