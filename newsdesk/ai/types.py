"""Shared shapes of the AI features: what they read and what they cite.

The AI block only needs a handful of article fields, so it speaks a
``Protocol`` rather than importing the ORM: ``ArticleRow``, a test double or a
story module's objects all fit, and these modules stay testable without a
database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np


class ArticleLike(Protocol):
    """The article fields the AI features read (``ArticleRow`` satisfies it)."""

    @property
    def id(self) -> int | str: ...

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def outlet(self) -> str: ...

    @property
    def published_at(self) -> datetime | None: ...

    @property
    def url(self) -> str: ...


class Embedder(Protocol):
    """Sentence encoder: rows are L2-normalised, so a dot product is a cosine."""

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...


@dataclass
class Doc:
    """A plain article for callers without a database row (CLI, tests, eval)."""

    id: int | str
    title: str
    text: str
    outlet: str = ""
    published_at: datetime | None = None
    url: str = ""


@dataclass(frozen=True)
class Cited:
    """One quoted sentence (or trimmed span) and where it stands in its article.

    ``anchor`` (``p3s2``: paragraph 3, sentence 2, both from 1) is the element
    id the article page puts on that sentence; ``start``/``end`` are character
    offsets into the article text, so a reader can always check the quote.
    """

    text: str
    article_id: int | str
    anchor: str
    start: int = 0
    end: int = 0
    outlet: str = ""
    url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "article_id": self.article_id, "anchor": self.anchor,
                "start": self.start, "end": self.end, "outlet": self.outlet, "url": self.url}
