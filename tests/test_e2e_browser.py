"""Proof in a real browser: Debian's headless Chromium driven by Selenium.

The test starts newsdesk under uvicorn on a free loopback port over a
temporary SQLite database seeded with a few tagged, made-up articles
(``tests/readers.py``), then, as a person would, in one browser: registers
the first user (the admin), follows a hashtag and sees its article ranked
first on "For you" with the reason, comments on the article, replies, edits
and deletes the reply, logs out, registers a second reader who reports the
comment, logs back in as the admin, hides and restores it from the
moderation queue, and logs out. Every step asserts what is on the screen.
Screenshots go to ``screenshots/e2e-*.png`` (gitignored).

Nothing is downloaded: the driver is Debian's ``/usr/bin/chromedriver``
(``apt-get install chromium chromium-driver``) and Selenium Manager is kept
offline. Every wait is bounded; the browser and the server are always
stopped. Skips with a reason when Chromium, the driver or Selenium is missing.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from newsdesk.config import Settings
from newsdesk.store.db import Database
from tests import readers
from tests.liveserver import running

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
try:
    import selenium  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_SELENIUM = False
else:
    HAVE_SELENIUM = True

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                       "(apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver is not installed "
                       "(apt-get install chromium-driver)"),
    pytest.mark.skipif(not HAVE_SELENIUM, reason="selenium is not installed "
                       "(pip install 'selenium>=4.20', the dev extra)"),
]

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
WAIT = 10  # seconds any one wait in the browser may take
ADMIN, READER = "editor", "reader2"
PASSWORD = readers.PASSWORD





@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, readers.Corpus]]:
    """newsdesk on a free loopback port over a seeded temporary database."""
    if settings.database_url:
        pytest.skip("the browser test runs on SQLite only")
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        corpus = readers.seed(db)
    finally:
        db.dispose()
    with running(settings, tmp_path, clock="tests.readers:NOW", fast_hash=True) as url:
        yield url, corpus


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium with Debian's driver; Selenium Manager never runs."""
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        yield driver
    finally:
        driver.quit()


def node_gone(exc: Exception) -> bool:
    """Does this error say the element has left the page?

    Mid-navigation, Chromium's driver sometimes answers a question about an old
    node with "Node with given id does not belong to the document" instead of a
    stale-element error; both mean the node is gone.
    """
    from selenium.common.exceptions import StaleElementReferenceException

    return (isinstance(exc, StaleElementReferenceException)
            or "does not belong to the document" in str(exc))


def left_the_page(check: Callable[[WebDriver], object], driver: WebDriver) -> bool:
    """``check(driver)``, where an element of the page just left counts as gone."""
    from selenium.common.exceptions import WebDriverException

    try:
        return bool(check(driver))
    except WebDriverException as exc:
        if node_gone(exc):
            return True
        raise


