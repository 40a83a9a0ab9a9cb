"""Searching a home: the library's entry points, gathered from the modules that do the work.

`search`, `iter_passages` and `matching_reports` are results.py; filters are filters.py;
highlights and snippets highlight.py; the query syntax syntax.py; best-match queries
query.py and bestmatch.py; the index behind them is the engine (engine/).
"""

from __future__ import annotations

from .engine import PASSAGES_PER_REPORT
from .filters import Filters, make_filters, parse_year_range
from .highlight import SNIPPET_CHARS, CueMarks, Highlighter, snippet
from .results import (
    SearchRequest,
    iter_passages,
    matching_reports,
    query_highlighter,
    report_json,
    search,
)
from .syntax import MAX_QUERY_CHARS, QUERY_FIELDS

__all__ = [
    "MAX_QUERY_CHARS",
    "PASSAGES_PER_REPORT",
    "QUERY_FIELDS",
    "SNIPPET_CHARS",
    "CueMarks",
    "Filters",
    "Highlighter",
    "SearchRequest",
    "iter_passages",
    "make_filters",
    "matching_reports",
    "parse_year_range",
    "query_highlighter",
    "report_json",
    "search",
    "snippet",
]
