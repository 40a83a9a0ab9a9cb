"""Queries, filters, report-level ranking, facet counts and highlights over the index."""

from __future__ import annotations

import fnmatch
import heapq
import itertools
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from whoosh import collectors
from whoosh import query as wq
from whoosh.qparser import FieldAliasPlugin, MultifieldParser, PlusMinusPlugin

from . import bestmatch, provenance, reviews, tagging, whooshfix
from . import index as search_index
from .config import Home
from .errors import QueryError, UsageError
from .models import Document, ReportTag
from .store import Store, connect_catalogue

#: Fields a query may name as `field:value`, with the aliases people type.
QUERY_FIELDS = {
    "text": "text", "title": "title", "subject": "subject", "locality": "locality",
    "region": "region", "nation": "nation", "year": "year", "doc_type": "doc_type",
    "type": "doc_type", "source": "source", "theme": "theme", "risk": "risk_factor",
    "risk_factor": "risk_factor", "issue": "practice_issue", "practice_issue": "practice_issue",
    "tag": "tags", "tags": "tags",
}  # fmt: skip

#: Passages shown under each report.
PASSAGES_PER_REPORT = 3
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"


@dataclass(frozen=True)
class Filters:
    """Search filters: values of one kind are alternatives (OR), kinds combine with AND.

    Tags (`themes`, `risks`, `issues`) are the exception: every one given must apply (AND).
    """

    localities: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    nations: tuple[str, ...] = ()
    years: tuple[tuple[int, int], ...] = ()
    doc_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {f.name: list(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)}

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(getattr(self, f.name) for f in fields(self))

    @property
    def tag_ids(self) -> tuple[str, ...]:
        return self.themes + self.risks + self.issues

    def admits(self, doc: Document, tag_ids: set[str]) -> bool:
        """Whether a report passes the filters: values of one kind OR-ed, kinds AND-ed."""
        for values, value in (
            (self.localities, doc.locality), (self.regions, doc.region),
            (self.nations, doc.nation), (self.doc_types, doc.doc_type),
            (self.sources, doc.source), (self.subjects, doc.subject),
        ):  # fmt: skip
            if values and _keyword(value or "") not in {_keyword(v) for v in values}:
                return False
        if self.years and not any(lo <= (doc.year or -1) <= hi for lo, hi in self.years):
            return False
        return all(t in tag_ids for t in self.tag_ids)


def parse_year_range(text: str) -> tuple[int, int]:
    """'2015' -> (2015, 2015); '2014-2018' -> (2014, 2018); '2015-' and '-2015' are open."""
    match = re.fullmatch(r"\s*(\d{4})?\s*(-|–|\.\.)?\s*(\d{4})?\s*", text or "")
    if not match or not (match.group(1) or match.group(3)):
        raise UsageError(f"--year {text!r} is not a year or a range: use 2015 or 2014-2018")
    first, dash, last = match.groups()
    lo = int(first) if first else 1900
    hi = int(last) if last else (2100 if dash else lo)
    if not dash:
        hi = lo
    if lo > hi:
        raise UsageError(f"--year {text!r}: the first year is after the last")
    return lo, hi


def make_filters(
    *,
    localities: Iterable[str] = (),
    regions: Iterable[str] = (),
    nations: Iterable[str] = (),
    years: Iterable[str] = (),
    doc_types: Iterable[str] = (),
    sources: Iterable[str] = (),
    subjects: Iterable[str] = (),
    themes: Iterable[str] = (),
    risks: Iterable[str] = (),
    issues: Iterable[str] = (),
) -> Filters:
    """Check filter values given by a person and resolve their aliases."""
    resolved_localities = []
    for name in localities:
        record = tagging.locality_record(name)
        if record is None:
            raise UsageError(
                f"--locality {name!r} is not a known local authority; try a council name "
                "such as Bradford, Derby or Derbyshire"
            )
        resolved_localities.append(record.name)
    resolved_regions = []
    for name in regions:
        region = tagging.region_name(name)
        if region is None:
            known = ", ".join(tagging.all_regions())
            raise UsageError(f"--region {name!r} is not a region; use one of: {known}")
        resolved_regions.append(region)
    from .models import DOC_TYPES

    for doc_type in doc_types:
        if doc_type not in DOC_TYPES:
            raise UsageError(f"--doc-type {doc_type!r} is not one of: {', '.join(DOC_TYPES)}")
    taxonomy = tagging.load_taxonomy()
    for option, wanted_facet, ids in (
        ("--theme", "theme", themes), ("--risk", "risk_factor", risks),
        ("--issue", "practice_issue", issues),
    ):  # fmt: skip
        for term_id in ids:
            term = taxonomy.terms.get(term_id)
            if term is None or term.facet != wanted_facet:
                known = ", ".join(t.id for t in taxonomy.terms.values() if t.facet == wanted_facet)
                raise UsageError(
                    f"{option} {term_id!r} is not a {wanted_facet}; use one of: {known}"
                )
    return Filters(
        localities=tuple(resolved_localities),
        regions=tuple(resolved_regions),
        nations=tuple(nations),
        years=tuple(parse_year_range(y) for y in years),
        doc_types=tuple(doc_types),
        sources=tuple(sources),
        subjects=tuple(subjects),
        themes=tuple(themes),
        risks=tuple(risks),
        issues=tuple(issues),
    )


def _keyword(value: str) -> str:
    return value.replace(",", " ").lower()


# -- query parsing -------------------------------------------------------------------------------

_FIELD_RE = re.compile(r"(?:^|[\s(])([A-Za-z_]+):(?=\S)")


#: Longest query accepted (Whoosh's parser takes time growing with the square of a query's
#: length; no real question is this long).
MAX_QUERY_CHARS = 2000


