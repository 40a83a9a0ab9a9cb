"""Search results: `search`, passages for export, report sets for stats and watches, and the
JSON contract they share. Engine-free: the index is reached through `engine.Engine`."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from . import bestmatch, provenance, reviews
from .config import Home
from .engine import (
    PASSAGES_PER_REPORT,
    Engine,
    open_engine,
    strict_highlighter,
    text_terms,
    text_tokens,
)
from .errors import UsageError
from .facets import FACET_NAMES
from .filters import Filters
from .highlight import CueMarks, Highlighter, snippet
from .models import Document, ReportTag
from .report_catalogue import ReportCatalogue, report_catalogue
from .syntax import check_query_shape
from .tagging import explain_tags

__all__ = ["PASSAGES_PER_REPORT", "SearchRequest", "iter_passages", "matching_reports", "search"]


@dataclass
class SearchRequest:
    """Everything a search needs besides the home."""

    query: str = ""
    filters: Filters = field(default_factory=Filters)
    limit: int = 10
    offset: int = 0
    facets: bool = True
    explain: bool = False
    all_words: bool = False  # every bare word in one passage, as before best match
    expand: bool = True  # search the field's acronyms and synonyms too
    all_copies: bool = False  # one result per file, not per review (reviews.py)


def _open(home: Home) -> tuple[Engine, ReportCatalogue]:
    """The home's engine (its index open and current) and its catalogue of indexed reports."""
    engine = open_engine(home)
    engine.refresh()  # the index as it is now; a missing index is the error to give
    return engine, report_catalogue(home)


def forget_caches() -> None:
    """Drop everything searching keeps for the life of the process: open engines and their
    per-segment tables, loaded catalogues and review groups (tests; a long process that
    changes homes)."""
    from .engine import forget_engines
    from .report_catalogue import forget_catalogues
    from .review_results import forget_groups_of

    forget_engines()
    forget_catalogues()
    forget_groups_of()


def report_json(doc: Document, tags: Sequence[ReportTag], url: str | None = None) -> dict:
    """The report fields shared by search results, `reports` and exports."""
    return {
        "report_id": doc.report_id,
        "sha256": doc.sha256,
        "title": doc.title or doc.original_name,
        "subject": doc.subject,
        "original_name": doc.original_name,
        "locality": doc.locality,
        "region": doc.region,
        "nation": doc.nation,
        "year": doc.year,
        "doc_type": doc.doc_type,
        "source": doc.source,
        "url": url if url is not None else doc.url,
        "fetched_at": doc.fetched_at,
        "pages": doc.pages,
        "tags": [
            {"id": t.term_id, "facet": t.facet, "label": t.label, "passages": t.passages}
            for t in tags
        ],
    }


def passage_json(stored: dict, score: float, marks: Highlighter | CueMarks | None = None) -> dict:
    """A passage as search and export show it; `terms` are the index terms it matched."""
    text = stored["text"]
    highlighted, terms = marks.snippet_and_terms(text) if marks else (snippet(text, []), [])
    return {
        "page": stored["page"],
        "text": text,
        "highlighted": highlighted,
        "score": round(score, 4),
        "tags": [t for t in (stored.get("tags") or "").split(",") if t],
        "terms": terms,
    }


def facet_counts(report_hits: Counter, catalogue: ReportCatalogue) -> dict[str, list[dict]]:
    """For each facet field, how many matching reports have each value (most first)."""
    counted = Counter(itertools.chain.from_iterable(map(catalogue.facet_pairs, report_hits)))
    counts: dict[str, list[tuple[str, int]]] = {f: [] for f in FACET_NAMES}
    for (facet, value), n in counted.items():
        counts[facet].append((value, n))
    return {
        facet: [{"value": v, "count": n} for v, n in sorted(c, key=lambda x: (-x[1], x[0]))]
        for facet, c in counts.items()
    }