class Person:
    """What a reader does and sees, in the words of the page."""

    def __init__(self, driver: WebDriver, url: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.d = driver
        self.url = url
        self.wait = WebDriverWait(driver, WAIT)

    # -- looking -------------------------------------------------------------------------

    def open(self, path: str) -> None:
        self.d.get(self.url + path)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css: str, within: WebElement | None = None) -> WebElement:
        from selenium.webdriver.common.by import By

        return (within or self.d).find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        from selenium.webdriver.common.by import By

        return list(self.d.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str = "main") -> str:
        return str(self.find(css).text)

    def sees(self, words: str, css: str = "main") -> None:
        """Wait (bounded) until ``words`` is visible in ``css``."""
        from selenium.common.exceptions import TimeoutException

        try:
            self.wait.until(lambda _d: words in self.text(css))
        except TimeoutException:
            raise AssertionError(f"never saw {words!r} in {css}:\n{self.text(css)}") from None

    def path(self) -> str:
        return str(self.d.current_url).removeprefix(self.url)

    def shot(self, name: str, css: str | None = None, *, full: bool = False) -> Path:
        """Save the viewport (scrolled to ``css``) or, with ``full``, the whole page."""
        SCREENSHOTS.mkdir(exist_ok=True)
        target = SCREENSHOTS / f"e2e-{name}.png"
        if css:
            self.d.execute_script(
                "arguments[0].scrollIntoView({block: 'start'})", self.find(css))
        if full:
            height = int(self.d.execute_script(
                "return document.documentElement.scrollHeight"))
            self.d.set_window_size(1280, min(max(height, 1000), 6000))
            self.d.execute_script("window.scrollTo(0, 0)")
        try:
            assert self.d.save_screenshot(str(target)), target
        finally:
            if full:
                self.d.set_window_size(1280, 1000)
        return target

    # -- doing ----------------------------------------------------------------------------

    def submit(self, button_css: str, within: WebElement | None = None) -> None:
        """Click a submit button and wait for the next page to load."""
        from selenium.webdriver.support import expected_conditions as ec

        old = self.find("html")
        self.find(button_css, within).click()
        self.wait.until(lambda d: left_the_page(ec.staleness_of(old), d))
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def type(self, css: str, value: str, within: WebElement | None = None) -> None:
        field = self.find(css, within)
        field.clear()
        field.send_keys(value)

    def register(self, username: str) -> None:
        self.open("/register")
        self.sees("Create an account")
        self.type("#reg-username", username)
        self.type("#reg-password", PASSWORD)
        self.type("#reg-confirm", PASSWORD)
        self.submit("form.auth-form button[type=submit]")

    def log_in(self, username: str) -> None:
        self.open("/login")
        self.type("#login-username", username)
        self.type("#login-password", PASSWORD)
        self.submit("form.auth-form button[type=submit]")

    def log_out(self) -> None:
        self.submit("form.logout-form button")
        self.sees("Log in", "header")

    def comment(self, cid: int) -> WebElement:
        return self.find(f"#comment-{cid}")

    def comment_ids(self) -> list[int]:
        return [int(str(e.get_attribute("id")).removeprefix("comment-"))
                for e in self.all("li.comment")]


