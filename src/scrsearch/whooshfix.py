"""Fixes to Whoosh 2.7 where profiling showed it spending our users' time.

Whoosh is pure Python and no longer maintained, so these are applied here, each kept small
and checked by tests against Whoosh's own code path: the speed fixes give exactly Whoosh's
answers, only sooner; one fixes a wrong answer (`_and_not_first`). `apply()` is idempotent
and called when scrsearch.index is imported.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_left
from itertools import accumulate
from pickle import loads

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.formats import Positions
from whoosh.matching import ReadTooFar
from whoosh.matching.binary import AndNotMatcher
from whoosh.query.spans import Span, SpanNear2
from whoosh.system import _INT_SIZE

_original_skip_to = W3LeafMatcher.skip_to
_original_phrase_spans = SpanNear2.SpanNear2Matcher._get_spans
_original_read_ids = W3LeafMatcher._read_ids
_original_read_data = W3LeafMatcher._read_data
_original_decode_positions = Positions.decode_positions
_original_and_not_first = AndNotMatcher._find_first


def _and_not_first(self):
    """AndNotMatcher._find_first that moves the excluded side up to the first candidate.

    A bug, not speed: Whoosh only checks whether the two sides start on the same document,
    so when the excluded word's postings start earlier, the first document of the wanted
    side is returned even if it holds the excluded word (`child -police` matched the first
    passage with both words).
    """
    if self.a.is_active() and self.b.is_active():
        self._find_next()


def _read_ids(self):
    """W3LeafMatcher._read_ids with the delta decoding done by itertools.accumulate (in C)
    instead of a Python generator: 128 steps a posting block, on every block read."""
    if self._data is None:
        self._read_data()
    ids = self._data[0]
    self._ids = ids if self._byteids else tuple(accumulate(ids))


def _decode_positions(self, valuestring):
    """Positions.decode_positions with accumulate instead of a Python loop (every phrase
    candidate decodes the positions of each of its words)."""
    if not valuestring.endswith(b"."):
        valuestring += b"."
    return list(accumulate(loads(valuestring[_INT_SIZE:])))


def _skip_to(self, targetid):
    """W3LeafMatcher.skip_to with a binary search inside the block.

    Whoosh steps through a block one posting at a time (`while id() < target: next()`), two
    Python calls a posting; a phrase or an AND with a common word skips through most of that
    word's postings this way (half the time of a phrase search). Blocks are skipped as before.
    """
    if not self.is_active():
        raise ReadTooFar
    if targetid <= self.id():
        return
    if targetid > self._maxid:
        self._skip_to_block(lambda: targetid > self._maxid)
        if not self.is_active():
            return
    if self._ids is None:
        self._read_ids()
    # The block's last id is its maxid >= targetid, so the position is inside this block.
    self._i = bisect_left(self._ids, targetid, self._i)


def _phrase_spans(self):
    """SpanNear2Matcher._get_spans for an exact phrase (slop 1, ordered, words adjacent).

    Whoosh pairs every span of one word with every nearby span of the next through Span
    objects, a bisect and a distance check each; an exact phrase only asks whether word i
    is at position p + i, which sets answer directly. Other span queries keep Whoosh's code.
    """
    ms = self.ms
    exact = getattr(self, "_exact_phrase", None)
    if exact is None:  # the matchers' formats do not change: decide once per matcher
        exact = self._exact_phrase = (
            self.slop == 1
            and self.ordered
            and self.mindist == 1
            and all(m.supports("positions") and not m.supports("characters") for m in ms)
        )
    if not exact:
        return _original_phrase_spans(self)
    starts = set(ms[0].value_as("positions"))
    for i in range(1, len(ms)):
        if not starts:
            return []
        starts.intersection_update([p - i for p in ms[i].value_as("positions")])
    last = len(ms) - 1
    return [Span(p, p + last) for p in sorted(starts)]


#: Decoded posting blocks, while a `block_cache()` is open: {(file, offset): data}.
_BLOCKS: dict | None = None
#: At most this many blocks are kept (a block of a text field holds 128 postings and their
#: positions: about 5 KB decoded, so at most about 50 MB for one search).
BLOCK_CACHE_BLOCKS = 10_000


@contextlib.contextmanager
def block_cache():
    """Within this block, a posting block decoded once is not decoded again.

    One search reads the same posting lists twice (finding the matching passages, then
    ranking them); decoding a block (unpickling and decompressing) is most of the cost of a
    common word. The cache lives only as long as the block: nothing is kept between searches.
    """
    global _BLOCKS
    outer = _BLOCKS
    if outer is None:
        _BLOCKS = {}
    try:
        yield
    finally:
        if outer is None:
            _BLOCKS = None


def _read_data(self):
    """W3LeafMatcher._read_data through the block cache, when one is open."""
    cache = _BLOCKS
    if cache is None:
        _original_read_data(self)
        return
    key = (id(self._postfile), self._dataoffset)
    data = cache.get(key)
    if data is None:
        _original_read_data(self)
        if len(cache) < BLOCK_CACHE_BLOCKS:
            cache[key] = self._data
    else:
        self._data = data


#: (class, attribute, our version, Whoosh's): the fixes that only make Whoosh faster.
_SPEEDUPS = (
    (W3LeafMatcher, "skip_to", _skip_to, _original_skip_to),
    (W3LeafMatcher, "_read_ids", _read_ids, _original_read_ids),
    (W3LeafMatcher, "_read_data", _read_data, _original_read_data),
    (Positions, "decode_positions", _decode_positions, _original_decode_positions),
    (SpanNear2.SpanNear2Matcher, "_get_spans", _phrase_spans, _original_phrase_spans),
)
#: The fixes of wrong answers.
_BUGFIXES = ((AndNotMatcher, "_find_first", _and_not_first, _original_and_not_first),)


def apply() -> None:
    for owner, name, ours, _whooshs in _SPEEDUPS + _BUGFIXES:
        setattr(owner, name, ours)


def restore_speedups() -> None:
    """Whoosh's own code again where a fix is only for speed (tests compare the two)."""
    for owner, name, _ours, whooshs in _SPEEDUPS:
        setattr(owner, name, whooshs)


