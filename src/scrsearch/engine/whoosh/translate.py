"""Strict queries in Whoosh's form: parsed by Whoosh's parser with our plugins."""

from __future__ import annotations

from collections.abc import Sequence

from whoosh import query as wq
from whoosh.qparser import FieldAliasPlugin, MultifieldParser, PlusMinusPlugin

from ...errors import QueryError
from ...syntax import QUERY_FIELDS, check_query_shape


def parse_query(text: str, schema, fields: Sequence[str] = ("text", "title")) -> wq.Query | None:
    """Parse a person's query (words AND-ed, "phrases", OR, NOT/-word, word*, field:value).

    Bare words search `fields`: the passage text and its report's title by default.
    """
    text = (text or "").strip()
    if not text:
        return None
    check_query_shape(text)
    parser = MultifieldParser(list(fields), schema)
    parser.add_plugin(PlusMinusPlugin(minusexpr=r"(?<![^\s(])-(?=[\w\"(])"))
    aliases: dict[str, list[str]] = {}
    for alias, target in QUERY_FIELDS.items():
        if alias != target:
            aliases.setdefault(target, []).append(alias)
    parser.add_plugin(FieldAliasPlugin(aliases))
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # whoosh's parser raises bare exceptions on odd input
        raise QueryError(f"could not understand the query {text!r}: simplify it") from exc
    if parsed is wq.NullQuery or isinstance(parsed, type(wq.NullQuery)):
        raise QueryError(f"the query {text!r} has no words to search for")
    return parsed
