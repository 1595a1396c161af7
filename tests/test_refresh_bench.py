"""The refresh benchmark end to end on a tiny farm: real loopback HTTP, real database."""

from __future__ import annotations

import httpx

from newsdesk.config import Settings
from newsdesk.eval import refresh
from newsdesk.eval.feedfarm import FarmSpec, FeedFarm


def test_farm_serves_feeds_from_distinct_hosts_with_validators() -> None:
    with FeedFarm(FarmSpec(feeds=2, items=3, words=60)) as farm:
        first, second = farm.feed_urls
        assert httpx.URL(first).host != httpx.URL(second).host
        reply = httpx.get(first)
        assert reply.status_code == 200 and reply.text.count("<item>") == 3
        again = httpx.get(first, headers={"If-None-Match": reply.headers["etag"]})
        assert again.status_code == 304
        since = httpx.get(first, headers={"If-Modified-Since": reply.headers["last-modified"]})
        assert since.status_code == 304
        assert (farm.stats().feeds, farm.stats().not_modified) == (1, 2)


def test_refresh_bench_small_farm(settings: Settings, embedder) -> None:  # type: ignore[no-untyped-def]
    spec = FarmSpec(feeds=5, items=3, words=300)  # generated texts: no shared data needed
    result = refresh.run(settings, spec, embedder=embedder)
    assert result["first_pass"]["created"] == 15 and result["first_pass"]["errors"] == 0
    assert result["not_modified_pass"]["not_modified"] == 5
    assert result["served"]["pages"] == 0  # full-text feed: crawl_pages=auto fetched no page
    assert result["enrich"]["enriched"] == 15 and result["enrich"]["errors"] == 0
    assert set(result["ours"]) == set(result["beats_anchor"])
    assert "not re-run" in result["anchor"]["source"]
