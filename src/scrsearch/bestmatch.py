"""Search results for best-match queries (query.py reads them, the engine ranks them).

`scrsearch search` answers a query of words with the reports that best answer all of them;
this module turns the engine's best-match ranking into the JSON contract of `search --format json`
(the same fields as strict searches, plus `match`, `expanded`, `understood`, `ignored`,
`unknown`, `suggestions`, `partial`, and per result `missing` and `partial`), and gives
`stats`, `watch` and `export` the same set of matching reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from .highlight import Highlighter, Tokens
from .query import BestMatch, analyze
from .syntax import check_query_shape

Terms = Callable[[str], list[str]]


def read_query(
    text: str, terms: Terms, *, expand: bool = True, has_place=lambda kind, name: True
) -> BestMatch | None:
    """A query read as best-match concepts with the index's own terms (query.analyze), or
    None when it is strict."""
    return analyze(text, terms, expand=expand, has_place=has_place)


def best_match(request, terms: Terms, catalogue) -> BestMatch | None:
    """The request's query read as best-match concepts, or None when it is strict (operators,
    wildcards, passage fields, only phrases, `--all-words`) or empty."""
    if request.all_words or not (request.query or "").strip():
        return None  # the strict parser checks the query's shape itself
    check_query_shape(request.query.strip())
    return read_query(
        request.query,
        terms,
        expand=request.expand,
        has_place=lambda kind, name: name in catalogue.places(kind),
    )


def _allowed(engine, catalogue, request, best: BestMatch) -> set[str]:
    """The reports the filters and the query's own `field:value` items allow (each item
    narrows them; `-field:value` leaves its reports out)."""
    allowed = catalogue.allowed(request.filters)
    for item in best.report_items:
        named = set(engine.count_reports(engine.parse(item.lstrip("-"), catalogue), allowed))
        allowed = allowed - named if item.startswith("-") else named
    return allowed


def rank(engine, catalogue, request, best: BestMatch):
    """Rank the allowed reports for a best-match query."""
    return engine.rank_best(best, _allowed(engine, catalogue, request, best), catalogue)


def highlighter(best: BestMatch, tokens: Tokens) -> Highlighter:
    """Marks every form of every concept (never the stop words left out)."""
    marks = Highlighter(tokens)
    for concept in best.concepts:
        for form in concept.forms:
            if len(form.terms) == 1:
                marks.words.add(form.terms[0])
            else:
                marks.phrases.append(list(form.terms))
    return marks


def search_best(home, engine, catalogue, request, best: BestMatch) -> dict:
    """The JSON contract of `scrsearch search --format json` for a best-match query."""
    from . import provenance, reviews
    from .engine import PASSAGES_PER_REPORT
    from .results import facet_counts, name_reviews, passage_json, report_json
    from .tagging import explain_tags

    found = rank(engine, catalogue, request, best)
    marks = highlighter(best, engine.tokens)
    ordered = found.matching + found.partial
    # One result per review (reviews.py): each review's best-ranked report takes its place
    # and counts once; --all-copies gives every file.
    groups = None if request.all_copies else reviews.groups_of(home)
    counts, partial_total = found.counts, len(found.partial)
    if groups is not None and groups.has_copies:
        page = groups.pager(request.offset, request.limit)(ordered)
        counts = Counter(groups.fold(found.counts))
        partial_total = len(groups.fold(dict.fromkeys(found.partial, 0)))
    else:
        page = ordered[request.offset : request.offset + request.limit]
    partial = set(found.partial)
    results = []
    for sha in page:
        doc = catalogue.documents[sha]
        tags = catalogue.tags.get(sha, [])
        entry = report_json(doc, tags)
        entry["score"] = round(found.scores[sha], 4)
        entry["partial"] = sha in partial
        entry["missing"] = found.missing_of(sha)
        entry["passages"] = [
            passage_json(engine.stored(docnum), score, marks)
            for docnum, score in found.passages_of(sha)[:PASSAGES_PER_REPORT]
        ]
        if request.explain:
            entry["score_parts"] = found.parts_of(sha)
            entry["explain"] = explain_tags(home, doc, tags)
        results.append(entry)
    provenance.annotate_results(home, results, catalogue.documents)  # text layer or OCR
    if groups is not None:
        results = _per_review(results, groups, catalogue)
    else:
        name_reviews(home, results)
    return {
        "query": request.query,
        "filters": request.filters.to_json(),
        "match": "best",
        "total": len(counts),
        "passages_total": sum(counts.values()),
        "partial_total": partial_total,
        "partial": not counts and bool(results),
        "concepts": found.concepts,
        "expanded": best.expanded,
        "understood": _understood_json(best),
        "ignored": list(best.stopped),
        "unknown": found.unknown,
        "suggestions": engine.suggest(found.unknown) if found.unknown else {},
        "limit": request.limit,
        "offset": request.offset,
        "facets": facet_counts(counts, catalogue) if request.facets else {},
        "results": results,
    }


def _per_review(results: list[dict], groups, catalogue) -> list[dict]:
    """Results folded to one per review (reviews.collapse_results), each keeping what best
    match said of its best-ranked report: partial, missing words, score parts."""
    from . import reviews
    from .results import report_json

    said = {}
    for entry in results:
        review = groups.review_of(entry["sha256"])
        if review not in said:
            said[review] = {
                k: entry[k] for k in ("partial", "missing", "score_parts") if k in entry
            }
    folded = reviews.collapse_results(
        results,
        groups,
        catalogue.documents,
        lambda doc: report_json(doc, catalogue.tags.get(doc.sha256, [])),
    )
    for head in folded:
        head.update(said.get(head["review_id"], {}))
    return folded


def _understood_json(best: BestMatch) -> dict:
    understood = dict(best.understood)
    if "years" in understood:
        years = understood.pop("years")
        understood["year"] = years[0] if len(years) == 1 else years
    return understood


def matching_reports(engine, catalogue, request, best: BestMatch) -> dict[str, int]:
    """sha256 -> passages with a hit, for the reports a best-match query matches."""
    return dict(rank(engine, catalogue, request, best).counts)


def report_hits(
    engine, catalogue, request, best: BestMatch
) -> Iterator[tuple[str, dict[int, float]]]:
    """For each matching report: its passages with a hit (passage id -> score)."""
    found = rank(engine, catalogue, request, best)
    for sha in found.matching:
        yield sha, dict(found.passages_of(sha))
