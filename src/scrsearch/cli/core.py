"""Core commands: add, index, search, reports, show."""

from __future__ import annotations

import re
import sys

import click

from ..errors import UsageError
from ..facets import TAG_FACETS
from ..models import DOC_TYPES, STATUSES
from ..store import Store
from . import EXIT_FAILED, main
from .options import (
    emit_json,
    filter_options,
    home_of,
    match_options,
    pop_filters,
    progress_bar,
    width,
    wrap,
)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--title", help="The documents' title (otherwise read from the text).")
@click.option("--locality", help="The local authority they concern, e.g. Calderdale.")
@click.option("--year", type=click.IntRange(1900, 2100), help="Year of publication.")
@click.option("--doc-type", type=click.Choice(DOC_TYPES), help="Document type.")
@click.option("--subject", help="The child's pseudonym or name, e.g. 'Child D'.")
@click.option("--source", default="local", show_default=True, help="Where they came from.")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="A CSV naming files to add, one a row, with their metadata: columns file (relative "
    "to the CSV), title, locality, year, doc_type, subject, url.",
)
@click.pass_context
def add(ctx, paths, title, locality, year, doc_type, subject, source, manifest):
    """Add PDF files, or folders of PDFs (searched recursively), to the corpus.

    Each file is stored once under its sha256; adding the same bytes again does nothing.
    Options set metadata that inference from the text never overrides; a --manifest row's
    values come before the options. Run `scrsearch index` afterwards to make them searchable.
    """
    from .. import pipeline

    home = home_of(ctx)
    if not paths and manifest is None:
        raise UsageError("give PDF files or folders to add, or --manifest FILE.csv")
    meta = {"title": title, "locality": locality, "year": year, "doc_type": doc_type,
            "subject": subject}  # fmt: skip
    with progress_bar("Adding") as progress:
        summary = pipeline.add_paths(
            home, paths, meta=meta, source=source, manifest=manifest, progress=progress
        )
    for path, reason in summary.skipped:
        click.echo(f"skipped {path}: {reason}", err=True)
    for path, reason in summary.failed:
        click.echo(f"failed: {path}: {reason}", err=True)
    for doc in summary.duplicates:
        click.echo(f"already present: {doc.original_name} (id {doc.report_id})", err=True)
    click.echo(
        f"Added {len(summary.new)} new document(s) to {home.root}; "
        f"{len(summary.duplicates)} already present, {len(summary.skipped)} skipped"
        + (f", {len(summary.failed)} failed" if summary.failed else "")
        + ". Next: scrsearch index",
        err=True,
    )
    if summary.failed:
        ctx.exit(EXIT_FAILED)


@main.command()
@click.option("--rebuild", is_flag=True, help="Start over: index every document again.")
@click.option("--retry-failed", is_flag=True, help="Try failed and needs_ocr documents again.")
@click.pass_context
def index(ctx, rebuild, retry_failed):
    """Extract, tag and index every document added since the last run.

    Only new or changed documents are processed; extracted text is cached, so --rebuild does not
    extract again. Searches keep working while it runs and see the new documents when it ends.
    Exit code 1 when some documents failed (they are listed in `scrsearch reports`).
    """
    from .. import pipeline

    home = home_of(ctx)
    with progress_bar("Indexing") as progress:
        summary = pipeline.run_index(
            home, rebuild=rebuild, retry_failed=retry_failed, progress=progress
        )
    if summary.stale_lock_from:
        click.echo(f"took over a lock left by dead process {summary.stale_lock_from}", err=True)
    for doc in summary.needs_ocr:
        click.echo(f"needs OCR: {doc.original_name} ({doc.report_id}) has no text layer", err=True)
    # Why (Tesseract missing, and how to install it), said once.
    reason = (summary.needs_ocr[0].error or "") if summary.needs_ocr else ""
    if "cannot be OCR'd here: " in reason:
        click.echo(f"OCR could not run: {reason.partition(': ')[2]}", err=True)
    for doc, error in summary.failed:
        click.echo(f"failed: {doc.original_name} ({doc.report_id}): {error}", err=True)
    if summary.copies:
        click.echo(f"grouped {summary.copies} report(s) as copies or versions of another's "
                   "review (`scrsearch reports` shows which)", err=True)  # fmt: skip
    what = "Rebuilt the index" if summary.rebuilt else "Indexed"
    click.echo(
        f"{what}: {summary.indexed} report(s), {summary.passages:,} passages in "
        f"{summary.seconds:.1f}s; {summary.unchanged} unchanged, {len(summary.needs_ocr)} need "
        f"OCR, {len(summary.failed)} failed.",
        err=True,
    )
    if summary.stopped:
        kept = "the batches committed before it are kept"
        click.echo(f"Error: indexing stopped: {summary.stopped}; {kept}", err=True)
    if summary.failed or summary.stopped:
        ctx.exit(EXIT_FAILED)