def _check_query_shape(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(text):,} characters long; shorten it to at most "
            f"{MAX_QUERY_CHARS:,} (a few words or phrases find more)"
        )
    if text.count('"') % 2:
        raise QueryError(f'the query {text!r} has an unclosed quote: close the "phrase"')
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth:
        raise QueryError(f"the query {text!r} has unbalanced parentheses")
    # A phrase stands as "" (a word of its own): '"a b" OR "c d"' is not a bare OR.
    outside_quotes = re.sub(r'"[^"]*"', '""', text)
    for match in _FIELD_RE.finditer(outside_quotes):
        name = match.group(1)
        if name not in QUERY_FIELDS:
            known = ", ".join(sorted(set(QUERY_FIELDS)))
            raise QueryError(f"the query names an unknown field {name!r}; fields are: {known}")
    words = outside_quotes.split()
    if words and words[-1] in ("AND", "OR", "NOT", "ANDNOT"):
        raise QueryError(
            f"the query {text!r} ends with the operator {words[-1]}: add a word after it"
        )
    if words and words[0] in ("AND", "OR"):
        raise QueryError(f"the query {text!r} starts with the operator {words[0]}")
    if outside_quotes.count("[") != outside_quotes.count("]"):
        raise QueryError(
            f"the query {text!r} has an unclosed range: write it as year:[2015 TO 2018]"
        )
    for word in words:
        bare = word.split(":", 1)[-1].lstrip("-+(")
        wildcard = re.search(r"[*?]", bare)
        if wildcard and wildcard.start() < 2:
            raise QueryError(
                f"{word!r} has a wildcard after fewer than two letters, which would match "
                "nearly everything: put at least two letters before the *"
            )


def parse_query(text: str, schema, fields: Sequence[str] = ("text", "title")) -> wq.Query | None:
    """Parse a person's query (words AND-ed, "phrases", OR, NOT/-word, word*, field:value).

    Bare words search `fields`: the passage text and its report's title by default.
    """
    text = (text or "").strip()
    if not text:
        return None
    _check_query_shape(text)
    parser = MultifieldParser(list(fields), schema)
    parser.add_plugin(PlusMinusPlugin(minusexpr=r"(?<![^\s(])-(?=[\w\"(])"))
    aliases: dict[str, list[str]] = {}
    for alias, target in QUERY_FIELDS.items():
        if alias != target:
            aliases.setdefault(target, []).append(alias)
    parser.add_plugin(FieldAliasPlugin(aliases))
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # whoosh's parser raises bare exceptions on odd input
        raise QueryError(f"could not understand the query {text!r}: simplify it") from exc
    if parsed is wq.NullQuery or isinstance(parsed, type(wq.NullQuery)):
        raise QueryError(f"the query {text!r} has no words to search for")
    return parsed


_QUERY_SCHEMA = None


def query_schema():
    """The schema queries are parsed with (the index's fields and the report fields)."""
    global _QUERY_SCHEMA
    if _QUERY_SCHEMA is None:
        _QUERY_SCHEMA = search_index.query_schema()
    return _QUERY_SCHEMA


class ReportQuery(wq.Query):
    """The passages of some reports: a report field's value in a query (`theme:neglect`),
    bound to the reports the catalogue has with it. Report fields are not in the index, so
    this matches, in each segment, the passages of those reports."""

    def __init__(self, label: str, shas: Iterable[str]) -> None:
        self.label = label
        self.shas = frozenset(shas)
        self.boost = 1.0
        self._docnums: dict[str, frozenset[int]] = {}  # segment id -> docnums (sized, matched)

    def __repr__(self) -> str:
        return f"ReportQuery({self.label!r}, {len(self.shas)} reports)"

    def __str__(self) -> str:
        return self.label

    def __eq__(self, other) -> bool:
        return isinstance(other, ReportQuery) and (self.label, self.shas) == (
            other.label,
            other.shas,
        )

    def __hash__(self) -> int:
        return hash((self.label, len(self.shas)))

    def is_leaf(self) -> bool:
        return True

    def children(self):
        return iter(())

    def field(self):
        return None

    def estimate_size(self, ixreader) -> int:
        return len(self.docnums(ixreader))

    def docnums(self, reader) -> frozenset[int] | set[int]:
        """The live docnums of the reports' passages in `reader` (one segment, or many)."""
        if not reader.is_atomic():
            found: set[int] = set()
            for leaf, offset in reader.leaf_readers():
                found.update(offset + d for d in self.docnums(leaf))
            return found
        key = reader.segment().segment_id()
        if key not in self._docnums:
            runs = _segment_runs(reader)
            found = set()
            for sha in self.shas & runs.keys():
                for start, end in runs[sha]:
                    found.update(range(start, end))
            deleted = reader.deleted_docs_set if reader.has_deletions() else None
            # Frozen: callers combine sets with &= and must not change the kept one.
            self._docnums[key] = frozenset(found - deleted if deleted else found)
        return self._docnums[key]

    def matcher(self, searcher, context=None):
        from whoosh import matching

        ids = sorted(self.docnums(searcher.reader()))
        return matching.ListMatcher(ids, all_weights=1.0) if ids else matching.NullMatcher()


#: Per segment: report sha256 -> runs (start, end) of its docnums (a report's passages are
#: written one after another, so usually one run).
_SEGMENT_RUNS: dict[str, dict[str, list[tuple[int, int]]]] = {}


def _segment_runs(reader) -> dict[str, list[tuple[int, int]]]:
    key = reader.segment().segment_id()
    runs = _SEGMENT_RUNS.get(key)
    if runs is None:
        runs = {}
        start = 0
        for sha, group in itertools.groupby(_segment_reports(reader)):
            end = start + sum(1 for _ in group)
            runs.setdefault(sha, []).append((start, end))
            start = end
        _SEGMENT_RUNS[key] = runs
    return runs


def _request_query(
    request: SearchRequest, catalogue: _Catalogue, fields: Sequence[str] = ("text", "title")
) -> wq.Query | None:
    """The request's query parsed, with its report fields bound to the catalogue."""
    return bind_report_fields(parse_query(request.query, query_schema(), fields), catalogue)


