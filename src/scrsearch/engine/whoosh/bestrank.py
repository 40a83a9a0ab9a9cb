"""Best-match ranking: reports ranked by how well they answer every concept of a query.

The rule, in order (the constants below are its knobs, measured with
`scripts/evaluate_search.py` on the development query set):

1. **Passages.** Each concept (a word with its expansions, see query.py) scores a passage by
   BM25 (the index's own BM25F parameters), its best form counting. Every form is weighed as
   specific as the typed one (its BM25 scaled by the typed form's idf over its own, both
   summed over their words), so a form counts for the concept it says, not for how many or
   how rare its words are; an expansion then scores `EXPANSION_WEIGHT` of that. A passage's
   score is the sum over concepts, times how much of the query it covers (the concepts it
   holds, weighted by how specific each is: their idf), times a bonus when the query's words
   stand in it as typed (an implicit phrase) or close together in the query's order
   (proximity, for the strongest passages).
2. **Reports.** A report scores its best passage plus its next best with diminishing weights
   (`SUPPORT_DECAY`), times the share of the query the whole report covers, times a bonus for
   concepts in its title or subject (the child a review is about, as metadata.py reads it:
   "Child Q", a code, a name). A locality, region or year understood among the words ranks
   the reports of that place or year first.
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
from functools import lru_cache

import numpy as np

from ...query import BestMatch
from . import fastpaths
from .generations import text_terms
from .reports import segment_reports

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
PROXIMITY_PASSAGES = 150
#: Bonus per share of the query found in a report's title or subject.
TITLE_BOOST = 0.5
#: From this many concepts on, a report may lack one of them and still match.
SHARE_FROM = 4

#: Report sha256 <-> a number, for every report any segment holds (grows, never shrinks).
_REPORT_NUMBERS: dict[str, int] = {}
_REPORT_SHAS: list[str] = []
#: Per segment: docnum -> report number (numpy).
_SEGMENT_NUMBERS: dict[str, np.ndarray] = {}


def forget_numbers() -> None:
    """Drop the report numbering and the segments' report-number columns."""
    _REPORT_NUMBERS.clear()
    _REPORT_SHAS.clear()
    _SEGMENT_NUMBERS.clear()


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
    """What a best-match query found: matching and partial reports in rank order, their
    scores and matching passage counts; each report's passages (global docnums and scores,
    best first), missing concepts and score parts are worked out when asked for."""

    concepts: list[str]
    unknown: list[str]  # concepts no passage holds
    matching: list[str] = field(default_factory=list)  # best first
    partial: list[str] = field(default_factory=list)  # best first
    counts: Counter = field(default_factory=Counter)  # matching report -> passages with a hit
    scores: dict[str, float] = field(default_factory=dict)
    _where: dict[str, tuple] = field(default_factory=dict)  # sha -> (group, start, end, ...)
    _arrays: dict = field(default_factory=dict)

    def passages_of(self, sha: str) -> list[tuple[int, float]]:
        """A report's passages with a hit: (global docnum, score), best first."""
        _g, start, end, *_ = self._where[sha]
        a = self._arrays
        return list(
            zip(a["docnums"][start:end].tolist(), a["passage"][start:end].tolist(), strict=True)
        )

    def missing_of(self, sha: str) -> list[str]:
        """The query's concepts (found somewhere in the corpus) that a report lacks."""
        g = self._where[sha][0]
        held, known = self._arrays["held"], self._arrays["known"]
        return [label for c, label in enumerate(self.concepts) if known[c] and not held[c, g]]

    def parts_of(self, sha: str) -> dict:
        """How a report's score was made (`--explain`)."""
        g, start, _end, tier, title_cover = self._where[sha]
        a = self._arrays
        return {
            "best_passage": round(float(a["passage"][start]), 4),
            "further_passages": round(float(a["evidence"][g] - a["passage"][start]), 4),
            "coverage": round(float(a["report_cover"][g]), 4),
            "proximity": round(float(a["closeness"][start]), 4),
            "title": round(float(title_cover), 4),
            "understood": tier,
        }


