"""Taxonomy matching with evidence: which terms a passage shows, and which a report is about.

`tag_passage` runs one combined regular expression over a passage (all cues, weak cues and
false friends of every term, behind one word-boundary check), resolves each distinct
matched text to its terms once (cached), then drops negated cues ("no evidence of
domestic abuse"), weak cues without a strong cue of the same term, and whole passages
that are not prose (tables of contents, reference lists, glossaries). `report_tags`
turns passage evidence into report tags with a length-relative threshold.

Localities and metadata inference live in `localities.py` and `metadata.py`; their
public functions are re-exported here for the pipeline.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from .errors import ConfigError
from .facets import TAG_FACETS
from .localities import Locality, all_regions, locality_record, region_name
from .metadata import infer_metadata, metadata_from_link_text
from .models import PassageTag, ReportTag

if TYPE_CHECKING:
    from .config import Home
    from .models import Document

__all__ = [
    "FACETS",
    "Locality",
    "Taxonomy",
    "Term",
    "all_regions",
    "infer_metadata",
    "is_non_prose",
    "load_taxonomy",
    "locality_record",
    "metadata_from_link_text",
    "region_name",
    "report_tags",
    "tag_passage",
]

#: The facets a taxonomy term may belong to (facets.py).
FACETS = TAG_FACETS
#: Facets whose cues a negation ("no evidence of ...") cancels; a practice issue is often
#: stated by a negative ("information was not shared"), so negation never cancels it.
NEGATABLE_FACETS = frozenset({"theme", "risk_factor"})
TOXIC_TRIO = ("domestic_abuse", "parental_mental_health", "parental_substance_misuse")

#: A term applies to a report when at least this many passages show it ...
MIN_PASSAGES = 2
#: ... and at least this share of the report's passages (for long reports).
MIN_SHARE = 0.01


@dataclass(frozen=True)
class Term:
    """One entry of the controlled vocabulary, with the cues that evidence it."""

    id: str
    facet: str
    label: str
    definition: str
    cues: tuple[str, ...]
    weak_cues: tuple[str, ...] = ()
    false_friends: tuple[str, ...] = ()
    group: str = ""
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    derived: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "facet": self.facet,
            "group": self.group,
            "label": self.label,
            "definition": self.definition,
            "cues": list(self.cues),
            "weak_cues": list(self.weak_cues),
            "false_friends": list(self.false_friends),
            "notes": list(self.notes),
            "sources": list(self.sources),
            "derived": self.derived,
        }


@dataclass(frozen=True)
class _Matcher:
    """The compiled form of a taxonomy: one scanning regex, per-term resolvers."""

    lower_scan: re.Pattern[str]
    folded_scan: re.Pattern[str]
    exact_scan: re.Pattern[str]
    strong: dict[str, re.Pattern[str]]
    weak: dict[str, re.Pattern[str]]
    false: dict[str, re.Pattern[str]]
    resolved: dict[str, tuple[tuple[str, bool], ...]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """The controlled vocabulary: terms by id, in the three facets."""

    terms: dict[str, Term]
    version: int = 1
    facets: tuple[str, ...] = FACETS

    def by_facet(self, facet: str) -> list[Term]:
        """The terms of one facet, in file order."""
        return [t for t in self.terms.values() if t.facet == facet]

    def to_json(self) -> dict[str, object]:
        """The taxonomy as plain data, for `scrsearch taxonomy --format json`."""
        return {
            "version": self.version,
            "facets": list(self.facets),
            "terms": [t.to_json() for t in self.terms.values()],
        }

    @property
    def matcher(self) -> _Matcher:
        return _matcher_for(self)


# ---------------------------------------------------------------------------- loading


@cache
def load_taxonomy() -> Taxonomy:
    """The taxonomy shipped in scrsearch/data/taxonomy.toml (read once, then cached)."""
    source = resources.files("scrsearch") / "data" / "taxonomy.toml"
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the taxonomy {source}: {exc}; reinstall scrsearch") from exc
    return taxonomy_from_dict(data, str(source))


def taxonomy_from_dict(data: dict, origin: str = "taxonomy") -> Taxonomy:
    """Build and check a Taxonomy from parsed TOML data."""
    terms: dict[str, Term] = {}
    for term_id, raw in data.get("terms", {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", term_id):
            raise ConfigError(f"{origin}: term id {term_id!r} is not snake_case")
        facet = raw.get("facet")
        if facet not in FACETS:
            raise ConfigError(f"{origin}: term {term_id} has facet {facet!r}; use one of {FACETS}")
        terms[term_id] = Term(
            id=term_id,
            facet=facet,
            label=raw["label"],
            definition=raw["definition"],
            cues=tuple(raw.get("cues", ())),
            weak_cues=tuple(raw.get("weak_cues", ())),
            false_friends=tuple(raw.get("false_friends", ())),
            group=raw.get("group", ""),
            notes=tuple(raw.get("notes", ())),
            sources=tuple(raw.get("sources", ())),
            derived=bool(raw.get("derived", False)),
        )
    taxonomy = Taxonomy(terms=terms, version=int(data.get("version", 1)))
    for term in terms.values():
        for cue in (*term.cues, *term.weak_cues, *term.false_friends):
            try:
                cue_regex(cue)
            except re.error as exc:
                raise ConfigError(f"{origin}: term {term.id} has a bad cue {cue!r}: {exc}") from exc
    return taxonomy


# ---------------------------------------------------------------------------- cue syntax


def _split_top(cue: str) -> list[str]:
    """Split a cue at the | that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for ch in cue:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _translate(alternative: str) -> str:
    """One cue alternative as a regex body: `*` is a word suffix, a space is space or hyphen."""
    out: list[str] = []
    in_class = escaped = False
    for ch in alternative:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif in_class:
            out.append(r"\s" if ch == " " else ch)
            in_class = ch != "]"
        elif ch == "[":
            out.append(ch)
            in_class = True
        elif ch == "*":
            out.append(r"\w*")
        elif ch == " ":
            out.append(r"[\s\-]+")
        elif ch in "'’":
            out.append("['’]")
        elif ch == "-":
            out.append(r"[\-\s]?")
        else:
            out.append(ch)
    return "".join(out)