def bind_report_fields(q: wq.Query | None, catalogue: _Catalogue) -> wq.Query | None:
    """Replace each report-field part of a parsed query by the reports it names."""
    if q is None:
        return None
    schema = query_schema()

    def bind(node: wq.Query) -> wq.Query:
        name = getattr(node, "fieldname", None)
        if name not in search_index.REPORT_FIELDS:
            return node
        values = catalogue.field_values(name)
        if isinstance(node, wq.NumericRange):
            lo = -1 if node.start is None else node.start + (1 if node.startexcl else 0)
            hi = 10**6 if node.end is None else node.end - (1 if node.endexcl else 0)
            label = f"{name}:[{node.start} TO {node.end}]"
            return ReportQuery(
                label, (s for s, vs in values.items() if any(lo <= v <= hi for v in vs))
            )
        if isinstance(node, wq.Term):
            text = node.text
            if name == "year":
                text = schema["year"].from_bytes(text) if isinstance(text, bytes) else int(text)
            return ReportQuery(f"{name}:{text}", (s for s, vs in values.items() if text in vs))
        if isinstance(node, wq.PatternQuery) and name != "year":
            wildcard = node.text.lower() + ("*" if isinstance(node, wq.Prefix) else "")
            pattern = re.compile(fnmatch.translate(wildcard))
            return ReportQuery(
                f"{name}:{node.text}",
                (s for s, vs in values.items() if any(map(pattern.match, vs))),
            )
        raise QueryError(
            f"{name}: takes a value such as {name}:{'2017' if name == 'year' else 'value'}"
            + (" or a range year:[2015 TO 2018]" if name == "year" else "")
        )

    return q.accept(bind)


# -- results -------------------------------------------------------------------------------------


# -- highlights ------------------------------------------------------------------------------

SNIPPET_CHARS = 300


def _positive_parts(q: wq.Query) -> Iterator[wq.Query]:
    """The leaves of a query that a matching passage must or may contain (not the NOT parts)."""
    if isinstance(q, wq.AndNot):
        yield from _positive_parts(q.a)
    elif isinstance(q, wq.Not):
        return
    elif isinstance(q, (wq.Phrase, wq.Term, wq.PatternQuery)):
        yield q
    else:
        for child in q.children():
            yield from _positive_parts(child)


class Highlighter:
    """Marks a query's words and phrases in passage text, matching stems as the index does."""

    def __init__(self, q: wq.Query | None, schema) -> None:
        self.analyzer = schema["text"].analyzer
        self.words: set[str] = set()
        self.patterns: list[re.Pattern[str]] = []
        self.phrases: list[list[str]] = []
        for leaf in _positive_parts(q) if q is not None else ():
            if leaf.field() not in ("text", "title"):
                continue
            if isinstance(leaf, wq.Phrase):
                self.phrases.append(list(leaf.words))
            elif isinstance(leaf, wq.PatternQuery):
                self.patterns.append(re.compile(fnmatch.translate(leaf.text.lower())))
            elif isinstance(leaf, wq.Term):
                self.words.add(leaf.text if isinstance(leaf.text, str) else leaf.text.decode())

    def marks(self, text: str) -> tuple[list[tuple[int, int]], set[str]]:
        """Character spans of the query's matches in `text`, and the index terms they match."""
        if not (self.words or self.patterns or self.phrases):
            return [], set()
        tokens = [(t.text, t.startchar, t.endchar) for t in self.analyzer(text, chars=True)]
        stems = [t[0] for t in tokens]
        firsts = {words[0] for words in self.phrases}
        spans, terms = [], set()
        for i, (stem, start, end) in enumerate(tokens):
            if stem in self.words or any(p.match(stem) for p in self.patterns):
                spans.append((start, end))
                terms.add(stem)
            if stem not in firsts:
                continue
            for words in self.phrases:
                if stems[i : i + len(words)] == words:
                    spans.append((start, tokens[i + len(words) - 1][2]))
                    terms.update(words)
        return _merge(spans), terms

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the query's matches in `text`."""
        return self.marks(text)[0]

    def snippet(self, text: str) -> str:
        return snippet(text, self.spans(text))

    def snippet_and_terms(self, text: str) -> tuple[str, list[str]]:
        spans, terms = self.marks(text)
        return snippet(text, spans), sorted(terms)


def query_highlighter(query: str, *, all_words: bool = False, expand: bool = True) -> Highlighter:
    """The highlighter a search for `query` marks passages with: every form of every concept
    of a best-match query (expansions too, never its stop words), or the strict query's
    words and phrases."""
    schema = query_schema()
    text = (query or "").strip()
    _check_query_shape(text)
    best = None if all_words else bestmatch.read_query(text, schema, expand=expand)
    if best is not None:
        return bestmatch.highlighter(best, schema)
    return Highlighter(parse_query(text, schema), schema)


class CueMarks:
    """Marks the taxonomy cues of the wanted tags in passage text (for browsing by tag)."""

    def __init__(self, term_ids: Iterable[str]) -> None:
        self.term_ids = set(term_ids)

    def snippet_and_terms(self, text: str) -> tuple[str, list[str]]:
        spans = [(t.start, t.end) for t in tagging.tag_passage(text) if t.term_id in self.term_ids]
        return snippet(text, _merge(spans)), []


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def snippet(text: str, spans: Sequence[tuple[int, int]], chars: int = SNIPPET_CHARS) -> str:
    """Up to two windows of `text` around the marked spans, marks as <mark>…</mark>."""
    if not spans:
        return text[:chars] + ("…" if len(text) > chars else "")
    pieces = []
    budget = chars
    i = previous_end = 0
    while i < len(spans) and budget > 60 and len(pieces) < 2:
        start = max(0, spans[i][0] - 80)
        start = max(text.rfind(" ", 0, start) + 1 if start else 0, previous_end)
        end = min(len(text), start + budget)
        if end < len(text):
            end = max(text.rfind(" ", spans[i][1], end), spans[i][1])
        out, cursor = [], start
        while i < len(spans) and spans[i][1] <= end:
            out.append(text[cursor : spans[i][0]])
            out.append(f"{MARK_OPEN}{text[spans[i][0] : spans[i][1]]}{MARK_CLOSE}")
            cursor = spans[i][1]
            i += 1
        out.append(text[cursor:end])
        pieces.append(("…" if start else "") + "".join(out) + ("…" if end < len(text) else ""))
        budget -= end - start
        previous_end = end
    return " ".join(pieces)