def _highlight(snippet: str) -> str:
    if sys.stdout.isatty():
        return re.sub(r"<mark>(.*?)</mark>", lambda m: click.style(m.group(1), bold=True), snippet)
    return re.sub(r"<mark>(.*?)</mark>", r"*\1*", snippet)


def _describe(entry: dict) -> str:
    bits = [entry.get("locality") or "no locality", entry.get("year") or "year ?",
            entry.get("doc_type") or "type ?"]  # fmt: skip
    if entry.get("subject"):
        bits.insert(0, entry["subject"])
    return " · ".join(str(b) for b in bits) + f" · id {entry['report_id']}"


def _reading_notes(payload: dict) -> list[str]:
    """How a best-match query was read: places and years understood, expansions, ignored
    and unknown words, and whether what follows is only partial."""
    notes = []
    if payload.get("understood"):
        bits = ", ".join(f"{k} {v}" for k, v in payload["understood"].items())
        notes.append(f"understood: {bits} (ranked first; --locality/--year filter strictly)")
    for word, forms in (payload.get("expanded") or {}).items():
        notes.append(f"also searched for {word}: " + ", ".join(forms) + " (--no-expand: off)")
    if payload.get("ignored"):
        notes.append("ignored: " + " ".join(payload["ignored"]))
    for word in payload.get("unknown") or []:
        close = (payload.get("suggestions") or {}).get(word)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        notes.append(f"no passage holds {word!r}{hint}")
    if payload.get("partial"):
        notes.append("no report holds all the words together: partial matches follow")
    elif payload.get("match") == "best" and payload["results"] == [] and payload.get("unknown"):
        notes.append("nothing in the corpus matches these words")
    return notes


def render_results(payload: dict, *, facets_shown: int = 6) -> None:
    """Print search results for a person: reports, their best passages, facet counts."""
    total, shown = payload["total"], len(payload["results"])
    query = payload["query"] or "(no query: browsing)"
    click.echo(f"{total} report(s) match {query} ({payload['passages_total']} passages)")
    for line in _reading_notes(payload):
        click.echo(wrap(line, "  "))
    for n, entry in enumerate(payload["results"], payload["offset"] + 1):
        click.echo("")
        title = entry["title"] + ("  [partial]" if entry.get("partial") else "")
        click.echo(click.style(wrap(title, " " * 4, first=f"{n:>2}. "), bold=True))
        click.echo(wrap(_describe(entry), "    "))
        copies = [c["report_id"] for c in entry.get("copies", ()) if c["sha256"] != entry["sha256"]]
        if copies:
            click.echo(wrap(f"review {entry['review_id']}; also: {', '.join(copies)}", "    "))
        if entry.get("partial") and entry.get("missing"):
            click.echo(wrap("lacks: " + ", ".join(entry["missing"]), "    "))
        if entry.get("score_parts"):
            parts = " · ".join(f"{k} {v}" for k, v in entry["score_parts"].items())
            click.echo(wrap(f"score {entry['score']}: {parts}", "    "))
        for passage in entry["passages"]:
            text = _highlight(passage["highlighted"])
            click.echo(wrap(text, " " * 10, first=f"    p.{passage['page']:<5}"))
        for tag in entry.get("explain") or []:
            cues = ", ".join(f"{c['cue']} ×{c['count']}" for c in tag["cues"])
            click.echo(
                wrap(f"{tag['id']} ({tag['passages']} passages): {cues}", " " * 8, first="    why ")
            )
    facets = {k: v for k, v in payload["facets"].items() if v}
    if facets:
        click.echo("\nCounts of matching reports:")
        for facet, values in facets.items():
            listed = " · ".join(f"{v['value']} {v['count']}" for v in values[:facets_shown])
            more = f" · +{len(values) - facets_shown} more" if len(values) > facets_shown else ""
            click.echo(wrap(listed + more, " " * 17, first=f"  {facet:<15}"))
    end = payload["offset"] + shown
    if shown == 0 and payload["offset"] < total:
        click.echo(f"\nNo reports shown (--limit {payload['limit']}); --limit N shows N of {total}")
    elif payload.get("partial_total") and end < total + payload["partial_total"] and end >= total:
        click.echo(f"\nShowing {payload['offset'] + 1}-{end}; more partial matches: --offset {end}")
    elif end < total:
        click.echo(f"\nShowing {payload['offset'] + 1}-{end} of {total}; next page: --offset {end}")