def cue_alternatives(cue: str) -> list[str]:
    """A cue's alternatives as regex bodies; case-sensitive ones wrapped in (?-i:...)."""
    bodies = []
    for alternative in _split_top(cue):
        if alternative.startswith("CS:"):
            bodies.append(f"(?-i:{_translate(alternative[3:])})")
        else:
            bodies.append(f"(?:{_translate(alternative)})")
    return bodies


def _prefix_and_rest(alternative: str) -> tuple[str, str]:
    """Split a cue alternative into its leading literal letters and the regex for the rest."""
    match = re.match(r"[A-Za-z0-9]*", alternative)
    prefix = match.group() if match else ""
    if prefix and alternative[len(prefix) : len(prefix) + 1] in ("?", "{"):
        prefix = prefix[:-1]  # "parents?": the quantifier belongs to the last letter
    return prefix, _translate(alternative[len(prefix) :])


def _expand_leading_group(alternative: str) -> list[str]:
    """Spell out a leading "(a|b)" or "(a )?" group, so every alternative has a literal start."""
    if not alternative.startswith("("):
        return [alternative]
    depth, end = 0, 0
    for end, ch in enumerate(alternative):  # noqa: B007 - the loop finds `end`
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            break
    inner, rest = alternative[1:end], alternative[end + 1 :]
    if "(" in inner or "\\" in inner:
        return [alternative]
    options = inner.split("|")
    if rest.startswith("?"):
        rest = rest[1:]
        options.append("")
    return [x for option in options for x in _expand_leading_group(option + rest)]


