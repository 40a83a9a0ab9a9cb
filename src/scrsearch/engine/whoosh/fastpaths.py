"""Our own evaluation of Whoosh queries where profiling showed Whoosh spending our users' time.

Matching sets (`matching_docnums`), exact phrases and bulk BM25F scoring read posting blocks
directly, and are checked by tests against Whoosh's own matchers: they give Whoosh's answers,
only sooner. Nothing here changes a Whoosh class (patches.py holds our query and matcher
subclasses).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.scoring import BM25FScorer, WeightLengthScorer
from whoosh.util.numeric import byte_to_length

# -- document lengths in memory -----------------------------------------------------------------

#: byte -> field length, as Whoosh decodes the length byte it stores per document and field.
LENGTHS = [byte_to_length(b) for b in range(256)]


class LengthTable:
    """Whoosh's doc_field_length() over whole length columns read into memory when a field
    is first asked for (one byte a document), instead of a file read per call."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self.columns: dict[str, bytes | None] = {}

    def column(self, fieldname: str) -> bytes | None:
        """A field's length byte of every document, or None when it has no length column."""
        if fieldname not in self.columns:
            self.columns[fieldname] = self._read(fieldname)
        return self.columns[fieldname]

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        column = self.column(fieldname)
        if column is None:
            return default
        lbyte = column[docnum]
        return LENGTHS[lbyte] if lbyte else None  # as Whoosh: None for an empty field

    def _read(self, fieldname: str) -> bytes | None:
        lenfield = f"_{fieldname}_len"
        if not self.reader.has_column(lenfield):
            return None
        column = self.reader.column_reader(lenfield, LENGTHS_COLUMN)
        total = self.reader.doc_count_all()
        if getattr(column, "_typecode", None) == "B":  # one byte a document: read them at once
            stored = column._dbfile.get(column._basepos, column._count)
            return stored + bytes(total - len(stored))
        return bytes(column[docnum] for docnum in range(total))


#: Per segment (segments never change once written): its length columns in memory.
_SEGMENT_LENGTHS: dict[str, LengthTable] = {}


def forget_lengths() -> None:
    """Drop the length columns kept in memory."""
    _SEGMENT_LENGTHS.clear()


def lengths_in_memory(searcher) -> None:
    """Make scoring read document lengths from memory in each segment of `searcher`.

    BM25 needs the length of every document it scores; Whoosh reads it from the length
    column file one document at a time (a fifth of a common word's search time).
    """
    for leaf, _offset in searcher.leaf_searchers():
        reader = leaf.reader()
        perdoc = getattr(reader, "_perdoc", None)
        if perdoc is None or not hasattr(reader, "segment"):
            continue
        key = reader.segment().segment_id()
        table = _SEGMENT_LENGTHS.get(key)
        if table is None:
            table = _SEGMENT_LENGTHS[key] = LengthTable(perdoc)
        table.reader = perdoc  # columns not read yet are read through the open reader
        perdoc.doc_field_length = table.doc_field_length


def _length_column(reader, fieldname: str) -> bytes | None:
    """The length bytes of a segment's field, when `lengths_in_memory` holds them."""
    perdoc = getattr(reader, "_perdoc", None)
    table = getattr(getattr(perdoc, "doc_field_length", None), "__self__", None)
    return table.column(fieldname) if isinstance(table, LengthTable) else None


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
    if hasattr(q, "docnums"):  # a query that knows its own set (reports.ReportQuery)
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
    btext = _term_bytes(reader, fieldname, text)
    if btext is None:
        return set()
    found = _block_matcher(reader, fieldname, btext)
    if found is None:
        return set(reader.postings(fieldname, btext).all_ids())
    matcher, deleted = found
    ids: list[int] = []
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        ids.extend(matcher._ids[matcher._i :])
        matcher._next_block()
    return set(ids).difference(deleted)


