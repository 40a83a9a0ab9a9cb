"""Our query syntax, engine-free: the fields a query may name and the checks of its shape."""

from __future__ import annotations

import re

from .errors import QueryError

#: Fields a query may name as `field:value`, with the aliases people type.
QUERY_FIELDS = {
    "text": "text", "title": "title", "subject": "subject", "locality": "locality",
    "region": "region", "nation": "nation", "year": "year", "doc_type": "doc_type",
    "type": "doc_type", "source": "source", "theme": "theme", "risk": "risk_factor",
    "risk_factor": "risk_factor", "issue": "practice_issue", "practice_issue": "practice_issue",
    "tag": "tags", "tags": "tags",
}  # fmt: skip

_FIELD_RE = re.compile(r"(?:^|[\s(])([A-Za-z_]+):(?=\S)")


#: Longest query accepted (Whoosh's parser takes time growing with the square of a query's
#: length; no real question is this long).
MAX_QUERY_CHARS = 2000


def check_query_shape(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(text):,} characters long; shorten it to at most "
            f"{MAX_QUERY_CHARS:,} (a few words or phrases find more)"
        )
    if text.count('"') % 2:
        raise QueryError(f'the query {text!r} has an unclosed quote: close the "phrase"')
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth:
        raise QueryError(f"the query {text!r} has unbalanced parentheses")
    # A phrase stands as "" (a word of its own): '"a b" OR "c d"' is not a bare OR.
    outside_quotes = re.sub(r'"[^"]*"', '""', text)
    for match in _FIELD_RE.finditer(outside_quotes):
        name = match.group(1)
        if name not in QUERY_FIELDS:
            known = ", ".join(sorted(set(QUERY_FIELDS)))
            raise QueryError(f"the query names an unknown field {name!r}; fields are: {known}")
    words = outside_quotes.split()
    if words and words[-1] in ("AND", "OR", "NOT", "ANDNOT"):
        raise QueryError(
            f"the query {text!r} ends with the operator {words[-1]}: add a word after it"
        )
    if words and words[0] in ("AND", "OR"):
        raise QueryError(f"the query {text!r} starts with the operator {words[0]}")
    if outside_quotes.count("[") != outside_quotes.count("]"):
        raise QueryError(
            f"the query {text!r} has an unclosed range: write it as year:[2015 TO 2018]"
        )
    for word in words:
        bare = word.split(":", 1)[-1].lstrip("-+(")
        wildcard = re.search(r"[*?]", bare)
        if wildcard and wildcard.start() < 2:
            raise QueryError(
                f"{word!r} has a wildcard after fewer than two letters, which would match "
                "nearly everything: put at least two letters before the *"
            )
