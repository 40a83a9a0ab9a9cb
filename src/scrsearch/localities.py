"""UK local authorities, safeguarding boards and regions: lookup by name and mention in text.

`data/localities.csv` holds one row per area (English upper-tier authority, Welsh council or
regional board, Scottish council area, Northern Irish trust or board, Crown Dependency),
nation, or joint board (`kind` joint, with its `members`). It was built from
../shared/domain/localities.csv (mysociety names plus the D2I lookup, regions corrected):
historic counties folded into their successors' names, aliases shared by several areas
turned into joint-board rows, and "Yorkshire and the Humber" spelled as ONS spells it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .errors import ConfigError

#: The English regions (ONS names), then the other nations used as regions.
REGIONS = (
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
    "Wales",
    "Scotland",
    "Northern Ireland",
    "Crown Dependencies",
)
_REGION_ALIASES = {
    "yorkshire": "Yorkshire and The Humber",
    "yorkshire and humber": "Yorkshire and The Humber",
    "yorkshire and humberside": "Yorkshire and The Humber",
    "yorks and humber": "Yorkshire and The Humber",
    "humber": "Yorkshire and The Humber",
    "north east england": "North East",
    "north east of england": "North East",
    "north west england": "North West",
    "north west of england": "North West",
    "south east england": "South East",
    "south east of england": "South East",
    "south west england": "South West",
    "south west of england": "South West",
    "east": "East of England",
    "eastern": "East of England",
    "eastern region": "East of England",
    "east anglia": "East of England",
    "east england": "East of England",
    "greater london": "London",
    "cymru": "Wales",
    "channel islands": "Crown Dependencies",
    "crown dependency": "Crown Dependencies",
}

# Single words that are areas but also ordinary words or other places' first words.
_AMBIGUOUS_WORDS = frozenset(
    re.findall(
        r"\w+",
        "Reading Bath Slough Harrow Bury Sutton Halton Richmond Wells Poole Hull York Derby "
        "Durham Newport Kingston Lincoln Bedford",
    )
)
# A mention followed by these is another place: "Sutton Coldfield", "Bury St Edmunds".
_NOT_AFTER = re.compile(
    r"\s*(?:Coldfield|St\.?\s+Edmunds|upon\s+(?:Hull|Thames)|Minster|University|Cathedral|"
    r"Road|Street|Lane|Avenue|Court|Hospital|Park|Crown\s+Court|College)\b"
)
_NOT_BEFORE = re.compile(r"(?:New|Old|Royal\s+Tunbridge|Sutton|of\s+Kingston\s+upon)\s+$")


@dataclass(frozen=True)
class Locality:
    """An area a document can concern, with its region and nation."""

    name: str
    region: str | None
    nation: str | None
    kind: str = "area"  # area, joint (a joint board), nation
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Gazetteer:
    records: dict[str, Locality]
    by_key: dict[str, str]
    #: The aliases that are looked for in text, longest first (the order of the alternation).
    mentions: tuple[str, ...]
    #: The alternation of the mentions that start with a word, by that word folded (see
    #: `_fold_word`), in the same order: only these can match where such a word begins.
    by_first_word: dict[str, re.Pattern[str]]
    #: First words of one-word mentions (matched case as written) and, folded, of the others:
    #: a word in neither cannot begin a mention.
    exact_first_words: frozenset[str]
    folded_first_words: frozenset[str]
    #: Whether some mention does not begin with a plain word (then text is scanned whole).
    needs_full_scan: bool
    by_mention: dict[str, str]


_SUFFIXES = re.compile(
    r"\s+(?:local\s+)?(?:safeguarding\s+children(?:s)?(?:\s+(?:board|partnership))+|"
    r"children(?:s)?\s+safeguarding\s+(?:board|partnership)|safeguarding\s+(?:board|partnership)|"
    r"lscb|lscp|scb|scp|city\s+council|county\s+council|county\s+borough\s+council|"
    r"metropolitan\s+(?:district|borough)(?:\s+council)?|borough\s+council|district\s+council|"
    r"council|local\s+authority|mdc|ua|partnership|board)$"
)
_PREFIXES = re.compile(
    r"^(?:london\s+borough\s+of|royal\s+borough\s+of|metropolitan\s+borough\s+of|"
    r"city\s+and\s+county\s+of|city\s+of|borough\s+of|county\s+of)\s+"
)


def name_key(name: str) -> str:
    """A name folded for lookup: lower case, '&' as 'and', no 'the', no punctuation."""
    key = name.lower().replace("’", "'").replace("&", " and ")
    key = re.sub(r"'s\b", "s", key)
    key = re.sub(r"[^\w\s-]", " ", key).replace("-", " ")
    key = re.sub(r"\bthe\b", " ", key)
    return re.sub(r"\s+", " ", key).strip()


def core_key(name: str) -> str:
    """A name key without council and board words: "derby city council" -> "derby"."""
    key = name_key(name)
    while True:
        shorter = _PREFIXES.sub("", _SUFFIXES.sub("", key)).strip()
        if shorter == key or not shorter:
            return key
        key = shorter


@cache
def _gazetteer() -> _Gazetteer:
    source = resources.files("scrsearch") / "data" / "localities.csv"
    try:
        rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8"))))
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc}; reinstall scrsearch") from exc
    records: dict[str, Locality] = {}
    by_key: dict[str, str] = {}
    mentions: dict[str, str] = {}
    for row in rows:
        record = Locality(
            name=row["name"],
            region=row["region"] or None,
            nation=row["nation"] or None,
            kind=row["kind"],
            members=tuple(m for m in row["members"].split("|") if m),
        )
        records[record.name] = record
        names = [record.name, *(a for a in row["aliases"].split("|") if a)]
        for alias in names:
            # The first row to claim a key keeps it: current areas come before boards.
            by_key.setdefault(name_key(alias), record.name)
            if len(alias) >= 3 and record.kind != "nation" and not alias.islower():
                mentions.setdefault(alias, record.name)
    for name in list(records):
        by_key.setdefault(core_key(name), name)
    # Longest mentions first, so that "Derbyshire" and "North Lincolnshire" win over their
    # prefixes and "Derby City Council" over "Derby".
    alternatives = tuple(sorted(mentions, key=len, reverse=True))
    # One alternation of ~700 aliases tried at every position is slow (~20 ms a page). A
    # mention can only begin where a word begins, and only with its own first word, so the
    # alternation is split by first word (keeping its order, so the same alias wins) and tried
    # only where a word that begins some mention begins.
    groups: dict[str, list[str]] = {}
    exact: set[str] = set()
    folded: set[str] = set()
    needs_full_scan = False
    for alias in alternatives:
        first = _first_word(alias)
        if first is None:
            needs_full_scan = True
            continue
        groups.setdefault(_fold_word(first), []).append(alias)
        if _is_one_word(alias):
            exact.add(first)
        else:
            folded.add(_fold_word(first))
    by_first_word = {key: _alternation(group) for key, group in groups.items()}
    by_mention = {_mention_fold(a): name for a, name in mentions.items()}
    return _Gazetteer(
        records,
        by_key,
        alternatives,
        by_first_word,
        frozenset(exact),
        frozenset(folded),
        needs_full_scan,
        by_mention,
    )


def _alternation(aliases: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?<![\w-]){_mention_pattern(a)}(?![\w-])" for a in aliases))


@cache
def _full_scan() -> re.Pattern[str]:
    """Every mention in one alternation: the reference, used when first words cannot gate."""
    return _alternation(_gazetteer().mentions)


def _is_one_word(alias: str) -> bool:
    """Whether `_mention_pattern` matches the alias case as written."""
    return len(re.split(r"\s+", alias.replace("&", " & ").strip())) == 1 and "-" not in alias


# Non-ASCII letters that a case-insensitive `re` literal equates with an ASCII letter.
_RE_CASE_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _fold_word(word: str) -> str:
    """A word as case-insensitive matching of an ASCII word sees it."""
    return word.lower() if word.isascii() else word.translate(_RE_CASE_FOLD).lower()


def _first_word(alias: str) -> str | None:
    """The run of word characters that begins every match of the alias, if it is plain ASCII.

    After it the alias's pattern goes on with a space, hyphen, apostrophe or other punctuation,
    or ends before a lookahead for no word character or hyphen, so in text it is a whole run of
    word characters.
    """
    first = re.split(r"\s+", alias.replace("&", " & ").strip())[0]
    run = re.match(r"\w+", first)
    if first in ("&", "and") or run is None or not run.group().isascii():
        return None
    return run.group()


def _mention_pattern(alias: str) -> str:
    words = []
    for word in re.split(r"\s+", alias.replace("&", " & ").strip()):
        if word in ("&", "and"):
            words.append("(?:&|and)")
        else:
            escaped = re.escape(word).replace(r"\-", r"[\-\s]")
            words.append(escaped.replace("'", "['’]").replace("’", "['’]"))
    body = r"\s+".join(words)
    if len(words) > 1 or "-" in alias:
        return f"(?i:{body})"
    return body  # one word: case as written (acronyms and capitalised names)


def _mention_fold(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\band\b", "&", text.lower().replace("’", "'")))


def locality_record(name: str) -> Locality | None:
    """The area a name or alias denotes ("Derby City" -> Derby, "Durham" -> County Durham)."""
    gazetteer = _gazetteer()
    for key in (name_key(name), core_key(name)):
        found = gazetteer.by_key.get(key)
        if found:
            return gazetteer.records[found]
    return None


def all_localities() -> list[Locality]:
    """Every area, nation and joint board, in file order."""
    return list(_gazetteer().records.values())


def all_regions() -> list[str]:
    """The region names, English regions first."""
    return list(REGIONS)


def region_name(text: str) -> str | None:
    """The canonical region a name denotes ("Yorkshire" -> "Yorkshire and The Humber")."""
    key = name_key(text).removeprefix("region ").removesuffix(" region").strip()
    key = key.removeprefix("north of ").strip() if key == "north of england" else key
    for region in REGIONS:
        if name_key(region) == key:
            return region
    return _REGION_ALIASES.get(key)


def locality_mentions(text: str) -> Iterator[tuple[Locality, int, int]]:
    """Each mention of an area in a text, with its span (longest names first)."""
    gazetteer = _gazetteer()
    for match in _scan(gazetteer, text):
        mention = match.group()
        if mention in _AMBIGUOUS_WORDS and not _plausible(text, match.start(), match.end()):
            continue
        before = text[max(0, match.start() - 30) : match.start()]
        if _NOT_AFTER.match(text, match.end()) or _NOT_BEFORE.search(before):
            continue
        name = gazetteer.by_mention.get(_mention_fold(mention))
        if name is None:
            name = gazetteer.by_key.get(name_key(mention))
        if name is not None:
            yield gazetteer.records[name], match.start(), match.end()


# Where a mention can begin: a run of word characters not after a word character or hyphen.
_WORD = re.compile(r"(?<![\w-])\w+")


def _scan(gazetteer: _Gazetteer, text: str) -> Iterator[re.Match[str]]:
    """The matches `_full_scan().finditer(text)` gives, trying only where a mention can begin."""
    if gazetteer.needs_full_scan:
        yield from _full_scan().finditer(text)
        return
    exact, folded = gazetteer.exact_first_words, gazetteer.folded_first_words
    by_first_word = gazetteer.by_first_word
    resume = 0
    for word in _WORD.finditer(text):
        start = word.start()
        if start < resume:
            continue
        first = word.group()
        key = _fold_word(first)
        if key not in folded and first not in exact:
            continue
        match = by_first_word[key].match(text, start)
        if match:
            resume = match.end()
            yield match


def _plausible(text: str, start: int, end: int) -> bool:
    """A one-word area that is also a word: not at a sentence start before a lower-case word."""
    before = text[max(0, start - 3) : start]
    sentence_start = start == 0 or bool(re.search(r"(?:[.!?:]\s*|\n\s*)$", before))
    after = re.match(r"\s+([a-z]\w*)", text[end : end + 30])
    return not (sentence_start and after and after.group(1) not in ("and", "in", "is", "has"))
