"""What a person's query asks for, read without any search engine: best-match concepts.

A query of bare words is read as *concepts*, each a word or a known phrase of the field with
the other ways of saying it (`data/vocabulary.toml`: acronyms both ways and synonym sets);
stop words (`data/stopwords.txt`) are dropped outside quotes; a known locality, region or
year among the words is *understood* (it ranks that place's or year's reports first) rather
than searched for as text. `+word` and "phrases" are required, `-word` excludes, and
`field:value` of a report field stays a strict filter.

Queries with explicit operators (AND, OR, NOT, parentheses), wildcards or passage fields keep
their exact meaning and are left to the strict parser: `analyze` returns None for them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from .facets import QUERY_FIELD_ALIASES

#: An expansion (another form of a concept than the one typed) scores this share of the typed
#: form's score, so a passage saying what the person typed ranks first.
EXPANSION_WEIGHT = 0.8
#: Fields whose `field:value` in a best-match query is a filter on reports.
REPORT_FIELD_NAMES = frozenset(QUERY_FIELD_ALIASES)
OPERATORS = {"AND", "OR", "NOT", "ANDNOT"}

_ITEM = re.compile(
    r'(?P<sign>[+-]?)(?:"(?P<phrase>[^"]*)"'
    r'|(?P<field>[A-Za-z_]+):(?P<value>\[[^\]]*\]?|"[^"]*"|\S+)'
    r"|(?P<word>\S+))"
)
_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_YEAR = re.compile(r"(?:19[5-9]\d|20[0-4]\d)")

Analyze = Callable[[str], list[str]]


@dataclass(frozen=True)
class Form:
    """One way of saying a concept: its text and its index terms (a phrase when several)."""

    text: str
    terms: tuple[str, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class Concept:
    """Something the query asks about: the form typed first, then its expansions."""

    label: str
    forms: tuple[Form, ...]
    required: bool = False

    @property
    def expansions(self) -> list[str]:
        return [f.text for f in self.forms[1:]]


@dataclass(frozen=True)
class BestMatch:
    """A query read as concepts to rank reports by (see the module docstring)."""

    concepts: tuple[Concept, ...]
    excluded: tuple[Form, ...] = ()
    report_items: tuple[str, ...] = ()  # `field:value` items (maybe -field:value), to bind
    understood: dict = field(default_factory=dict)  # locality / region / years among the words
    stopped: tuple[str, ...] = ()  # stop words left out
    phrase: tuple[str, ...] = ()  # the bare words' terms with stop words: an implicit phrase

    @property
    def expanded(self) -> dict[str, list[str]]:
        return {c.label: c.expansions for c in self.concepts if c.expansions}


# -- data ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """The stop words (data/stopwords.txt)."""
    text = resources.files("scrsearch.data").joinpath("stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@dataclass(frozen=True)
class Vocabulary:
    """Forms (as token tuples) -> the set of forms that say the same thing."""

    sets: dict[tuple[str, ...], tuple[str, ...]]
    case_sensitive: frozenset[str]
    longest: int


def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case word tokens, a possessive 's dropped ("children's" -> "children")."""
    return tuple(_POSSESSIVE.sub("", t.lower()) for t in _TOKEN.findall(text))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The field's acronyms and synonym sets (data/vocabulary.toml)."""
    raw = resources.files("scrsearch.data").joinpath("vocabulary.toml").read_text("utf-8")
    data = tomllib.loads(raw)
    groups: list[list[str]] = [[a, *spelled] for a, spelled in data.get("acronyms", {}).items()]
    groups += [list(s["forms"]) for s in data.get("synonyms", [])]
    case_sensitive = frozenset(data.get("case_sensitive", ()))
    sets: dict[tuple[str, ...], list[str]] = {}
    for group in groups:
        for form in group:
            key = _tokens(form)
            merged = sets.setdefault(key, [])
            merged.extend(f for f in group if f not in merged)
    return Vocabulary(
        {k: tuple(v) for k, v in sets.items()},
        case_sensitive,
        max((len(k) for k in sets), default=1),
    )


# -- reading a query ----------------------------------------------------------------------------


def needs_strict_parser(text: str) -> bool:
    """True when a query uses syntax only the strict parser understands: operators,
    parentheses, wildcards, or a field of passages (`title:`, `tag:`, `text:`)."""
    outside = re.sub(r'"[^"]*"', " ", text)
    if "(" in outside or ")" in outside or "*" in outside or "?" in outside:
        return True
    for match in _ITEM.finditer(outside):
        if match.group("word") in OPERATORS:
            return True
        if match.group("field") and match.group("field").lower() not in REPORT_FIELD_NAMES:
            return True
    return False


