"""Search results for best-match queries (query.py reads them, ranking.py ranks them).

`scrsearch search` answers a query of words with the reports that best answer all of them;
this module turns a `ranking.BestRanking` into the JSON contract of `search --format json`
(the same fields as strict searches, plus `match`, `expanded`, `understood`, `ignored`,
`unknown`, `suggestions`, `partial`, and per result `missing` and `partial`), and gives
`stats`, `watch` and `export` the same set of matching reports.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator

from . import ranking
from .query import BestMatch, analyze

#: How many spelling suggestions an unknown word gets.
SUGGESTIONS = 3


def read_query(
    text: str, schema, *, expand: bool = True, has_place=lambda kind, name: True
) -> BestMatch | None:
    """A query read as best-match concepts with the index's analyzer (query.analyze), or None
    when it is strict."""
    analyzer = schema["text"].analyzer
    return analyze(
        text, lambda words: [t.text for t in analyzer(words)], expand=expand, has_place=has_place
    )


def best_match(request, schema, catalogue) -> BestMatch | None:
    """The request's query read as best-match concepts, or None when it is strict (operators,
    wildcards, passage fields, only phrases, `--all-words`) or empty."""
    from .search import _check_query_shape

    if request.all_words or not (request.query or "").strip():
        return None  # the strict parser checks the query's shape itself
    _check_query_shape(request.query.strip())
    return read_query(
        request.query,
        schema,
        expand=request.expand,
        has_place=lambda kind, name: name in catalogue.places(kind),
    )


def _allowed(searcher, catalogue, request, best: BestMatch) -> set[str]:
    """The reports the filters and the query's own `field:value` items allow (each item
    narrows them; `-field:value` leaves its reports out)."""
    from .search import (
        _allowed_reports,
        _count_reports,
        bind_report_fields,
        parse_query,
        query_schema,
    )

    allowed = _allowed_reports(catalogue, request.filters)
    for item in best.report_items:
        bound = bind_report_fields(parse_query(item.lstrip("-"), query_schema()), catalogue)
        named = set(_count_reports(searcher, bound, allowed))
        allowed = allowed - named if item.startswith("-") else named
    return allowed


def rank(searcher, catalogue, request, best: BestMatch) -> ranking.BestRanking:
    """Rank the allowed reports for a best-match query."""
    allowed = _allowed(searcher, catalogue, request, best)
    analyzer = searcher.schema["text"].analyzer
    return ranking.rank_best(
        searcher, best, allowed, catalogue, lambda sha: catalogue.title_terms(sha, analyzer)
    )


def highlighter(best: BestMatch, schema):
    """Marks every form of every concept (never the stop words left out)."""
    from .search import Highlighter

    marks = Highlighter(None, schema)
    for concept in best.concepts:
        for form in concept.forms:
            if len(form.terms) == 1:
                marks.words.add(form.terms[0])
            else:
                marks.phrases.append(list(form.terms))
    return marks


def search_best(home, searcher, catalogue, request, best: BestMatch) -> dict:
    """The JSON contract of `scrsearch search --format json` for a best-match query."""
    from . import provenance, reviews
    from .search import PASSAGES_PER_REPORT, _facet_counts, _passage_json, explain_tags, report_json

    found = rank(searcher, catalogue, request, best)
    marks = highlighter(best, searcher.schema)
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
            _passage_json(searcher.stored_fields(docnum), score, marks)
            for docnum, score in found.passages_of(sha)[:PASSAGES_PER_REPORT]
        ]
        if request.explain:
            entry["score_parts"] = found.parts_of(sha)
            entry["explain"] = explain_tags(home, doc, tags)
        results.append(entry)
    provenance.annotate_results(home, results, catalogue.documents)  # text layer or OCR
    if groups is not None:
        results = _per_review(results, groups, catalogue)
    else:  # per file, each still naming its review
        review_of = reviews.groups_of(home).review_of
        for entry in results:
            entry["review_id"] = review_of(entry["sha256"])
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
        "suggestions": _suggestions(searcher, found.unknown) if found.unknown else {},
        "limit": request.limit,
        "offset": request.offset,
        "facets": _facet_counts(counts, catalogue) if request.facets else {},
        "results": results,
    }


def _per_review(results: list[dict], groups, catalogue) -> list[dict]:
    """Results folded to one per review (reviews.collapse_results), each keeping what best
    match said of its best-ranked report: partial, missing words, score parts."""
    from . import reviews
    from .search import report_json

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


def matching_reports(searcher, catalogue, request, best: BestMatch) -> dict[str, int]:
    """sha256 -> passages with a hit, for the reports a best-match query matches."""
    return dict(rank(searcher, catalogue, request, best).counts)


def report_hits(
    searcher, catalogue, request, best: BestMatch
) -> Iterator[tuple[str, dict[int, float]]]:
    """For each matching report: its passages with a hit (global docnum -> score)."""
    found = rank(searcher, catalogue, request, best)
    for sha in found.matching:
        yield sha, dict(found.passages_of(sha))


def _suggestions(searcher, unknown: list[str]) -> dict[str, list[str]]:
    """Words of the index close to each unknown word, as they are written in the text."""
    reader = searcher.reader()
    analyzer = searcher.schema["text"].analyzer
    out: dict[str, list[str]] = {}
    for label in unknown:
        stems = [t.text for t in analyzer(label)]
        if len(stems) != 1 or len(stems[0]) < 3:
            continue
        stem = stems[0]
        candidates = [
            t.decode() if isinstance(t, bytes) else t
            for t in reader.expand_prefix("text", stem[:2])
        ]
        close = difflib.get_close_matches(stem, candidates, n=SUGGESTIONS, cutoff=0.6)
        words = [_surface(searcher, analyzer, c) for c in close]
        out[label] = [w for w in dict.fromkeys(words) if w]
    return out


def _surface(searcher, analyzer, stem: str) -> str | None:
    """The shortest word of a few passages that the index stores as `stem` ("neglect", not
    "neglectful"), as written in the text."""
    seen: set[str] = set()
    for leaf, _offset in searcher.leaf_searchers():
        reader = leaf.reader()
        if ("text", stem) not in reader:
            continue
        for n, docnum in enumerate(reader.postings("text", stem).all_ids()):
            if n == 5:
                break
            text = reader.stored_fields(docnum).get("text", "")
            seen.update(
                text[t.startchar : t.endchar].lower()
                for t in analyzer(text, chars=True)
                if t.text == stem
            )
        break
    return min(seen, key=lambda w: (len(w), w)) if seen else None