def rank_best(
    searcher, best: BestMatch, allowed: set[str] | None, catalogue, title_terms
) -> BestRanking:
    """Rank the `allowed` reports (None: all) for a best-match query (module docstring).

    `catalogue` gives each report's metadata (locality, region, year, subject) and
    `title_terms(sha)` the index terms of its title.
    """
    from whoosh import query as wq

    concepts = list(best.concepts)
    k = len(concepts)
    context = searcher.context()
    total_docs = max(searcher.doc_count(), 1)
    df = np.zeros(k, dtype=np.int64)
    pieces: list[tuple] = []  # per segment: (_TermScores, offset, ids, reports, scores k x n)
    admitted = None  # report number -> whether `allowed` holds it
    scale = [_form_scales(searcher, concept) for concept in concepts]
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        size = reader.doc_count_all()
        if not size:
            continue
        numbers = _report_numbers(reader, segment_reports(reader))
        scores = np.zeros((k, size), dtype=np.float32)
        term_scores = _TermScores(leaf, reader, context)
        for c, concept in enumerate(concepts):
            row = scores[c]
            for f, form in enumerate(concept.forms):
                if concept.required and len(form.terms) > 1:  # a "phrase": exactly
                    found = fastpaths.phrase_scores(
                        leaf, wq.Phrase("text", list(form.terms)), context
                    )
                    if not found:
                        continue
                    ids = np.fromiter(found.keys(), np.int64, len(found))
                    values = np.fromiter(found.values(), np.float32, len(found))
                else:
                    ids, values = term_scores.all_of(_loose_terms(form.terms))
                if len(ids):
                    row[ids] = np.maximum(row[ids], values * scale[c][f])
        present = scores > 0
        df += present.sum(axis=1)
        hit = present.any(axis=0)
        for form in best.excluded:
            hit &= ~_form_mask(term_scores, form, size)
        ids = np.flatnonzero(hit)
        if allowed is not None and len(ids):
            if admitted is None or len(admitted) < len(_REPORT_SHAS):
                admitted = np.fromiter(
                    (s in allowed for s in _REPORT_SHAS), bool, len(_REPORT_SHAS)
                )
            ids = ids[admitted[numbers[ids]]]
        if not len(ids):
            continue
        pieces.append((term_scores, offset, ids, numbers[ids], scores[:, ids]))
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
    present = scores > 0
    cover = weights @ present
    passage = scores.sum(axis=0) * (COVER_FLOOR + (1 - COVER_FLOOR) * cover)
    closeness, phrase = _proximity(pieces, best, present, passage)
    passage *= (1 + PHRASE_BOOST * phrase) * (1 + PROXIMITY_BOOST * closeness * cover)
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
    # A form of several words counted where its words stand anywhere in a passage; whether a
    # report holds the concept (for counts and coverage) needs them standing together.
    present = _confirm_forms(pieces, concepts, present, docnums, starts, group)
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
        title = title_terms(sha) | _name_terms(doc.subject)
        title_cover = sum(
            weights[c] for c, concept in enumerate(concepts) if set(concept.forms[0].terms) <= title
        )
        score = float(strength[g]) * (1 + TITLE_BOOST * title_cover)
        tier = _tier(doc, understood)
        entries.append((tier, score, sha, g, start, title_cover))
    entries.sort(key=lambda e: (-e[0], -e[1], e[2]))
    ends = np.r_[starts[1:], len(reports)]
    for tier, score, sha, g, start, title_cover in entries:
        if matches[g]:
            ranking.matching.append(sha)
            ranking.counts[sha] = int(passages_hit[g])
        else:
            ranking.partial.append(sha)
        ranking.scores[sha] = score
        ranking._where[sha] = (g, int(start), int(ends[g]), tier, title_cover)
    ranking._arrays = {
        "docnums": docnums, "passage": passage, "held": held, "known": known,
        "evidence": evidence, "report_cover": report_cover, "closeness": closeness,
    }  # fmt: skip
    return ranking