@dataclass
class _Catalogue:
    """Report metadata and tags from the catalogue, for rendering, browsing and facet counts."""

    documents: dict[str, Document]
    tags: dict[str, list[ReportTag]]
    _values: dict[str, dict[str, list]] = field(default_factory=dict)
    _pairs: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    _titles: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, home: Home) -> _Catalogue:
        with Store(home) as store:
            docs = {d.sha256: d for d in store.documents(["indexed"])}
            return cls(docs, store.all_report_tags())

    def facet_values(self, sha: str, facet: str) -> list[str]:
        if facet in search_index.TAG_FACETS:
            return [t.term_id for t in self.tags.get(sha, ()) if t.facet == facet]
        doc = self.documents.get(sha)
        value = getattr(doc, facet, None) if doc else None
        return [] if value in (None, "") else [str(value)]

    def facet_pairs(self, sha: str) -> tuple[tuple[str, str], ...]:
        """(facet, value) for every value of every facet field of a report; computed once
        per report and catalogue."""
        pairs = self._pairs.get(sha)
        if pairs is None:
            pairs = self._pairs[sha] = tuple(
                (facet, value)
                for facet in search_index.FACET_FIELDS
                for value in self.facet_values(sha, facet)
            )
        return pairs

    def title_terms(self, sha: str, analyzer) -> frozenset[str]:
        """The index terms of a report's title; computed once per report and catalogue."""
        terms = self._titles.get(sha)
        if terms is None:
            doc = self.documents.get(sha)
            title = (doc.title or "") if doc else ""
            terms = self._titles[sha] = frozenset(t.text for t in analyzer(title))
        return terms

    def places(self, kind: str) -> frozenset[str]:
        """The localities (kind "locality") or regions the indexed reports are of."""
        return frozenset(
            value
            for doc in self.documents.values()
            if (value := doc.locality if kind == "locality" else doc.region)
        )

    def tag_ids(self, sha: str) -> set[str]:
        return {t.term_id for t in self.tags.get(sha, ())}

    def field_values(self, name: str) -> dict[str, list]:
        """report -> its values of a report field, as a query compares them (keywords
        lowercased, years as numbers); computed once per field and catalogue."""
        cached = self._values.get(name)
        if cached is None:
            as_query = int if name == "year" else (lambda v: _keyword(str(v)))
            cached = self._values[name] = {
                sha: [as_query(v) for v in self.facet_values(sha, name)] for sha in self.documents
            }
        return cached


