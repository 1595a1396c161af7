"""Build, at run time, real-looking HTML pages from the seed's four articles.

The seed (``../shared/seed/000_…txt``) is the text of one scraped UPI article
page: the article, its copyright line, the page's chrome, then three related
articles from other outlets. Nothing of it is committed: these helpers read it
when a test runs and wrap each article in page markup of our own.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

_SENTENCE_END = re.compile(r"(?<=[.!?'\"])\s+(?=[A-Z\"'])")


@dataclass
class SeedArticle:
    slug: str
    outlet: str
    title: str
    paragraphs: list[str]
    copyright: str = ""
    published: str = "2025-08-20T09:00:00+00:00"
    byline: str = ""


def _paragraphs_of(blob: str, per: int = 3) -> list[str]:
    """Split one long related-article line into paragraphs of a few sentences."""
    sentences = [s.strip() for s in _SENTENCE_END.split(blob) if s.strip()]
    return [" ".join(sentences[i:i + per]) for i in range(0, len(sentences), per)]


def parse_seed(path: Path) -> tuple[SeedArticle, list[SeedArticle]]:
    """The main UPI article and the three related ones."""
    lines = path.read_text(encoding="utf-8").split("\n")
    title = lines[0].strip()
    cut = next(i for i, line in enumerate(lines) if line.startswith("Copyright "))
    main = SeedArticle("upi-kim-lyubimova", "UPI", title,
                       [line.strip() for line in lines[1:cut] if line.strip()],
                       copyright=lines[cut].strip())
    start = lines.index("Related Articles")
    rest = [line for line in lines[start + 1:] if line.strip()]
    related: list[SeedArticle] = []
    i = 0
    while i + 4 < len(rest) + 1 and i < len(rest):
        outlet, _ago, _dash, rtitle, blob = rest[i:i + 5]
        slug = re.sub(r"[^a-z0-9]+", "-", rtitle.lower()).strip("-")[:60]
        related.append(SeedArticle(slug, outlet.strip(), rtitle.strip(), _paragraphs_of(blob)))
        i += 5
    return main, related


_CHROME_NAV = """<header class="site-header"><a href="/">Home</a> <a href="/world">World</a>
<a href="/news">Top News</a> <a href="/newsletter">Newsletters</a>
<form action="/search"><input name="q" placeholder="Search"></form></header>
<div class="cookie-banner">We use cookies to improve your experience.
<button>Accept</button></div>"""


def _related_block(related: list[SeedArticle]) -> str:
    items = []
    for r in related:
        excerpt = html.escape(" ".join(r.paragraphs)[:280])
        items.append(
            f'<li class="related-item"><span class="src">{html.escape(r.outlet)}</span>'
            f'<span class="ago">24 minutes ago</span><span>- {html.escape(r.outlet)}</span>'
            f'<a href="/{r.slug}.html"><h3>{html.escape(r.title)}</h3></a>'
            f"<p>{excerpt}</p></li>")
    return ('<section class="related"><h2>Related Articles</h2><ul>'
            + "".join(items) + "</ul></section>")


def page_html(article: SeedArticle, base: str, related: list[SeedArticle] | None = None) -> str:
    """A complete article page; the seed's own chrome when ``related`` is given."""
    esc = html.escape
    body = "\n".join(f"<p>{esc(p)}</p>" for p in article.paragraphs)
    if article.copyright:
        body += f'\n<p class="copyright">{esc(article.copyright)}</p>'
    chrome = ""
    if related is not None:
        chrome = ('<section class="hashtags"><h2>Hashtags</h2></section>'
                  '<section class="ai"><h2>Try Our AI Features</h2>'
                  "<p>Explore what Daily8 AI can do for you:</p></section>"
                  '<section class="comments"><h2>Comments</h2><p>No comments yet...</p></section>'
                  + _related_block(related))
    byline = f'<p class="byline">By {esc(article.byline)}</p>' if article.byline else ""
    url = f"{base}/{article.slug}.html"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(article.title)} - {esc(article.outlet)}</title>
<link rel="canonical" href="{url}">
<meta property="og:site_name" content="{esc(article.outlet)}">
<meta property="og:title" content="{esc(article.title)}">
<meta property="article:published_time" content="{article.published}">
<meta name="author" content="{esc(article.byline)}">
</head><body>
{_CHROME_NAV}
<main><article>
<h1>{esc(article.title)}</h1>
{byline}
<time datetime="{article.published}">Aug. 20, 2025</time>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Share on X</a>
<a href="#">Email</a></div>
<div class="article-body">
{body}
</div>
</article>
{chrome}
</main>
<aside class="newsletter"><h3>Sign up for our newsletter</h3>
<p>Get the top stories delivered to your inbox every morning.</p></aside>
<footer><p>About us | Contact | Privacy policy | Terms of use</p></footer>
</body></html>"""


def feed_xml(articles: list[SeedArticle], base: str) -> str:
    """An RSS 2.0 feed listing the pages."""
    items = "".join(
        f"<item><title>{html.escape(a.title)}</title><link>{base}/{a.slug}.html</link>"
        f"<guid>{base}/{a.slug}.html</guid><pubDate>Wed, 20 Aug 2025 09:00:00 GMT</pubDate>"
        "</item>" for a in articles)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Seed wire</title><link>{base}/</link><description>seed</description>"
            f"{items}</channel></rss>")
