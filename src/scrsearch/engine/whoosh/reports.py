"""A report's passages in the index: each segment's docnum -> report column and its runs,
and report fields of a query (`theme:neglect`) bound to the reports the catalogue names."""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterable

from whoosh import query as wq

from ...errors import QueryError
from ...facets import REPORT_FIELDS

#: Per index segment (segments never change once written): local docnum -> report sha256.
SEGMENT_REPORTS: dict[str, list[str]] = {}


def segment_reports(reader) -> list[str]:
    key = reader.segment().segment_id()
    shas = SEGMENT_REPORTS.get(key)
    if shas is None:
        interned: dict[str, str] = {}
        shas = [interned.setdefault(v, v) for v in reader.column_reader("sha256")]
        SEGMENT_REPORTS[key] = shas
    return shas


def global_reports(searcher) -> list[str]:
    """Global docnum -> report sha256 for every document the searcher sees."""
    shas: list[str] = []
    for leaf, _offset in searcher.leaf_searchers():  # offsets are cumulative doc counts
        shas.extend(segment_reports(leaf.reader()))
    return shas


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
            runs = segment_runs(reader)
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
SEGMENT_RUNS: dict[str, dict[str, list[tuple[int, int]]]] = {}


def segment_runs(reader) -> dict[str, list[tuple[int, int]]]:
    key = reader.segment().segment_id()
    runs = SEGMENT_RUNS.get(key)
    if runs is None:
        runs = {}
        start = 0
        for sha, group in itertools.groupby(segment_reports(reader)):
            end = start + sum(1 for _ in group)
            runs.setdefault(sha, []).append((start, end))
            start = end
        SEGMENT_RUNS[key] = runs
    return runs


def bind_report_fields(q: wq.Query | None, catalogue, query_schema) -> wq.Query | None:
    """Replace each report-field part of a parsed query by the reports it names."""
    if q is None:
        return None
    schema = query_schema

    def bind(node: wq.Query) -> wq.Query:
        name = getattr(node, "fieldname", None)
        if name not in REPORT_FIELDS:
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