@main.command(name="search", context_settings={"ignore_unknown_options": True})
@click.argument("query", required=False, default="")
@filter_options
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Reports to show.",
)
@click.option("--offset", default=0, type=click.IntRange(0), help="Reports to skip (paging).")
@click.option(
    "--explain", is_flag=True, help="Show each result's score parts and the cues of its tags."
)
@match_options
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--all-copies",
    is_flag=True,
    help="One result per file (copies and old versions too), not one per review.",
)
@click.pass_context
def search_cmd(ctx, query, limit, offset, explain, all_words, no_expand, fmt, all_copies, **kwargs):
    """Search the indexed reports; results are reports, best first, with their best passages.

    \b
    QUERY syntax:
      bruising baby not mobile  best match: reports that answer all the words rank
                                first (stop words ignored, acronyms and synonyms
                                of the field searched too, places and years
                                among the words ranked first)
      +school                   a word that must be there
      "voice of the child"      an exact phrase
      neglect OR "self harm"    either (AND, OR, NOT: strict, per passage)
      NOT police, -police       exclude a word
      safeguard*                a prefix
      theme:neglect year:2017   a field (title, subject, locality, region, year,
                                doc_type, source, theme, risk, issue, tag)
    With no QUERY, lists the reports that pass the filters (strongest evidence first).
    Copies of one review and its older versions give one result (its primary's metadata,
    passages from its best-matching copy, the copies listed); --all-copies lists every file.
    """
    from ..search import SearchRequest, search

    home = home_of(ctx)
    request = SearchRequest(
        query=query,
        filters=pop_filters(kwargs),
        limit=limit,
        offset=offset,
        explain=explain,
        all_words=all_words,
        expand=not no_expand,
        all_copies=all_copies,
    )
    payload = search(home, request)
    if fmt == "json":
        emit_json(payload)
    else:
        render_results(payload)


@main.command()
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Only documents with this status (repeatable).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def reports(ctx, statuses, fmt):
    """List every document in the corpus with its status, metadata and any error."""
    from ..reviews import load_groups
    from ..search import report_json

    home = home_of(ctx)
    with Store(home) as store:
        docs = store.documents(statuses or None)
        tags = store.all_report_tags()
        counts = store.count_by_status()
        groups = load_groups(store.db)
    rows = []
    for doc in docs:
        entry = report_json(doc, tags.get(doc.sha256, []))
        review = groups.review_of(doc.sha256)
        entry.update(review_id=review, review_role=_role(groups, doc.sha256))
        entry.update(status=doc.status, error=doc.error, pages=doc.pages, path=doc.path,
                     extractor=doc.extractor, added_at=doc.added_at,
                     indexed_at=doc.indexed_at)  # fmt: skip
        entry.update(text_source=doc.text_source, ocr_pages=doc.ocr_pages,
                     ocr_confidence=doc.ocr_confidence)  # fmt: skip
        rows.append(entry)
    if fmt == "json":
        emit_json(rows)
        return
    for entry in rows:
        where = " · ".join(str(v) for v in (entry["locality"], entry["doc_type"]) if v)
        click.echo(
            f"{entry['report_id']}  {entry['status']:<9} {entry['pages'] or '-':>4}p  "
            f"{entry['year'] or '----'}  {where}"
        )
        title = entry["title"] or ""
        limit = width() - 15
        click.echo(" " * 14 + (title if len(title) <= limit else title[: limit - 1] + "…"))
        if entry["review_role"] not in ("alone", "ungrouped"):
            click.echo(" " * 14 + f"review {entry['review_id']}: {entry['review_role']}")
        if entry["error"]:
            click.echo(wrap(entry["error"], " " * 16, first=" " * 14 + "! "))
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES if counts.get(s))
    in_reviews = len({r["review_id"] for r in rows if r["review_role"] != "ungrouped"})
    click.echo(
        f"{sum(counts.values())} document(s): {summary or 'none yet'}; "
        f"{in_reviews} review(s) among those indexed",
        err=True,
    )


def _role(groups, sha: str) -> str:
    """A report's place in its review: alone, primary, copy, old version, or ungrouped."""
    if sha not in groups.review:
        return "ungrouped"
    review = groups.review_of(sha)
    if len(groups.copies_of(review)) == 1:
        return "alone"
    if sha in groups.superseded:
        return "old version"
    return "primary" if groups.primary_of(review) == sha else "copy"


