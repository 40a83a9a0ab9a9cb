"""Fixes to Whoosh 2.7 where profiling showed it spending our users' time.

Whoosh is pure Python and no longer maintained, so these are applied here, each kept small
and checked by tests against Whoosh's own code path: the speed fixes give exactly Whoosh's
answers, only sooner; one fixes a wrong answer (`_and_not_first`). `apply()` is idempotent
and called when scrsearch.index is imported.
"""

from __future__ import annotations

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
    if not (self.slop == 1 and self.ordered and self.mindist == 1) or not all(
        m.supports("positions") and not m.supports("characters") for m in ms
    ):
        return _original_phrase_spans(self)
    starts = set(ms[0].value_as("positions"))
    for i in range(1, len(ms)):
        if not starts:
            return []
        starts.intersection_update([p - i for p in ms[i].value_as("positions")])
    last = len(ms) - 1
    return [Span(p, p + last) for p in sorted(starts)]


def apply() -> None:
    W3LeafMatcher.skip_to = _skip_to
    W3LeafMatcher._read_ids = _read_ids
    Positions.decode_positions = _decode_positions
    SpanNear2.SpanNear2Matcher._get_spans = _phrase_spans
    AndNotMatcher._find_first = _and_not_first


def restore_speedups() -> None:
    """Whoosh's own code again where a fix is only for speed (tests compare the two)."""
    W3LeafMatcher.skip_to = _original_skip_to
    W3LeafMatcher._read_ids = _original_read_ids
    Positions.decode_positions = _original_decode_positions
    SpanNear2.SpanNear2Matcher._get_spans = _original_phrase_spans


def restore_all() -> None:
    """Whoosh exactly as released, bugs included (for the test that shows the bug)."""
    restore_speedups()
    AndNotMatcher._find_first = _original_and_not_first


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