def _trie_regex(alternatives: Sequence[str], fold: bool) -> str:
    """One regex matching any of the cue alternatives, shaped as a trie of literal prefixes.

    Python's re tries a flat alternation branch by branch at every position; a trie lets
    it reject most positions after one character, which makes scanning ~10x faster.
    Longer literal paths come before shorter ones, so the longest cue at a position wins.
    """
    trie: dict = {}
    expanded = [x for alternative in alternatives for x in _expand_leading_group(alternative)]
    for alternative in expanded:
        prefix, rest = _prefix_and_rest(alternative)
        node = trie
        for ch in prefix.lower() if fold else prefix:
            node = node.setdefault(ch, {})
        if fold and re.search(r"[A-Z]", rest):
            rest = f"(?i:{rest})"  # the scanned text is lower-cased; the rest may not be
        node.setdefault("", set()).add(rest)

    def emit(node: dict, root: bool = False) -> str:
        after_first = ""
        branches = [
            re.escape(ch) + after_first + emit(child) for ch, child in sorted(node.items()) if ch
        ]
        rests = sorted(node.get("", ()), key=lambda r: (-len(r), r))
        branches += [f"(?:{r})" if r else "" for r in rests]
        if len(branches) == 1:
            return branches[0] if not branches[0] or len(node) == 1 else f"(?:{branches[0]})"
        return "(?:" + "|".join(branches) + ")"

    return emit(trie, root=True)


def cue_regex(cue: str) -> re.Pattern[str]:
    """One cue compiled on its own, whole words only."""
    return re.compile(r"(?<!\w)(?:" + "|".join(cue_alternatives(cue)) + r")(?!\w)", re.I)


def _either(cues: Sequence[str]) -> re.Pattern[str] | None:
    bodies = [body for cue in cues for body in cue_alternatives(cue)]
    if not bodies:
        return None
    return re.compile("(?:" + "|".join(bodies) + ")", re.I)


@cache
def _matcher_for(taxonomy: Taxonomy) -> _Matcher:
    strong, weak, false = {}, {}, {}
    folded: set[str] = set()
    exact: set[str] = set()
    for term in taxonomy.terms.values():
        for cues, table in (
            (term.cues, strong),
            (term.weak_cues, weak),
            (term.false_friends, false),
        ):
            pattern = _either(cues)
            if pattern is None:
                continue
            table[term.id] = pattern
            for cue in cues:
                for alternative in _split_top(cue):
                    if alternative.startswith("CS:"):
                        exact.add(alternative[3:])
                    else:
                        folded.add(alternative)
    folded_body = r"(?<!\w)" + _trie_regex(sorted(folded), fold=True) + r"(?!\w)"
    return _Matcher(
        lower_scan=re.compile(folded_body),
        folded_scan=re.compile(folded_body, re.I),
        exact_scan=re.compile(r"(?<!\w)" + _trie_regex(sorted(exact), fold=False) + r"(?!\w)"),
        strong=strong,
        weak=weak,
        false=false,
    )


def _scan(matcher: _Matcher, text: str) -> list[tuple[int, int]]:
    """Cue and false-friend matches in a text, overlaps resolved to the earliest, longest."""
    lower = text.lower()
    if len(lower) == len(text):  # spans carry over; scanning lower-case text is ~2x faster
        spans = [m.span() for m in matcher.lower_scan.finditer(lower)]
    else:
        spans = [m.span() for m in matcher.folded_scan.finditer(text)]
    exact = [m.span() for m in matcher.exact_scan.finditer(text)]
    if exact:
        spans.extend(exact)
        spans.sort(key=lambda span: (span[0], -span[1]))
        kept: list[tuple[int, int]] = []
        for span in spans:
            if not kept or span[0] >= kept[-1][1]:
                kept.append(span)
        spans = kept
    return spans


def _resolve(matcher: _Matcher, text: str) -> tuple[tuple[str, bool], ...]:
    """The (term id, is_weak) pairs a matched text is a cue of, false friends removed."""
    found = matcher.resolved.get(text)
    if found is not None:
        return found
    pairs: list[tuple[str, bool]] = []
    for term_id, pattern in matcher.strong.items():
        if pattern.fullmatch(text) and not _is_false(matcher, term_id, text):
            pairs.append((term_id, False))
    for term_id, pattern in matcher.weak.items():
        if pattern.fullmatch(text) and not _is_false(matcher, term_id, text):
            pairs.append((term_id, True))
    found = tuple(pairs)
    if len(matcher.resolved) < 200_000:
        matcher.resolved[text] = found
    return found