class _TermScores:
    """BM25 scores of terms in one segment (numpy: docnums, scores), each read once."""

    def __init__(self, leaf, reader, context) -> None:
        self.leaf, self.reader, self.context = leaf, reader, context
        self.norms = None
        self.cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.blocks: dict[str, list] = {}  # term -> its blocks' (last docnum, offset)

    def positions(self, term: str, docnums: list[int]) -> dict[int, list[int]]:
        """A term's positions in some of the segment's passages (ascending docnums)."""
        if term in self.blocks:
            return fastpaths.block_positions(self.reader, "text", term, self.blocks[term], docnums)
        return fastpaths.term_positions(self.reader, "text", term, docnums)

    def of(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        cached = self.cache.get(term)
        if cached is None:
            cached = self.cache[term] = self._read(term)
        return cached

    def _read(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        blocks = self.blocks[term] = []
        found = fastpaths.term_postings(self.leaf, "text", term, self.context, blocks)
        if found is None or not len(found[0]):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        ids, tfs, scorer = found
        if self.norms is None:
            self.norms = fastpaths.length_norms(
                self.reader, "text", scorer.K1, scorer.B, scorer.avgfl
            )
        if self.norms is None:  # no length column: Whoosh's own scorer, one by one
            values = [scorer.score_for(d, t) for d, t in zip(ids, tfs, strict=True)]
            return ids, np.array(values, dtype=np.float32)
        return ids, scorer.idf * (tfs * (scorer.K1 + 1)) / (tfs + self.norms[ids])

    def all_of(self, terms: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The passages holding every one of `terms`, scored by the sum of their scores."""
        ids, values = self.of(terms[0])
        for term in terms[1:]:
            more_ids, more_values = self.of(term)
            both, mine, theirs = np.intersect1d(
                ids, more_ids, assume_unique=True, return_indices=True
            )
            ids, values = both, values[mine] + more_values[theirs]
        return ids, values


def _form_scales(searcher, concept) -> list[float]:
    """Each form's factor: its weight, times the typed form's specificity over its own (the
    sums of their words' idf), so another way of saying a concept counts as much as the
    concept typed, never more for having more or rarer words."""

    def specificity(form) -> float:
        return sum(searcher.idf("text", t) for t in _loose_terms(form.terms))

    typed = specificity(concept.forms[0])
    out = []
    for n, form in enumerate(concept.forms):
        own = specificity(form) if n else typed
        out.append(form.weight * (typed / own if own > 0 else 1.0))
    return out


def _loose_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    """A form's terms as a passage must hold them (stop words left out, unless all are):
    a form of several words matches a passage that holds them all; the strongest passages
    are then checked for the words standing together (`_proximity`)."""
    stops = _stop_terms()
    kept = tuple(dict.fromkeys(t for t in terms if t not in stops))
    return kept or tuple(dict.fromkeys(terms))


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


def _form_mask(term_scores: _TermScores, form, size: int) -> np.ndarray:
    """The passages of a segment that hold a form (a word, or a phrase exactly)."""
    from whoosh import query as wq

    mask = np.zeros(size, dtype=bool)
    if len(form.terms) == 1:
        mask[term_scores.of(form.terms[0])[0]] = True
    else:
        found = fastpaths.phrase_scores(
            term_scores.leaf, wq.Phrase("text", list(form.terms)), term_scores.context, scored=False
        )
        if found:
            mask[np.fromiter(found.keys(), np.int64, len(found))] = True
    return mask


def _proximity(pieces, best: BestMatch, present: np.ndarray, passage: np.ndarray):
    """For the strongest passages: how close together their concepts stand (0 to 1: the
    concepts held over the span of the smallest window holding them all, a little more in
    the query's order), and whether the query's words stand in them exactly as typed (an
    implicit phrase; a concept's own forms standing as written is what makes a report hold it,
    `_confirm_forms`, and is not rewarded twice)."""
    concepts = best.concepts
    closeness = np.zeros(len(passage), dtype=np.float64)
    phrase = np.zeros(len(passage), dtype=bool)
    candidates = np.flatnonzero(present.any(axis=0))
    if len(candidates) > PROXIMITY_PASSAGES:
        strongest = np.argpartition(-passage[candidates], PROXIMITY_PASSAGES)
        candidates = candidates[strongest[:PROXIMITY_PASSAGES]]
    top = candidates
    bounds = np.cumsum([0] + [len(p[2]) for p in pieces])
    by_segment: dict[int, list[tuple[int, int]]] = {}
    for i in top.tolist():
        s = int(np.searchsorted(bounds, i, side="right") - 1)
        by_segment.setdefault(s, []).append((int(pieces[s][2][i - bounds[s]]), i))
    stops = _stop_terms()
    wanted = {t for c in concepts for f in c.forms for t in f.terms} | set(best.phrase)
    wanted -= stops  # a phrase's stop words are taken as standing where they should
    for s, chosen in by_segment.items():
        term_scores = pieces[s][0]
        locals_ = sorted(d for d, _ in chosen)
        where = {t: term_scores.positions(t, locals_) for t in wanted}
        for docnum, i in chosen:
            spots = {t: where[t].get(docnum, ()) for t in wanted}
            lists = []
            for c, concept in enumerate(concepts):
                starts = [p for f in concept.forms for p in _form_starts(f.terms, spots)]
                if starts:
                    lists.append((c, sorted(starts)))
            if len(lists) >= 2:
                closeness[i] = _window_closeness(lists)
            if best.phrase and _form_starts(best.phrase, spots):
                phrase[i] = True
    return closeness, phrase


#: How many of a report's passages are checked, round by round, for a form of several words
#: standing together: the best one first, then a few more, then up to the last number.
CONFIRM_ROUNDS = (1, 5, 21)


def _confirm_forms(pieces, concepts, present, docnums, starts, group) -> np.ndarray:
    """`present` (concepts x passages, grouped by report, best first) with each concept that
    has forms of several words held only where one of its forms stands as written (or a
    one-word form is there). A report's passages are checked best first, a few at a time
    (CONFIRM_ROUNDS), until one confirms: usually the first does."""
    offsets = np.array([p[1] for p in pieces])
    out = present
    for c, concept in enumerate(concepts):
        if concept.required or all(len(_loose_terms(f.terms)) < 2 for f in concept.forms):
            continue
        rows = present[c]
        seen = np.cumsum(rows)
        rank = seen - (seen - rows)[starts][group] - 1  # rank among the report's holders
        confirmed = np.zeros(len(rows), dtype=bool)
        done = np.zeros(len(starts), dtype=bool)
        low = 0
        for high in CONFIRM_ROUNDS:
            check = np.flatnonzero(rows & (rank >= low) & (rank < high) & ~done[group])
            if not len(check):
                break
            ok = _forms_stand(pieces, offsets, concept, docnums[check])
            confirmed[check[ok]] = True
            done[group[check[ok]]] = True
            low = high
        if out is present:
            out = present.copy()
        out[c] = confirmed
    return out


def _forms_stand(pieces, offsets, concept, docnums: np.ndarray) -> np.ndarray:
    """For each passage (global docnums), whether a form of `concept` stands in it as
    written (stop words taken as standing where they should)."""
    stops = _stop_terms()
    wanted = {t for f in concept.forms for t in f.terms} - stops
    segments = np.searchsorted(offsets, docnums, side="right") - 1
    ok = np.zeros(len(docnums), dtype=bool)
    for s in np.unique(segments).tolist():
        mine = np.flatnonzero(segments == s)
        term_scores, offset = pieces[s][0], pieces[s][1]
        locals_ = (docnums[mine] - offset).tolist()
        order = sorted(locals_)
        where = {t: term_scores.positions(t, order) for t in wanted}
        for i, docnum in zip(mine.tolist(), locals_, strict=True):
            spots = {t: where[t].get(docnum, ()) for t in wanted}
            ok[i] = any(_form_starts(f.terms, spots) for f in concept.forms)
    return ok


def _form_starts(terms: tuple[str, ...], spots: dict) -> list[int]:
    """Where the terms stand one after another in a passage (positions of the first word
    that is not a stop word; stop words are not read, and taken as standing in between)."""
    placed = [(n, t) for n, t in enumerate(terms) if t in spots] or list(enumerate(terms))
    first_at, first = placed[0]
    starts = spots.get(first, ())
    if len(placed) == 1:
        return list(starts)
    later = [(n - first_at, set(spots.get(t, ()))) for n, t in placed[1:]]
    return [p for p in starts if all(p + n in s for n, s in later)]


@lru_cache(maxsize=4096)
def _name_terms(name: str | None) -> frozenset[str]:
    """A report's subject (a child's pseudonym, code or name) as index terms."""
    return frozenset(text_terms(name)) if name else frozenset()


@lru_cache(maxsize=1)
def _stop_terms() -> frozenset[str]:
    """The stop words as the index holds them ("was" is stored as "wa")."""
    from ...query import stop_words

    return frozenset(term for word in stop_words() for term in text_terms(word))


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
