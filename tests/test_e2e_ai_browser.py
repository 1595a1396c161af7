"""The AI block and the story brief in a real browser (Debian's headless Chromium).

newsdesk runs under uvicorn over the made-up harbour story of
``tests/test_web_ai.py`` (three outlets and a copy; the seed's UPI article
too when the seed is present). As a reader would: open an article, click
Summary and Key points, ask a question the article answers and one it does
not, then open the story page and let its brief load. Every step asserts
what is on the screen and that each quote is a sentence (or a span) of the
coverage; screenshots go to ``screenshots/e2e-ai-*.png`` (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from newsdesk.config import Settings
from newsdesk.store.db import Database
from tests import test_e2e_browser as e2e
from tests.liveserver import running
from tests.test_e2e_browser import Person
from tests.test_web_ai import HARBOUR, World, _fill

pytestmark = e2e.pytestmark  # the same skips: no Chromium, driver or Selenium
browser = e2e.browser  # the same headless Chromium fixture

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver



@pytest.fixture
def ai_site(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, World]]:
    if settings.database_url:
        pytest.skip("the browser test runs on SQLite only")
    pytest.importorskip("onnxruntime")
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        world = _fill(db, tmp_path)
    finally:
        db.dispose()
    with running(settings, tmp_path, clock="tests.test_web_ai:NOW") as url:
        yield url, world


def _see(me: Person, words: str, css: str) -> None:
    """``Person.sees`` across a page load: a click may navigate or swap the panel in place."""
    from selenium.common.exceptions import NoSuchElementException, WebDriverException

    def shown(_d: object) -> bool:
        try:
            return words in me.text(css)
        except NoSuchElementException:
            return False  # the next page is not there yet
        except WebDriverException as exc:
            if e2e.node_gone(exc):
                return False  # the last page is going
            raise

    me.wait.until(shown, f"never saw {words!r} in {css}")


def _quotes(me: Person, css: str) -> list[str]:
    return [str(q.text).rstrip("…") for q in me.all(css) if str(q.text).strip()]


def test_the_ai_block_and_the_story_brief_in_the_browser(ai_site: tuple[str, World],
                                                          browser: WebDriver) -> None:
    url, world = ai_site
    me = Person(browser, url)
    texts = {key: text for key, _outlet, _title, _hours, text in HARBOUR}
    article = world.ids["courier"]

    me.open(f"/articles/{article}")
    me.sees("Ask a question", "#ai-features")
    me.find("#ai-features a.ai-button[href$='ai=summary#ai-features']").click()
    _see(me, "Summary", "#ai-result")
    summary = _quotes(me, "#ai-result .ai-summary a.cite")
    # a span shown capitalised may start in lower case in the article
    assert summary and all(q in texts["courier"] or q[:1].lower() + q[1:] in texts["courier"]
                           for q in summary)
    me.shot("ai-summary", "#ai-features")

    me.find("#ai-features a.ai-button[href$='ai=keypoints#ai-features']").click()
    _see(me, "Key points", "#ai-result")
    assert all(q in texts["courier"] for q in _quotes(me, "#ai-result .ai-points a.cite"))

    me.type("#ai-question", "How high were the waves?")
    me.find("form.ai-ask button[type=submit]").click()
    _see(me, "How high were the waves?", "#ai-result")  # the answer's panel, not the last one
    _see(me, "six metres", "#ai-result")
    me.shot("ai-ask", "#ai-features")
    me.type("#ai-question", "Who won the football match?")
    me.find("form.ai-ask button[type=submit]").click()
    _see(me, "Who won the football match?", "#ai-result")
    _see(me, "Not found in the coverage", "#ai-result")

    me.open(f"/stories/{world.story}")
    _see(me, "What happened", "#story-brief")  # loaded on its own (ai.js) or by the link
    facts = _quotes(me, "#story-brief .brief-facts a.cite")
    assert facts and all(any(f in t for t in texts.values()) for f in facts)
    assert "Valley Radio" in me.text("#story-brief")  # what the latest outlet adds
    me.shot("story-brief", "#story-brief")

    if "upi" in world.ids:  # the seed's article: the summary names who met whom and why
        me.open(f"/articles/{world.ids['upi']}?ai=summary#ai-features")
        _see(me, "Summary", "#ai-result")
        shown = me.text("#ai-result")
        assert "Kim" in shown and "Lyubimova" in shown and "anniversary" in shown
        me.shot("ai-seed-summary", "#ai-features")
        me.type("#ai-question", "How many troops has North Korea sent?")
        me.find("form.ai-ask button[type=submit]").click()
        _see(me, "How many troops has North Korea sent?", "#ai-result")
        _see(me, "14,000", "#ai-result")
        me.shot("ai-seed-troops", "#ai-features")
