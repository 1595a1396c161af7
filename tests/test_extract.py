"""Article extraction: fixtures, the seed UPI page, hostile input and eval floors."""

from __future__ import annotations

import html as htmlmod
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.ingest.chrome import clean_lines, is_chrome, split_copyright
from newsdesk.ingest.extract import (
    ExtractionError,
    extract,
    extract_date,
    outlet_from_domain,
    strip_outlet_suffix,
)
from tests.conftest import DATA, SEED

PAGES = Path(__file__).parent / "fixtures" / "pages"
URL = "https://ledger.example.org/news/harbour-ferry-returns?utm_source=feed"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


# ----------------------------------------------------------------- fixture page


@pytest.fixture(scope="module")
def harbour():
    return extract(page("harbour_article.html"), URL)


def test_fixture_body_is_only_the_story(harbour):
    assert len(harbour.paragraphs) == 5
    assert harbour.paragraphs[0].startswith("The town's only passenger ferry")
    assert harbour.paragraphs[-1].startswith("Timetables for the summer season")
    for chrome in ("cookies", "newsletter", "Share on", "Related", "Cycle lane", "Comments",
                   "No comments", "By Mara", "Published 14", "©", "Home"):
        assert chrome not in harbour.text


def test_fixture_metadata(harbour):
    assert harbour.title == "Harbour ferry returns after winter repairs"
    assert harbour.outlet == "The Coastal Ledger"
    assert harbour.byline == "Mara Lindqvist"
    assert harbour.canonical_url == "https://ledger.example.org/news/harbour-ferry-returns"
    assert harbour.image == "https://ledger.example.org/img/ferry.jpg"
    assert harbour.language == "en"
    assert harbour.copyright == "© 2024 The Coastal Ledger Ltd. All rights reserved."
    assert harbour.description.startswith("The town's only ferry")
    assert harbour.published_at == datetime(2024, 3, 14, 8, 30, tzinfo=UTC)


def test_bytes_input_with_declared_charset():
    raw = page("harbour_article.html").replace("utf-8", "iso-8859-1")
    raw = raw.replace("four months", "four months (Kräne, Größe)")
    art = extract(raw.encode("iso-8859-1"), URL)
    assert "Kräne, Größe" in art.text


def test_index_page_is_refused():
    with pytest.raises(ExtractionError, match="no article text"):
        extract(page("index_page.html"), "https://ledger.example.org/news/")


def test_fallbacks_used_when_page_has_none():
    body = "<html><body><article>" + "<p>" + "A plain sentence of the story. " * 8 + "</p>" * 1
    body += "</article></body></html>"
    when = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    art = extract(body, "https://www.example-news.com/x", fallback_title="Feed title",
                  fallback_date=when)
    assert art.title == "Feed title"
    assert art.published_at == when
    assert art.outlet == "Example-news"


def test_a_year_in_the_prose_does_not_beat_the_feed_date():
    """htmldate reads "built in 2009" as 2009-01-01; the feed states the day."""
    prose = "The bridge, built in 2009, was closed on the orders of the city engineer. " * 6
    body = f"<html><body><article><p>{prose}</p></article></body></html>"
    when = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert extract(body, "https://www.example-news.com/y").published_at == datetime(
        2009, 1, 1, tzinfo=UTC)  # no feed date: the guess is all there is
    assert extract(body, "https://www.example-news.com/y",
                   fallback_date=when).published_at == when


# ------------------------------------------------------------------- seed page


def seed_parts() -> tuple[str, list[str], str, list[str]]:
    """Headline, article paragraphs, copyright line, and the chrome lines after it."""
    lines = SEED.read_text(encoding="utf-8").split("\n")
    cut = next(i for i, line in enumerate(lines) if line.startswith("Copyright"))
    return lines[0], [x for x in lines[1:cut] if x.strip()], lines[cut], lines[cut + 1:]


def related_cards(chrome: list[str]) -> str:
    """The seed's "Related Articles" entries (outlet, age, outlet, title, excerpt) as cards."""
    start = chrome.index("Related Articles") + 1
    rest = [x for x in chrome[start:] if x.strip()]
    cards = []
    for i in range(0, len(rest) - 4, 5):
        outlet, age, _, title, excerpt = (htmlmod.escape(x) for x in rest[i:i + 5])
        cards.append(
            f'<div class="card"><span>{outlet}</span><span>{age}</span><span>- {outlet}</span>'
            f'<h3><a href="/r{i}">{title}</a></h3><p>{excerpt}</p></div>'
        )
    return "\n".join(cards)