@main.command()
@click.argument("report_id")
@click.option("--page", type=int, help="Print the text of this page (1-based).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def show(ctx, report_id, page, fmt):
    """Show one report: metadata and where each value came from, its review (copies and
    versions, with the evidence that grouped them), related documents of the same case,
    tags, URLs, a page's text."""
    from .. import provenance
    from ..report_detail import show_report

    shown = show_report(home_of(ctx), report_id, page)
    entry, doc, text, page_sources = shown.entry, shown.doc, shown.text, shown.page_sources
    if fmt == "json":
        emit_json(entry)
        return
    click.echo(click.style(entry["title"], bold=True))
    for key in ("report_id", "sha256", "original_name", "subject", "locality", "region", "nation",
                "year", "doc_type", "source", "url", "fetched_at", "status", "error", "pages",
                "extractor", "path", "added_from", "added_at", "indexed_at"):  # fmt: skip
        value = entry.get(key)
        if value not in (None, ""):
            origin = doc.meta_origin.get(key)
            click.echo(f"  {key:<14}{value}" + (f"  ({origin})" if origin else ""))
    for url in entry["urls"]:
        if url != entry["url"]:
            click.echo(f"  {'also from':<14}{url}")
    for line in provenance.describe(doc, page_sources):
        click.echo(wrap(line, " " * 16, first=f"  {'text':<14}"))
    for warning in entry["warnings"]:
        click.echo(wrap(warning, " " * 16, first=f"  {'warning':<14}"))
    _show_review(entry)
    if entry["tags"]:
        click.echo("  tags:")
        for tag in entry["tags"]:
            click.echo(f"    {tag['facet']:<15}{tag['id']:<34}{tag['passages']} passages")
    if page is not None:
        how = {"ocr": f"OCR, confidence {entry['ocr_confidence']}", "text_layer": "text layer"}
        how = how.get(entry["text_source"], entry["text_source"].replace("_", " "))
        low = ", LOW CONFIDENCE" if entry["low_confidence"] else ""
        click.echo(f"\n--- page {page} of {len(text.pages)} ({how}{low}) ---\n")
        click.echo(entry["text"])


def _show_review(entry: dict) -> None:
    review = entry["review"]
    role = "primary" if review.get("primary") else review.get("how", "")
    if review.get("superseded_by"):
        role = f"old version, superseded by {review['superseded_by']}"
    evidence = ""
    if review.get("similarity") is not None:
        evidence = (f"; copies {review['matched']} (containment {review['similarity']}, "
                    f"Jaccard {review['jaccard']})")  # fmt: skip
    elif review.get("how") == "version" and review.get("matched"):
        evidence = f"; newer version of {review['matched']}"
    click.echo(f"  {'review':<14}{review['review_id']}  ({role}{evidence})")
    for label, items in (("copy", review["copies"]), ("version", review["versions"])):
        for item in items:
            tag = " primary" if item["primary"] else ""
            where = item["url"] or item["source"]
            click.echo(f"  {label:<14}{item['report_id']}{tag}  {item['pages'] or '-'}p  {where}")
    for item in entry["related"]:
        click.echo(wrap(f"{item['report_id']}  {item['year'] or '----'}  {item['doc_type'] or ''}"
                        f"  {item['title']}", " " * 16, first=f"  {'related':<14}"))  # fmt: skip


@main.command()
@click.option(
    "--facet",
    type=click.Choice(TAG_FACETS),
    help="Only this facet.",
)
@click.option("--term", "term_id", metavar="ID", help="Only this term, with all its cues.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def taxonomy(facet, term_id, fmt):
    """Print the taxonomy: each term's id, label, definition and the cues that tag it.

    Use the ids with --theme, --risk and --issue, or in queries as theme:ID, risk:ID, issue:ID.
    """
    from ..tagging import load_taxonomy

    tax = load_taxonomy()
    terms = [t for t in tax.terms.values() if (not facet or t.facet == facet)]
    if term_id:
        terms = [t for t in terms if t.id == term_id]
        if not terms:
            raise UsageError(f"--term {term_id!r} is not in the taxonomy; run `scrsearch taxonomy`")
    if fmt == "json":
        emit_json({**tax.to_json(), "terms": [t.to_json() for t in terms]})
        return
    for current in tax.facets:
        chosen = [t for t in terms if t.facet == current]
        if not chosen:
            continue
        click.echo(click.style(current, bold=True))
        for term in chosen:
            click.echo(f"  {term.id:<34}{term.label}")
            if term_id or facet:
                click.echo(wrap(term.definition, " " * 6))
                click.echo(wrap("cues: " + "; ".join(term.cues), " " * 8, first=" " * 6))
                if term.weak_cues:
                    click.echo(wrap("weak cues: " + "; ".join(term.weak_cues), " " * 8,
                                    first=" " * 6))  # fmt: skip
                if term.false_friends:
                    click.echo(wrap("not: " + "; ".join(term.false_friends), " " * 8,
                                    first=" " * 6))  # fmt: skip
    click.echo(f"{len(terms)} term(s); --facet or --term show definitions and cues.", err=True)
