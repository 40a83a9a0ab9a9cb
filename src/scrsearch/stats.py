"""Counts of reports by metadata or tag, cross-tabs, and co-occurrence of a facet's terms.

Every count is of REVIEWS (one report per group of copies and versions, see reviews.py; with
`all_copies`, of report files), never passages. The report set is what `search` matches for the
same query and filters (`search.matching_reports`). A report with several values of a multi-valued
field (its themes, say) counts once under each; a report with none counts under None, so the
table always accounts for every report.
"""

from __future__ import annotations

import io
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import facets, reviews, tagging
from .config import Home
from .errors import UsageError
from .models import Document, ReportTag
from .search import SearchRequest, matching_reports
from .store import Store, write_atomically

#: Fields reports can be counted by (facets.py).
STATS_FIELDS = facets.STATS_FIELDS
#: A year range wider than this is not filled with empty years.
MAX_YEAR_SPAN = 100
#: The ends `search.parse_year_range` gives an open range ("2015-", "-2015").
OPEN_YEAR_LO, OPEN_YEAR_HI = 1900, 2100


@dataclass(frozen=True)
class CountTable:
    """Report counts by one field, or a cross-tab by two (every combination, zeros included)."""

    by: tuple[str, ...]
    rows: list[dict]  # {field: value, ..., "count": n}
    total: int  # reports in the set

    def to_json(self) -> dict:
        return {"by": list(self.by), "rows": self.rows, "total": self.total}


@dataclass(frozen=True)
class CooccurrenceTable:
    """How many reports have every term of each combination of a facet's terms."""

    facet: str
    size: int
    singles: dict[str, int]  # term id -> reports with it
    rows: list[dict]  # {"terms": [...], "count": n, "share": fraction of total}
    total: int

    def to_json(self) -> dict:
        return {
            "cooccurrence": self.facet,
            "size": self.size,
            "terms": [
                {"term": t, "count": n, "share": _share(n, self.total)}
                for t, n in self.singles.items()
            ],  # fmt: skip
            "rows": self.rows,
            "total": self.total,
        }


@dataclass(frozen=True)
class _Reports:
    documents: dict[str, Document]
    tags: dict[str, list[ReportTag]]

    def values(self, sha: str, field: str) -> list:
        """A report's values of a field; [None] when it has none, so it is still counted."""
        return facets.facet_values(field, self.documents[sha], self.tags.get(sha, ())) or [None]


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def _report_set(home: Home, request: SearchRequest) -> _Reports:
    """The catalogued, indexed reports the request matches, with their tags: one report per
    review (its primary when that matches; reviews.Groups.fold), or every file with
    `request.all_copies`."""
    shas = matching_reports(home, request)
    if not request.all_copies:
        shas = reviews.groups_of(home).fold(shas)
    with Store(home) as store:
        docs = {d.sha256: d for d in store.documents(["indexed"]) if d.sha256 in shas}
        tags = store.all_report_tags()
    return _Reports(docs, {sha: tags.get(sha, []) for sha in docs})


def check_fields(by: Sequence[str]) -> tuple[str, ...]:
    """Check --by values: one or two known fields, not the same twice."""
    if not by:
        raise UsageError(f"give --by FIELD (one of: {', '.join(STATS_FIELDS)}) or --cooccurrence")
    if len(by) > 2:
        raise UsageError("--by may be given at most twice (a cross-tab of two fields)")
    for field in by:
        if field not in STATS_FIELDS:
            raise UsageError(f"--by {field!r} is not one of: {', '.join(STATS_FIELDS)}")
    if len(by) == 2 and by[0] == by[1]:
        raise UsageError(f"--by {by[0]} was given twice: name two different fields")
    return tuple(by)