class _Reader:
    """An open index searcher and the catalogue, kept per home for the life of the process.

    Opening the index and loading the catalogue cost more than a typical query, so both are
    kept and refreshed only when an index commit or a catalogue write has happened since.
    """

    def __init__(self, home: Home) -> None:
        self.home = home
        self.generation: Path | None = None
        self.ix = None
        self.searcher = None
        self.catalogue: _Catalogue | None = None
        self.data_version: int | None = None
        self.db: sqlite3.Connection | None = None

    def fresh(self):
        """(index, searcher, catalogue), reopened or refreshed if anything changed."""
        generation = search_index.current_generation(self.home)
        if generation is None or self.generation != generation.path or self.ix is None:
            self.close_searcher()
            self.ix = search_index.open_for_reading(self.home)
            self.searcher = self.ix.searcher()
            self.generation = generation.path if generation else None
            whooshfix.lengths_in_memory(self.searcher)
        elif not self.searcher.up_to_date():
            # Not Searcher.refresh(): it reuses segment readers and misses new deletions.
            self.searcher.close()
            self.searcher = self.ix.searcher()
            whooshfix.lengths_in_memory(self.searcher)
        if self.db is None:
            Store(self.home).close()  # creates the catalogue if it is not there yet
            # Read-only when the home is; any thread may run a search (the web page's worker
            # threads, one at a time).
            self.db = connect_catalogue(self.home, any_thread=True)
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if self.catalogue is None or version != self.data_version:
            self.catalogue = _Catalogue.load(self.home)
            self.data_version = version
        return self.ix, self.searcher, self.catalogue

    def close_searcher(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
        self.searcher = None
        self.ix = None


_READERS: dict[Path, _Reader] = {}


def _reader(home: Home) -> _Reader:
    reader = _READERS.get(home.root)
    if reader is None:
        reader = _READERS[home.root] = _Reader(home)
    return reader


#: Per index segment (segments never change once written): local docnum -> report sha256.
_SEGMENT_REPORTS: dict[str, list[str]] = {}


def _segment_reports(reader) -> list[str]:
    key = reader.segment().segment_id()
    shas = _SEGMENT_REPORTS.get(key)
    if shas is None:
        interned: dict[str, str] = {}
        shas = [interned.setdefault(v, v) for v in reader.column_reader("sha256")]
        _SEGMENT_REPORTS[key] = shas
    return shas


def report_json(doc: Document, tags: Sequence[ReportTag], url: str | None = None) -> dict:
    """The report fields shared by search results, `reports` and exports."""
    return {
        "report_id": doc.report_id,
        "sha256": doc.sha256,
        "title": doc.title or doc.original_name,
        "subject": doc.subject,
        "original_name": doc.original_name,
        "locality": doc.locality,
        "region": doc.region,
        "nation": doc.nation,
        "year": doc.year,
        "doc_type": doc.doc_type,
        "source": doc.source,
        "url": url if url is not None else doc.url,
        "fetched_at": doc.fetched_at,
        "pages": doc.pages,
        "tags": [
            {"id": t.term_id, "facet": t.facet, "label": t.label, "passages": t.passages}
            for t in tags
        ],
    }


@dataclass
class SearchRequest:
    """Everything a search needs besides the home."""

    query: str = ""
    filters: Filters = field(default_factory=Filters)
    limit: int = 10
    offset: int = 0
    facets: bool = True
    explain: bool = False
    all_words: bool = False  # every bare word in one passage, as before best match
    expand: bool = True  # search the field's acronyms and synonyms too
    all_copies: bool = False  # one result per file, not per review (reviews.py)


def search(home: Home, request: SearchRequest) -> dict:
    """Run a search and return the JSON contract of `scrsearch search --format json`."""
    if request.limit < 0 or request.offset < 0:
        raise UsageError("--limit and --offset must be 0 or more")
    ix, searcher, catalogue = _reader(home).fresh()
    best = bestmatch.best_match(request, searcher.schema, catalogue)
    if best is not None:
        return bestmatch.search_best(home, searcher, catalogue, request, best)
    text_query = _request_query(request, catalogue)
    # One result per review (reviews.py): each review's best-ranked report takes its place on
    # the page (`pager`), so the ranking keeps `extra` reports more than the page for the
    # copies it skips; --all-copies pages files as they are.
    groups = None if request.all_copies else reviews.groups_of(home)
    folding = groups is not None and groups.has_copies
    extra = min(groups.copies, reviews.FOLD_SLACK) if folding else 0
    while True:
        wide = replace(request, limit=request.limit + extra)
        pager = groups.pager(request.offset, request.limit) if folding else None
        if text_query is not None:
            report_hits, ranked = _search_text(searcher, text_query, catalogue, wide, pager)
        else:
            report_hits = _browse_reports(catalogue, request.filters)
            ranked = _rank_browse(searcher, report_hits, catalogue, wide, pager)
        if not folding:
            break
        folded = groups.fold(report_hits)
        if len(report_hits) - len(folded) <= extra:
            report_hits = Counter(folded)
            break
        extra = len(report_hits) - len(folded)  # more copies among the hits: rank again
    results = []
    for sha, score, passages in ranked:
        doc = catalogue.documents[sha]
        entry = report_json(doc, catalogue.tags.get(sha, []))
        entry["score"] = round(score, 4)
        entry["passages"] = passages
        if request.explain:
            entry["explain"] = explain_tags(home, doc, catalogue.tags.get(sha, []))
        results.append(entry)
    provenance.annotate_results(home, results, catalogue.documents)  # text layer or OCR
    if groups is not None:
        results = reviews.collapse_results(
            results, groups, catalogue.documents,
            lambda doc: report_json(doc, catalogue.tags.get(doc.sha256, [])),
        )  # fmt: skip
    else:  # per file, each still naming its review
        review_of = reviews.groups_of(home).review_of
        for entry in results:
            entry["review_id"] = review_of(entry["sha256"])
    payload = {
        "query": request.query,
        "filters": request.filters.to_json(),
        "match": "all",
        "total": len(report_hits),
        "passages_total": sum(report_hits.values()),
        "limit": request.limit,
        "offset": request.offset,
        "facets": _facet_counts(report_hits, catalogue) if request.facets else {},
        "results": results,
    }
    return payload


def _count_reports(searcher, matching: wq.Query, allowed: set[str] | None = None) -> Counter:
    """Matching passages per report (sha256), without scoring or loading stored fields.

    Each segment's docnum -> report column is read once per process; the matching docnums
    (a set per segment, see whooshfix.matching_docnums) are mapped through it, so counting
    costs one pass over the matches and nothing per report. With `allowed`, only those
    reports are counted.
    """
    counts: Counter = Counter()
    for leaf, _offset in searcher.leaf_searchers():
        shas = _segment_reports(leaf.reader())
        counts.update(map(shas.__getitem__, whooshfix.matching_docnums(leaf, matching)))
    if allowed is not None:
        counts = Counter({sha: n for sha, n in counts.items() if sha in allowed})
    return counts


def _browse_reports(catalogue: _Catalogue, filters: Filters) -> Counter:
    """No query words: the reports that pass the filters (all filters are report-level)."""
    return Counter(
        {
            sha: doc.passages or 0
            for sha, doc in catalogue.documents.items()
            if filters.admits(doc, catalogue.tag_ids(sha))
        }
    )


def _allowed_reports(catalogue: _Catalogue, filters: Filters) -> set[str]:
    """The catalogued, indexed reports that pass the filters."""
    if not filters.active:
        return set(catalogue.documents)
    return set(_browse_reports(catalogue, filters))


def _global_reports(searcher) -> list[str]:
    """Global docnum -> report sha256 for every document the searcher sees."""
    shas: list[str] = []
    for leaf, _offset in searcher.leaf_searchers():  # offsets are cumulative doc counts
        shas.extend(_segment_reports(leaf.reader()))
    return shas


class _TopReports(collectors.ScoredCollector):
    """Collects the `wanted` reports with the best passage scores, in one pass.

    Like Whoosh's top-k collector, but over reports: once `wanted` reports are held, a passage
    scoring below the weakest of their best passages cannot change the answer, so posting
    blocks whose best possible score is lower are skipped without being scored. With
    `count_all`, nothing is skipped and every match is counted per report (for queries whose
    matching is the costly part, such as phrases, so they are matched once).
    """

    def __init__(self, shas: list[str], allowed: set[str], wanted: int, count_all: bool):
        super().__init__()
        self.shas, self.allowed, self.wanted, self.count_all = shas, allowed, wanted, count_all

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self.final_fn = None
        # A report's strength is (best passage score, -id): equal scores rank by report id,
        # so the same report wins a tie whatever order passages come in, and pages agree.
        self.best: dict[str, tuple[float, int]] = {}  # reports held, with their strength
        self.heap: list[tuple[tuple[float, int], str]] = []  # (strength, report); some stale
        self.floor = float("-inf")  # a passage scoring below this cannot change the answer
        self.counts: Counter = Counter()

    def _use_block_quality(self) -> bool:
        return not self.count_all and self.matcher.supports_block_quality()

    def computes_count(self) -> bool:
        return self.count_all

    def collect(self, sub_docnum: int):
        # Whoosh scores before collecting; a passage of a report outside the filters is
        # dropped here unscored.
        sha = self.shas[self.offset + sub_docnum]
        if sha not in self.allowed:
            return None
        if self.count_all:
            self.counts[sha] += 1
        score = self.matcher.score()
        if score < self.floor:
            return None
        best = self.best
        strength = _strength(sha, score)
        held = best.get(sha)
        if held is not None:
            if strength <= held:
                return None
        elif len(best) >= self.wanted:
            if strength <= self._weakest():
                return None
            del best[heapq.heappop(self.heap)[1]]
        best[sha] = strength
        heapq.heappush(self.heap, (strength, sha))
        if len(best) >= self.wanted:
            self.floor = self._weakest()[0]
            if not self.count_all:
                # Blocks that cannot score above the floor are skipped; a passage scoring
                # exactly the floor may still win its tie, so stay just below it. Not when
                # counting every match: Whoosh then drops whole parts of an OR whose best
                # score is under the floor (`CSE OR "child sexual exploitation"` lost the
                # reports that only say CSE).
                self.minscore = self.floor - abs(self.floor) * 1e-9 - 1e-12
        return None

    def _weakest(self) -> tuple[float, int]:
        """The weakest strength among the held reports (dropping stale heap entries)."""
        heap = self.heap
        while self.best.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0]

    def results(self):
        return self