def test_a_reader_and_an_admin_in_the_browser(site: tuple[str, readers.Corpus],
                                               browser: WebDriver) -> None:
    url, corpus = site
    me = Person(browser, url)
    article = corpus.ids["russia_new"]
    started = time.monotonic()

    # Register the first account: it is the site's administrator.
    me.register(ADMIN)
    me.sees(f"{ADMIN} (admin)", "header")
    me.sees("Admin", "header nav")

    # Follow #Russia on its hashtag page.
    me.open("/tags/Russia")
    me.submit("form.follow-form button[value=follow]")
    assert me.path().startswith("/tags/Russia")
    assert "Following" in str(me.find("form.follow-form button.active").text)

    # "For you" ranks the newest #Russia article first and says why.
    me.open("/for-you")
    me.sees("For you")
    cards = me.all("article.card.pick")
    titles = [str(me.find(".card-title", c).text) for c in cards]
    assert titles == ["Russia and Ukraine meet", "Oil prices rise", "Russia talks stall"]
    assert "Because you follow #Russia" in str(me.find(".why", cards[0]).text)
    assert "Garden show opens" not in me.text()  # not followed, not shown
    assert "#Russia" in me.text("aside")
    me.shot("for-you")

    # Open it from "For you"; nobody has commented yet.
    me.submit(".card-title a", cards[0])
    assert me.path() == f"/articles/{article}"
    me.sees("No comments yet...", "#comments")

    # Comment: plain text with emphasis and a link.
    me.type("#comment-body", "Talks *matter* here. Background: https://example.org/talks")
    me.submit("form.comment-new button[type=submit]")
    me.sees("Talks matter here.", "#comments")
    me.sees("(1)", "#comments-heading")  # "Comments (1)", shown in capitals
    assert "No comments yet..." not in me.text("#comments")
    [first] = me.comment_ids()
    body = me.find(f"#comment-{first} .comment-body")
    assert me.find("em", body).text == "matter"
    assert me.find("a", body).get_attribute("href") == "https://example.org/talks"

    # Reply to it.
    first_item = me.comment(first)
    me.find("details.comment-reply summary", first_item).click()
    me.type(f"#reply-{first}", "A reply that I will edit.", first_item)
    me.submit("details.comment-reply button[type=submit]", first_item)
    me.sees("A reply that I will edit.", "#comments")
    me.sees("(2)", "#comments-heading")  # "Comments (2)", shown in capitals
    reply = next(i for i in me.comment_ids() if i != first)
    assert "A reply that I will edit." in me.text(f"#comment-{first} .comment-replies")
    me.shot("article-thread", full=True)  # the article page with its thread

    # Edit the reply.
    me.find(f"#comment-{reply} a.comment-edit").click()
    me.sees("Edit your comment")
    assert me.find("#edit-body").get_attribute("value") == "A reply that I will edit."
    me.type("#edit-body", "An edited reply.")
    me.submit("form.comment-form button[type=submit]")
    me.sees("An edited reply.", "#comments")
    assert "(edited)" in me.text(f"#comment-{reply}")
    assert "A reply that I will edit." not in me.text("#comments")
    me.shot("article-thread-edited", "#comments")

    # Delete the reply: gone, and the count drops.
    me.submit(f"#comment-{reply} form.inline-form button[type=submit]")
    me.sees("(1)", "#comments-heading")  # "Comments (1)", shown in capitals
    assert "An edited reply." not in me.text("#comments")
    assert me.comment_ids() == [first]

    # Log out; a second reader registers (not an admin) and reports the comment.
    me.log_out()
    me.register(READER)
    me.sees(READER, "header")
    assert "(admin)" not in me.text("header")
    me.open(f"/articles/{article}")
    item = me.comment(first)
    assert not me.all(f"#comment-{first} a.comment-edit"), "edit offered to another reader"
    me.find("details.comment-report summary", item).click()
    me.type(f"#report-{first}", "Off topic", item)
    me.submit("details.comment-report button[type=submit]", item)
    me.sees("Comment reported")
    me.sees("Thank you. A moderator will look at this comment.")
    me.shot("reported")
    me.open("/admin/moderation")  # a reader is turned away from the admin pages
    me.sees("Only administrators can do that.")
    assert "Talks matter here." not in me.text()
    me.log_out()

    # The admin logs back in and sees the report in the moderation queue.
    me.log_in(ADMIN)
    me.sees(f"{ADMIN} (admin)", "header")
    me.open("/admin/moderation")
    me.sees("Moderation")
    queued = me.find(f"#mod-{first}")
    for words in ("Talks matter here.", "1 open report", "Off topic", "visible", ADMIN):
        assert words in str(queued.text), (words, queued.text)
    me.shot("moderation-queue")

    # Hide it: the queue says so, and the article no longer shows it.
    me.submit(f"#mod-{first} form[action$='/hide'] button")
    me.sees("hidden", f"#mod-{first}")
    assert "Restore" in me.text(f"#mod-{first}")
    me.open(f"/articles/{article}")
    assert "Talks matter here." not in me.text("#comments")
    me.sees("No comments yet...", "#comments")
    me.shot("article-hidden", "#comments")

    # Restore it: back on the article, and nothing left to moderate.
    me.open("/admin/moderation")
    me.submit(f"#mod-{first} form[action$='/restore'] button")
    me.sees("Nothing to moderate: no reported or hidden comments.")
    me.open(f"/articles/{article}")
    me.sees("Talks matter here.", "#comments")
    me.sees("(1)", "#comments-heading")  # "Comments (1)", shown in capitals

    # Log out: the account links are gone and "For you" asks to log in.
    me.log_out()
    assert ADMIN not in me.text("header")
    me.open("/for-you")
    me.sees("Log in")
    assert me.path().startswith("/login")

    # No script was blocked by the Content-Security-Policy, and nothing threw.
    logs = browser.get_log("browser")
    problems = [e["message"] for e in logs if e.get("level") == "SEVERE"
                and ("Content Security Policy" in e["message"] or "Uncaught" in e["message"])]
    assert problems == [], problems
    assert time.monotonic() - started < 60