def seed_html() -> str:
    title, paragraphs, copyright_line, chrome = seed_parts()
    body = "\n".join(f"<p>{htmlmod.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{htmlmod.escape(title)} - UPI.com</title>
<meta property="og:title" content="{htmlmod.escape(title)}">
<meta property="og:site_name" content="UPI">
<meta property="article:published_time" content="2025-06-23T02:14:00Z">
</head><body>
<header><a href="/">Daily8</a>
<nav><a href="/world">World</a> <a href="/tech">Tech</a></nav></header>
<main><div class="post">
<h1>{htmlmod.escape(title)}</h1>
{body}
<p>{htmlmod.escape(copyright_line)}</p>
<div><h4>Hashtags</h4></div>
<section><h3>Try Our AI Features</h3><p>Explore what Daily8 AI can do for you:</p></section>
<section><h3>Comments</h3><p>No comments yet...</p></section>
<section><h2>Related Articles</h2>
{related_cards(chrome)}
</section>
</div></main>
<footer><p>Daily8 · About · Contact</p></footer>
</body></html>"""


@pytest.mark.skipif(not SEED.exists(), reason="../shared/seed is not present")
def test_seed_page_extracts_exactly_the_article():
    title, paragraphs, copyright_line, _ = seed_parts()
    art = extract(seed_html(), "https://www.upi.com/Top_News/World-News/2025/06/23/kim-russia/")
    assert art.title == title
    assert art.paragraphs == paragraphs
    assert art.copyright == copyright_line == (
        "Copyright 2025 UPI News Corporation. All Rights Reserved."
    )
    assert art.outlet == "UPI"
    assert art.published_at == datetime(2025, 6, 23, 2, 14, tzinfo=UTC)


# ---------------------------------------------------------------- small units


@pytest.mark.parametrize(
    ("title", "outlet", "expected"),
    [
        ("Kim meets minister | UPI", "UPI", "Kim meets minister"),
        ("Ferry returns after repairs - World - BBC News", "BBC News",
         "Ferry returns after repairs"),
        ("Ledger: Ferry returns", "The Coastal Ledger", "Ledger: Ferry returns"),
        ("Trump - Putin summit ends in Alaska", "", "Trump - Putin summit ends in Alaska"),
    ],
)
def test_strip_outlet_suffix(title, outlet, expected):
    assert strip_outlet_suffix(title, outlet) == expected


def test_outlet_from_domain():
    assert outlet_from_domain("https://www.theguardian.com/world/x") == "Theguardian"
    assert outlet_from_domain("https://www.bbc.co.uk/news/x") == "BBC"


@pytest.mark.parametrize(
    "line",
    ["Share on Facebook", "Read more: Council approves cycle lane", "24 minutes ago",
     "Sign up for our newsletter to get stories in your inbox", "Try Our AI Features",
     "Lesen Sie auch: Neue Radwege", "CLICK HERE TO GET THE APP", "https://example.com/x"],
)
def test_chrome_lines(line):
    assert is_chrome(line)


@pytest.mark.parametrize(
    "line",
    ["More than 100 people were evacuated on Sunday.", "Read the report, she said.",
     "Comments from the minister were not available."],
)
def test_prose_is_not_chrome(line):
    assert not is_chrome(line)


def test_copyright_split_and_tail_cut():
    story = ["First paragraph of the story with enough words to count.",
             "Second paragraph, also long enough to be the bulk of the text.",
             "© 2024 Example Media. All rights reserved.", "Related Articles",
             "Another story headline"]
    lines, found = clean_lines(story, title="Headline")
    assert lines == story[:2]
    assert found == "© 2024 Example Media. All rights reserved."
    assert split_copyright(["Copyright 2025 UPI News Corporation. All Rights Reserved."])[1]


def test_json_ld_article_body_rescues_hidden_paragraphs():
    hidden = " ".join(f"Sentence number {i} of the full story." for i in range(60))
    html = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        f'"headline": "Full story", "articleBody": "{hidden}"}}</script></head><body>'
        "<article><p>" + " ".join(f"Sentence number {i} of the full story." for i in range(8))
        + "</p><p>Subscribe to read the rest.</p></article></body></html>"
    )
    assert "Sentence number 59" in extract(html, "https://x.example/a").text


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "payload",
    [
        "",
        b"",
        "   \n ",
        "\x00" * 1000,
        "<html><body>" + "<div>" * 50_000 + "deep" + "</div>" * 50_000 + "</body></html>",
        b"\xff\xfe\x00\x00garbage\x00<html>",
        "<?xml version='1.0' encoding='utf-8'?><rss><channel></channel></rss>",
        "<script>" + "{" * 100_000 + "</script>",
    ],
)
def test_hostile_input_raises_extraction_error(payload):
    with pytest.raises(ExtractionError):
        extract(payload, "https://x.example/")


def test_broken_markup_gives_article_or_extraction_error():
    payload = "<html><body><p>unterminated <b><i><table><tr><td>" * 200
    try:
        art = extract(payload, "https://x.example/")
    except ExtractionError:
        return
    assert "unterminated" in art.text


def test_extract_date_never_raises():
    assert extract_date("", "") is None
    assert extract_date("\x00<html>", "") is None


# --------------------------------------------------------------- eval floors

EXTRACTION = DATA / "extraction"
DATES = DATA / "dates" / "htmldate-dev"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "limit"), [("scrapinghub-dev", 40), ("trafilatura-eval", 80)])
def test_extraction_eval_floor(name, limit):
    dataset = EXTRACTION / name
    if not dataset.is_dir():
        pytest.skip(f"{dataset} not present")
    from newsdesk.eval.extraction import evaluate

    result = evaluate(dataset, limit=limit)
    assert result["pages"] == limit
    assert result["ours"]["f1"] >= result["trafilatura"]["f1"] - 0.01


@pytest.mark.slow
def test_dates_eval_floor():
    if not DATES.is_dir():
        pytest.skip(f"{DATES} not present")
    from newsdesk.eval.dates import evaluate

    result = evaluate(DATES, limit=100)
    assert result["ours"]["f1"] >= 0.93


def test_prose_share_tells_a_menu_from_an_article() -> None:
    from newsdesk.ingest.extract import MIN_PROSE_SHARE, prose_share

    menu = "\n".join(["Home", "City council", "Contacts", "Photo gallery", "Open data"] * 40)
    story = ("The council approved the new budget on Tuesday after a long debate.\n"
             "Opposition members said the plan cut too deeply into school spending.")
    assert prose_share(menu) < MIN_PROSE_SHARE <= prose_share(story)
    assert prose_share("") == 0.0