def _has_phrase(q: wq.Query) -> bool:
    return any(isinstance(leaf, wq.Phrase) for leaf in _positive_parts(q))


#: Up to this many matching passages (within the filters) are scored one by one, which gives
#: every report's best passages at once; more are ranked by the block-skipping `_TopReports`.
SCORE_EACH_LIMIT = 5000
#: ... and so are the matches within the filters when they are at most 1/this of all matches
#: (measured at 100,000 pages: scoring 27k of 64k matches one by one beat walking all 64k).
SCORE_EACH_RATIO = 2


def _search_text(
    searcher, text_query: wq.Query, catalogue: _Catalogue, request: SearchRequest, pager=None
):
    """Count and rank the reports whose passages match the query words, within the filters.

    Every filter is a property of a report, so the filters become a set of reports taken
    from the catalogue instead of extra query clauses: a year range as a query would expand
    into a union of terms materialised on every search. Reports not in the catalogue as
    indexed (removed, or not yet marked) are left out.

    An exact phrase (over its fields) is found and scored a posting block at a time
    (whooshfix.phrases_scores). A word, or two words AND-ed, is scored in bulk, every match
    at once (whooshfix.bulk_scores). Other words, ANDs, ORs and NOTs: the matching passages
    are found as sets (no scoring) and counted per report; when few are left within the
    filters, each is scored; otherwise reports are ranked by their best passage in one
    scored pass that skips what cannot reach the page (`_TopReports`), and only the page's
    reports are scored for their best passages. Any other query with a phrase is matched
    once, counting as it ranks.
    """
    allowed = _allowed_reports(catalogue, request.filters)
    marks = Highlighter(text_query, searcher.schema)
    phrases = _score_phrases(searcher, text_query, allowed)
    if phrases is not None:
        counts, strengths, picks = phrases
    elif _has_phrase(text_query):
        wanted = request.offset + request.limit
        top = _TopReports(_global_reports(searcher), allowed, max(wanted, 1), count_all=True)
        searcher.search_with_collector(text_query, top)
        counts, strengths, picks = top.counts, top.best, None
    else:
        counts, strengths, picks = _rank_words(searcher, text_query, allowed, request)
    wanted = request.offset + request.limit
    order = sorted(strengths, key=strengths.__getitem__, reverse=True)
    page = pager(order) if pager else order[request.offset : wanted]
    if picks is None:
        picks = _best_passages(searcher, text_query, page)
    ranked = []
    for sha in page:
        passages = [
            _passage_json(searcher.stored_fields(d), score, marks) for d, score in picks[sha]
        ]
        ranked.append((sha, strengths[sha][0], passages))
    return counts, ranked


def _rank_words(searcher, text_query, allowed, request):
    """Counts, report strengths and (when scored one by one) best passages, for a query
    without phrases."""
    if not request.filters.active and whooshfix.matches_are_postings(text_query):
        # A word's matches are its postings: scored in bulk, with no matching set first.
        matched = [(leaf, offset, None) for leaf, offset in searcher.leaf_searchers()]
        each = True
    else:
        matched, everywhere = _matching(
            searcher, text_query, allowed if request.filters.active else None
        )
        within = sum(len(ids) for _leaf, _offset, ids in matched)
        # The ranking pass walks every match, filtered out or not; scoring a passage
        # directly costs a few times more than walking past one. Words and pairs of words
        # are scored in bulk, every match at once, faster than either.
        each = (
            within <= SCORE_EACH_LIMIT
            or within * SCORE_EACH_RATIO <= everywhere
            or whooshfix.scores_in_bulk(text_query)
        )
    if each:
        return _rank_scored(_score_each(searcher, text_query, matched, allowed))
    counts = Counter()
    for leaf, _offset, ids in matched:
        shas = _segment_reports(leaf.reader())
        counts.update(shas[d] for d in ids)
    counts = Counter({sha: n for sha, n in counts.items() if sha in allowed})
    wanted = request.offset + request.limit
    top = _TopReports(_global_reports(searcher), allowed, max(wanted, 1), count_all=False)
    if wanted:
        searcher.search_with_collector(text_query, top)
    return counts, top.best, None


def _matching(searcher, text_query: wq.Query, allowed: set[str] | None):
    """(leaf searcher, docnum offset, matching segment-local docnums) for each segment, the
    docnums limited to the `allowed` reports' passages when given; and how many matched in
    all, before that limit."""
    matched = []
    everywhere = 0
    for leaf, offset in searcher.leaf_searchers():
        ids = whooshfix.matching_docnums(leaf, text_query)
        everywhere += len(ids)
        if allowed is not None and ids:
            shas = _segment_reports(leaf.reader())
            ids = {d for d in ids if shas[d] in allowed}
        matched.append((leaf, offset, ids))
    return matched, everywhere


def _strength(sha: str, score: float) -> tuple[float, int]:
    """How reports rank: best passage score, then (for equal scores) report id."""
    return (score, -int(sha[:15], 16))


