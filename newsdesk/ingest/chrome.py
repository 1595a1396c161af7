"""Line-level removal of news-page chrome that survives main-content detection.

trafilatura finds the article container well, but news templates put things
inside or right after it that are not the story: share bars ("Share on
Facebook"), newsletter and app pitches, cookie notices, "Related Articles" and
comment sections, hashtag lists, the headline/byline/dateline repeated above
the first paragraph and the copyright footer. These are recognisable from the
line alone, so they are filtered here, after extraction, where a rule is a
short regular expression and can be tested in isolation.
"""

from __future__ import annotations

import re

_WS = re.compile(r"\s+")

# A line that is a copyright notice: starts with the sign or word and names a year,
# or is a short "… All rights reserved." line.
_COPYRIGHT = re.compile(
    r"^(?:(?:copyright|©|\(c\))\s*(?:©\s*)?(?:\d{4}\b|\D{0,80}\b(?:19|20)\d{2}\b).*"
    r"|.{0,120}\ball rights reserved\.?)$",
    re.I,
)

# Whole lines that are widgets or section labels, never prose (matched on the
# normalised line). English plus the most common German/Spanish/French forms,
# since feeds are multilingual.
_CHROME_LINE = re.compile(
    r"^(?:"
    r"hashtags?|tags?|topics?|share|share this(?: article| story| post| page)?|"
    r"share (?:on|via) \w+|(?:tweet|email|print|whatsapp|linkedin|facebook|twitter|reddit)|"
    r"copy link|link copied|advertisement|sponsored(?: content)?|ad|anzeige|werbung|"
    r"continue reading|read more|read next|read the full story|show more|load more|"
    r"loading\W*|listen to this article|listen|sorry\W*|"
    r"no comments yet\W*|be the first to comment\W*|leave a comment|post a comment|"
    r"add a comment|(?:show|view) (?:all )?comments|\d+ comments?|comments?(?: \(\d+\))?|"
    r"kommentare?|kommentar schreiben|teilen|drucken|weiterlesen|mehr lesen|bild anzeigen|"
    r"schon gelesen\W*|vorschau auf den nächsten artikel|zum artikel|"
    r"pour lire la suite|pour accéder en illimité|lire la suite|"
    r"try our ai features|explore what .{1,40} can do for you\W*|"
    r"sign up|subscribe(?: now)?|log ?in|sign in|register|"
    r"[\w' ]{0,30}\bnewsletter|"
    r"follow us(?: on .{1,40})?|"
    r"\d+ (?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?) ago|"
    r"(?:just now|yesterday)|"
    r"https?://\S+|(?:www\.)?[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|de|co\.uk|fr|es)(?:/\S*)?"
    r")$",
    re.I,
)

# Headings after which only other stories, tags or comments follow (any
# language we see often): the heading and everything after it go.
_TAIL = (
    r"related(?: articles| stories| posts| content| news| coverage)?|"
    r"more (?:stories|news|articles|from .{1,40})|you (?:may|might) (?:also )?like|"
    r"recommended(?: for you| stories| articles)?|trending(?: now| stories)?|"
    r"most (?:popular|read|viewed)|top stories|latest news|editor'?s picks|"
    r"contenido relacionado|notas relacionadas|noticias relacionadas|art[ií]culos relacionados|"
    r"das könnte sie auch interessieren|weitere artikel|ähnliche artikel|"
    r"articles similaires|sur le même sujet|"
    r"hashtags|comments?|kommentare|no comments yet|try our ai features"
)
_TAIL_HEADING = re.compile(rf"^(?:{_TAIL})\W*$", re.I)

# Headings of a teaser box inside the story ("DON'T MISS", "Read also"): the
# heading and the short link lines right after it go, the story goes on.
_BOX_HEADING = re.compile(
    r"^(?:don'?t miss|read (?:more|also|next)|see also|also read|more on this|"
    r"te puede interesar|le puede interesar|lesen sie auch|mehr zum thema|auch interessant|"
    r"à lire aussi|lire aussi)\W*$",
    re.I,
)

# "Read more: <other story>" teasers, in the languages of our sources. A label
# needs its colon (or », >, |): "More than 100 people…" is prose.
_TEASER = re.compile(
    r"^(?:(?:read (?:more|also|next)|see (?:more|also)|also read|related|more|watch|"
    r"mire|mira|lea(?: también| más| además)?|lee también|vea(?: también)?|"
    r"(?:te|le) puede interesar|lire aussi|à lire aussi|voir aussi|lesen sie auch|"
    r"auch interessant|mehr zum thema|siehe auch|leggi anche|leia também|ver também)"
    r"\s*[:»>|]|(?:also on|auch auf) [\w-]+\.[\w.]+\b)",
    re.I,
)

_NEWSLETTER = re.compile(
    r"\bnewsletters?\b.*\b(?:sign up|subscribe|inbox|delivered|register)\b"
    r"|\b(?:sign up|subscribe)\b.*\bnewsletters?\b"
    r"|\bshare (?:it|this) with\b"
    r"|\b(?:thanks for signing up|your inbox|your subscription|sign up (?:to|for) get)\b",
    re.I,
)
_PAYWALL = re.compile(
    r"\b(?:subscri\w+|suscr\w+|abonn\w+)\b.*"
    r"\b(?:full story|to view|to read|log ?in|already|for the full|exclusive|access|edition)\b",
    re.I,
)
_COOKIES = re.compile(r"\bcookies?\b.*\b(?:we use|accept|consent|agree|privacy)\b", re.I)
_APP_PITCH = re.compile(
    r"\b(?:download|get) (?:our|the) (?:[\w-]+ ){0,3}apps?\b|\bclick(?:ing)? here\b", re.I
)
_FOLLOW = re.compile(
    r"^follow (?:us|[\w.@ ]{1,40}) on (?:twitter|facebook|instagram|x|linkedin|telegram)", re.I
)
_BRACKET_TAG = re.compile(r"\[[A-Z][A-Z ]{2,}\]\W*$")
_STAMP = re.compile(
    r"^(?:updated|published|posted|last (?:updated|modified)|aktualisiert|veröffentlicht|"
    r"actualizado|publicado|mis à jour|publié)\b.*\d",
    re.I,
)

