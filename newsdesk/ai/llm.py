"""Optional LLM mode: a model rewrites the extractive evidence, and is checked.

The model only ever sees numbered evidence sentences that the offline
pipeline already picked, and must cite them ``[1]``, ``[2]``. Its output is
then verified sentence by sentence: every sentence needs citations, every
cited number must exist, the cited sentences must contain most of the
sentence's content words and all of its numbers, and MiniLM must find the two
close. Anything else — or a timeout, an HTTP error, garbage — returns
``None`` with a reason, and the caller keeps the extractive result. One
attempt per request, and after a failure the client rests for ``cooldown``
seconds, so a dead or slow server costs one timeout, not one per page view.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import numpy as np

from newsdesk.ai.sentences import split_text
from newsdesk.ai.text import content_words
from newsdesk.ai.types import Cited, Embedder

_CITE = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_NUM = re.compile(r"\d[\d,.]*\d|\d")
_LABEL = re.compile(r"^\s*(?:evidence|summary|answer|brief)\s*:\s*", re.I)


@dataclass(frozen=True)
class LLMConfig:
    """Where the OpenAI-compatible server is and how long to wait for it."""

    url: str  # base URL (``http://127.0.0.1:8080``) or the full chat/completions URL
    model: str = ""
    timeout: float = 20.0
    max_tokens: int = 256
    temperature: float = 0.0
    cooldown: float = 60.0
    api_key: str = ""

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        if base.endswith("/chat/completions"):
            return base
        return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


class LLMError(RuntimeError):
    """The server could not be used for this request (reason in the message)."""


class LLMClient:
    """A minimal chat client: one POST, a hard timeout, then a rest after failures."""

    def __init__(self, config: LLMConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.Client(timeout=httpx.Timeout(config.timeout), transport=transport,
                                  headers=headers)
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def resting(self) -> bool:
        return time.monotonic() < self._down_until

    def chat(self, system: str, user: str) -> str:
        """The assistant's reply text; raises :class:`LLMError` on any failure."""
        if self.resting:
            raise LLMError("the model failed recently and is resting")
        body = {"model": self.config.model, "temperature": self.config.temperature,
                "max_tokens": self.config.max_tokens, "stream": False,
                "messages": [{"role": "system", "content": system},
                             {"role": "user", "content": user}]}
        try:
            with self._lock:  # one generation at a time: small servers queue anyway
                response = self._http.post(self.config.endpoint, json=body)
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
        except httpx.TimeoutException as exc:
            self._fail()
            raise LLMError(f"the model did not answer within {self.config.timeout:g} s") from exc
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            self._fail()
            raise LLMError(f"the model's reply was unusable ({type(exc).__name__})") from exc
        if not isinstance(text, str) or not text.strip():
            self._fail()
            raise LLMError("the model returned an empty reply")
        return text.strip()

    def _fail(self) -> None:
        self._down_until = time.monotonic() + self.config.cooldown

    def close(self) -> None:
        self._http.close()


SYSTEM = ("You are a careful news editor. Use ONLY the numbered evidence sentences. "
          "After every sentence you write, cite the evidence it comes from like [1] or [2][3]. "
          "Do not add facts, names or numbers that are not in the cited evidence.")

TASKS = {
    "summary": "Summarize the article in at most 3 short sentences.",
    "answer": "Answer the question in 1 or 2 short sentences.",
    "brief": "Write a 2 to 4 sentence brief of what happened, most agreed facts first.",
}


def prompt(task: str, evidence: Sequence[Cited], question: str | None = None) -> str:
    """The user message: the task, the question if any, and numbered evidence."""
    lines = [TASKS[task]]
    if question:
        lines.append(f"Question: {question}")
    lines.append("Evidence:")
    lines += [f"[{i}] {c.text}" for i, c in enumerate(evidence, 1)]
    return "\n".join(lines)


@dataclass
class Claim:
    text: str
    cites: list[int]


@dataclass
class Written:
    """A verified LLM text, citations renumbered 1..m over ``citations``."""

    text: str
    citations: list[Cited] = field(default_factory=list)


def claims(reply: str) -> list[Claim]:
    """Split a reply into sentences and the citation numbers each carries."""
    out: list[Claim] = []
    reply = _LABEL.sub("", " ".join(reply.split()))
    for s in split_text(reply):
        nums = [int(n) for m in _CITE.finditer(s.text) for n in re.split(r"[,;]", m.group(1))]
        bare = _CITE.sub("", s.text).strip()
        if bare:
            out.append(Claim(bare, nums))
        elif out and nums:  # a citation split off into its own "sentence"
            out[-1].cites += nums
    return out


@dataclass(frozen=True)
class Support:
    """How well cited evidence must back each written sentence."""

    min_overlap: float = 0.6
    min_cosine: float = 0.55


def check(claim: Claim, evidence: Sequence[Cited], embedder: Embedder,
          support: Support = Support()) -> str:
    """Empty when ``claim`` is backed by its citations, else the reason it is not."""
    if not claim.cites:
        return "a sentence has no citation"
    if any(n < 1 or n > len(evidence) for n in claim.cites):
        return "a citation points to no evidence"
    cited = " ".join(evidence[n - 1].text for n in claim.cites)
    words = content_words(claim.text)
    have = set(content_words(cited))
    if words and sum(w in have for w in words) / len(words) < support.min_overlap:
        return "a sentence uses words its citations do not contain"
    if any(n.rstrip(".,") not in cited for n in _NUM.findall(claim.text)):
        return "a sentence has a number its citations do not contain"
    vecs = np.asarray(embedder.encode([claim.text] + [evidence[n - 1].text for n in claim.cites]))
    if float((vecs[1:] @ vecs[0]).max()) < support.min_cosine:
        return "a sentence is not close in meaning to its citations"
    return ""


def verify(reply: str, evidence: Sequence[Cited], embedder: Embedder,
           support: Support = Support()) -> Written | str:
    """The reply renumbered over the evidence it cites, or why it was rejected."""
    found = claims(reply)
    if not found:
        return "the reply has no sentences"
    for claim in found:
        reason = check(claim, evidence, embedder, support)
        if reason:
            return reason
    order: list[int] = []
    for claim in found:
        order += [n for n in claim.cites if n not in order]
    renumber = {old: new for new, old in enumerate(order, 1)}
    text = " ".join(_with_marks(c.text, [renumber[n] for n in dict.fromkeys(c.cites)])
                    for c in found)
    return Written(text, [evidence[n - 1] for n in order])


def _with_marks(sentence: str, numbers: list[int]) -> str:
    """``Text [1][2].``: the marks go before the closing punctuation."""
    marks = "".join(f"[{n}]" for n in numbers)
    body, end = (sentence[:-1], sentence[-1]) if sentence[-1:] in ".!?" else (sentence, "")
    return f"{body.rstrip()} {marks}{end}"


def write(client: LLMClient, task: str, evidence: Sequence[Cited], embedder: Embedder,
          question: str | None = None) -> Written | str:
    """Ask the model, then verify; a string result is the reason to fall back."""
    if not evidence:
        return "no evidence to write from"
    try:
        reply = client.chat(SYSTEM, prompt(task, evidence, question))
    except LLMError as exc:
        return str(exc)
    return verify(reply, evidence, embedder)