def _score_each(
    searcher, text_query: wq.Query, matched, allowed: set[str]
) -> dict[str, list[tuple[float, int]]]:
    """Score every matched passage of the `allowed` reports: report -> [(-score, docnum)].
    `matched` is (leaf, offset, the segment's matching docnums, or None for every match)."""
    context = searcher.context()
    scored: dict[str, list[tuple[float, int]]] = {}
    for leaf, offset, ids in matched:
        if ids is not None and not ids:
            continue
        scores = whooshfix.bulk_scores(leaf, text_query, context, ids)
        if scores is not None:
            pairs = scores.items()
        else:
            if ids is None:
                ids = whooshfix.matching_docnums(leaf, text_query)
            pairs = _scored_at(text_query.matcher(leaf, context), sorted(ids))
        _add_scored(scored, allowed, _segment_reports(leaf.reader()), offset, pairs)
    return scored


def _add_scored(
    scored: dict[str, list[tuple[float, int]]],
    allowed: set[str],
    shas: list[str],
    offset: int,
    pairs: Iterable[tuple[int, float]],
) -> None:
    """Add one segment's scored passages (docnum, score) of the `allowed` reports to
    `scored` (report -> [(-score, global docnum)]); `shas` is the segment's docnum -> report."""
    for docnum, score in pairs:
        sha = shas[docnum]
        passages = scored.get(sha)
        if passages is None:
            if sha not in allowed:
                continue
            passages = scored[sha] = []
        passages.append((-score, offset + docnum))


def _scored_at(matcher, docnums: Iterable[int]) -> Iterator[tuple[int, float]]:
    """(docnum, score) for each of the ascending `docnums` that `matcher` matches: the
    matcher skips to each one instead of walking its whole posting lists."""
    for docnum in docnums:
        if not matcher.is_active():
            return
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                return
        if matcher.id() == docnum:
            yield docnum, matcher.score()


def _rank_scored(scored: dict[str, list[tuple[float, int]]]):
    """From each report's scored passages (-score, docnum): (matching passages per report,
    each report's strength, its best passages)."""
    counts = Counter({sha: len(passages) for sha, passages in scored.items()})
    picks = {sha: _top_passages(passages) for sha, passages in scored.items()}
    strengths = {sha: _strength(sha, best[0][1]) for sha, best in picks.items()}
    return counts, strengths, picks


def _top_passages(scored: list[tuple[float, int]]) -> list[tuple[int, float]]:
    """The best PASSAGES_PER_REPORT of one report's (-score, docnum): (docnum, score)."""
    scored.sort()
    return [(docnum, -score) for score, docnum in scored[:PASSAGES_PER_REPORT]]


def _score_phrases(searcher, text_query: wq.Query, allowed: set[str]):
    """(counts, strengths, best passages) for a query that is an exact phrase (or one over
    several fields), every match scored (whooshfix.phrases_scores); None for other queries."""
    if not isinstance(text_query, (wq.Phrase, wq.Or)):
        return None
    context = searcher.context()
    matched = []
    for leaf, offset in searcher.leaf_searchers():
        scores = whooshfix.phrases_scores(leaf, text_query, context)
        if scores is None:
            return None
        matched.append((offset, _segment_reports(leaf.reader()), scores))
    scored: dict[str, list[tuple[float, int]]] = {}
    for offset, shas, scores in matched:
        _add_scored(scored, allowed, shas, offset, scores.items())
    return _rank_scored(scored)


def _best_passages(searcher, text_query: wq.Query, shas: Sequence[str]):
    """The best-scoring matching passages (docnum, score) of each of a few reports.

    The query's matcher is moved only to the reports' own passages (their runs of docnums)
    and scored there: the same matcher and scores as the ranking pass, without walking the
    query's long posting lists. Deleted passages are never matched.
    """
    picks: dict[str, list[tuple[int, float]]] = {}
    context = searcher.context()
    for sha in shas:
        scored: list[tuple[float, int]] = []
        for leaf, offset in searcher.leaf_searchers():
            runs = _segment_runs(leaf.reader()).get(sha)
            if not runs:
                continue
            mine = itertools.chain.from_iterable(range(start, end) for start, end in runs)
            for docnum, score in _scored_at(text_query.matcher(leaf, context), mine):
                scored.append((-score, offset + docnum))
        picks[sha] = _top_passages(scored)
    return picks


def _passage_json(stored: dict, score: float, marks: Highlighter | CueMarks | None = None) -> dict:
    """A passage as search and export show it; `terms` are the index terms it matched."""
    text = stored["text"]
    highlighted, terms = marks.snippet_and_terms(text) if marks else (snippet(text, []), [])
    return {
        "page": stored["page"],
        "text": text,
        "highlighted": highlighted,
        "score": round(score, 4),
        "tags": [t for t in (stored.get("tags") or "").split(",") if t],
        "terms": terms,
    }


def _rank_browse(
    searcher, report_hits: Counter, catalogue: _Catalogue, request: SearchRequest, pager=None
):
    """No query words: reports by evidence for the requested tags, then newest first."""
    wanted_tags = set(request.filters.tag_ids)
    cues = CueMarks(wanted_tags)

    def evidence(sha: str) -> int:
        return sum(t.passages for t in catalogue.tags.get(sha, ()) if t.term_id in wanted_tags)

    def sort_key(sha: str):
        doc = catalogue.documents.get(sha)
        return (-evidence(sha), -(doc.year or 0) if doc else 0, doc.title or "" if doc else "")

    order = sorted(report_hits, key=sort_key)
    order = pager(order) if pager else order[request.offset : request.offset + request.limit]
    first = _first_tagged_passages(searcher, order, wanted_tags) if wanted_tags else {}
    ranked = []
    for sha in order:
        passages = [_passage_json(searcher.stored_fields(d), 0.0, cues) for d in first.get(sha, ())]
        ranked.append((sha, float(evidence(sha)), passages))
    return ranked


def _first_tagged_passages(searcher, shas: Sequence[str], tag_ids: set[str]):
    """Each report's first passages (in page order) tagged with any of `tag_ids`: global
    docnums. The tagged passages are found once per segment, as a set; a report's passages
    are one run of docnums in page order, so its first tagged ones are the lowest."""
    tagged_query = wq.Or([wq.Term("tags", t) for t in sorted(tag_ids)])
    first: dict[str, list[int]] = {sha: [] for sha in shas}
    for leaf, offset in searcher.leaf_searchers():
        runs = _segment_runs(leaf.reader())
        mine = [(sha, runs[sha]) for sha in shas if sha in runs]
        if not mine:
            continue
        tagged = whooshfix.matching_docnums(leaf, tagged_query)
        for sha, sha_runs in mine:
            found = first[sha]
            for start, end in sha_runs:
                found.extend(offset + d for d in range(start, end) if d in tagged)
    return {sha: sorted(found)[:PASSAGES_PER_REPORT] for sha, found in first.items()}


