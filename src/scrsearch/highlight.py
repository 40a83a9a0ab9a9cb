"""Marking a query's words in passage text, and snippets around the marks.

Engine-free: a `Highlighter` is given the index terms to mark and a tokenizer that turns
text into (term, start, end) as the index does (the engine's analyzer, passed in).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from . import tagging

SNIPPET_CHARS = 300
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"

#: text -> its tokens as the index reads them: (index term, start char, end char).
Tokens = Callable[[str], Iterator[tuple[str, int, int]]]


class Highlighter:
    """Marks a query's words, word patterns and phrases (as index terms) in passage text."""

    def __init__(
        self,
        tokens: Tokens,
        words: Iterable[str] = (),
        patterns: Iterable[str] = (),
        phrases: Iterable[Sequence[str]] = (),
    ) -> None:
        self.tokens = tokens
        self.words: set[str] = set(words)
        self.patterns: list[re.Pattern[str]] = [
            re.compile(fnmatch.translate(p.lower())) for p in patterns
        ]
        self.phrases: list[list[str]] = [list(p) for p in phrases]

    def marks(self, text: str) -> tuple[list[tuple[int, int]], set[str]]:
        """Character spans of the query's matches in `text`, and the index terms they match."""
        if not (self.words or self.patterns or self.phrases):
            return [], set()
        tokens = list(self.tokens(text))
        stems = [t[0] for t in tokens]
        firsts = {words[0] for words in self.phrases}
        spans, terms = [], set()
        for i, (stem, start, end) in enumerate(tokens):
            if stem in self.words or any(p.match(stem) for p in self.patterns):
                spans.append((start, end))
                terms.add(stem)
            if stem not in firsts:
                continue
            for words in self.phrases:
                if stems[i : i + len(words)] == words:
                    spans.append((start, tokens[i + len(words) - 1][2]))
                    terms.update(words)
        return merge_spans(spans), terms

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the query's matches in `text`."""
        return self.marks(text)[0]

    def snippet(self, text: str) -> str:
        return snippet(text, self.spans(text))

    def snippet_and_terms(self, text: str) -> tuple[str, list[str]]:
        spans, terms = self.marks(text)
        return snippet(text, spans), sorted(terms)


class CueMarks:
    """Marks the taxonomy cues of the wanted tags in passage text (for browsing by tag)."""

    def __init__(self, term_ids: Iterable[str]) -> None:
        self.term_ids = set(term_ids)

    def snippet_and_terms(self, text: str) -> tuple[str, list[str]]:
        spans = [(t.start, t.end) for t in tagging.tag_passage(text) if t.term_id in self.term_ids]
        return snippet(text, merge_spans(spans)), []


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def snippet(text: str, spans: Sequence[tuple[int, int]], chars: int = SNIPPET_CHARS) -> str:
    """Up to two windows of `text` around the marked spans, marks as <mark>…</mark>."""
    if not spans:
        return text[:chars] + ("…" if len(text) > chars else "")
    pieces = []
    budget = chars
    i = previous_end = 0
    while i < len(spans) and budget > 60 and len(pieces) < 2:
        start = max(0, spans[i][0] - 80)
        start = max(text.rfind(" ", 0, start) + 1 if start else 0, previous_end)
        end = min(len(text), start + budget)
        if end < len(text):
            end = max(text.rfind(" ", spans[i][1], end), spans[i][1])
        out, cursor = [], start
        while i < len(spans) and spans[i][1] <= end:
            out.append(text[cursor : spans[i][0]])
            out.append(f"{MARK_OPEN}{text[spans[i][0] : spans[i][1]]}{MARK_CLOSE}")
            cursor = spans[i][1]
            i += 1
        out.append(text[cursor:end])
        pieces.append(("…" if start else "") + "".join(out) + ("…" if end < len(text) else ""))
        budget -= end - start
        previous_end = end
    return " ".join(pieces)