_BYLINE = re.compile(r"^(?:by|von|par|por|di|door|av|af)\s+\S", re.I)
_MONTH = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|\b\d{1,2}\.?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b",
    re.I,
)
_DATELINE_WORDS = re.compile(r"\b(?:published|updated|posted|last modified)\b", re.I)

SHORT = 300  # pitches and notices are short; a long line is prose
MIN_STORY = 600  # characters of text before a tail heading may end the story


def normalise(line: str) -> str:
    """Lower-case, list marker and edge punctuation stripped, spaces collapsed."""
    line = re.sub(r"^[-•*·|]\s*", "", line.strip())
    return _WS.sub(" ", line).strip(" \t|:·•-–—").lower()


def is_copyright(line: str) -> bool:
    return len(line) < 250 and bool(_COPYRIGHT.match(normalise(line)))


def is_chrome(line: str) -> bool:
    """A share button, widget label, teaser, pitch or notice rather than article prose."""
    norm = normalise(line)
    if not norm:
        return True
    if _CHROME_LINE.match(norm) or _BRACKET_TAG.search(line):
        return True
    if len(norm) > SHORT:
        return False
    if len(norm) < 200 and (_TEASER.match(norm) or _is_shouting(line)):
        return True
    if len(norm.split()) <= 10 and _STAMP.match(norm):
        return True
    return any(rx.search(norm) for rx in (_NEWSLETTER, _PAYWALL, _COOKIES, _APP_PITCH, _FOLLOW))


def _is_shouting(line: str) -> bool:
    """An all-caps line of several words: a cross-link or promo, not a paragraph."""
    letters = [c for c in line if c.isalpha()]
    if "|" in line or len(line.split()) < 4 or len(letters) < 12:
        return False
    return all(c.isupper() for c in letters)


def split_copyright(lines: list[str]) -> tuple[list[str], str]:
    """Lines without copyright notices, and the first notice found."""
    kept, found = [], ""
    for line in lines:
        if is_copyright(line):
            found = found or line.strip()
        else:
            kept.append(line)
    return kept, found


def cut_tail(lines: list[str]) -> list[str]:
    """Drop a "Related Articles"/"Comments" section and all after it.

    Only once a story's worth of text precedes it (half the text, or 600
    characters: related-story excerpts can outweigh a short story), so a
    heading that happens to read "Comments" in a teaser does not eat the page.
    """
    total = sum(len(x) for x in lines) or 1
    seen = 0
    for i, line in enumerate(lines):
        if (seen > 0.5 * total or seen >= MIN_STORY) and _TAIL_HEADING.match(normalise(line)):
            return lines[:i]
        seen += len(line)
    return lines


def drop_boxes(lines: list[str]) -> list[str]:
    """Drop teaser boxes: a "DON'T MISS" heading and the link titles under it."""
    kept: list[str] = []
    in_box = False
    for line in lines:
        if _BOX_HEADING.match(normalise(line)):
            in_box = True
            continue
        if in_box and len(line) < 150 and not line.rstrip().endswith((".", "!", "?", ":")):
            continue
        in_box = False
        kept.append(line)
    return kept


def is_top_repeat(line: str, title: str, byline: str, description: str = "") -> bool:
    """Headline, byline or dateline repeated above the first paragraph.

    The standfirst is kept even when it equals the meta description: sites
    often use the first paragraph as their description.
    """
    norm = normalise(line)
    if not norm or len(norm) > 400:
        return False
    if _same_headline(norm, normalise(title)):
        return True
    if len(norm) > 160:
        return False
    if byline and (norm == normalise(byline) or norm == "by " + normalise(byline)):
        return True
    if _BYLINE.match(norm) and len(norm.split()) <= 12:
        return True
    words = len(norm.split())
    if words <= 4 and _is_shouting(line + " X X X"):  # "BAAR, SWITZERLAND" dateline
        return True
    return words <= 10 and bool(_MONTH.search(norm) or _DATELINE_WORDS.search(norm))


def _same_headline(norm: str, title: str) -> bool:
    """Equal, or one is the other plus a section label ("Opinion | …")."""
    if not title:
        return False
    if norm == title:
        return True
    shorter, longer = sorted((norm, title), key=len)
    return len(shorter.split()) >= 3 and longer.endswith(shorter) and len(longer) - len(
        shorter
    ) < 30


def strip_top(lines: list[str], title: str, byline: str, description: str = "") -> list[str]:
    """Remove repeated headline/byline/dateline lines among the first few."""
    start = 0
    while start < min(4, len(lines)) and is_top_repeat(lines[start], title, byline, description):
        start += 1
    return lines[start:]


def clean_lines(
    lines: list[str], title: str = "", byline: str = "", description: str = ""
) -> tuple[list[str], str]:
    """Article paragraphs without chrome, and the copyright line if one was there."""
    lines = [_WS.sub(" ", x).strip() for x in lines]
    lines = [x for x in lines if x]
    lines, copyright_line = split_copyright(drop_boxes(cut_tail(lines)))
    lines = [x for x in lines if not is_chrome(x)]
    return strip_top(lines, title, byline, description), copyright_line