def _facet_counts(report_hits: Counter, catalogue: _Catalogue) -> dict[str, list[dict]]:
    """For each facet field, how many matching reports have each value (most first)."""
    counted = Counter(itertools.chain.from_iterable(map(catalogue.facet_pairs, report_hits)))
    counts: dict[str, list[tuple[str, int]]] = {f: [] for f in search_index.FACET_FIELDS}
    for (facet, value), n in counted.items():
        counts[facet].append((value, n))
    return {
        facet: [{"value": v, "count": n} for v, n in sorted(c, key=lambda x: (-x[1], x[0]))]
        for facet, c in counts.items()
    }


def explain_tags(home: Home, doc: Document, tags: Sequence[ReportTag]) -> list[dict]:
    """For each of a report's tags, the cues that produced it and how often."""
    from .passages import split_passages

    with Store(home) as store:
        text = store.cached_text(doc.sha256)
    if text is None:
        return []
    cues: dict[str, Counter] = {}
    for passage in split_passages(doc.sha256, text.pages):
        for tag in tagging.tag_passage(passage.text):
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


def iter_passages(
    home: Home, request: SearchRequest, *, all_passages: bool = False
) -> Iterator[tuple[dict, dict]]:
    """Every matching passage as (report fields, passage fields), streamed report by report.

    Reports come in a stable order (year, title, sha256) and passages in page order, so an
    export is reproducible; memory stays flat however many rows there are. With
    `all_passages`, every passage of each matching report is yielded, hits or not.
    """
    ix, searcher, catalogue = _reader(home).fresh()
    best = bestmatch.best_match(request, searcher.schema, catalogue)
    if best is not None:
        yield from _iter_best_passages(home, searcher, catalogue, request, best, all_passages)
        return
    # A passage is a hit by its own text: a word in the report's title would make every
    # passage of that report one.
    text_query = _request_query(request, catalogue, fields=("text",))
    marks = Highlighter(text_query, ix.schema)
    if text_query is None:
        report_hits = _browse_reports(catalogue, request.filters)
    else:
        report_hits = _count_reports(
            searcher, text_query, _allowed_reports(catalogue, request.filters)
        )
    if not request.all_copies:  # one report per review: reviews.Groups.fold
        report_hits = reviews.groups_of(home).fold(report_hits)

    in_catalogue = (s for s in report_hits if s in catalogue.documents)
    for sha in sorted(in_catalogue, key=_export_order(catalogue)):
        report = report_json(catalogue.documents[sha], catalogue.tags.get(sha, []))
        own = wq.Term("sha256", sha)
        # The report passed the filters already; with no words, every passage is a hit.
        mine = own if text_query is None else wq.And([own, text_query])
        scored = searcher.search(mine, limit=None)
        hits = {h.docnum: h for h in scored}
        if all_passages:
            everything = searcher.search(own, limit=None, scored=False)
            rows = [hits.get(h.docnum, h) for h in everything]
        else:
            rows = list(hits.values())
        rows.sort(key=lambda h: h["ordinal"])
        for hit in rows:
            matched = hit.docnum in hits
            passage = _passage_json(
                hit.fields(), hit.score if matched else 0.0, marks if matched else None
            )
            passage["ordinal"] = hit["ordinal"]
            passage["matched"] = hit.docnum in hits
            yield report, passage


def _export_order(catalogue: _Catalogue):
    """Reports in a stable order for exports: year, title, sha256."""

    def order(sha: str):
        doc = catalogue.documents[sha]
        return (doc.year or 0, doc.title or doc.original_name, sha)

    return order


def _iter_best_passages(home, searcher, catalogue, request, best, all_passages: bool):
    """`iter_passages` for a best-match query: the matching reports' passages that hold any
    of its concepts (every passage with `all_passages`), in page order; one report a review
    unless `all_copies`."""
    marks = bestmatch.highlighter(best, searcher.schema)
    hits = dict(bestmatch.report_hits(searcher, catalogue, request, best))
    if not request.all_copies:  # one report per review: reviews.Groups.fold
        kept = reviews.groups_of(home).fold({sha: len(p) for sha, p in hits.items()})
        hits = {sha: hits[sha] for sha in kept}
    for sha in sorted(hits, key=_export_order(catalogue)):
        report = report_json(catalogue.documents[sha], catalogue.tags.get(sha, []))
        mine = hits[sha]
        if all_passages:
            docnums = [
                h.docnum for h in searcher.search(wq.Term("sha256", sha), limit=None, scored=False)
            ]
        else:
            docnums = list(mine)
        rows = [(d, searcher.stored_fields(d)) for d in docnums]
        rows.sort(key=lambda row: row[1]["ordinal"])
        for docnum, stored in rows:
            matched = docnum in mine
            passage = _passage_json(stored, mine.get(docnum, 0.0), marks if matched else None)
            passage["ordinal"] = stored["ordinal"]
            passage["matched"] = matched
            yield report, passage


def matching_reports(home: Home, request: SearchRequest) -> dict[str, int]:
    """The reports a search matches (sha256 -> matching passages), as search counts them.

    The same query and filter code as `search`, for report sets in stats and watches: live
    index documents of reports the catalogue has as indexed, like search results.
    """
    ix, searcher, catalogue = _reader(home).fresh()
    best = bestmatch.best_match(request, searcher.schema, catalogue)
    if best is not None:
        return bestmatch.matching_reports(searcher, catalogue, request, best)
    text_query = _request_query(request, catalogue)
    if text_query is None:
        return dict(_browse_reports(catalogue, request.filters))
    return dict(_count_reports(searcher, text_query, _allowed_reports(catalogue, request.filters)))
