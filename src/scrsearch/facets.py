"""Every facet once: the fields reports are filtered, counted and browsed by.

A facet has a name (as the search JSON, `stats --by` and `field:value` queries name it), the
other names a query may use, the CLI filter option and keyword, the web page's parameter and
heading, and where its values come from: a report's taxonomy tags (theme, risk_factor,
practice_issue) or its catalogue document (locality, year, ...). Every list of facets in the
code derives from `FACETS` below, as datasette's facets derive from one registry.

The registry is in the order the search JSON lists facet counts. The CLI's --help, the web page
and `stats --by` list them in orders of their own (`CLI_ORDER`, `WEB_ORDER`, `STATS_ORDER`),
checked against the registry on import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Document, ReportTag


@dataclass(frozen=True)
class Facet:
    """One field reports are filtered, counted or browsed by."""

    name: str
    heading: str
    #: The CLI filter option ("--risk") and its keyword (`search.make_filters(risks=...)`);
    #: None for a field that is counted only.
    option: str | None = None
    filter_key: str | None = None
    #: Other names a query may use for it (`risk:domestic_abuse`).
    aliases: tuple[str, ...] = ()
    #: Its values are the term ids of the report's taxonomy tags of this facet; else they are
    #: the document's attribute of the same name.
    from_tags: bool = False
    #: In the search JSON's facet counts, queries (`field:value`) and filters.
    searchable: bool = True
    #: Counted by `stats --by` (a child's name is not a statistic).
    counted: bool = True

    @property
    def param(self) -> str | None:
        """The web page's URL parameter: the CLI option without its dashes (`doc_type`)."""
        return self.option[2:].replace("-", "_") if self.option else None

    def values(self, document: Document | None, tags: Iterable[ReportTag]) -> list:
        """This facet's values for a report (its document and its tags); [] when it has none.
        Document values keep their type (a year is an int)."""
        if self.from_tags:
            return [t.term_id for t in tags if t.facet == self.name]
        value = getattr(document, self.name, None) if document is not None else None
        return [] if value in (None, "") else [value]


#: The registry, in the order the search JSON lists facet counts.
FACETS: tuple[Facet, ...] = (
    Facet("theme", "Theme", "--theme", "themes", from_tags=True),
    Facet("risk_factor", "Risk factor", "--risk", "risks", ("risk",), from_tags=True),
    Facet("practice_issue", "Practice issue", "--issue", "issues", ("issue",), from_tags=True),
    Facet("locality", "Local authority", "--locality", "localities"),
    Facet("region", "Region", "--region", "regions"),
    Facet("nation", "Nation", "--nation", "nations"),
    Facet("year", "Year", "--year", "years"),
    Facet("doc_type", "Document type", "--doc-type", "doc_types", ("type",)),
    Facet("source", "Source", "--source", "sources"),
    Facet("subject", "Subject", "--subject", "subjects", counted=False),
    Facet("text_source", "Text source", searchable=False),
)
BY_NAME: dict[str, Facet] = {f.name: f for f in FACETS}

#: The order of the CLI's filter options (metadata first, then tags), in --help.
CLI_ORDER = (
    "locality", "region", "nation", "year", "doc_type", "source", "subject",
    "theme", "risk_factor", "practice_issue",
)  # fmt: skip
#: The order of the web page's filters and facet lists (tags, then places broad to narrow).
WEB_ORDER = (
    "theme", "risk_factor", "practice_issue", "region", "locality", "nation", "year",
    "doc_type", "source", "subject",
)  # fmt: skip
#: The order of the fields `stats --by` counts by (years first, tags after metadata).
STATS_ORDER = (
    "year", "locality", "region", "nation", "doc_type", "source",
    "theme", "risk_factor", "practice_issue", "text_source",
)  # fmt: skip


def _in_order(order: tuple[str, ...], wanted: tuple[str, ...]) -> tuple[Facet, ...]:
    """The facets named in `order`, which must name each of `wanted` once."""
    if sorted(order) != sorted(wanted):
        raise RuntimeError(f"facets.py: the order {order} does not name each of {wanted} once")
    return tuple(BY_NAME[name] for name in order)


_SEARCHABLE = tuple(f.name for f in FACETS if f.searchable)
_CLI = _in_order(CLI_ORDER, _SEARCHABLE)
_WEB = _in_order(WEB_ORDER, _SEARCHABLE)
_STATS = _in_order(STATS_ORDER, tuple(f.name for f in FACETS if f.counted))

#: Facets of the search JSON (and of the index's report fields), in its order.
FACET_NAMES: tuple[str, ...] = _SEARCHABLE
#: Fields a query may name that are properties of a report, not of a passage.
REPORT_FIELDS: tuple[str, ...] = FACET_NAMES
#: Facets whose values are taxonomy tags (tagging.FACETS).
TAG_FACETS: tuple[str, ...] = tuple(f.name for f in FACETS if f.from_tags)
#: Facets whose values are the catalogue document's own.
DOCUMENT_FACETS: tuple[str, ...] = tuple(f.name for f in FACETS if not f.from_tags)
#: Every name a query may use for a facet (`field:value`) -> the facet.
QUERY_FIELD_ALIASES: dict[str, str] = {
    alias: f.name for f in FACETS if f.searchable for alias in (f.name, *f.aliases)
}
#: The CLI's filter keywords (`search.make_filters`), in --help order.
FILTER_KEYS: tuple[str, ...] = tuple(f.filter_key for f in _CLI if f.filter_key)
#: Facet -> its CLI filter option.
FILTER_OPTIONS: dict[str, str] = {f.name: f.option for f in _CLI if f.option}
#: The web page's URL parameter -> the filter keyword, in the page's order.
FILTER_PARAMS: dict[str, str] = {f.param: f.filter_key for f in _WEB if f.param and f.filter_key}
#: A facet of the search JSON -> the URL parameter that filters by one of its values.
FACET_PARAMS: dict[str, str] = {f.name: f.param for f in _WEB if f.param}
#: A facet -> its heading on the web page, in the page's order.
FACET_HEADINGS: dict[str, str] = {f.name: f.heading for f in _WEB}
#: URL parameters whose values are taxonomy term ids (`risk`, `issue`, `theme`).
TAG_PARAMS: tuple[str, ...] = tuple(f.param for f in FACETS if f.from_tags and f.param)
#: The fields `stats --by` counts reports by.
STATS_FIELDS: tuple[str, ...] = tuple(f.name for f in _STATS)


def facet_values(name: str, document: Document | None, tags: Iterable[ReportTag]) -> list:
    """The values of facet `name` for a report: the term ids of its tags of that facet, or its
    document's value ([] when it has none; a year stays an int). KeyError for an unknown name."""
    return BY_NAME[name].values(document, tags)
