"""Ranking reports for strict queries (AND, OR, NOT, phrases, wildcards, `--all-words`).

Every path ends in the same answer: matching passages per report, each report's strength
(its best passage's score) and the page's reports with their best passages. Best-match
queries are ranked by bestrank.py.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from whoosh import collectors
from whoosh import query as wq

from .. import PASSAGES_PER_REPORT
from . import fastpaths
from .reports import global_reports, segment_reports, segment_runs


def positive_parts(q: wq.Query) -> Iterator[wq.Query]:
    """The leaves of a query that a matching passage must or may contain (not the NOT parts)."""
    if isinstance(q, wq.AndNot):
        yield from positive_parts(q.a)
    elif isinstance(q, wq.Not):
        return
    elif isinstance(q, (wq.Phrase, wq.Term, wq.PatternQuery)):
        yield q
    else:
        for child in q.children():
            yield from positive_parts(child)


def count_reports(searcher, matching: wq.Query, allowed: set[str] | None = None) -> Counter:
    """Matching passages per report (sha256), without scoring or loading stored fields.

    Each segment's docnum -> report column is read once per process; the matching docnums
    (a set per segment, see fastpaths.matching_docnums) are mapped through it, so counting
    costs one pass over the matches and nothing per report. With `allowed`, only those
    reports are counted.
    """
    counts: Counter = Counter()
    for leaf, _offset in searcher.leaf_searchers():
        shas = segment_reports(leaf.reader())
        counts.update(map(shas.__getitem__, fastpaths.matching_docnums(leaf, matching)))
    if allowed is not None:
        counts = Counter({sha: n for sha, n in counts.items() if sha in allowed})
    return counts


class _TopReports(collectors.ScoredCollector):
    """Collects the `wanted` reports with the best passage scores, in one pass.

    Like Whoosh's top-k collector, but over reports: once `wanted` reports are held, a passage
    scoring below the weakest of their best passages cannot change the answer, so posting
    blocks whose best possible score is lower are skipped without being scored. With
    `count_all`, nothing is skipped and every match is counted per report (for queries whose
    matching is the costly part, such as phrases, so they are matched once).
    """

    def __init__(self, shas: list[str], allowed: set[str], wanted: int, count_all: bool):
        super().__init__()
        self.shas, self.allowed, self.wanted, self.count_all = shas, allowed, wanted, count_all

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self.final_fn = None
        # A report's strength is (best passage score, -id): equal scores rank by report id,
        # so the same report wins a tie whatever order passages come in, and pages agree.
        self.best: dict[str, tuple[float, int]] = {}  # reports held, with their strength
        self.heap: list[tuple[tuple[float, int], str]] = []  # (strength, report); some stale
        self.floor = float("-inf")  # a passage scoring below this cannot change the answer
        self.counts: Counter = Counter()

    def _use_block_quality(self) -> bool:
        return not self.count_all and self.matcher.supports_block_quality()

    def computes_count(self) -> bool:
        return self.count_all

    def collect(self, sub_docnum: int):
        # Whoosh scores before collecting; a passage of a report outside the filters is
        # dropped here unscored.
        sha = self.shas[self.offset + sub_docnum]
        if sha not in self.allowed:
            return None
        if self.count_all:
            self.counts[sha] += 1
        score = self.matcher.score()
        if score < self.floor:
            return None
        best = self.best
        strength = _strength(sha, score)
        held = best.get(sha)
        if held is not None:
            if strength <= held:
                return None
        elif len(best) >= self.wanted:
            if strength <= self._weakest():
                return None
            del best[heapq.heappop(self.heap)[1]]
        best[sha] = strength
        heapq.heappush(self.heap, (strength, sha))
        if len(best) >= self.wanted:
            self.floor = self._weakest()[0]
            if not self.count_all:
                # Blocks that cannot score above the floor are skipped; a passage scoring
                # exactly the floor may still win its tie, so stay just below it. Not when
                # counting every match: Whoosh then drops whole parts of an OR whose best
                # score is under the floor (`CSE OR "child sexual exploitation"` lost the
                # reports that only say CSE).
                self.minscore = self.floor - abs(self.floor) * 1e-9 - 1e-12
        return None

    def _weakest(self) -> tuple[float, int]:
        """The weakest strength among the held reports (dropping stale heap entries)."""
        heap = self.heap
        while self.best.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0]

    def results(self):
        return self


def _has_phrase(q: wq.Query) -> bool:
    return any(isinstance(leaf, wq.Phrase) for leaf in positive_parts(q))


#: Up to this many matching passages (within the filters) are scored one by one, which gives
#: every report's best passages at once; more are ranked by the block-skipping `_TopReports`.
SCORE_EACH_LIMIT = 5000
#: ... and so are the matches within the filters when they are at most 1/this of all matches
#: (measured at 100,000 pages: scoring 27k of 64k matches one by one beat walking all 64k).
SCORE_EACH_RATIO = 2


def rank_reports(
    searcher,
    text_query: wq.Query,
    allowed: set[str],
    *,
    filtered: bool,
    offset: int,
    limit: int,
    pager=None,
):
    """Count and rank the `allowed` reports whose passages match the query words:
    (matching passages per report, [(report, score, [(global docnum, score)])] for the page).

    Every filter is a property of a report, so the filters come as a set of reports taken
    from the catalogue instead of extra query clauses (`filtered` says whether they narrow
    anything): a year range as a query would expand into a union of terms materialised on
    every search.

    An exact phrase (over its fields) is found and scored a posting block at a time
    (fastpaths.phrases_scores). A word, or two words AND-ed, is scored in bulk, every match
    at once (fastpaths.bulk_scores). Other words, ANDs, ORs and NOTs: the matching passages
    are found as sets (no scoring) and counted per report; when few are left within the
    filters, each is scored; otherwise reports are ranked by their best passage in one
    scored pass that skips what cannot reach the page (`_TopReports`), and only the page's
    reports are scored for their best passages. Any other query with a phrase is matched
    once, counting as it ranks.
    """
    wanted = offset + limit
    phrases = _score_phrases(searcher, text_query, allowed)
    if phrases is not None:
        counts, strengths, picks = phrases
    elif _has_phrase(text_query):
        top = _TopReports(global_reports(searcher), allowed, max(wanted, 1), count_all=True)
        searcher.search_with_collector(text_query, top)
        counts, strengths, picks = top.counts, top.best, None
    else:
        counts, strengths, picks = _rank_words(searcher, text_query, allowed, filtered, wanted)
    order = sorted(strengths, key=strengths.__getitem__, reverse=True)
    page = pager(order) if pager else order[offset:wanted]
    if picks is None:
        picks = _best_passages(searcher, text_query, page)
    return counts, [(sha, strengths[sha][0], picks[sha]) for sha in page]


def _rank_words(searcher, text_query, allowed, filtered: bool, wanted: int):
    """Counts, report strengths and (when scored one by one) best passages, for a query
    without phrases."""
    if not filtered and fastpaths.matches_are_postings(text_query):
        # A word's matches are its postings: scored in bulk, with no matching set first.
        matched = [(leaf, offset, None) for leaf, offset in searcher.leaf_searchers()]
        each = True
    else:
        matched, everywhere = _matching(searcher, text_query, allowed if filtered else None)
        within = sum(len(ids) for _leaf, _offset, ids in matched)
        # The ranking pass walks every match, filtered out or not; scoring a passage
        # directly costs a few times more than walking past one. Words and pairs of words
        # are scored in bulk, every match at once, faster than either.
        each = (
            within <= SCORE_EACH_LIMIT
            or within * SCORE_EACH_RATIO <= everywhere
            or fastpaths.scores_in_bulk(text_query)
        )
    if each:
        return _rank_scored(_score_each(searcher, text_query, matched, allowed))
    counts = Counter()
    for leaf, _offset, ids in matched:
        shas = segment_reports(leaf.reader())
        counts.update(shas[d] for d in ids)
    counts = Counter({sha: n for sha, n in counts.items() if sha in allowed})
    top = _TopReports(global_reports(searcher), allowed, max(wanted, 1), count_all=False)
    if wanted:
        searcher.search_with_collector(text_query, top)
    return counts, top.best, None


def _matching(searcher, text_query: wq.Query, allowed: set[str] | None):
    """(leaf searcher, docnum offset, matching segment-local docnums) for each segment, the
    docnums limited to the `allowed` reports' passages when given; and how many matched in
    all, before that limit."""
    matched = []
    everywhere = 0
    for leaf, offset in searcher.leaf_searchers():
        ids = fastpaths.matching_docnums(leaf, text_query)
        everywhere += len(ids)
        if allowed is not None and ids:
            shas = segment_reports(leaf.reader())
            ids = {d for d in ids if shas[d] in allowed}
        matched.append((leaf, offset, ids))
    return matched, everywhere


def _strength(sha: str, score: float) -> tuple[float, int]:
    """How reports rank: best passage score, then (for equal scores) report id."""
    return (score, -int(sha[:15], 16))


def _score_each(
    searcher, text_query: wq.Query, matched, allowed: set[str]
) -> dict[str, list[tuple[float, int]]]:
    """Score every matched passage of the `allowed` reports: report -> [(-score, docnum)].
    `matched` is (leaf, offset, the segment's matching docnums, or None for every match)."""
    context = searcher.context()
    scored: dict[str, list[tuple[float, int]]] = {}
    for leaf, offset, ids in matched:
        if ids is not None and not ids:
            continue
        scores = fastpaths.bulk_scores(leaf, text_query, context, ids)
        if scores is not None:
            pairs = scores.items()
        else:
            if ids is None:
                ids = fastpaths.matching_docnums(leaf, text_query)
            pairs = _scored_at(text_query.matcher(leaf, context), sorted(ids))
        _add_scored(scored, allowed, segment_reports(leaf.reader()), offset, pairs)
    return scored


def _add_scored(
    scored: dict[str, list[tuple[float, int]]],
    allowed: set[str],
    shas: list[str],
    offset: int,
    pairs: Iterable[tuple[int, float]],
) -> None:
    """Add one segment's scored passages (docnum, score) of the `allowed` reports to
    `scored` (report -> [(-score, global docnum)]); `shas` is the segment's docnum -> report."""
    for docnum, score in pairs:
        sha = shas[docnum]
        passages = scored.get(sha)
        if passages is None:
            if sha not in allowed:
                continue
            passages = scored[sha] = []
        passages.append((-score, offset + docnum))


def _scored_at(matcher, docnums: Iterable[int]) -> Iterator[tuple[int, float]]:
    """(docnum, score) for each of the ascending `docnums` that `matcher` matches: the
    matcher skips to each one instead of walking its whole posting lists."""
    for docnum in docnums:
        if not matcher.is_active():
            return
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                return
        if matcher.id() == docnum:
            yield docnum, matcher.score()


def _rank_scored(scored: dict[str, list[tuple[float, int]]]):
    """From each report's scored passages (-score, docnum): (matching passages per report,
    each report's strength, its best passages)."""
    counts = Counter({sha: len(passages) for sha, passages in scored.items()})
    picks = {sha: _top_passages(passages) for sha, passages in scored.items()}
    strengths = {sha: _strength(sha, best[0][1]) for sha, best in picks.items()}
    return counts, strengths, picks


def _top_passages(scored: list[tuple[float, int]]) -> list[tuple[int, float]]:
    """The best PASSAGES_PER_REPORT of one report's (-score, docnum): (docnum, score)."""
    scored.sort()
    return [(docnum, -score) for score, docnum in scored[:PASSAGES_PER_REPORT]]


def _score_phrases(searcher, text_query: wq.Query, allowed: set[str]):
    """(counts, strengths, best passages) for a query that is an exact phrase (or one over
    several fields), every match scored (fastpaths.phrases_scores); None for other queries."""
    if not isinstance(text_query, (wq.Phrase, wq.Or)):
        return None
    context = searcher.context()
    matched = []
    for leaf, offset in searcher.leaf_searchers():
        scores = fastpaths.phrases_scores(leaf, text_query, context)
        if scores is None:
            return None
        matched.append((offset, segment_reports(leaf.reader()), scores))
    scored: dict[str, list[tuple[float, int]]] = {}
    for offset, shas, scores in matched:
        _add_scored(scored, allowed, shas, offset, scores.items())
    return _rank_scored(scored)


def _best_passages(searcher, text_query: wq.Query, shas: Sequence[str]):
    """The best-scoring matching passages (docnum, score) of each of a few reports.

    The query's matcher is moved only to the reports' own passages (their runs of docnums)
    and scored there: the same matcher and scores as the ranking pass, without walking the
    query's long posting lists. Deleted passages are never matched.
    """
    picks: dict[str, list[tuple[int, float]]] = {}
    context = searcher.context()
    for sha in shas:
        scored: list[tuple[float, int]] = []
        for leaf, offset in searcher.leaf_searchers():
            runs = segment_runs(leaf.reader()).get(sha)
            if not runs:
                continue
            mine = itertools.chain.from_iterable(range(start, end) for start, end in runs)
            for docnum, score in _scored_at(text_query.matcher(leaf, context), mine):
                scored.append((-score, offset + docnum))
        picks[sha] = _top_passages(scored)
    return picks


def first_tagged_passages(searcher, shas: Sequence[str], tag_ids: set[str]):
    """Each report's first passages (in page order) tagged with any of `tag_ids`: global
    docnums. The tagged passages are found once per segment, as a set; a report's passages
    are one run of docnums in page order, so its first tagged ones are the lowest."""
    tagged_query = wq.Or([wq.Term("tags", t) for t in sorted(tag_ids)])
    first: dict[str, list[int]] = {sha: [] for sha in shas}
    for leaf, offset in searcher.leaf_searchers():
        runs = segment_runs(leaf.reader())
        mine = [(sha, runs[sha]) for sha in shas if sha in runs]
        if not mine:
            continue
        tagged = fastpaths.matching_docnums(leaf, tagged_query)
        for sha, sha_runs in mine:
            found = first[sha]
            for start, end in sha_runs:
                found.extend(offset + d for d in range(start, end) if d in tagged)
    return {sha: sorted(found)[:PASSAGES_PER_REPORT] for sha, found in first.items()}
