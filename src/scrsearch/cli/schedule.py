"""Scheduled and upkeep commands: update (crawl, index, watches), watch, check."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import EXIT_FAILED, main
from .options import (
    crawl_options,
    emit_json,
    filter_options,
    home_of,
    pop_filters,
    progress_bar,
    wrap,
)

if TYPE_CHECKING:
    from .. import update as updating

# -- update ------------------------------------------------------------------------------------


@main.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@crawl_options
@click.option(
    "--to",
    "watch_to",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Append the watches' new reports to this JSONL file.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="For cron: print nothing unless something failed."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout."
)
@click.pass_context
def update(ctx, sources, max_documents, delay, watch_to, quiet, as_json):
    """Crawl SOURCEs (every enabled one by default), index what changed, run every watch.

    \b
    One update at a time per home: a second one exits at once with code 75, and a
    lock left by a process that died is taken over (and said so). Searches keep
    working meanwhile and see new documents once the index commits them.
    Exit codes: 0 all went well; 1 some documents or watches failed, but the index
    was updated; 2 usage error; 75 another run holds the home.
    `scrsearch sources` lists the sources; scripts/ has a crontab line and a
    systemd service and timer that run `scrsearch update --quiet`.
    """
    from .. import update as updating
    from ..fetch import Fetcher

    home = home_of(ctx)
    lines: list[str] = []

    def progress(line: str) -> None:
        if quiet:
            lines.append(line)  # kept for the report if something fails
        else:
            click.echo(line, err=True)

    with Fetcher(delay=delay) as fetcher:
        summary = updating.run_update(
            home, sources, max_documents=max_documents, fetcher=fetcher, watch_to=watch_to,
            progress=progress,
        )  # fmt: skip
    if summary.stale_lock_from:  # said even with --quiet: someone should know a run died
        click.echo(f"took over a lock left by dead process {summary.stale_lock_from}", err=True)
    if as_json:
        emit_json(summary.to_json())
    if not quiet or summary.failed:
        _update_report(summary, lines if quiet else [])
    if summary.failed:
        ctx.exit(EXIT_FAILED)


def _update_report(summary: updating.UpdateSummary, earlier: list[str]) -> None:
    for line in earlier:
        click.echo(line, err=True)
    for failure in summary.crawl.failures:
        click.echo(f"failed: {failure.url} ({failure.source}): {failure.reason}", err=True)
    for doc, reason in summary.index.failed:
        click.echo(f"failed: {doc.sha256} {doc.original_name}: {reason}", err=True)
    for name, reason in summary.watch_failures:
        click.echo(f"failed: watch {name}: {reason}", err=True)
    if summary.index.stopped:
        click.echo(f"failed: indexing stopped: {summary.index.stopped}", err=True)
    crawl, index = summary.crawl, summary.index
    found = ", ".join(f"{w.watch} {len(w.new)} new" for w in summary.watches) or "no watches"
    click.echo(
        f"Update done in {summary.seconds:.1f}s: documents {crawl.new} new, {crawl.changed} "
        f"changed, {crawl.unchanged} unchanged, {crawl.failed} failed; indexed "
        f"{index.indexed} report(s), {index.passages:,} passages ({len(index.failed)} failed, "
        f"{len(index.needs_ocr)} need OCR); watches: {found}.",
        err=True,
    )


# -- watch -------------------------------------------------------------------------------------


@main.group()
def watch():
    """Saved searches that report reports newly matching since they last ran.

    \b
    A report is new to a watch once: newness is by report, not by score.
    `watch add` records every report matching at that moment as already seen, so a
    watch reports only what arrives later (give --include-existing to have its
    first run report everything that matches). `scrsearch update` runs every watch.
    """


@watch.command(name="add")
@click.argument("name")
@click.argument("query", required=False, default="")
@filter_options
@click.option(
    "--include-existing",
    is_flag=True,
    help="Let the first run report every report matching now (default: they "
    "count as seen, and only later arrivals are reported).",
)
@click.pass_context
def watch_add(ctx, name, query, include_existing, **kwargs):
    """Save a watch NAME for QUERY and the filters (the syntax of `scrsearch search`)."""
    from .. import watch as watching
    from ..search import SearchRequest

    home = home_of(ctx)
    request = SearchRequest(query=query, filters=pop_filters(kwargs))
    saved = watching.add_watch(home, name, request, include_existing=include_existing)
    what = "none yet seen" if include_existing else f"{saved.seen} matching report(s) marked seen"
    click.echo(f"Added watch {saved.name} ({what}); `scrsearch watch run {name}`.", err=True)


_OPTION_OF = {
    "localities": "--locality", "regions": "--region", "nations": "--nation", "years": "--year",
    "doc_types": "--doc-type", "sources": "--source", "subjects": "--subject",
    "themes": "--theme", "risks": "--risk", "issues": "--issue",
}  # fmt: skip


def _filter_words(filters: dict) -> list[str]:
    """Filters as the options that would give them, e.g. --year 2018- --risk domestic_abuse."""
    words = []
    for key, values in filters.items():
        for value in values:
            if key == "years":
                lo, hi = value
                value = (
                    str(lo) if lo == hi else f"{lo if lo > 1900 else ''}-{hi if hi < 2100 else ''}"
                )
            words.append(f"{_OPTION_OF.get(key, key)} {shlex.quote(str(value))}")
    return words


@watch.command(name="list")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def watch_list(ctx, fmt):
    """List the watches: name, query, filters, reports seen, last run."""
    from .. import watch as watching

    watches = watching.list_watches(home_of(ctx))
    if fmt == "json":
        emit_json([w.to_json() for w in watches])
        return
    for saved in watches:
        filters = " ".join(_filter_words(saved.filters.to_json()))
        click.echo(f"{saved.name}: {saved.query or '(no query)'} {filters}".rstrip())
        click.echo(f"    {saved.seen} seen; last run {saved.last_run_at or 'never'}")
        if saved.problem:
            click.echo(wrap(f"cannot run: {saved.problem}", "      ", first="    ! "))
    if not watches:
        click.echo("No watches yet: `scrsearch watch add NAME QUERY`.", err=True)


@watch.command(name="remove")
@click.argument("name")
@click.pass_context
def watch_remove(ctx, name):
    """Delete watch NAME and what it has seen."""
    from .. import watch as watching

    watching.remove_watch(home_of(ctx), name)
    click.echo(f"Removed watch {name}.", err=True)


@watch.command(name="run")
@click.argument("name", required=False)
@click.option(
    "--to",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also append each new report as a JSON line ({'watch', 'found_at', ...}).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def watch_run(ctx, name, to, fmt):
    """Report the reports newly matching watch NAME (every watch when no NAME).

    \b
    JSON: {"watch": NAME, "new": [report objects as in search results]} for one
    watch; a list of those when no NAME is given.
    """
    from .. import watch as watching

    runs = watching.run_watches(home_of(ctx), [name] if name else [], to=to)
    if fmt == "json":
        emit_json(runs[0].to_json() if name else [r.to_json() for r in runs])
        return
    for run in runs:
        if run.error:
            continue
        click.echo(f"{run.watch}: {len(run.new)} new of {run.matching} matching")
        for entry in run.new:
            bits = [entry.get("locality") or "no locality", entry.get("year") or "year ?"]
            click.echo(f"  {entry['report_id']}  {entry['title']}")
            click.echo(wrap(" · ".join(str(b) for b in bits), "      "))
    for run in runs:
        if run.error:
            click.echo(f"failed: watch {run.watch}: {run.error}", err=True)
    if any(run.error for run in runs):
        ctx.exit(EXIT_FAILED)


# -- check -------------------------------------------------------------------------------------


@main.command(name="check")
@click.option(
    "--repair",
    is_flag=True,
    help="Fix what can be fixed, then check again: rebuild a lost catalogue from the "
    "originals' sidecars, fetch damaged originals again from their URL (else mark them "
    "failed), extract damaged cached text again, rebuild a damaged index, index missing "
    "reports again, drop unknown reports from the index.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def check_cmd(ctx, repair, fmt):
    """Verify originals, text cache, catalogue and index agree; name each problem.

    \b
    Re-hashes every original against its sha256, reads each indexed report's cached
    text, verifies the index's files against their manifest and reads every stored
    field and posting list once, checks that every indexed report has passages in the
    index and that the index holds no report the catalogue lacks.
    Problems: missing_catalogue, missing_original, damaged_original,
    uncatalogued_original, damaged_text, damaged_index, stale_generation,
    not_in_index, not_in_catalogue.
    Exit code 1 when a problem is found (with --repair: when one is left unfixed).
    """
    from .. import check as checking

    home = home_of(ctx)
    with progress_bar("Hashing") as progress:
        report = checking.check(home, repair=repair, progress=progress)
    if fmt == "json":
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            click.echo(f"{problem.kind:<17} {problem.sha256}  {problem.detail}")
            if problem.repair:
                mark = "fixed" if problem.fixed else "NOT fixed"
                click.echo(f"{'':<17} {mark}: {problem.repair}")
    if report.stale_lock_from:
        click.echo(f"took over a lock left by dead process {report.stale_lock_from}", err=True)
    verdict = "all consistent" if not report.problems else (
        "all repaired" if report.ok else f"{sum(not p.fixed for p in report.problems)} problem(s)"
    )  # fmt: skip
    click.echo(
        f"Checked {report.documents} document(s): {report.originals_hashed} originals hashed, "
        f"{report.indexed_reports} report(s) in the index; {verdict}.",
        err=True,
    )
    if not report.ok:
        ctx.exit(EXIT_FAILED)
