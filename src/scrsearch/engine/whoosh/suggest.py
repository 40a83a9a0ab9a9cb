"""Spelling suggestions: words of the index close to a word it does not hold."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

#: How many spelling suggestions an unknown word gets.
SUGGESTIONS = 3


def suggestions(searcher, unknown: Sequence[str]) -> dict[str, list[str]]:
    """Words of the index close to each unknown word, as they are written in the text."""
    reader = searcher.reader()
    analyzer = searcher.schema["text"].analyzer
    out: dict[str, list[str]] = {}
    for label in unknown:
        stems = [t.text for t in analyzer(label)]
        if len(stems) != 1 or len(stems[0]) < 3:
            continue
        stem = stems[0]
        candidates = [
            t.decode() if isinstance(t, bytes) else t
            for t in reader.expand_prefix("text", stem[:2])
        ]
        close = difflib.get_close_matches(stem, candidates, n=SUGGESTIONS, cutoff=0.6)
        words = [surface(searcher, analyzer, c) for c in close]
        out[label] = [w for w in dict.fromkeys(words) if w]
    return out


def surface(searcher, analyzer, stem: str) -> str | None:
    """The shortest word of a few passages that the index stores as `stem` ("neglect", not
    "neglectful"), as written in the text."""
    seen: set[str] = set()
    for leaf, _offset in searcher.leaf_searchers():
        reader = leaf.reader()
        if ("text", stem) not in reader:
            continue
        for n, docnum in enumerate(reader.postings("text", stem).all_ids()):
            if n == 5:
                break
            text = reader.stored_fields(docnum).get("text", "")
            seen.update(
                text[t.startchar : t.endchar].lower()
                for t in analyzer(text, chars=True)
                if t.text == stem
            )
        break
    return min(seen, key=lambda w: (len(w), w)) if seen else None