def restore_all() -> None:
    """Whoosh exactly as released, bugs included (for the test that shows the bug)."""
    for owner, name, _ours, whooshs in _SPEEDUPS + _BUGFIXES:
        setattr(owner, name, whooshs)


# -- matching document sets -------------------------------------------------------------------


def matching_docnums(leaf_searcher, q, context=None) -> set[int]:
    """The segment-local docnums a query matches in one segment, as a set.

    Counting matches through Whoosh's matchers costs several Python calls a document (an
    AND of two common words: half a search's time). Words, ORs, ANDs and NOTs are computed
    here as sets instead: a word's ids are read a posting block at a time and combined with
    set operations in C. Anything else (phrases, ranges) asks Whoosh's matcher, for that
    part only.
    """
    from whoosh import query as wq

    reader = leaf_searcher.reader()
    if hasattr(q, "docnums"):  # a query that knows its own set (search.ReportQuery)
        return q.docnums(reader)
    if isinstance(q, wq.Term):
        return _term_docnums(reader, q.fieldname, q.text)
    if isinstance(q, wq.Phrase):
        scores = phrase_scores(leaf_searcher, q, context, scored=False)
        if scores is not None:
            return set(scores)
    if isinstance(q, (wq.Prefix, wq.Wildcard)):
        found: set[int] = set()
        for btext in q._btexts(reader):
            found |= _term_docnums(reader, q.fieldname, btext)
        return found
    if isinstance(q, wq.AndNot):
        positive = matching_docnums(leaf_searcher, q.a, context)
        return positive - matching_docnums(leaf_searcher, q.b, context) if positive else positive
    if isinstance(q, wq.And) and q.subqueries:
        wanted = [c for c in q.subqueries if not isinstance(c, wq.Not)]
        unwanted = [c.query for c in q.subqueries if isinstance(c, wq.Not)]
        if wanted:
            found = matching_docnums(leaf_searcher, wanted[0], context)
            for child in wanted[1:]:
                if not found:
                    break
                found &= matching_docnums(leaf_searcher, child, context)
            for child in unwanted:
                if not found:
                    break
                found -= matching_docnums(leaf_searcher, child, context)
            return found
    if (
        isinstance(q, wq.Or)
        and q.subqueries
        and not any(isinstance(c, wq.Not) for c in q.subqueries)
    ):
        found = set()
        for child in q.subqueries:
            found |= matching_docnums(leaf_searcher, child, context)
        return found
    matcher = q.matcher(leaf_searcher, context or leaf_searcher.boolean_context())
    return set(matcher.all_ids()) if matcher.is_active() else set()


