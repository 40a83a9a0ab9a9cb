"""`scrsearch review merge|split`: group copies of one review by hand, or take one out."""

from __future__ import annotations

import click

from . import main
from .options import emit_json, home_of


@main.group(name="review")
def review_group():
    """Correct the grouping of copies into reviews by hand (kept across re-indexing).

    Copies of one review are found by their text when documents are indexed (see the
    README, "Reviews: one review, many copies"); these commands force or undo a grouping.
    """


@review_group.command(name="merge")
@click.argument("first")
@click.argument("second")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def merge_cmd(ctx, first, second, fmt):
    """Put SECOND's review (all its copies) into FIRST's review."""
    from .. import reviews

    review, docs = reviews.merge(home_of(ctx), first, second)
    if fmt == "json":
        emit_json({"review_id": review, "reports": [d.report_id for d in docs]})
        return
    click.echo(f"review {review}: " + ", ".join(d.report_id for d in docs))
    click.echo("Merged; kept across re-indexing (undo with scrsearch review split).", err=True)


@review_group.command(name="split")
@click.argument("report_id")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def split_cmd(ctx, report_id, fmt):
    """Take REPORT_ID out of its review: it stands alone as a review of its own."""
    from .. import reviews

    doc, others = reviews.split(home_of(ctx), report_id)
    left = [sha[:12] for sha in others]
    if fmt == "json":
        emit_json({"review_id": doc.report_id, "left": left})
        return
    if not left:
        click.echo(f"{doc.report_id} already stands alone; it will not be grouped by text "
                   "with anything it was split from", err=True)  # fmt: skip
        return
    click.echo(f"review {doc.report_id}: {doc.report_id}")
    click.echo(f"Split from {', '.join(left)}; kept across re-indexing.", err=True)