def analyze(
    text: str,
    analyze_terms: Analyze,
    *,
    expand: bool = True,
    has_place: Callable[[str, str], bool] = lambda kind, name: True,
) -> BestMatch | None:
    """The concepts of a query of words, or None when it needs the strict parser (operators,
    wildcards, passage fields) or holds no words to rank by (only phrases or fields).

    `analyze_terms` turns text into index terms (the index's analyzer: lower case, stems);
    `has_place(kind, name)` says whether the corpus has reports of a locality or region: a
    place it has none of stays a word to search for ("Scotland" in a corpus of English
    reports is a topic, not a place to rank first).
    """
    text = (text or "").strip()
    if not text or needs_strict_parser(text):
        return None
    words: list[str] = []  # bare words, in order, as typed
    concepts: list[Concept] = []
    excluded: list[Form] = []
    report_items: list[str] = []
    for match in _ITEM.finditer(text):
        sign = match.group("sign")
        if match.group("field"):
            report_items.append(match.group(0).lstrip("+"))
        elif match.group("phrase") is not None:
            phrase = match.group("phrase").strip()
            terms = tuple(analyze_terms(phrase))
            if not terms:
                continue
            form = Form(phrase, terms)
            if sign == "-":
                excluded.append(form)
            else:
                concepts.append(Concept(f'"{phrase}"', (form,), required=True))
        elif sign == "-":
            terms = tuple(analyze_terms(match.group("word")))
            if terms:
                excluded.append(Form(match.group("word"), terms))
        elif sign == "+":
            concepts += _word_concepts([match.group("word")], analyze_terms, expand, True)[0]
        else:
            words.append(match.group("word"))
    if not words:
        return None
    words, understood = _understood(words, has_place)
    found, stopped = _word_concepts(words, analyze_terms, expand, False)
    phrase = tuple(analyze_terms(" ".join(words)))
    concepts += found
    unique: dict[tuple, Concept] = {}
    for concept in concepts:
        unique.setdefault(concept.forms[0].terms, concept)
    if not any(not c.required for c in unique.values()):
        return None  # only phrases (and fields): the strict parser ranks those exactly
    return BestMatch(
        tuple(unique.values()),
        tuple(excluded),
        tuple(report_items),
        understood,
        stopped,
        phrase if len(phrase) > 1 else (),
    )


def _understood(words: list[str], has_place: Callable[[str, str], bool]) -> tuple[list[str], dict]:
    """Take a locality, region and years out of the words (they rank, not match, reports)."""
    from . import localities

    understood: dict = {}
    years = [int(w) for w in words if _YEAR.fullmatch(w)]
    if years:
        understood["years"] = sorted(set(years))
        words = [w for w in words if not _YEAR.fullmatch(w)]
    joined = " ".join(words)
    for record, start, end in localities.locality_mentions(joined):
        if record.kind != "area" or "locality" in understood:
            continue
        if not has_place("locality", record.name):
            continue
        understood["locality"] = record.name
        joined = joined[:start] + " " * (end - start) + joined[end:]
    remaining = joined.split()
    for size in (3, 2, 1):  # longest region names first ("Yorkshire and The Humber")
        for i in range(len(remaining) - size + 1):
            region = localities.region_name(" ".join(remaining[i : i + size]))
            if region and "region" not in understood and has_place("region", region):
                understood["region"] = region
                remaining[i : i + size] = []
                break
    return remaining, understood


def _word_concepts(
    words: Sequence[str], analyze_terms: Analyze, expand: bool, required: bool
) -> tuple[list[Concept], tuple[str, ...]]:
    """Concepts of a run of bare words: the longest vocabulary forms first, then each
    remaining word that is not a stop word (all of them when every word is one)."""
    vocab = vocabulary() if expand else None
    typed: list[tuple[str, str]] = []  # (token as typed, lower-case token)
    word_of: list[int] = []  # token -> the word it came from ("high-risk" gives two tokens)
    for w, word in enumerate(words):
        for token in _TOKEN.findall(word):
            bare = _POSSESSIVE.sub("", token)
            typed.append((bare, bare.lower()))
            word_of.append(w)
    placed: list[tuple[int, Concept]] = []  # (token index, concept): query order kept
    leftovers: list[tuple[int, str, str]] = []
    i = 0
    while i < len(typed):
        entry = _vocabulary_entry(typed, i, vocab) if vocab else None
        if entry is None:
            leftovers.append((i, *typed[i]))
            i += 1
            continue
        size, forms = entry
        shown = " ".join(t for t, _ in typed[i : i + size])
        concept = _concept(shown, forms, analyze_terms, required)
        if concept is not None:
            placed.append((i, concept))
        i += size
    stops = stop_words()
    kept = [t for t in leftovers if t[2] not in stops] or (leftovers if not placed else [])
    stopped = tuple(lower for t in leftovers if t not in kept for lower in t[2:])
    # The tokens of one hyphenated word ("high-risk") are one concept: a phrase.
    joined: dict[int, list[tuple[int, str]]] = {}
    for at, shown, _lower in kept:
        joined.setdefault(word_of[at], []).append((at, shown))
    for parts in joined.values():
        shown = " ".join(s for _, s in parts)
        terms = tuple(analyze_terms(shown))
        if terms:
            placed.append((parts[0][0], Concept(shown, (Form(shown, terms),), required)))
    return [c for _, c in sorted(placed, key=lambda p: p[0])], stopped


def _vocabulary_entry(
    typed: list[tuple[str, str]], i: int, vocab: Vocabulary
) -> tuple[int, tuple[str, ...]] | None:
    """(tokens used, the forms of the entry) of the longest vocabulary form at token i."""
    for size in range(min(vocab.longest, len(typed) - i), 0, -1):
        key = tuple(lower for _, lower in typed[i : i + size])
        forms = vocab.sets.get(key)
        if forms is None:
            continue
        as_typed = " ".join(t for t, _ in typed[i : i + size])
        sensitive = [f for f in forms if f in vocab.case_sensitive and _tokens(f) == key]
        if sensitive and as_typed not in sensitive:
            continue  # "cin", "da": ordinary words unless typed in upper case
        return size, forms
    return None


def _concept(shown: str, forms: Sequence[str], analyze_terms: Analyze, required: bool):
    """A concept with the typed form first (full weight) and the others as expansions."""
    typed_terms = tuple(analyze_terms(shown))
    if not typed_terms:
        return None
    out = [Form(shown, typed_terms)]
    seen = {typed_terms}
    for form in forms:
        terms = tuple(analyze_terms(form))
        if terms and terms not in seen:
            seen.add(terms)
            out.append(Form(form, terms, EXPANSION_WEIGHT))
    return Concept(shown, tuple(out), required)
