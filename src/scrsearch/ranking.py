"""Best-match ranking: reports ranked by how well they answer every concept of a query.

The rule, in order (the constants below are its knobs, measured with
`scripts/evaluate_search.py` on the development query set):

1. **Passages.** Each concept (a word with its expansions, see query.py) scores a passage by
   BM25 (the index's own BM25F parameters), its best form counting; an expansion scores
   `EXPANSION_WEIGHT` of the typed form. A passage's score is the sum over concepts, times
   how much of the query it covers (the concepts it holds, weighted by how specific each is:
   their idf), times a bonus when the query's words stand in it as typed (an implicit phrase)
   or close together in the query's order (proximity, for the strongest passages).
2. **Reports.** A report scores its best passage plus its next best with diminishing weights
   (`SUPPORT_DECAY`), times the share of the query the whole report covers, times a bonus for
   concepts in its title. A locality, region or year understood among the words ranks the
   reports of that place or year first.
3. **Which reports match** (the total, facets, stats, exports, watches): a report matches when
   it holds every concept somewhere (all but one when the query has `SHARE_FROM` concepts or
   more), every required one (`+word`, "phrases"), and the query's two most specific concepts
   together in one passage. When a concept is in no passage at all, nothing matches. Reports
   that hold some of the query but fail the rule are *partial*: shown after the matches,
   marked as such, and never counted.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from . import whooshfix
from .query import BestMatch

#: Weight of a report's 2nd, 3rd, ... best passages: SUPPORT_DECAY ** rank (up to SUPPORT_K).
SUPPORT_DECAY = 0.3
SUPPORT_K = 6
#: A passage's score is scaled by COVER_FLOOR + (1 - COVER_FLOOR) * its idf-weighted coverage.
COVER_FLOOR = 0.3
#: ... and a report's by REPORT_COVER_FLOOR + (1 - REPORT_COVER_FLOOR) * the report's coverage.
REPORT_COVER_FLOOR = 0.4
#: Bonus of a passage holding the query's words as typed, stop words included.
PHRASE_BOOST = 1.0
#: Bonus of a passage whose concepts stand close together (1.0: adjacent, in order).
PROXIMITY_BOOST = 0.5
#: How many of the strongest passages get their proximity measured.
PROXIMITY_PASSAGES = 300
#: Bonus per share of the query found in a report's title.
TITLE_BOOST = 0.5
#: From this many concepts on, a report may lack one of them and still match.
SHARE_FROM = 4
PASSAGES_PER_REPORT = 3

#: Report sha256 <-> a number, for every report any segment holds (grows, never shrinks).
_REPORT_NUMBERS: dict[str, int] = {}
_REPORT_SHAS: list[str] = []
#: Per segment: docnum -> report number (numpy).
_SEGMENT_NUMBERS: dict[str, np.ndarray] = {}


def _report_numbers(reader, shas: list[str]) -> np.ndarray:
    key = reader.segment().segment_id()
    numbers = _SEGMENT_NUMBERS.get(key)
    if numbers is None:
        for sha in dict.fromkeys(shas):
            if sha not in _REPORT_NUMBERS:
                _REPORT_NUMBERS[sha] = len(_REPORT_SHAS)
                _REPORT_SHAS.append(sha)
        numbers = np.fromiter((_REPORT_NUMBERS[s] for s in shas), np.int64, len(shas))
        _SEGMENT_NUMBERS[key] = numbers
    return numbers


@dataclass
class BestRanking:
    """What a best-match query found: matching and partial reports in rank order, with
    their passages (global docnums and scores, best first), and the score parts."""

    concepts: list[str]
    unknown: list[str]  # concepts no passage holds
    matching: list[str] = field(default_factory=list)  # best first
    partial: list[str] = field(default_factory=list)  # best first
    passages: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)  # matching report -> passages with a hit
    scores: dict[str, float] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    parts: dict[str, dict] = field(default_factory=dict)


def rank_best(
    searcher, best: BestMatch, allowed: set[str] | None, catalogue, title_terms
) -> BestRanking:
    """Rank the `allowed` reports (None: all) for a best-match query (module docstring).

    `catalogue` gives each report's metadata (locality, region, year) and `title_terms(sha)`
    the index terms of its title.
    """
    from whoosh import query as wq

    concepts = list(best.concepts)
    k = len(concepts)
    context = searcher.context()
    total_docs = max(searcher.doc_count(), 1)
    df = np.zeros(k, dtype=np.int64)
    pieces: list[tuple] = []  # per segment: (leaf, offset, ids, reports, scores k x n, phrase)
    admitted = None  # report number -> whether `allowed` holds it
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        size = reader.doc_count_all()
        if not size:
            continue
        from .search import _segment_reports  # the segment's docnum -> report column

        numbers = _report_numbers(reader, _segment_reports(reader))
        scores = np.zeros((k, size), dtype=np.float32)
        norms = None
        for c, concept in enumerate(concepts):
            row = scores[c]
            for form in concept.forms:
                if len(form.terms) == 1:
                    found = whooshfix.term_postings(leaf, "text", form.terms[0], context)
                    if found is None or not len(found[0]):
                        continue
                    ids, tfs, scorer = found
                    if norms is None:
                        norms = whooshfix.length_norms(
                            reader, "text", scorer.K1, scorer.B, scorer.avgfl
                        )
                    if norms is None:  # no length column: Whoosh's own scorer, one by one
                        values = np.array(
                            [scorer.score_for(d, t) for d, t in zip(ids, tfs, strict=True)],
                            dtype=np.float32,
                        )
                    else:
                        values = scorer.idf * (tfs * (scorer.K1 + 1)) / (tfs + norms[ids])
                else:
                    found = whooshfix.phrase_scores(
                        leaf, wq.Phrase("text", list(form.terms)), context
                    )
                    if not found:
                        continue
                    ids = np.fromiter(found.keys(), np.int64, len(found))
                    values = np.fromiter(found.values(), np.float32, len(found))
                row[ids] = np.maximum(row[ids], values * form.weight)
        present = scores > 0
        df += present.sum(axis=1)
        hit = present.any(axis=0)
        for form in best.excluded:
            hit &= ~_form_mask(leaf, form, size, context)
        ids = np.flatnonzero(hit)
        if allowed is not None and len(ids):
            if admitted is None or len(admitted) < len(_REPORT_SHAS):
                admitted = np.fromiter(
                    (s in allowed for s in _REPORT_SHAS), bool, len(_REPORT_SHAS)
                )
            ids = ids[admitted[numbers[ids]]]
        if not len(ids):
            continue
        phrase = np.zeros(len(ids), dtype=bool)
        if best.phrase:
            found = whooshfix.phrase_scores(
                leaf, wq.Phrase("text", list(best.phrase)), context, scored=False
            )
            if found:
                phrase = np.isin(ids, np.fromiter(found.keys(), np.int64, len(found)))
        pieces.append((leaf, offset, ids, numbers[ids], scores[:, ids], phrase))
    labels = [c.label for c in concepts]
    unknown = [labels[c] for c in range(k) if df[c] == 0]
    ranking = BestRanking(labels, unknown)
    if not pieces or len(unknown) == k:
        return ranking
    idf = np.log(1 + (total_docs - df + 0.5) / (df + 0.5))
    idf[df == 0] = 0.0
    weights = idf / idf.sum()
    docnums = np.concatenate([offset + ids for _leaf, offset, ids, *_ in pieces])
    reports = np.concatenate([p[3] for p in pieces])
    scores = np.concatenate([p[4] for p in pieces], axis=1)
    phrase = np.concatenate([p[5] for p in pieces])
    present = scores > 0
    cover = weights @ present
    passage = scores.sum(axis=0) * (COVER_FLOOR + (1 - COVER_FLOOR) * cover)
    passage *= 1 + PHRASE_BOOST * phrase
    closeness = _proximity(pieces, concepts, present, passage)
    passage *= 1 + PROXIMITY_BOOST * closeness * cover
    # Group passages by report, best first within each.
    order = np.lexsort((-passage, reports))
    reports, passage, present, docnums = (
        reports[order],
        passage[order],
        present[:, order],
        docnums[order],
    )
    closeness = closeness[order]
    starts = np.flatnonzero(np.r_[True, reports[1:] != reports[:-1]])
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(reports)]))
    rank = np.arange(len(reports)) - starts[group]
    support = np.where(rank < SUPPORT_K, SUPPORT_DECAY ** np.minimum(rank, 60), 0.0)
    evidence = np.bincount(group, weights=passage * support)
    held = np.logical_or.reduceat(present, starts, axis=1)  # k x reports
    report_cover = weights @ held
    strength = evidence * (REPORT_COVER_FLOOR + (1 - REPORT_COVER_FLOOR) * report_cover)
    # Which reports match: every concept (all but one from SHARE_FROM on), the required
    # ones, and the two most specific together in one passage.
    known = df > 0
    required = np.array([c.required for c in concepts]) & known
    need = int(known.sum()) - (1 if known.sum() >= SHARE_FROM else 0)
    matches = (held[known].sum(axis=0) >= need) & held[required].all(axis=0)
    if unknown:  # a word no passage holds: whatever comes back lacks it
        matches[:] = False
    specific = [int(i) for i in np.argsort(-idf)[:2] if known[i]]
    if len(specific) == 2:
        together = present[specific[0]] & present[specific[1]]
        matches &= np.bitwise_or.reduceat(together, starts).astype(bool)
    passages_hit = np.diff(np.r_[starts, len(reports)])
    understood = best.understood
    entries = []
    for g, start in enumerate(starts):
        sha = _REPORT_SHAS[reports[start]]
        doc = catalogue.documents.get(sha)
        if doc is None:
            continue
        title = title_terms(sha)
        title_cover = sum(
            weights[c] for c, concept in enumerate(concepts) if set(concept.forms[0].terms) <= title
        )
        score = float(strength[g]) * (1 + TITLE_BOOST * title_cover)
        tier = _tier(doc, understood)
        entries.append((tier, score, sha, g, start, title_cover))
    entries.sort(key=lambda e: (-e[0], -e[1], e[2]))
    for tier, score, sha, g, start, title_cover in entries:
        end = start + passages_hit[g]
        (ranking.matching if matches[g] else ranking.partial).append(sha)
        if matches[g]:
            ranking.counts[sha] = int(passages_hit[g])
        ranking.scores[sha] = score
        ranking.passages[sha] = list(
            zip(docnums[start:end].tolist(), passage[start:end].tolist(), strict=True)
        )
        ranking.missing[sha] = [labels[c] for c in range(k) if known[c] and not held[c, g]]
        ranking.parts[sha] = {
            "best_passage": round(float(passage[start]), 4),
            "further_passages": round(float(evidence[g] - passage[start]), 4),
            "coverage": round(float(report_cover[g]), 4),
            "proximity": round(float(closeness[start]), 4),
            "title": round(float(title_cover), 4),
            "understood": tier,
        }
    return ranking


def _tier(doc, understood: dict) -> int:
    """How many of the places and years understood among the words a report is of."""
    tier = 0
    if understood.get("locality") and doc.locality == understood["locality"]:
        tier += 1
    if understood.get("region") and doc.region == understood["region"]:
        tier += 1
    if understood.get("years") and doc.year in understood["years"]:
        tier += 1
    return tier


def _form_mask(leaf, form, size: int, context) -> np.ndarray:
    """The passages of a segment that hold a form (a word or a phrase)."""
    from whoosh import query as wq

    mask = np.zeros(size, dtype=bool)
    if len(form.terms) == 1:
        found = whooshfix.term_postings(leaf, "text", form.terms[0], context)
        if found is not None:
            mask[found[0]] = True
    else:
        found = whooshfix.phrase_scores(
            leaf, wq.Phrase("text", list(form.terms)), context, scored=False
        )
        if found:
            mask[np.fromiter(found.keys(), np.int64, len(found))] = True
    return mask


def _proximity(pieces, concepts, present: np.ndarray, passage: np.ndarray) -> np.ndarray:
    """How close together the concepts of the strongest passages stand, 0 to 1: the number of
    concepts held over the span of the smallest window holding them all (1.0 when adjacent),
    a little more when they stand in the query's order."""
    closeness = np.zeros(len(passage), dtype=np.float64)
    several = np.flatnonzero(present.sum(axis=0) >= 2)
    if not len(several):
        return closeness
    top = several[np.argsort(-passage[several])[:PROXIMITY_PASSAGES]]
    # Map each chosen passage back to its segment and local docnum.
    bounds = np.cumsum([0] + [len(p[2]) for p in pieces])
    by_segment: dict[int, list[tuple[int, int]]] = {}
    for i in top.tolist():
        s = int(np.searchsorted(bounds, i, side="right") - 1)
        by_segment.setdefault(s, []).append((int(pieces[s][2][i - bounds[s]]), i))
    for s, chosen in by_segment.items():
        reader = pieces[s][0].reader()
        locals_ = sorted(d for d, _ in chosen)
        positions: list[dict[int, list[int]]] = []
        for concept in concepts:
            merged: dict[int, list[int]] = {}
            for form in concept.forms:
                found = whooshfix.term_positions(reader, "text", form.terms[0], locals_)
                for docnum, where in found.items():
                    merged.setdefault(docnum, []).extend(where)
            positions.append(merged)
        for docnum, i in chosen:
            lists = [(c, sorted(p[docnum])) for c, p in enumerate(positions) if docnum in p]
            if len(lists) >= 2:
                closeness[i] = _window_closeness(lists)
    return closeness


def _window_closeness(lists: list[tuple[int, list[int]]]) -> float:
    """Concepts held / span of the smallest window holding one position of each (and a
    tenth more when that window has them in the query's order), capped at 1."""
    events = sorted((pos, c) for c, where in lists for pos in where)
    need = len(lists)
    counts: Counter = Counter()
    have = 0
    best_span, best_order = math.inf, False
    left = 0
    for right, (pos, c) in enumerate(events):
        counts[c] += 1
        if counts[c] == 1:
            have += 1
        while have == need:
            span = pos - events[left][0] + 1
            if span < best_span:
                window = events[left : right + 1]
                firsts: dict[int, int] = {}
                for p, cc in window:
                    firsts.setdefault(cc, p)
                ordered = sorted(firsts, key=firsts.get)
                best_span, best_order = span, ordered == sorted(ordered)
            lc = events[left][1]
            counts[lc] -= 1
            if counts[lc] == 0:
                have -= 1
            left += 1
    if best_span is math.inf:
        return 0.0
    closeness = need / best_span
    return min(1.0, closeness * (1.1 if best_order else 1.0))
