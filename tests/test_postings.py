"""Flat posting blocks (postings.py) hold exactly what Whoosh's own blocks hold."""

from __future__ import annotations

import random

import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3TermInfo
from whoosh.filedb.filestore import RamStorage
from whoosh.formats import Existence, Positions
from whoosh.util.numeric import byte_to_length, length_to_byte

from scrsearch.config import Home
from scrsearch.engine.whoosh.codec import CompactPositions, FlatCodec, FlatLeafMatcher
from scrsearch.engine.whoosh.generations import build_schema, current_generation
from scrsearch.engine.whoosh.translate import parse_query
from scrsearch.pipeline import add_paths, run_index


@pytest.mark.parametrize(
    "positions",
    [[0], [5], [3, 4, 9, 300], [0, 70_000, 70_001], list(range(0, 5000, 7))],
)
def test_compact_positions_round_trip(positions):
    fmt = CompactPositions()
    value = fmt.encode(positions)
    assert fmt.decode_positions(value) == positions
    assert fmt.decode_frequency(value) == len(positions)
    assert fmt.decode_weight(value) == len(positions)
    assert fmt.decode_positions(fmt.combine([value, fmt.encode([1, 2])])) == sorted(
        set(positions) | {1, 2}
    )


def _postings(count: int, rng: random.Random, weights: str, fmt, huge_values: bool = False):
    docnum, out = rng.randrange(5), []
    for i in range(count):
        docnum += rng.choice([1, 1, 2, 7, 300, 70_000]) if i else 0
        positions = sorted(rng.sample(range(400), rng.randrange(1, 6)))
        if huge_values:
            positions = list(range(0, 3000 * (i % 3 + 1), 3))
        weight = {
            "one": 1.0,
            "same": 2.5,
            "whole": float(len(positions)),
            "fractions": len(positions) * 1.5,
        }[weights]
        value = fmt.encode(positions) if isinstance(fmt, Positions) else b""
        out.append((docnum, weight, value, rng.randrange(1, 500)))
    return out


def _written_and_read(storage, name: str, fmt, postings):
    """Write one term's postings with FlatCodec into `storage`; (a matcher reading them back,
    the term info)."""
    handle = storage.create_file(name)
    writer = FlatCodec().postings_writer(handle)
    writer.start_postings(fmt, W3TermInfo())
    for docnum, weight, value, length in postings:
        writer.add_posting(docnum, weight, value, length)
    terminfo = writer.finish_postings()
    handle.close()
    return FlatCodec().postings_reader(storage.open_file(name), terminfo, fmt), terminfo


@pytest.mark.parametrize("weights", ["one", "same", "whole", "fractions"])
@pytest.mark.parametrize("count", [1, 2, 127, 128, 129, 1000])
def test_blocks_read_back_what_was_written(count, weights):
    """Ids, weights, values and each block's statistics, over one or many blocks, with gaps
    that need each id width."""
    rng = random.Random(count * 31 + len(weights))
    fmt = CompactPositions()
    postings = _postings(count, rng, weights, fmt)
    matcher, terminfo = _written_and_read(RamStorage(), "postings", fmt, postings)
    assert terminfo.doc_frequency() == count
    assert terminfo.max_weight() == max(w for _d, w, _v, _l in postings)
    assert isinstance(matcher, FlatLeafMatcher)
    read = []
    while matcher.is_active():
        read.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    assert read == [(d, w, v) for d, w, v, _l in postings]

    if count > 1:  # block statistics, and skipping
        matcher.reset()
        blocks = [postings[i : i + 128] for i in range(0, count, 128)]
        for block in blocks:
            assert matcher.block_max_id() == block[-1][0]
            assert matcher.block_max_weight() == max(w for _d, w, _v, _l in block)
            lengths = [length for *_x, length in block]  # kept as Whoosh's length bytes
            assert matcher.block_min_length() == byte_to_length(length_to_byte(min(lengths)))
            assert matcher.block_max_length() == byte_to_length(length_to_byte(max(lengths)))
            matcher._next_block()
        assert not matcher.is_active()
        target = postings[count // 2][0]
        matcher.reset()
        matcher.skip_to(target)
        assert matcher.id() == target
        assert matcher.value_as("positions") == fmt.decode_positions(postings[count // 2][2])


@pytest.mark.parametrize("count", [1, 129, 300])
def test_long_values_and_valueless_postings(count):
    """A block whose values pass 64 KB, and a format without values (Existence), whose last
    block may hold one posting and no data at all."""
    rng = random.Random(7)
    storage = RamStorage()
    for name, fmt, huge in (("long", CompactPositions(), True), ("none", Existence(), False)):
        postings = _postings(count, rng, "one", fmt, huge_values=huge)
        matcher, _terminfo = _written_and_read(storage, name, fmt, postings)
        ids, values = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            values.append(matcher.value())
            matcher.next()
        assert ids == [d for d, *_rest in postings]
        if name == "long":
            assert count < 128 or sum(len(v) for v in values[:128]) > 1 << 16
            assert values == [v for _d, _w, v, _l in postings]
        else:
            assert values == [None] * len(postings)


@pytest.fixture(scope="module")
def both_codecs(tmp_path_factory, corpus_dir):
    """The passages of real reports indexed by scrsearch (flat blocks), and the same
    passages, in the same docnum order, in an index of Whoosh's own codec and formats."""
    home = Home(tmp_path_factory.mktemp("postings") / "home").ensure()
    add_paths(home, [corpus_dir / "ofsted-jtai"])
    run_index(home)
    ours = whoosh_index.open_dir(str(current_generation(home).path))

    schema = build_schema()
    for name in ("text", "title"):
        schema[name].format = Positions(field_boost=schema[name].format.field_boost)
    folder = tmp_path_factory.mktemp("whoosh-own")
    theirs = whoosh_index.create_in(str(folder), schema)
    writer = theirs.writer(codec=W3Codec())
    with ours.searcher() as searcher:
        for stored in searcher.documents():
            writer.add_document(**stored)
    writer.commit()
    return ours, whoosh_index.open_dir(str(folder))


def test_every_text_posting_matches_whooshs_codec(both_codecs):
    ours, theirs = both_codecs
    with ours.reader() as mine, theirs.reader() as whooshs:
        terms = list(mine.lexicon("text"))
        assert terms == list(whooshs.lexicon("text"))
        assert len(terms) > 1000
        for btext in terms:
            a, b = mine.postings("text", btext), whooshs.postings("text", btext)
            assert list(a.items_as("positions")) == list(b.items_as("positions")), btext
            a, b = mine.postings("text", btext), whooshs.postings("text", btext)
            assert list(a.items_as("weight")) == list(b.items_as("weight")), btext


@pytest.mark.parametrize(
    "text", ["children", '"voice of the child"', "health visitor", '"multi-agency" -police']
)
def test_searches_score_as_with_whooshs_codec(both_codecs, text):
    ours, theirs = both_codecs
    q = parse_query(text, ours.schema, fields=("text",))
    with ours.searcher() as a, theirs.searcher() as b:
        mine = [(hit.docnum, hit.score) for hit in a.search(q, limit=None)]
        whooshs = [(hit.docnum, hit.score) for hit in b.search(q, limit=None)]
    assert mine, f"{text} should match the JTAI letters"
    assert mine == whooshs
