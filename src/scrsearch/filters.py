"""Report filters: what `--locality`, `--year`, `--theme` and the rest admit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields

from . import tagging
from .errors import UsageError
from .models import Document


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
            if values and keyword(value or "") not in {keyword(v) for v in values}:
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


def keyword(value: str) -> str:
    return value.replace(",", " ").lower()
