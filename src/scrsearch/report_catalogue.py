"""The catalogue's indexed reports as search reads them: metadata, tags, facet values."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .config import Home
from .facets import FACET_NAMES, facet_values
from .filters import Filters, keyword
from .models import Document, ReportTag
from .store import Store, connect_catalogue


@dataclass
class ReportCatalogue:
    """Report metadata and tags from the catalogue, for rendering, browsing and facet counts."""

    documents: dict[str, Document]
    tags: dict[str, list[ReportTag]]
    _values: dict[str, dict[str, list]] = field(default_factory=dict)
    _pairs: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    _titles: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, home: Home) -> ReportCatalogue:
        with Store(home) as store:
            docs = {d.sha256: d for d in store.documents(["indexed"])}
            return cls(docs, store.all_report_tags())

    def facet_values(self, sha: str, facet: str) -> list[str]:
        """A report's values of a facet, as strings (facets.facet_values)."""
        return [
            str(v) for v in facet_values(facet, self.documents.get(sha), self.tags.get(sha, ()))
        ]

    def facet_pairs(self, sha: str) -> tuple[tuple[str, str], ...]:
        """(facet, value) for every value of every facet field of a report; computed once
        per report and catalogue."""
        pairs = self._pairs.get(sha)
        if pairs is None:
            pairs = self._pairs[sha] = tuple(
                (facet, value) for facet in FACET_NAMES for value in self.facet_values(sha, facet)
            )
        return pairs

    def title_terms(self, sha: str, terms) -> frozenset[str]:
        """The index terms of a report's title; computed once per report and catalogue."""
        found = self._titles.get(sha)
        if found is None:
            doc = self.documents.get(sha)
            title = (doc.title or "") if doc else ""
            found = self._titles[sha] = frozenset(terms(title))
        return found

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
            as_query = int if name == "year" else (lambda v: keyword(str(v)))
            cached = self._values[name] = {
                sha: [as_query(v) for v in self.facet_values(sha, name)] for sha in self.documents
            }
        return cached

    def browse(self, filters: Filters) -> Counter:
        """The reports that pass the filters (all filters are report-level), each with its
        number of passages."""
        return Counter(
            {
                sha: doc.passages or 0
                for sha, doc in self.documents.items()
                if filters.admits(doc, self.tag_ids(sha))
            }
        )

    def allowed(self, filters: Filters) -> set[str]:
        """The catalogued, indexed reports that pass the filters."""
        if not filters.active:
            return set(self.documents)
        return set(self.browse(filters))


class _Loaded:
    """A home's catalogue, loaded once and again only after a catalogue write."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.db: sqlite3.Connection | None = None
        self.catalogue: ReportCatalogue | None = None
        self.data_version: int | None = None

    def fresh(self) -> ReportCatalogue:
        if self.db is None:
            Store(self.home).close()  # creates the catalogue if it is not there yet
            # Read-only when the home is; any thread may run a search (the web page's worker
            # threads, one at a time).
            self.db = connect_catalogue(self.home, any_thread=True)
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if self.catalogue is None or version != self.data_version:
            self.catalogue = ReportCatalogue.load(self.home)
            self.data_version = version
        return self.catalogue

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


_LOADED: dict[Path, _Loaded] = {}


def report_catalogue(home: Home) -> ReportCatalogue:
    """The home's indexed reports, kept for the life of the process and reloaded when the
    catalogue has changed (loading costs more than a typical query)."""
    loaded = _LOADED.get(home.root)
    if loaded is None:
        loaded = _LOADED[home.root] = _Loaded(home)
    return loaded.fresh()


def forget_catalogues() -> None:
    """Drop every kept catalogue (tests, and a process that changes homes)."""
    for loaded in _LOADED.values():
        loaded.close()
    _LOADED.clear()
