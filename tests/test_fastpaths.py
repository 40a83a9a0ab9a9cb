"""Our fast paths and query subclasses (engine/whoosh/fastpaths.py, patches.py) give Whoosh's
own answers, each compared with Whoosh's code on a real index."""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.writing import SegmentWriter

from scrsearch.config import Home
from scrsearch.engine.whoosh import fastpaths
from scrsearch.engine.whoosh.codec import FlatLeafMatcher
from scrsearch.engine.whoosh.generations import current_generation
from scrsearch.engine.whoosh.patches import ExcludingAndNot, scoped
from scrsearch.engine.whoosh.translate import parse_query
from scrsearch.engine.whoosh.writing import open_writer
from scrsearch.pipeline import add_paths, run_index

QUERIES = [
    "children",
    "neglect",
    "health visitor",
    "school OR police",
    "child -police",
    "assess* NOT school",
    '"voice of the child"',
    '"child protection plan"',
    '"multi-agency" strategy',
    "(domestic OR alcohol) abuse",
    '"early help" OR "looked after children"',
]


@pytest.fixture(scope="module")
def ix(tmp_path_factory, corpus_dir):
    """JTAI letters and ILACS reports indexed by scrsearch, with some passages deleted, so the
    matchers meet deleted documents too."""
    home = Home(tmp_path_factory.mktemp("fastpaths") / "home").ensure()
    add_paths(home, [corpus_dir / "ofsted-jtai", corpus_dir / "ofsted-ilacs"])
    run_index(home)
    path = current_generation(home).path
    writer = open_writer(path)
    with whoosh_index.open_dir(str(path)).searcher() as searcher:
        some = sorted({searcher.stored_fields(d)["sha256"] for d in range(0, 3000, 250)})
    for sha in some[:3]:
        writer.delete_by_term("sha256", sha)
    writer.commit()
    index = whoosh_index.open_dir(str(path))
    with index.searcher() as searcher:
        assert searcher.reader().has_deletions()
        assert len(list(searcher.leaf_searchers())) >= 1
    return index


def _everything(ix, q) -> list[tuple[int, float]]:
    with ix.searcher() as searcher:
        results = searcher.search(q, limit=None)
        return [(docnum, round(score, 9)) for docnum, score in results.items()]


def _only_and_not_fixed(q):
    """A parsed query with Whoosh's own classes but for the AndNot fix (a wrong answer)."""

    def fix(node):
        if type(node) is wq.AndNot:
            return ExcludingAndNot(node.a, node.b)
        return node

    return q.accept(fix)


@pytest.mark.parametrize("text", QUERIES)
def test_matches_and_scores_are_whooshs_own(ix, text):
    q = parse_query(text, ix.schema)
    ours = _everything(ix, scoped(q))
    theirs = _everything(ix, _only_and_not_fixed(q))
    assert ours, f"{text!r} should match something in the corpus"
    assert ours == theirs


def test_importing_scrsearch_changes_no_whoosh_class():
    """Our fixes are subclasses put in place by query translation: Whoosh's own classes are
    as released for other code in the same process."""
    from whoosh.matching.binary import AndNotMatcher
    from whoosh.query.spans import SpanNear2

    import scrsearch.cli  # noqa: F401
    import scrsearch.engine.whoosh  # noqa: F401

    for owner, name in (
        (W3LeafMatcher, "skip_to"),
        (SpanNear2.SpanNear2Matcher, "_get_spans"),
        (AndNotMatcher, "_find_first"),
        (wq.Phrase, "matcher"),
        (wq.AndNot, "matcher"),
    ):
        assert getattr(owner, name).__module__.startswith("whoosh."), (owner, name)


@pytest.mark.parametrize("text", QUERIES)
def test_matching_docnums_are_the_matchers_ids(ix, text):
    q = scoped(parse_query(text, ix.schema))
    with ix.searcher() as searcher:
        for leaf, _offset in searcher.leaf_searchers():
            matcher = q.matcher(leaf, leaf.boolean_context())
            expected = set(matcher.all_ids()) if matcher.is_active() else set()
            assert fastpaths.matching_docnums(leaf, q) == expected
            assert not expected & set(leaf.reader().deleted_docs_set)


def test_excluded_words_are_excluded_from_the_first_match_too(tmp_path, ix):
    """Whoosh as released returns the first wanted passage even when it holds the excluded
    word, if that word's postings start earlier; fixed, the matches are the set difference.

    Three real passages, in the order that shows it: one with `police` only, one with both
    words, one with `child` only."""
    with ix.searcher() as searcher:
        texts = [searcher.stored_fields(d)["text"] for d in range(searcher.doc_count_all())
                 if not searcher.reader().is_deleted(d)]  # fmt: skip
    analyzer = ix.schema["text"].analyzer
    words = [(t, {token.text for token in analyzer(t)}) for t in texts]
    police_only = next(t for t, w in words if "polic" in w and "child" not in w)
    both = next(t for t, w in words if "polic" in w and "child" in w)
    child_only = next(t for t, w in words if "child" in w and "polic" not in w)
    whoosh_index.create_in(str(tmp_path), ix.schema)
    small = whoosh_index.open_dir(str(tmp_path))
    writer = open_writer(tmp_path)
    for text in (police_only, both, child_only):
        writer.add_document(sha256="x", text=text)
    writer.commit()
    q = parse_query("child -police", small.schema)
    with small.searcher() as searcher:
        leaf = searcher
        fixed = set(scoped(q).matcher(leaf, leaf.boolean_context()).all_ids())
        released = set(q.matcher(leaf, leaf.boolean_context()).all_ids())
        assert fixed == fastpaths.matching_docnums(leaf, q) == {2}
    assert released == {1, 2}, "Whoosh as released lets the passage with both words through"