def _term_bytes(reader, fieldname: str, text) -> bytes | None:
    """A term's bytes in the field's encoding when the segment holds it, else None."""
    if fieldname not in reader.schema:
        return None
    try:
        btext = reader.schema[fieldname].to_bytes(text) if isinstance(text, str) else text
    except ValueError:
        return None
    return btext if (fieldname, btext) in reader else None


def _block_matcher(reader, fieldname: str, btext: bytes):
    """(Whoosh 3 block matcher of a term's postings, deleted docnums), or None when the
    postings are not read through one (inlined single postings, other codecs)."""
    matcher = reader.postings(fieldname, btext)
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        return matcher, ()
    child = getattr(matcher, "child", None)  # wrapped to hide deleted documents
    if isinstance(child, W3LeafMatcher) and not child._byteids:
        return child, reader.deleted_docs_set
    return None


# -- exact phrases ------------------------------------------------------------------------------


def phrase_scores(leaf_searcher, q, context, *, scored: bool = True) -> dict[int, float] | None:
    """docnum -> score of the passages of one segment that hold the exact phrase `q`, scored
    as Whoosh's phrase matcher scores them (the sum of its words' scores, in its order);
    every score 0.0 when not `scored` (only the documents are wanted).

    Whoosh finds phrase candidates by leapfrogging the words' matchers through a tree of
    intersections, several Python calls a posting. Here the candidates are the rarest word's
    documents with its positions; each other word, rarest first, is read a posting block at
    a time: a block with no candidate is passed by its header, and only the candidates'
    positions are decoded. None when this is not an exact phrase in a field with positions,
    or its postings are not Whoosh 3 blocks (Whoosh's matcher then does it).
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
    btexts = [_term_bytes(reader, name, word) for word in q.words]
    if None in btexts:
        return {}
    weighting = context.weighting if context is not None else leaf_searcher.weighting
    scorers = [weighting.scorer(leaf_searcher, name, btext) for btext in btexts]
    if scored and not all(isinstance(s, WeightLengthScorer) for s in scorers):
        return None
    matchers = [_block_matcher(reader, name, btext) for btext in btexts]
    if any(m is None for m in matchers):
        return None
    decode = field.format.decode_positions
    order = sorted(range(len(btexts)), key=lambda i: reader.doc_frequency(name, btexts[i]))
    weights: list[dict[int, float]] = [{} for _ in btexts]
    starts: dict[int, set[int]] = {}
    first = order[0]
    matcher, deleted = matchers[first]
    while matcher.is_active():  # the rarest word: every posting is a candidate
        matcher._read_ids()
        matcher._read_values()
        values = matcher._values
        for k, docnum in enumerate(matcher._ids):
            starts[docnum] = {p - first for p in decode(values[k])}
        if scored:
            matcher._read_weights()
            weights[first].update(zip(matcher._ids, matcher._weights, strict=True))
        matcher._next_block()
    for docnum in deleted:
        starts.pop(docnum, None)
    for i in order[1:]:
        starts = _phrase_word(matchers[i][0], i, starts, decode, weights[i] if scored else None)
        if not starts:
            return {}
    if not scored:
        return dict.fromkeys(starts, 0.0)
    dfl = scorers[0].dfl
    column = _length_column(reader, name)
    scores: dict[int, float] = {}
    if _same_bm25f(scorers) and column is not None:
        # bm25(idf, tf, fl, avgfl, B, K1) in its own order, the part that depends only on
        # the document's length byte computed once per byte
        idfs = [s.idf for s in scorers]
        K1, B, avgfl = scorers[0].K1, scorers[0].B, scorers[0].avgfl
        k1_plus_1 = K1 + 1
        norms = [K1 * ((1 - B) + B * fl / avgfl) for fl in LENGTHS]
        for docnum in starts:
            norm = norms[column[docnum]]
            parts = [
                idf * ((w[docnum] * k1_plus_1) / (w[docnum] + norm))
                for idf, w in zip(idfs, weights, strict=True)
            ]
            scores[docnum] = parts[0] + parts[1] if len(parts) == 2 else _tree_sum(parts)
    else:
        for docnum in starts:
            length = dfl(docnum)
            parts = [s._score(w[docnum], length) for s, w in zip(scorers, weights, strict=True)]
            scores[docnum] = _tree_sum(parts)
    if q.boost != 1.0:
        scores = {docnum: score * q.boost for docnum, score in scores.items()}
    return scores


def _same_bm25f(scorers) -> bool:
    """True when every scorer is Whoosh's BM25F with the same parameters (one field's words),
    whose `bm25(idf, tf, fl, avgfl, B, K1)` can then be computed inline."""
    first = scorers[0]
    return all(
        type(s) is BM25FScorer and (s.K1, s.B, s.avgfl) == (first.K1, first.B, first.avgfl)
        for s in scorers
    )


def _phrase_word(matcher, i: int, starts: dict[int, set[int]], decode, weights) -> dict:
    """The candidates of `starts` (docnum -> phrase start positions) whose word `i` is at a
    start + i; its weights for them added to `weights` unless None. A block of the word's
    postings without a candidate is skipped by its last id, without being read."""
    kept: dict[int, set[int]] = {}
    for chunk in _blocks_of(matcher, sorted(starts)):
        matcher._read_ids()
        where = {docnum: k for k, docnum in enumerate(matcher._ids)}
        found = [(d, where[d]) for d in chunk if d in where]
        if found:
            matcher._read_values()
            values = matcher._values
            if weights is not None:
                matcher._read_weights()
            for docnum, k in found:
                left = starts[docnum].intersection([p - i for p in decode(values[k])])
                if left:
                    kept[docnum] = left
                    if weights is not None:
                        weights[docnum] = matcher._weights[k]
    return kept


def _blocks_of(matcher, docnums: list[int]) -> Iterator[list[int]]:
    """Walk a block matcher through the blocks that may hold some of the ascending `docnums`,
    yielding those docnums with the matcher on their block; a block that holds none is passed
    by its header, unread."""
    j, total = 0, len(docnums)
    while matcher.is_active() and j < total:
        if docnums[j] > matcher._maxid:
            matcher._next_block()
            continue
        end = bisect_right(docnums, matcher._maxid, j)
        yield docnums[j:end]
        j = end
        matcher._next_block()


def _tree_sum(values: list[float]) -> float:
    """Sum in the order of Whoosh's binary tree of matchers (make_binary_tree), so floating
    point sums come out bit for bit the same."""
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values[0] + values[1]
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
    # A document in one part scores that part's score; only those in several are summed.
    combined: dict[int, float] = {}
    seen: set[int] = set()
    shared: set[int] = set()
    for part in parts:
        shared.update(seen.intersection(part))
        seen.update(part)
        combined.update(part)
    for docnum in shared:
        combined[docnum] = _union_sum(parts, docnum)
    if q.boost != 1.0:
        combined = {docnum: score * q.boost for docnum, score in combined.items()}
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


# -- word scores in bulk ------------------------------------------------------------------------


def scores_in_bulk(q) -> bool:
    """True when `bulk_scores` can score `q`: a word, or an AND or OR of at most two such
    parts, unboosted (with two parts, the order Whoosh adds their scores in cannot change
    the sum)."""
    from whoosh import query as wq

    if type(q) is wq.Term:
        return True
    if type(q) is wq.Or and (q.scale is not None or q.minmatch):
        return False
    if type(q) not in (wq.And, wq.Or) or q.boost != 1.0:
        return False
    return 1 <= len(q.subqueries) <= 2 and all(scores_in_bulk(c) for c in q.subqueries)


def matches_are_postings(q) -> bool:
    """True when `q`'s matches are all its words' postings (a word, or an OR of words as a
    word over several fields is parsed): `bulk_scores` then needs no matching set."""
    from whoosh import query as wq

    if type(q) is wq.Term:
        return True
    return type(q) is wq.Or and scores_in_bulk(q) and all(type(c) is wq.Term for c in q.subqueries)


def bulk_scores(leaf_searcher, q, context, docnums: set[int] | None) -> dict[int, float] | None:
    """docnum -> score of each of `docnums` (documents of one segment that match `q`; None
    for every match, when `matches_are_postings(q)`), bit for bit as Whoosh's matcher
    scores them; None when `q` is not of a shape `scores_in_bulk` accepts or not scored by
    BM25F over Whoosh 3 blocks.

    Whoosh scores a match through a tree of matchers, several Python calls a posting. Here
    each word's postings are read a block at a time (ids and weights as arrays) and BM25F
    is computed inline for the documents asked for.
    """
    from whoosh import query as wq

    if not scores_in_bulk(q):
        return None
    if type(q) is wq.Term:
        return _term_scores(leaf_searcher, q, context, docnums)
    parts = [bulk_scores(leaf_searcher, c, context, docnums) for c in q.subqueries]
    if any(p is None for p in parts):
        return None
    if len(parts) == 1:
        return parts[0]
    first, second = parts
    if isinstance(q, wq.And):  # every document asked for matches both parts
        if docnums is None:
            docnums = first.keys() & second.keys()
        return {docnum: first[docnum] + second[docnum] for docnum in docnums}
    combined = {**first, **second}
    for docnum in second.keys() & first.keys():
        combined[docnum] = first[docnum] + second[docnum]
    return combined


def _term_scores(leaf_searcher, q, context, docnums: set[int] | None) -> dict[int, float] | None:
    reader = leaf_searcher.reader()
    name = q.fieldname
    btext = _term_bytes(reader, name, q.text)
    if btext is None:
        return {}
    weighting = context.weighting if context is not None else leaf_searcher.weighting
    scorer = weighting.scorer(leaf_searcher, name, btext)
    found = _block_matcher(reader, name, btext)
    if type(scorer) is not BM25FScorer or found is None:
        return None
    column = _length_column(reader, name)
    if column is None:
        return None
    matcher, deleted = found
    idf, K1, B, avgfl = scorer.idf, scorer.K1, scorer.B, scorer.avgfl
    k1_plus_1 = K1 + 1
    # bm25(idf, tf, fl, avgfl, B, K1) in its own order, with the part that depends only on
    # the document's length byte computed once per byte (a posting's length byte is never 0)
    norms = [K1 * ((1 - B) + B * fl / avgfl) for fl in LENGTHS]
    scores: dict[int, float] = {}
    while matcher.is_active():
        matcher._read_ids()
        matcher._read_weights()
        pairs = zip(matcher._ids, matcher._weights, strict=True)
        if docnums is None:
            for docnum, w in pairs:
                scores[docnum] = idf * ((w * k1_plus_1) / (w + norms[column[docnum]]))
        else:
            for docnum, w in pairs:
                if docnum in docnums:
                    scores[docnum] = idf * ((w * k1_plus_1) / (w + norms[column[docnum]]))
        matcher._next_block()
    if docnums is None:  # deleted documents are never asked for, but are in the postings
        for docnum in deleted:
            scores.pop(docnum, None)
    if q.boost != 1.0:
        scores = {docnum: score * q.boost for docnum, score in scores.items()}
    return scores


# -- postings as arrays, for best-match ranking ------------------------------------------------


def term_postings(leaf_searcher, fieldname: str, text, context=None, blocks: list | None = None):
    """(live docnums, term frequencies, BM25F scorer) of a term in one segment, the first two
    as numpy arrays read a posting block at a time; None when the segment lacks the term.
    With `blocks` (a list), each block's (last docnum, where it starts) is appended to it,
    for `block_positions` to go straight to the blocks it wants."""
    import numpy as np

    reader = leaf_searcher.reader()
    btext = _term_bytes(reader, fieldname, text)
    if btext is None:
        return None
    weighting = context.weighting if context is not None else leaf_searcher.weighting
    scorer = weighting.scorer(leaf_searcher, fieldname, btext)
    found = _block_matcher(reader, fieldname, btext)
    if found is not None and hasattr(found[0], "block_arrays"):  # our flat blocks
        matcher, deleted = found
        id_parts, weight_parts = [], []
        while matcher.is_active():
            block_ids, block_weights = matcher.block_arrays()
            if blocks is not None:
                blocks.append((matcher._maxid, matcher._position))
            id_parts.append(block_ids)
            weight_parts.append(block_weights)
            matcher._next_block()
        id_array = np.concatenate(id_parts) if id_parts else np.zeros(0, np.int64)
        weight_array = np.concatenate(weight_parts) if weight_parts else np.zeros(0, np.float32)
    else:
        matcher = reader.postings(fieldname, btext)  # hides deleted documents itself
        deleted = ()
        ids: list[int] = []
        weights: list[float] = []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        id_array = np.fromiter(ids, dtype=np.int64, count=len(ids))
        weight_array = np.fromiter(weights, dtype=np.float32, count=len(weights))
    if deleted:
        live = ~np.isin(id_array, np.fromiter(deleted, dtype=np.int64))
        id_array, weight_array = id_array[live], weight_array[live]
    return id_array, weight_array, scorer


def length_norms(reader, fieldname: str, K1: float, B: float, avgfl: float):
    """BM25's length part K1 * ((1 - B) + B * length / avgfl) of every document of a segment
    (numpy), from its length bytes; None when the field has no length column in memory."""
    import numpy as np

    column = _length_column(reader, fieldname)
    if column is None:
        return None
    table = np.array([K1 * ((1 - B) + B * fl / avgfl) for fl in LENGTHS], dtype=np.float64)
    return table[np.frombuffer(column, dtype=np.uint8)]


def term_positions(reader, fieldname: str, text, docnums: list[int]) -> dict[int, list[int]]:
    """Token positions of a term in each of the ascending `docnums` of one segment that hold
    it; posting blocks without any of them are passed by their headers."""
    btext = _term_bytes(reader, fieldname, text)
    if btext is None or not docnums:
        return {}
    found = _block_matcher(reader, fieldname, btext)
    decode = reader.schema[fieldname].format.decode_positions
    out: dict[int, list[int]] = {}
    if found is None:
        matcher = reader.postings(fieldname, btext)
        for docnum in docnums:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
            if matcher.is_active() and matcher.id() == docnum:
                out[docnum] = list(decode(matcher.value()))
        return out
    matcher, _deleted = found
    for chunk in _blocks_of(matcher, docnums):
        _block_positions_of(matcher, chunk, decode, out)
    return out


def _block_positions_of(matcher, docnums: list[int], decode, out: dict) -> None:
    """Add to `out` the positions of those of `docnums` (ascending) that the matcher's
    current block holds; its values are read only when one is there."""
    matcher._read_ids()
    ids = matcher._ids
    hits = []
    for docnum in docnums:
        k = bisect_left(ids, docnum)
        if k < len(ids) and ids[k] == docnum:
            hits.append((docnum, k))
    if hits:
        matcher._read_values()
        for docnum, k in hits:
            out[docnum] = list(decode(matcher._values[k]))


def block_positions(reader, fieldname: str, text, blocks: list, docnums: list[int]):
    """`term_positions` through a term's block list from `term_postings(blocks=...)`: only
    the blocks holding the ascending `docnums` are read."""
    btext = _term_bytes(reader, fieldname, text)
    found = _block_matcher(reader, fieldname, btext) if btext is not None else None
    if found is None or not hasattr(found[0], "block_arrays"):
        return term_positions(reader, fieldname, text, docnums)
    matcher = found[0]
    decode = reader.schema[fieldname].format.decode_positions
    lasts = [last for last, _ in blocks]
    out: dict[int, list[int]] = {}
    j, total = 0, len(docnums)
    while j < total:
        b = bisect_left(lasts, docnums[j])
        if b == len(lasts):
            break
        end = bisect_right(docnums, lasts[b], j)
        matcher._goto(blocks[b][1])
        _block_positions_of(matcher, docnums[j:end], decode, out)
        j = end
    return out
