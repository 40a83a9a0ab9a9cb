"""The state of a search as the URL holds it, and the library request it stands for.

Every page is a GET whose query string is the whole state (query, filters, page), so a link
pasted into a meeting note reopens the same search. Parameter names are the CLI's option
names without the dashes (`theme`, `risk`, `issue`, `locality`, `year`, `doc_type`, ...),
repeatable as the options are; `from` and `to` make one year range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .. import facets
from ..errors import UsageError

#: URL parameter -> keyword of `search.make_filters`, in the order the page lists filters.
FILTER_PARAMS = facets.FILTER_PARAMS

#: A facet of the search JSON -> the URL parameter that filters by one of its values.
FACET_PARAMS = facets.FACET_PARAMS

#: Longest query accepted: anything longer is a paste gone wrong, not a search.
MAX_QUERY_CHARS = 500
#: Longest filter value accepted, and most values of one filter.
MAX_VALUE_CHARS = 200
MAX_VALUES = 20
PER_PAGE = 10
PER_PAGE_CHOICES = (10, 20, 50)
#: Deepest page offered: paging further is a sign to narrow the search.
MAX_OFFSET = 10_000


def _int(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise UsageError(f"{name}={value} is out of range: use {lo} to {hi}")
    return value


@dataclass(frozen=True)
class SearchState:
    """A search page's state: query, filter values by URL parameter, paging."""

    query: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    offset: int = 0
    limit: int = PER_PAGE
    #: How bare words match (`search --all-words`, `--no-expand`), where search has them.
    all_words: bool = False
    no_expand: bool = False

    @classmethod
    def from_params(cls, params, *, api: bool = False) -> SearchState:
        """Read and check a request's query parameters (a starlette QueryParams or a dict of
        lists). The API pages with the CLI's limit/offset; the page with page/per_page."""
        get_list = params.getlist if hasattr(params, "getlist") else (lambda k: params.get(k, []))
        names = ("q", "from", "to", "page", "per_page", "limit", "offset", "all_words", "no_expand")
        single = {k: (get_list(k) or [""])[-1] for k in names}
        query = single["q"].strip()
        if len(query) > MAX_QUERY_CHARS:
            raise UsageError(
                f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}: "
                "shorten it, or use filters"
            )
        filters: dict[str, tuple[str, ...]] = {}
        for name in FILTER_PARAMS:
            values = tuple(dict.fromkeys(v.strip() for v in get_list(name) if v.strip()))
            if len(values) > MAX_VALUES or any(len(v) > MAX_VALUE_CHARS for v in values):
                raise UsageError(f"{name}: too many or too long values")
            if values:
                filters[name] = values
        year_from = _int(single, "from", None, 1900, 2100) if single["from"] else None
        year_to = _int(single, "to", None, 1900, 2100) if single["to"] else None
        if api:
            limit = _int(single, "limit", PER_PAGE, 0, 10_000)
            offset = _int(single, "offset", 0, 0, MAX_OFFSET)
        else:
            limit = _int(single, "per_page", PER_PAGE, 1, max(PER_PAGE_CHOICES))
            page = _int(single, "page", 1, 1, MAX_OFFSET // limit + 1)
            offset = (page - 1) * limit
        flags = {k: single[k] in ("1", "on", "true") for k in ("all_words", "no_expand")}
        return cls(query, filters, year_from, year_to, offset, limit, **flags)

    # -- the library request -----------------------------------------------------------------

    def year_ranges(self) -> tuple[str, ...]:
        """The --year values: those given as `year`, and `from`-`to` as one range."""
        years = self.filters.get("year", ())
        if self.year_from is None and self.year_to is None:
            return years
        span = f"{self.year_from or ''}-{self.year_to or ''}"
        return (*years, span)

    def make_filters(self):
        """The library's Filters for this state (a UsageError names a bad value)."""
        from ..search import make_filters

        kwargs = {FILTER_PARAMS[k]: v for k, v in self.filters.items() if k != "year"}
        return make_filters(years=self.year_ranges(), **kwargs)

    def request(self, *, limit: int | None = None, offset: int | None = None):
        """The SearchRequest of `scrsearch search` with the same query and options."""
        from ..search import SearchRequest

        options = {}
        known = {f.name for f in dataclasses.fields(SearchRequest)}
        if self.all_words and "all_words" in known:
            options["all_words"] = True
        if self.no_expand and "expand" in known:
            options["expand"] = False
        return SearchRequest(
            query=self.query,
            filters=self.make_filters(),
            limit=self.limit if limit is None else limit,
            offset=self.offset if offset is None else offset,
            **options,
        )

    # -- links ---------------------------------------------------------------------------------

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1

    def pairs(self, *, paging: bool = True) -> list[tuple[str, str]]:
        """The state as query-string pairs, in a stable order."""
        out: list[tuple[str, str]] = [("q", self.query)] if self.query else []
        for name in FILTER_PARAMS:
            out.extend((name, v) for v in self.filters.get(name, ()))
        if self.year_from is not None:
            out.append(("from", str(self.year_from)))
        if self.year_to is not None:
            out.append(("to", str(self.year_to)))
        out += [(k, "1") for k in ("all_words", "no_expand") if getattr(self, k)]
        if paging:
            if self.limit != PER_PAGE:
                out.append(("per_page", str(self.limit)))
            if self.page > 1:
                out.append(("page", str(self.page)))
        return out

    def query_string(self, *, paging: bool = True, extra: Iterable[tuple[str, str]] = ()) -> str:
        pairs = [*self.pairs(paging=paging), *extra]
        return ("?" + urlencode(pairs)) if pairs else ""

    def url(self, path: str = "/", **kw) -> str:
        return path + self.query_string(**kw)

    def _with(self, **changes) -> SearchState:
        values = {
            "query": self.query, "filters": dict(self.filters), "year_from": self.year_from,
            "year_to": self.year_to, "offset": 0, "limit": self.limit,
            "all_words": self.all_words, "no_expand": self.no_expand,
        }  # fmt: skip
        values.update(changes)
        return SearchState(**values)

    def has(self, name: str, value: object) -> bool:
        return str(value) in self.filters.get(name, ())

    def adding(self, name: str, value: object) -> str:
        """The URL of this search with one more filter value (back on page 1)."""
        filters = dict(self.filters)
        filters[name] = (*filters.get(name, ()), str(value))
        return self._with(filters=filters).url()

    def removing(self, name: str, value: object) -> str:
        """The URL of this search without one filter value (back on page 1)."""
        filters = dict(self.filters)
        filters[name] = tuple(v for v in filters.get(name, ()) if v != str(value))
        if not filters[name]:
            del filters[name]
        return self._with(filters=filters).url()

    def without_years(self) -> str:
        return self._with(year_from=None, year_to=None).url()

    def at_page(self, page: int) -> str:
        return self._with(offset=(page - 1) * self.limit).url()

    def chosen(self) -> list[tuple[str, str]]:
        """Every filter value set, as (parameter, value)."""
        return [(n, v) for n in FILTER_PARAMS for v in self.filters.get(n, ())]