def _ordered(field: str, counts: Counter, year_range: tuple[int, int] | None) -> list:
    """A field's values in display order; years ascending with the gaps filled."""
    values = list(counts)
    if field == "year":
        years = [v for v in values if v is not None]
        lo, hi = (min(years), max(years)) if years else (0, -1)
        if year_range:  # a closed end of --year wins; an open end (1900, 2100) does not
            lo = year_range[0] if year_range[0] > OPEN_YEAR_LO else lo
            hi = year_range[1] if year_range[1] < OPEN_YEAR_HI else hi
        if hi - lo > MAX_YEAR_SPAN:
            lo, hi = (min(years), max(years)) if years else (0, -1)
        filled = set(range(lo, hi + 1)) | set(years)
        return sorted(filled) + ([None] if None in counts else [])
    ranked = sorted((v for v in values if v is not None), key=lambda v: (-counts[v], str(v)))
    return ranked + ([None] if None in counts else [])


def year_range_of(request: SearchRequest) -> tuple[int, int] | None:
    """The year range the filters ask for (one --year), to show empty years in."""
    return request.filters.years[0] if len(request.filters.years) == 1 else None


def count_reports(home: Home, request: SearchRequest, by: Sequence[str]) -> CountTable:
    """Reports per value of one field, or per pair of values of two (a cross-tab)."""
    by = check_fields(by)
    reports = _report_set(home, request)
    year_range = year_range_of(request)
    singles = {field: Counter() for field in by}
    pairs: Counter = Counter()
    for sha in reports.documents:
        values = [reports.values(sha, field) for field in by]
        for field, found in zip(by, values, strict=True):
            singles[field].update(found)
        if len(by) == 2:
            pairs.update(itertools.product(*values))
    orders = [_ordered(field, singles[field], year_range) for field in by]
    if len(by) == 1:
        rows = [{by[0]: v, "count": singles[by[0]][v]} for v in orders[0]]
    else:
        rows = [
            {by[0]: a, by[1]: b, "count": pairs[(a, b)]}
            for a, b in itertools.product(orders[0], orders[1])
        ]
    return CountTable(by, rows, len(reports.documents))


def cooccurrence(
    home: Home, request: SearchRequest, facet: str, *, size: int = 2, terms: Iterable[str] = ()
) -> CooccurrenceTable:
    """How many reports carry every term of each `size`-combination of a facet's terms.

    With `terms`, only those terms are combined and every combination is listed (zeros too),
    e.g. the toxic trio: domestic_abuse, parental_mental_health, parental_substance_misuse.
    Without, derived terms (such as toxic_trio itself) are left out and only combinations that
    occur are listed, most frequent first.
    """
    if facet not in facets.TAG_FACETS:
        raise UsageError(
            f"--cooccurrence {facet!r} is not a tag facet; use one of: "
            f"{', '.join(facets.TAG_FACETS)}"
        )
    taxonomy = tagging.load_taxonomy()
    wanted = list(dict.fromkeys(terms))
    for term_id in wanted:
        term = taxonomy.terms.get(term_id)
        if term is None or term.facet != facet:
            known = ", ".join(t.id for t in taxonomy.by_facet(facet))
            raise UsageError(f"--term {term_id!r} is not a {facet}; use one of: {known}")
    pool = wanted or [t.id for t in taxonomy.by_facet(facet) if not t.derived]
    if not 2 <= size <= max(len(pool), 2):
        raise UsageError(f"--size {size}: combine between 2 and {len(pool)} terms")
    reports = _report_set(home, request)
    chosen = set(pool)
    per_report = [
        sorted({t.term_id for t in reports.tags.get(sha, ()) if t.term_id in chosen})
        for sha in reports.documents
    ]
    singles = Counter(t for found in per_report for t in found)
    combos = Counter(c for found in per_report for c in itertools.combinations(found, size))
    total = len(reports.documents)
    if wanted:
        order = {t: i for i, t in enumerate(pool)}
        keys = [tuple(sorted(c, key=order.get)) for c in itertools.combinations(pool, size)]
        counted = [(k, combos[tuple(sorted(k))]) for k in keys]
        listed = {t: singles[t] for t in pool}
    else:
        counted = sorted(combos.items(), key=lambda kv: (-kv[1], kv[0]))
        listed = dict(sorted(singles.items(), key=lambda kv: (-kv[1], kv[0])))
    rows = [{"terms": list(k), "count": n, "share": _share(n, total)} for k, n in counted]
    return CooccurrenceTable(facet, size, listed, rows, total)