def _is_false(matcher: _Matcher, term_id: str, text: str) -> bool:
    pattern = matcher.false.get(term_id)
    return bool(pattern and pattern.fullmatch(text))


# ---------------------------------------------------------------------------- negation

_FILLER = (
    r"(?:evidence|history|histor(?:y|ies)|concerns?|indications?|suggestions?|reports?|signs?|"
    r"mention|mentioned|known|further|obvious|apparent|clear|recorded|identified|of|about|"
    r"regarding|around|relating|related|to|in|any|the|a|an|specific|previous|significant|current|"
    r"ongoing|reported|disclosed|suspected|been|be|was|were|that|there|features?|factors?|issues?|"
    r"involving|with|have|had|has|indicators?|particular|recent|such|parental|his|her|their|"
    r"or|and|physical|sexual|emotional|apparent|immediate|noted|raised|direct|other)"
)
_NEGATED_BEFORE = re.compile(
    r"(?<!\w)(?:no|not|nor|never|without|denied|denies|deny|absence\s+of|free\s+from|ruled\s+out)"
    rf"(?:[\s,]+{_FILLER})*[\s,]*$",
    re.I,
)
_NEGATED_AFTER = re.compile(
    r"^[\s,]*(?:(?:was|were|is|are|had\s+been|has\s+been|have\s+been)\s+)"
    r"(?:ruled\s+out|excluded|discounted|unfounded|not\s+(?:substantiated|present|suspected|"
    r"a\s+(?:factor|feature)))",
    re.I,
)
_CLAUSE_END = re.compile(r"[.;!?•]|\b(?:but|however|although|though)\b", re.I)


def _negatable(term: Term) -> bool:
    # "No young person is without a place" does not deny that the report is about teenagers:
    # a group of children (child_group) is who a report concerns, not a harm to deny.
    return term.facet in NEGATABLE_FACETS and term.group != "child_group"


def is_negated(text: str, start: int, end: int) -> bool:
    """Whether the cue at text[start:end] is denied ("no evidence of ...", "... ruled out")."""
    before = text[max(0, start - 120) : start]
    ends = [m.end() for m in _CLAUSE_END.finditer(before)]
    if ends:
        before = before[ends[-1] :]
    if _NEGATED_BEFORE.search(before):
        return True
    return bool(_NEGATED_AFTER.match(text[end : end + 60]))


# ---------------------------------------------------------------------------- passage shape

_DOTTED_LEADER = re.compile(r"(?:\.\s?){5,}|…{2,}|(?:_\s?){6,}")
_CITATION = re.compile(
    r"\((?:19|20)\d\d[a-z]?\)|(?<!\d)(?:19|20)\d\d[a-z]?\)?[.,:]\s|\bet\s+al\b|\bdoi\b|https?://|"
    r"www\.|\bavailable\s+(?:at|from|online)\b|\b(?:accessed|retrieved)\b|\bpp?\.\s*\d|\bvol\.",
    re.I,
)
_HEADING = re.compile(
    r"^\s*(?:\d+(?:\.\d+)*\.?\s+)?(?:table\s+of\s+)?(contents|references|bibliography|"
    r"glossary(?:\s+of\s+terms)?|abbreviations|acronyms|further\s+reading|endnotes|sources)\s*$",
    re.I | re.M,
)


_YEAR = re.compile(r"(?:19|20)\d\d")
_PAGED_LINE = re.compile(r"\S[ \t]+\d{1,3}[ \t]*$", re.M)
_GLOSSARY_LINES = re.compile(
    r"^[ \t]*[A-Z][A-Z0-9&/]{1,8}s?\b[ \t]*(?:[-–—:=][ \t]*)?\(?[A-Z][a-z]", re.M
)


def is_non_prose(text: str) -> bool:
    """Whether a passage is a table of contents, reference list or glossary, by its shape."""
    if _HEADING.search(text[:200]):
        return True
    if ("....." in text or ". . . . ." in text or "……" in text or "______" in text) and len(
        _DOTTED_LEADER.findall(text)
    ) >= 3:
        return True
    lines = text.count("\n") + 1
    if lines >= 4:
        words = len(text.split())
        paged = len(_PAGED_LINE.findall(text))
        if paged >= 4 and paged / lines >= 0.5 and words / lines < 12:
            return True
        glossary = len(_GLOSSARY_LINES.findall(text))
        if glossary >= 4 and glossary / lines >= 0.4:
            return True
    rough = len(_YEAR.findall(text)) + text.count("et al") + text.count("http") + text.count("www.")
    if rough < 4:
        return False
    citations = len(_CITATION.findall(text))
    return citations >= 4 and citations >= len(text.split()) / 30


