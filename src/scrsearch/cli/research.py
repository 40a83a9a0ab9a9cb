"""What researchers take away: export (passages as CSV or JSONL) and stats (report counts)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import export as exporting
from ..facets import TAG_FACETS
from . import main
from .options import LazyChoice, emit_json, filter_options, home_of, match_options, pop_filters

if TYPE_CHECKING:
    from .. import stats as statistics


@main.command(name="export")
@click.argument("query", required=False, default="")
@filter_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(exporting.FORMATS),
    default="csv",
    show_default=True,
    help="csv (one row a passage) or jsonl (one object a line).",
)
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="FILE",
    show_default=True,
    help="File to write (atomically: complete or not at all); - is stdout.",
)
@click.option(
    "--all-passages",
    is_flag=True,
    help="Every passage of each matching report, not only the matching ones.",
)
@click.option(
    "--excel",
    is_flag=True,
    help="CSV as UTF-8 with a byte-order mark, so Excel reads accents right.",
)
@match_options
@click.option(
    "--all-copies",
    is_flag=True,
    help="Every file's passages, not one copy's per review.",
)
@click.pass_context
def export_cmd(
    ctx, query, fmt, output, all_passages, excel, all_words, no_expand, all_copies, **kwargs
):
    """Export every passage matching QUERY and the filters, one row a passage.

    \b
    Columns: report_id, sha256, review_id, title, subject, locality, region, nation, year,
    doc_type, source, url, fetched_at, page, ordinal, matched, text, highlighted
    (the best fragments, matches in <mark>), terms (the index terms that matched),
    passage_tags, report_tags, score. In CSV, lists are joined with "; ".

    Rows are streamed (memory stays flat), reports in year-title order and passages in
    page order, so the same query on the same index gives the same file. The query,
    filters, scrsearch version, index generation and time are recorded: for JSONL as
    the first line ({"type": "meta", ...}), for CSV in FILE.meta.json. CSV cells that
    start with = + - @ tab or carriage return get a leading ' so spreadsheets never run
    them as formulas. A summary goes to stderr; stdout carries only the export.
    QUERY syntax is that of `scrsearch search`; with no QUERY, every passage of the
    reports that pass the filters. Each review (a report and its copies and versions)
    gives the rows of one copy, its primary when that matches; review_id names the
    review. --all-copies exports every file's rows.
    """
    from ..search import SearchRequest

    home = home_of(ctx)
    request = SearchRequest(
        query=query,
        filters=pop_filters(kwargs),
        all_words=all_words,
        expand=not no_expand,
        all_copies=all_copies,
    )
    summary = exporting.export(
        home, request, fmt=fmt, output=output, all_passages=all_passages, excel=excel,
        stdout=sys.stdout,
    )  # fmt: skip
    where = "stdout" if summary.path is None else str(summary.path)
    meta = f" (provenance in {summary.meta_path})" if summary.meta_path else ""
    click.echo(
        f"Exported {summary.rows:,} passage(s) from {summary.reports} report(s) to {where}{meta}; "
        f"index {summary.meta['index_generation']}.",
        err=True,
    )


# -- stats -------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


def aligned(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A text table: columns padded to their widest cell, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(r[i], int | float) for r in rows) for i in range(len(headers))]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(values, widths, numeric, strict=True)]  # fmt: skip
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)]


def _crosstab_lines(table: statistics.CountTable) -> list[str]:
    first, second = table.by
    rows = list(dict.fromkeys(r[first] for r in table.rows))
    cols = list(dict.fromkeys(r[second] for r in table.rows))
    grid = {(r[first], r[second]): r["count"] for r in table.rows}
    headers = [f"{first} \\ {second}", *(_cell(c) for c in cols)]
    return aligned(headers, [[a, *(grid[(a, b)] for b in cols)] for a in rows])


def _csv_text(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(
            [
                "" if v is None else exporting.neutralise_cell(v) if isinstance(v, str) else v
                for v in row
            ]  # fmt: skip
        )
    return buffer.getvalue().rstrip("\n")


@main.command(name="stats")
@click.argument("query", required=False, default="")
@filter_options
@click.option(
    "--by",
    "by",
    multiple=True,
    type=LazyChoice("..stats", "STATS_FIELDS"),
    help="Count reports per value of this field; twice for a cross-tab.",
)
@click.option(
    "--cooccurrence",
    type=click.Choice(TAG_FACETS),
    help="Count reports in which terms of this facet appear together.",
)
@click.option(
    "--size",
    default=2,
    show_default=True,
    type=click.IntRange(2, 6),
    help="With --cooccurrence: how many terms together (2 pairs, 3 triples).",
)
@click.option(
    "--term",
    "terms",
    multiple=True,
    metavar="ID",
    help="With --cooccurrence: only these terms (repeat), zero counts shown.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True
)
@click.option("--all-copies", is_flag=True, help="Count every file, not one per review.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.png",
    help="Also draw a bar chart (one --by) or heat map (two --by, pairs); needs "
    "the plot extra: pip install 'scrsearch[plot]'.",
)
@match_options
@click.pass_context
def stats_cmd(
    ctx, query, by, cooccurrence, size, terms, fmt, all_copies, plot, all_words, no_expand, **kwargs
):
    """Count REVIEWS (not passages) matching QUERY and the filters, by field or tag.

    Copies of one review (re-hosted, re-saved, redacted) and its older versions count once,
    under its primary's metadata; --all-copies counts every file.

    \b
    Examples:
      scrsearch stats --by year                       reports a year (gaps shown as 0)
      scrsearch stats neglect --by region --by theme  a cross-tab
      scrsearch stats --cooccurrence risk_factor --size 3 --term domestic_abuse \\
          --term parental_mental_health --term parental_substance_misuse   (toxic trio)

    A report with several values (its themes) counts once under each; a report with none
    counts under (none). With one --year range, every year in it is listed. JSON:
    {"by": [FIELD, ...], "rows": [{FIELD: value, ..., "count": n}, ...], "total": n};
    for --cooccurrence: {"cooccurrence": FACET, "size": n, "terms": [...],
    "rows": [{"terms": [...], "count": n, "share": f}], "total": n}.
    """
    from .. import stats as statistics
    from ..search import SearchRequest

    home = home_of(ctx)
    filters = pop_filters(kwargs)
    request = SearchRequest(
        query=query,
        filters=filters,
        all_words=all_words,
        expand=not no_expand,
        all_copies=all_copies,
    )
    if cooccurrence and by:
        raise click.UsageError("give either --by or --cooccurrence, not both")
    if not cooccurrence and (terms or size != 2):
        raise click.UsageError("--term and --size go with --cooccurrence FACET")
    if plot is not None:
        statistics.check_plot_target(plot)
        statistics.pyplot()  # a missing matplotlib is a usage error before any counting
    if cooccurrence:
        pairs = statistics.cooccurrence(home, request, cooccurrence, size=size, terms=terms)
        _show_cooccurrence(pairs, fmt)
        if plot is not None:
            statistics.plot_cooccurrence(pairs, plot)
    else:
        table = statistics.count_reports(home, request, by)
        _show_counts(table, fmt)
        if plot is not None:
            statistics.plot_counts(table, plot)
    if plot is not None:
        click.echo(f"Wrote the chart to {plot}", err=True)


def _show_counts(table: statistics.CountTable, fmt: str) -> None:
    if fmt == "json":
        emit_json(table.to_json())
        return
    headers = [*table.by, "count"]
    rows = [[r[f] for f in table.by] + [r["count"]] for r in table.rows]
    if fmt == "csv":
        click.echo(_csv_text(headers, rows))
        return
    lines = _crosstab_lines(table) if len(table.by) == 2 else aligned(headers, rows)
    click.echo("\n".join(lines))
    click.echo(f"\n{table.total} report(s) in all", err=True)


def _show_cooccurrence(table: statistics.CooccurrenceTable, fmt: str) -> None:
    if fmt == "json":
        emit_json(table.to_json())
        return
    headers = ["terms", "reports", "share"]
    rows = [[" + ".join(r["terms"]), r["count"], r["share"]] for r in table.rows]
    if fmt == "csv":
        click.echo(_csv_text(headers, rows))
        return
    singles = [[t, n, (n / table.total if table.total else 0.0)] for t, n in table.singles.items()]
    click.echo("\n".join(aligned([table.facet, "reports", "share"], singles)))
    click.echo("")
    click.echo("\n".join(aligned([f"{table.size} together", "reports", "share"], rows)))
    click.echo(f"\n{table.total} report(s) in all", err=True)