# -- plots -------------------------------------------------------------------------------------


def pyplot():
    """matplotlib's pyplot on a file-only backend; a usage error when it is not installed."""
    try:
        import matplotlib
    except ImportError as exc:
        raise UsageError(
            "--plot needs matplotlib, which is not installed: pip install 'scrsearch[plot]' "
            "(or drop --plot)"
        ) from exc
    matplotlib.use("Agg")  # files only: no display needed under cron or ssh
    import matplotlib.pyplot as plt

    return plt


def _label(value: object) -> str:
    return "(none)" if value is None else str(value)


def check_plot_target(path: Path) -> None:
    """Check a --plot file name before any work is done."""
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--plot {path}: name a .png, .svg or .pdf file")
    if not path.parent.is_dir():
        raise UsageError(f"--plot {path}: the folder {path.parent} does not exist")


def _save(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lower().lstrip("."), dpi=120)
    write_atomically(path, buffer.getvalue())


def plot_counts(table: CountTable, path: Path, *, title: str = "") -> None:
    """A bar chart of one field's counts, or a heat map of a cross-tab, saved to `path`."""
    check_plot_target(path)
    plt = pyplot()
    if len(table.by) == 1:
        field = table.by[0]
        labels = [_label(r[field]) for r in table.rows]
        fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(labels) + 2), 4.5))
        ax.bar(labels, [r["count"] for r in table.rows], color="#33669a")
        ax.set_xlabel(field)
        ax.set_ylabel("reports")
        ax.tick_params(axis="x", labelrotation=60 if len(labels) > 6 else 0)
    else:
        first, second = table.by
        rows = list(dict.fromkeys(r[first] for r in table.rows))
        cols = list(dict.fromkeys(r[second] for r in table.rows))
        grid = {(r[first], r[second]): r["count"] for r in table.rows}
        matrix = [[grid[(a, b)] for b in cols] for a in rows]
        fig = _heatmap(plt, matrix, [_label(v) for v in rows], [_label(v) for v in cols])
        fig.axes[0].set_ylabel(first)
        fig.axes[0].set_xlabel(second)
    fig.axes[0].set_title(title or f"reports by {' and '.join(table.by)} (n={table.total})")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_cooccurrence(table: CooccurrenceTable, path: Path) -> None:
    """Pairs: a heat map (reports with both terms; the diagonal, with one). Larger: bars."""
    check_plot_target(path)
    plt = pyplot()
    if table.size == 2:
        terms = [t for t, n in table.singles.items() if n] or list(table.singles)
        pairs = {}
        for row in table.rows:
            a, b = row["terms"]
            pairs[(a, b)] = pairs[(b, a)] = row["count"]
        matrix = [
            [table.singles[a] if a == b else pairs.get((a, b), 0) for b in terms] for a in terms
        ]
        fig = _heatmap(plt, matrix, terms, terms)
        fig.axes[0].set_title(f"{table.facet}: reports with both terms (n={table.total})")
    else:
        shown = table.rows[:30]
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(shown) + 2))
        ax.barh([" + ".join(r["terms"]) for r in shown][::-1],
                [r["count"] for r in shown][::-1], color="#33669a")  # fmt: skip
        ax.set_xlabel("reports")
        ax.set_title(f"{table.facet}: reports with all {table.size} terms (n={table.total})")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _heatmap(plt, matrix: list[list[int]], rows: list[str], cols: list[str]):
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(cols) + 3), max(4, 0.4 * len(rows) + 2)))
    image = ax.imshow(matrix, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    if len(rows) * len(cols) <= 400:
        peak = max((max(r) for r in matrix if r), default=0)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                colour = "white" if peak and value > peak / 2 else "black"
                ax.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=8)
    fig.colorbar(image, ax=ax, label="reports")
    return fig