# ---------------------------------------------------------------------------- tagging


def tag_passage(text: str, taxonomy: Taxonomy | None = None) -> list[PassageTag]:
    """The taxonomy terms a passage gives evidence of: one tag per cue occurrence."""
    taxonomy = taxonomy or load_taxonomy()
    matcher = taxonomy.matcher
    matches = _scan(matcher, text)
    if not matches or is_non_prose(text):
        return []
    strong: list[PassageTag] = []
    weak: list[PassageTag] = []
    for start, end in matches:
        cue = text[start:end]
        for term_id, is_weak in _resolve(matcher, cue):
            term = taxonomy.terms[term_id]
            facet = term.facet
            if _negatable(term) and is_negated(text, start, end):
                continue
            tag = PassageTag(term_id, facet, cue, start, end)
            (weak if is_weak else strong).append(tag)
    if weak:
        with_strong = {t.term_id for t in strong}
        strong.extend(t for t in weak if t.term_id in with_strong)
        strong.sort(key=lambda t: (t.start, t.term_id))
    return strong


def report_tags(
    passage_tags: Sequence[Sequence[PassageTag]],
    taxonomy: Taxonomy | None = None,
    *,
    passages_total: int | None = None,
) -> list[ReportTag]:
    """The terms a whole report is about, strongest first.

    A term applies when at least `MIN_PASSAGES` passages, and at least `MIN_SHARE` of the
    report's passages, give evidence of it. `toxic_trio` is derived when two or more of
    domestic abuse, parental mental health and parental substance misuse apply; its
    evidence count is the smallest of theirs (the trio is only as evident as its weakest
    applied member). Ties are broken by the number of cue hits.
    """
    taxonomy = taxonomy or load_taxonomy()
    total = passages_total if passages_total is not None else len(passage_tags)
    passages: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    for tags in passage_tags:
        passages.update({t.term_id for t in tags})
        hits.update(t.term_id for t in tags)
    needed = min_passages(total)
    applied = {
        term_id: count
        for term_id, count in passages.items()
        if count >= needed and term_id in taxonomy.terms and not taxonomy.terms[term_id].derived
    }
    trio = [applied[t] for t in TOXIC_TRIO if t in applied]
    if len(trio) >= 2 and "toxic_trio" in taxonomy.terms:
        applied["toxic_trio"] = min(trio)
        hits["toxic_trio"] = min(hits[t] for t in TOXIC_TRIO if t in applied)
    ranked = sorted(applied, key=lambda t: (-applied[t], -hits[t], t))
    return [
        ReportTag(t, taxonomy.terms[t].facet, taxonomy.terms[t].label, applied[t]) for t in ranked
    ]


def min_passages(passages_total: int) -> int:
    """How many passages must show a term for it to apply to a report of this length."""
    return max(MIN_PASSAGES, math.ceil(MIN_SHARE * passages_total))


def explain_tags(home: Home, doc: Document, tags: Sequence[ReportTag]) -> list[dict]:
    """For each of a report's tags, the cues that produced it and how often."""
    from .passages import split_passages
    from .store import Store

    with Store(home) as store:
        text = store.cached_text(doc.sha256)
    if text is None:
        return []
    cues: dict[str, Counter] = {}
    for passage in split_passages(doc.sha256, text.pages):
        for tag in tag_passage(passage.text):
            cues.setdefault(tag.term_id, Counter())[tag.cue.lower()] += 1
    return [
        {
            "id": t.term_id,
            "facet": t.facet,
            "passages": t.passages,
            "cues": [
                {"cue": c, "count": n} for c, n in cues.get(t.term_id, Counter()).most_common(8)
            ],
        }
        for t in tags
    ]
