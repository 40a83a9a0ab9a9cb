"""passages: property tests on generated pages, and real extracted text from the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrsearch.extract import extract_pdf
from scrsearch.passages import split_passages

SHA = "ab" * 32
JTAI = "ofsted-jtai/80418_norfolk/joint area child protection inspection - 27 february 2025.pdf"

words = st.one_of(
    st.sampled_from(["child", "the", "review", "agencies", "neglect", "GP", "school", "and"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-’", min_size=1, max_size=12),
    st.text(alphabet="xyz", min_size=40, max_size=300),  # a run with no space to cut at
)
sentences = st.builds(
    lambda ws, end: " ".join(ws) + end,
    st.lists(words, min_size=1, max_size=60),
    st.sampled_from([".", "?", "!", "", ".’", ":"]),
)
paragraphs = st.builds(" ".join, st.lists(sentences, min_size=1, max_size=12))
pages_text = st.builds("\n\n".join, st.lists(paragraphs, min_size=0, max_size=8))
sizes = st.tuples(st.integers(0, 400), st.integers(20, 1600)).filter(lambda s: s[0] <= s[1])


def squash(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=100, deadline=None)
@given(pages=st.lists(pages_text, max_size=6), size=sizes)
def test_passages_cover_each_page_in_order_within_max(pages: list[str], size) -> None:
    min_chars, max_chars = size
    passages = split_passages(SHA, pages, min_chars=min_chars, max_chars=max_chars)
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    assert all(p.sha256 == SHA for p in passages)
    assert all(0 < len(p.text) <= max_chars for p in passages)
    assert all(p.text == p.text.strip() for p in passages)
    for number, page in enumerate(pages, 1):
        on_page = [p.text for p in passages if p.page == number]
        assert squash("".join(on_page)) == squash(page)
    pages_seen = [p.page for p in passages]
    assert pages_seen == sorted(pages_seen)


@settings(max_examples=100, deadline=None)
@given(pages=st.lists(pages_text, max_size=4))
def test_passages_are_deterministic(pages: list[str]) -> None:
    assert split_passages(SHA, pages) == split_passages(SHA, list(pages))


def test_heading_merges_with_the_paragraph_after_it() -> None:
    body = "The panel found that information was not shared between the agencies. " * 6
    page = f"Findings\n\n{body.strip()}\n\n{body.strip()}"
    passages = split_passages(SHA, [page], min_chars=300, max_chars=1500)
    assert len(passages) == 2
    assert passages[0].text.startswith("Findings\n\nThe panel found")
    assert passages[1].text == body.strip()


def test_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "Professionals did not consider the lived experience of the child. "
    paragraph = (sentence * 40).strip()  # 2,680 characters
    passages = split_passages(SHA, [paragraph], min_chars=300, max_chars=1500)
    assert len(passages) == 2
    assert all(p.text.endswith("child.") for p in passages)
    assert all(len(p.text) <= 1500 for p in passages)


def test_unbroken_run_is_hard_split_at_max() -> None:
    passages = split_passages(SHA, ["x" * 3500], min_chars=300, max_chars=1500)
    assert [len(p.text) for p in passages] == [1500, 1500, 500]


def test_passages_never_cross_pages_and_empty_pages_give_none() -> None:
    pages = ["Short first page.", "", "Second page heading", "Third page text."]
    passages = split_passages(SHA, pages)
    assert [(p.page, p.ordinal, p.text) for p in passages] == [
        (1, 0, "Short first page."),
        (3, 1, "Second page heading"),
        (4, 2, "Third page text."),
    ]


def test_passages_of_a_real_report(corpus_dir: Path) -> None:
    pages = extract_pdf(corpus_dir / JTAI).pages
    passages = split_passages(SHA, pages)
    assert len(passages) > len(pages)
    assert {p.page for p in passages} == {n for n, page in enumerate(pages, 1) if page}
    assert all(len(p.text) <= 1500 for p in passages)
    for number, page in enumerate(pages, 1):
        on_page = "".join(p.text for p in passages if p.page == number)
        assert squash(on_page) == squash(page)
    # Most passages are paragraph-sized, not single lines.
    assert sum(len(p.text) >= 300 for p in passages) > len(passages) / 2
    # A sentence from page 1 of the letter, found by reading it.
    assert any(
        p.page == 1 and "This inspection took place from 9 to 13 December 2024." in p.text
        for p in passages
    )


def test_bad_max_is_refused() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        split_passages(SHA, ["text"], max_chars=0)