def query_highlighter(query: str, *, all_words: bool = False, expand: bool = True) -> Highlighter:
    """The highlighter a search for `query` marks passages with: every form of every concept
    of a best-match query (expansions too, never its stop words), or the strict query's
    words and phrases."""
    text = (query or "").strip()
    check_query_shape(text)
    best = None if all_words else bestmatch.read_query(text, text_terms(), expand=expand)
    if best is not None:
        return bestmatch.highlighter(best, text_tokens())
    return strict_highlighter(text)


def search(home: Home, request: SearchRequest) -> dict:
    """Run a search and return the JSON contract of `scrsearch search --format json`."""
    if request.limit < 0 or request.offset < 0:
        raise UsageError("--limit and --offset must be 0 or more")
    engine, catalogue = _open(home)
    best = bestmatch.best_match(request, engine.terms, catalogue)
    if best is not None:
        return bestmatch.search_best(home, engine, catalogue, request, best)
    text_query = engine.parse(request.query, catalogue) if request.query.strip() else None
    # One result per review (reviews.py): each review's best-ranked report takes its place on
    # the page (`pager`), so the ranking keeps `extra` reports more than the page for the
    # copies it skips; --all-copies pages files as they are.
    groups = None if request.all_copies else reviews.groups_of(home)
    folding = groups is not None and groups.has_copies
    extra = min(groups.copies, reviews.FOLD_SLACK) if folding else 0
    while True:
        wide = replace(request, limit=request.limit + extra)
        pager = groups.pager(request.offset, request.limit) if folding else None
        if text_query is not None:
            report_hits, ranked = _rank_text(engine, text_query, catalogue, wide, pager)
        else:
            report_hits = catalogue.browse(request.filters)
            ranked = _rank_browse(engine, report_hits, catalogue, wide, pager)
        if not folding:
            break
        folded = groups.fold(report_hits)
        if len(report_hits) - len(folded) <= extra:
            report_hits = Counter(folded)
            break
        extra = len(report_hits) - len(folded)  # more copies among the hits: rank again
    results = []
    for sha, score, passages in ranked:
        doc = catalogue.documents[sha]
        entry = report_json(doc, catalogue.tags.get(sha, []))
        entry["score"] = round(score, 4)
        entry["passages"] = passages
        if request.explain:
            entry["explain"] = explain_tags(home, doc, catalogue.tags.get(sha, []))
        results.append(entry)
    provenance.annotate_results(home, results, catalogue.documents)  # text layer or OCR
    if groups is not None:
        results = reviews.collapse_results(
            results, groups, catalogue.documents,
            lambda doc: report_json(doc, catalogue.tags.get(doc.sha256, [])),
        )  # fmt: skip
    else:
        name_reviews(home, results)
    return {
        "query": request.query,
        "filters": request.filters.to_json(),
        "match": "all",
        "total": len(report_hits),
        "passages_total": sum(report_hits.values()),
        "limit": request.limit,
        "offset": request.offset,
        "facets": facet_counts(report_hits, catalogue) if request.facets else {},
        "results": results,
    }


def name_reviews(home: Home, results: list[dict]) -> None:
    """Results per file (`--all-copies`), each still naming its review."""
    review_of = reviews.groups_of(home).review_of
    for entry in results:
        entry["review_id"] = review_of(entry["sha256"])


def _rank_text(engine: Engine, text_query, catalogue: ReportCatalogue, request, pager=None):
    """Count and rank the reports whose passages match a strict query, within the filters."""
    counts, page = engine.rank_reports(
        text_query,
        catalogue.allowed(request.filters),
        filtered=request.filters.active,
        offset=request.offset,
        limit=request.limit,
        pager=pager,
    )
    marks = engine.highlighter(text_query)
    ranked = [
        (sha, score, [passage_json(engine.stored(p), s, marks) for p, s in picks])
        for sha, score, picks in page
    ]
    return counts, ranked


