"""Matches in untrusted text: escaped HTML with only <mark> let through, and which of a
report's passages a query marks (without analysing each passage again for every query)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from ..report_detail import ReportPassage


def marks(snippet: str | None) -> Markup:
    """A snippet whose matches are wrapped in <mark>…</mark>: every other character escaped.

    Only balanced <mark> and </mark> become tags; any other text, including a document's own
    `<script>` or a stray `<mark>`, is shown as text.
    """
    out, open_ = [], False
    for piece in re.split(r"(</?mark>)", snippet or ""):
        if piece == "<mark>" and not open_:
            out.append("<mark>")
            open_ = True
        elif piece == "</mark>" and open_:
            out.append("</mark>")
            open_ = False
        else:
            out.append(str(escape(piece)))
    if open_:
        out.append("</mark>")
    return Markup("".join(out))


def spans_marked(text: str, spans: list[tuple[int, int]]) -> Markup:
    """The whole text escaped, with the given character spans marked."""
    out, cursor = [], 0
    for start, end in spans:
        out.append(str(escape(text[cursor:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        cursor = end
    out.append(str(escape(text[cursor:])))
    return Markup("".join(out))


def matching_passages(
    highlighter, passages: list[ReportPassage], stems: list[tuple[str, ...]]
) -> list[int]:
    """Indexes of the passages the highlighter marks something in, read from each passage's
    terms in order: a word or pattern marks a passage that has the term, a phrase one that
    has its terms one after another, as `Highlighter.marks` decides. Exactly the passages
    whose `spans` are not empty, without analysing every passage again for each query."""
    words = getattr(highlighter, "words", None)
    patterns = getattr(highlighter, "patterns", None)
    phrases = getattr(highlighter, "phrases", None)
    if words is None or patterns is None or phrases is None:  # another highlighter: ask it
        return [i for i, p in enumerate(passages) if highlighter.spans(p.text)]
    if not (words or patterns or phrases):  # only report fields (theme:...): every passage
        return list(range(len(passages)))

    def has_phrase(terms: tuple[str, ...], phrase: list[str]) -> bool:
        n = len(phrase)
        return any(list(terms[i : i + n]) == phrase for i, t in enumerate(terms) if t == phrase[0])

    def marked(terms: tuple[str, ...]) -> bool:
        unique = set(terms)
        if not unique.isdisjoint(words) or any(p.match(t) for p in patterns for t in unique):
            return True
        return any(unique.issuperset(ph) and has_phrase(terms, ph) for ph in phrases)

    return [i for i, terms in enumerate(stems) if marked(terms)]


def cue_snippet(passage: ReportPassage, term_id: str) -> Markup:
    from ..search import snippet

    spans = sorted({(t.start, t.end) for t in passage.tags if t.term_id == term_id})
    return marks(snippet(passage.text, spans))