def test_skip_to_lands_where_whoosh_lands(ix):
    with ix.searcher() as searcher:
        for leaf, _offset in searcher.leaf_searchers():
            reader = leaf.reader()
            targets = range(0, reader.doc_count_all(), 37)
            for word in (b"the", b"child", b"polic"):
                if ("text", word) not in reader:
                    continue
                landed = []
                for skip_to in (FlatLeafMatcher.skip_to, W3LeafMatcher.skip_to):
                    matcher = reader.postings("text", word)
                    matcher = getattr(matcher, "child", matcher)  # unwrapped from deletions
                    assert isinstance(matcher, FlatLeafMatcher)
                    ids = []
                    for target in targets:
                        if not matcher.is_active():
                            break
                        skip_to(matcher, target)
                        if matcher.is_active():
                            ids.append((matcher.id(), matcher.weight()))
                    landed.append(ids)
                assert landed[0] and landed[0] == landed[1]


def _block_stats(index) -> list[tuple]:
    """Every posting block's length and weight bounds (what block skipping relies on)."""
    stats = []
    with index.reader() as reader:
        for fieldname, btext in list(reader.all_terms())[:3000]:
            if fieldname not in ("text", "title"):
                continue
            matcher = reader.postings(fieldname, btext)
            while matcher.is_active():
                stats.append((fieldname, btext, matcher.block_min_length(),
                              matcher.block_max_length(), matcher.block_max_weight()))  # fmt: skip
                matcher._next_block()
    return stats


def test_segments_written_with_lengths_in_memory_are_whooshs(tmp_path, ix):
    """The same passages written by our writer and by Whoosh's own give the same block
    bounds (the lengths our flush reads from memory) and the same scores."""
    with ix.searcher() as searcher:
        docs = [searcher.stored_fields(d) for d in range(0, 600)]
    written = []
    for name, writer_of in (
        ("ours", open_writer),
        ("whoosh", lambda path: SegmentWriter(whoosh_index.open_dir(str(path)))),
    ):
        path = tmp_path / name
        path.mkdir()
        whoosh_index.create_in(str(path), ix.schema)
        writer = writer_of(path)
        for number, fields in enumerate(docs):
            writer.add_document(
                sha256=fields["sha256"], text=fields["text"],
                title=f"Letter {number % 7}",
            )  # fmt: skip
        writer.commit()
        index = whoosh_index.open_dir(str(path))
        with index.searcher() as searcher:
            q = parse_query("children OR police OR neglect", index.schema)
            scores = [(h.docnum, round(h.score, 9)) for h in searcher.search(q, limit=None)]
        written.append((_block_stats(index), scores))
    (our_blocks, our_scores), (their_blocks, their_scores) = written
    assert len(our_blocks) > 100 and our_scores
    assert our_blocks == their_blocks and our_scores == their_scores


def _matcher_scores(q, leaf, context) -> dict[int, float]:
    """docnum -> score of every match of Whoosh's own matcher for `q` in one segment."""
    matcher = q.matcher(leaf, context)
    scores = {}
    while matcher.is_active():
        scores[matcher.id()] = matcher.score()
        matcher.next()
    return scores


@pytest.mark.parametrize(
    "text",
    ['"voice of the child"', '"child protection plan"', '"multi-agency"', '"the child"',
     '"children\'s services"', '"was not brought"'],
)  # fmt: skip
def test_phrase_scores_are_whooshs_phrase_matcher(ix, text):
    """Exact phrases found from document sets score bit for bit as Whoosh's own matcher."""
    q = parse_query(text, ix.schema)
    found = 0
    with ix.searcher() as searcher:
        context = searcher.context()
        for leaf, _offset in searcher.leaf_searchers():
            ours = fastpaths.phrases_scores(leaf, q, context)
            assert ours is not None
            assert ours == _matcher_scores(q, leaf, context)
            found += len(ours)
    if text != '"was not brought"':
        assert found, f"{text} should be in the corpus"


@pytest.mark.parametrize(
    "text", ["children", "neglect", "health visitor", "school police", "text:neglect"]
)
def test_bulk_scores_are_whooshs_matcher_scores(ix, text):
    """Words and pairs of words scored a block at a time score bit for bit as Whoosh's
    matcher, deleted passages included in the segments."""
    q = parse_query(text, ix.schema)
    assert fastpaths.scores_in_bulk(q)
    assert fastpaths.matches_are_postings(q) == (" " not in text)  # one word, not an AND
    found = 0
    with ix.searcher() as searcher:
        fastpaths.lengths_in_memory(searcher)
        context = searcher.context()
        for leaf, _offset in searcher.leaf_searchers():
            docnums = fastpaths.matching_docnums(leaf, q)
            ours = fastpaths.bulk_scores(leaf, q, context, docnums)
            assert ours is not None
            assert ours == _matcher_scores(q, leaf, context)
            if fastpaths.matches_are_postings(q):  # every match, with no set asked for
                assert fastpaths.bulk_scores(leaf, q, context, None) == ours
            found += len(ours)
    assert found, f"{text} should be in the corpus"


@pytest.mark.parametrize(
    "text", ["school OR police", "child -police", '"voice of the child"', "assess*"]
)
def test_other_shapes_are_not_scored_in_bulk(ix, text):
    """An OR of words over two fields is one OR of four terms (Whoosh's order of adding them
    could change the sum); NOTs, phrases and prefixes are left to Whoosh's matchers."""
    q = parse_query(text, ix.schema)
    assert not fastpaths.scores_in_bulk(q)
    assert not fastpaths.matches_are_postings(q)