def _rank_browse(
    engine: Engine, report_hits: Counter, catalogue: ReportCatalogue, request, pager=None
):
    """No query words: reports by evidence for the requested tags, then newest first."""
    wanted_tags = set(request.filters.tag_ids)
    cues = CueMarks(wanted_tags)

    def evidence(sha: str) -> int:
        return sum(t.passages for t in catalogue.tags.get(sha, ()) if t.term_id in wanted_tags)

    def sort_key(sha: str):
        doc = catalogue.documents.get(sha)
        return (-evidence(sha), -(doc.year or 0) if doc else 0, doc.title or "" if doc else "")

    order = sorted(report_hits, key=sort_key)
    order = pager(order) if pager else order[request.offset : request.offset + request.limit]
    first = engine.first_tagged_passages(order, wanted_tags) if wanted_tags else {}
    return [
        (
            sha,
            float(evidence(sha)),
            [passage_json(engine.stored(p), 0.0, cues) for p in first.get(sha, ())],
        )
        for sha in order
    ]


def iter_passages(
    home: Home, request: SearchRequest, *, all_passages: bool = False
) -> Iterator[tuple[dict, dict]]:
    """Every matching passage as (report fields, passage fields), streamed report by report.

    Reports come in a stable order (year, title, sha256) and passages in page order, so an
    export is reproducible; memory stays flat however many rows there are. With
    `all_passages`, every passage of each matching report is yielded, hits or not.
    """
    engine, catalogue = _open(home)
    best = bestmatch.best_match(request, engine.terms, catalogue)
    if best is not None:
        marks = bestmatch.highlighter(best, engine.tokens)
        found = dict(bestmatch.report_hits(engine, catalogue, request, best))
        counted = {sha: len(passages) for sha, passages in found.items()}
        text_query = None
    else:
        # A passage is a hit by its own text: a word in the report's title would make every
        # passage of that report one.
        query = request.query.strip()
        text_query = engine.parse(query, catalogue, fields=("text",)) if query else None
        marks = engine.highlighter(text_query)
        if text_query is None:
            counted = catalogue.browse(request.filters)
        else:
            counted = engine.count_reports(text_query, catalogue.allowed(request.filters))
    if not request.all_copies:  # one report per review: reviews.Groups.fold
        counted = reviews.groups_of(home).fold(counted)
    in_catalogue = (s for s in counted if s in catalogue.documents)
    for sha in sorted(in_catalogue, key=_export_order(catalogue)):
        report = report_json(catalogue.documents[sha], catalogue.tags.get(sha, []))
        # The report passed the filters already; with no words, every passage is a hit.
        mine = found[sha] if best is not None else engine.matching_passages(sha, text_query)
        passages = engine.report_passages(sha) if all_passages else list(mine)
        rows = [(p, engine.stored(p)) for p in passages]
        rows.sort(key=lambda row: row[1]["ordinal"])
        for passage_id, stored in rows:
            matched = passage_id in mine
            passage = passage_json(stored, mine.get(passage_id, 0.0), marks if matched else None)
            passage["ordinal"] = stored["ordinal"]
            passage["matched"] = matched
            yield report, passage


def _export_order(catalogue: ReportCatalogue):
    """Reports in a stable order for exports: year, title, sha256."""

    def order(sha: str):
        doc = catalogue.documents[sha]
        return (doc.year or 0, doc.title or doc.original_name, sha)

    return order


def matching_reports(home: Home, request: SearchRequest) -> dict[str, int]:
    """The reports a search matches (sha256 -> matching passages), as search counts them.

    The same query and filter code as `search`, for report sets in stats and watches: live
    index documents of reports the catalogue has as indexed, like search results.
    """
    engine, catalogue = _open(home)
    best = bestmatch.best_match(request, engine.terms, catalogue)
    if best is not None:
        return bestmatch.matching_reports(engine, catalogue, request, best)
    if not request.query.strip():
        return dict(catalogue.browse(request.filters))
    text_query = engine.parse(request.query, catalogue)
    return dict(engine.count_reports(text_query, catalogue.allowed(request.filters)))