def _term_docnums(reader, fieldname: str, text) -> set[int]:
    """The live docnums holding a term, read block by block from its posting list."""
    if fieldname not in reader.schema:
        return set()
    try:
        btext = reader.schema[fieldname].to_bytes(text) if isinstance(text, str) else text
    except ValueError:
        return set()
    if (fieldname, btext) not in reader:
        return set()
    matcher = reader.postings(fieldname, btext)
    deleted = None
    if not isinstance(matcher, W3LeafMatcher):  # wrapped to hide deleted documents
        child = getattr(matcher, "child", None)
        if not isinstance(child, W3LeafMatcher) or child._byteids:
            return set(matcher.all_ids())
        matcher, deleted = child, reader.deleted_docs_set
    ids: list[int] = []
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        ids.extend(matcher._ids[matcher._i :])
        matcher._next_block()
    found = set(ids)
    return found - deleted if deleted else found


# -- exact phrases ------------------------------------------------------------------------------


def phrase_scores(leaf_searcher, q, context, *, scored: bool = True) -> dict[int, float] | None:
    """docnum -> score of the passages of one segment that hold the exact phrase `q`, scored
    as Whoosh's phrase matcher scores them (the sum of its words' scores, in its order);
    every score 0.0 when not `scored` (only the documents are wanted).

    Whoosh finds phrase candidates by leapfrogging the words' matchers through a tree of
    intersections, several Python calls a posting; here the candidates are the rarest word's
    documents, and the other words' matchers visit only them. None when this is not an exact
    phrase in a field with positions (Whoosh's matcher then does it).
    """
    reader = leaf_searcher.reader()
    name = q.fieldname
    if q.slop != 1 or name not in reader.schema:
        return None
    field = reader.schema[name]
    if not field.format or not field.format.supports("positions"):
        return None
    if field.format.supports("characters"):
        return None
    btexts = []
    for word in q.words:
        try:
            btext = field.to_bytes(word)
        except ValueError:
            return {}
        if (name, btext) not in reader:
            return {}
        btexts.append(btext)
    # The rarest word's documents are the candidates; the other words' matchers skip to each
    # (past whole blocks without one), rarest first, and a candidate is dropped at the first
    # word it lacks, before any positions are read.
    order = sorted(range(len(btexts)), key=lambda i: reader.doc_frequency(name, btexts[i]))
    candidates = _term_docnums(reader, name, btexts[order[0]])
    if not candidates:
        return {}
    weighting = context.weighting if context is not None else leaf_searcher.weighting
    matchers = [leaf_searcher.postings(name, btext, weighting=weighting) for btext in btexts]
    checks = [(i, matchers[i]) for i in order]
    scores: dict[int, float] = {}
    for docnum in sorted(candidates):
        starts = None
        for i, matcher in checks:
            if not matcher.is_active():
                return scores
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
                if not matcher.is_active():
                    return scores
            if matcher.id() != docnum:
                starts = None
                break
            shifted = {p - i for p in matcher.value_as("positions")}
            starts = shifted if starts is None else starts & shifted
            if not starts:
                break
        if starts and not scored:
            scores[docnum] = 0.0
        elif starts:
            score = _tree_sum([m.score() for m in matchers])
            scores[docnum] = score * q.boost if q.boost != 1.0 else score
    return scores


def _tree_sum(values: list[float]) -> float:
    """Sum in the order of Whoosh's binary tree of matchers (make_binary_tree), so floating
    point sums come out bit for bit the same."""
    if len(values) == 1:
        return values[0]
    half = len(values) // 2
    return _tree_sum(values[:half]) + _tree_sum(values[half:])


def phrases_scores(leaf_searcher, q, context) -> dict[int, float] | None:
    """`phrase_scores` for a phrase, or an OR of phrases (as a phrase over several fields is
    parsed); None for any other query."""
    from whoosh import query as wq

    if isinstance(q, wq.Phrase):
        return phrase_scores(leaf_searcher, q, context)
    if not (isinstance(q, wq.Or) and q.subqueries and q.scale is None and q.minmatch == 0):
        return None
    if not all(isinstance(c, wq.Phrase) for c in q.subqueries):
        return None
    parts = [phrase_scores(leaf_searcher, c, context) for c in q.subqueries]
    if any(p is None for p in parts):
        return None
    combined: dict[int, float] = {}
    for docnum in set().union(*parts):
        score = _union_sum(parts, docnum)
        combined[docnum] = score * q.boost if q.boost != 1.0 else score
    return combined


def _union_sum(parts: list[dict[int, float]], docnum: int) -> float | None:
    """A document's score under Whoosh's binary tree of union matchers over `parts`."""
    if len(parts) == 1:
        return parts[0].get(docnum)
    half = len(parts) // 2
    left, right = _union_sum(parts[:half], docnum), _union_sum(parts[half:], docnum)
    if left is None:
        return right
    if right is None:
        return left
    return left + right
