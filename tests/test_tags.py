"""Hashtags: canonical entities, salience, chrome, storage and trending on both backends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.enrich.tags import Tag, extract_tags, slugify
from newsdesk.model import Article
from newsdesk.store import articles
from newsdesk.store import tags as tagstore
from newsdesk.store.db import Database
from tests.conftest import SEED
from tests.seedpages import parse_seed

CHROME = {"Hashtags", "Comments", "RelatedArticles", "TryOurAIFeatures", "Daily8", "Daily8AI"}

DPRK_STORY = (
    "N. Korea fires missiles as Kim visits troops",
    "North Korean leader Kim Jong Un oversaw the launch of two missiles on Tuesday, state "
    "media said.\n"
    "Pyongyang acknowledged the test a day later. The DPRK has launched a dozen missiles "
    "this year.\n"
    "The Democratic People's Republic of Korea says the drills are defensive. Kim said the "
    "country would not give up its weapons.\n"
    "South Korea's Defence Minister Ahn Gyu-back said Seoul was watching closely. Ahn said "
    "the launches violated United Nations resolutions, and the UN Security Council will meet.",
)


def slugs(tags: list[Tag]) -> set[str]:
    return {t.slug for t in tags}


def test_one_tag_for_every_name_of_north_korea() -> None:
    tags = extract_tags(*DPRK_STORY)
    names = slugs(tags)
    assert "NorthKorea" in names
    assert not names & {"DPRK", "Pyongyang", "DemocraticPeoplesRepublicOfKorea", "NKorea"}
    assert "KimJongUn" in names and "Kim" not in names
    assert tags[0].score == 1.0 and all(0 < t.score <= 1 for t in tags)


def test_titles_are_stripped_and_surnames_merge() -> None:
    tags = {t.slug: t for t in extract_tags(*DPRK_STORY, limit=12)}
    assert "AhnGyuBack" in tags and tags["AhnGyuBack"].kind == "person"
    assert not {s for s in tags if s.startswith(("Defence", "Minister"))}
    assert "Ahn" not in tags


def test_capital_as_city_is_not_the_government() -> None:
    tags = slugs(extract_tags("Marathon", "Thousands ran through Seoul on Sunday. "
                              "Runners from Seoul and Busan took part in the Seoul race."))
    assert "SouthKorea" not in tags


def test_persons_organisations_and_places() -> None:
    text = ("Russian President Vladimir Putin met Hungarian Prime Minister Viktor Orban in "
            "Moscow on Friday. Orban said the European Union must rethink sanctions. "
            "Putin thanked Orban. The EU has frozen Russian assets, NATO officials said.")
    tags = {t.slug: t for t in extract_tags("Putin hosts Orban", text, limit=12)}
    assert tags["VladimirPutin"].kind == "person"
    assert tags["ViktorOrban"].kind == "person"
    assert tags["EuropeanUnion"].kind == "org" and "EU" not in tags
    assert tags["Russia"].kind == "place"
    assert "NATO" in tags
    assert "President" not in tags and "PrimeMinister" not in tags


def test_slugs_are_ascii_camel_case() -> None:
    assert slugify("North Korea") == "NorthKorea"
    assert slugify("Workers' Party of Korea") == "WorkersPartyOfKorea"
    assert slugify("São Paulo") == "SaoPaulo"
    assert slugify("KCNA") == "KCNA"


def test_empty_and_lower_case_text() -> None:
    assert extract_tags("", "") == []
    assert extract_tags("nothing here", "just some words without any names at all.") == []


# ------------------------------------------------------------------------ seed


@pytest.fixture(scope="module")
def seed() -> tuple[object, list[object]]:
    if not SEED.exists():
        pytest.skip("the seed page is not available")
    return parse_seed(SEED)


def _tags_of(article: object) -> list[Tag]:
    return extract_tags(article.title, "\n".join(article.paragraphs))  # type: ignore[attr-defined]


def test_seed_upi_story_tags(seed: tuple[object, list[object]]) -> None:
    main, _ = seed
    names = slugs(_tags_of(main))
    assert {"KimJongUn", "NorthKorea", "Russia", "Ukraine"} <= names
    assert names & {"OlgaLyubimova", "Lyubimova"}
    assert not names & CHROME


def test_seed_chrome_never_becomes_a_tag(seed: tuple[object, list[object]]) -> None:
    main, _ = seed
    page_text = "\n".join([*main.paragraphs, main.copyright, "Hashtags", "Try Our AI Features",
                           "Explore what Daily8 AI can do for you:", "Comments",
                           "No comments yet...", "Related Articles"])
    assert not slugs(extract_tags(main.title, page_text, limit=20)) & CHROME


def test_seed_related_stories_share_russia_and_ukraine(
        seed: tuple[object, list[object]]) -> None:
    main, related = seed
    for article in (main, *related):
        assert {"Russia", "Ukraine"} <= slugs(_tags_of(article)), article.title


def test_tagging_is_fast(seed: tuple[object, list[object]]) -> None:
    main, related = seed
    docs = [main, *related] * 10
    _tags_of(main)  # the gazetteer loads once per process
    start = time.process_time()
    for doc in docs:
        _tags_of(doc)
    per_article = (time.process_time() - start) / len(docs)
    assert per_article < 0.02


# ----------------------------------------------------------------------- store


@pytest.fixture
def db(db_on_each_backend: Database) -> Database:
    """This module's tests run on SQLite and PostgreSQL in every run."""
    return db_on_each_backend


def _save(session: object, n: int, outlet: str, when: datetime) -> int:
    art = Article(url=f"https://{outlet.lower()}.example/{n}", title=f"Story {n}",
                  text=f"Body of story {n} from {outlet}.", outlet=outlet, published_at=when)
    return articles.save_article(session, art).article_id  # type: ignore[arg-type]


def test_set_and_read_article_tags(db: Database) -> None:
    now = datetime.now(UTC)
    with db.write() as s:
        a = _save(s, 1, "UPI", now)
        tagstore.set_article_tags(s, a, [Tag("NorthKorea", "North Korea", "place", 1.0),
                                         Tag("KimJongUn", "Kim Jong Un", "person", 0.8)])
        tagstore.set_article_tags(s, a, [Tag("KimJongUn", "Kim Jong Un", "person", 0.9),
                                         Tag("Russia", "Russia", "place", 0.5)])
    with db.read() as s:
        assert [t.slug for t in tagstore.article_tags(s, a)] == ["KimJongUn", "Russia"]
        tag = tagstore.tag_by_slug(s, "kimjongun")
        assert tag is not None and tag.name == "Kim Jong Un" and tag.kind == "person"
        assert [r.id for r in tagstore.articles_for_tag(s, "KimJongUn", 10, 0)] == [a]
        assert tagstore.articles_for_tag(s, "Nope", 10, 0) == []


def test_articles_for_tag_pages_newest_first(db: Database) -> None:
    now = datetime.now(UTC)
    with db.write() as s:
        ids = [_save(s, n, "Wire", now - timedelta(hours=n)) for n in range(5)]
        for i in ids:
            tagstore.set_article_tags(s, i, [Tag("Ukraine", "Ukraine", "place", 1.0)])
    with db.read() as s:
        first = tagstore.articles_for_tag(s, "Ukraine", 2, 0)
        second = tagstore.articles_for_tag(s, "Ukraine", 2, 2)
        assert [r.id for r in first + second] == ids[:4]


def test_trending_prefers_fresh_tags_over_evergreen_ones(db: Database) -> None:
    now = datetime.now(UTC)
    evergreen = Tag("UnitedStates", "United States", "place", 1.0)
    fresh = Tag("Lyubimova", "Lyubimova", "person", 1.0)
    with db.write() as s:
        for n in range(30):  # a month of old stories all tagged United States
            a = _save(s, 100 + n, "Wire", now - timedelta(days=10 + n))
            tagstore.set_article_tags(s, a, [evergreen])
        for n, outlet in enumerate(["UPI", "Yonhap", "TASS"]):
            a = _save(s, n, outlet, now - timedelta(hours=n))
            tagstore.set_article_tags(s, a, [evergreen, fresh])
        b = _save(s, 9, "Wire", now)
        tagstore.set_article_tags(s, b, [evergreen])
    with db.read() as s:
        trending = tagstore.trending_tags(s, now - timedelta(days=1), 5)
    assert trending[0].tag.slug == "Lyubimova"
    assert trending[0].articles == 3 and trending[0].outlets == 3
    assert {t.tag.slug for t in trending} == {"Lyubimova", "UnitedStates"}
