"""Our query tree (syntax.py) as a Whoosh query, equal to what Whoosh's own parser made.

Each leaf is analyzed here, as Whoosh's parser does it: words with their field's analyzer
(several tokens make the field's `multitoken_query`, a phrase for text fields; none drop
the word), wildcards and prefixes lowercased as one token, numeric fields parsing their
own values and ranges. A leaf with no field is an OR over the default fields. The result is
normalized, as `QueryParser.parse` returns it, so it is `==` to that query. Not kept: the
character ranges of phrase words in the query string (nothing reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.qparser.common import QueryParserError, get_single_text

from ... import syntax
from ...errors import QueryError


def parse_query(
    text: str, schema: Schema, fields: Sequence[str] = ("text", "title")
) -> wq.Query | None:
    """Parse a person's query (words AND-ed, "phrases", OR, NOT/-word, word*, field:value).

    Bare words search `fields`: the passage text and its report's title by default.
    """
    tree = syntax.parse(text, frozenset(schema.names()))
    if tree is None:
        return None
    text = text.strip()
    try:
        parsed = to_whoosh(tree, schema, fields)
    except Exception as exc:  # as Whoosh's parser raised bare exceptions on odd input
        raise QueryError(f"could not understand the query {text!r}: simplify it") from exc
    if parsed is wq.NullQuery or isinstance(parsed, type(wq.NullQuery)):
        raise QueryError(f"the query {text!r} has no words to search for")
    return parsed


def to_whoosh(
    node: syntax.Node, schema: Schema, fields: Sequence[str] = ("text", "title")
) -> wq.Query:
    """The Whoosh query for a tree, normalized (NullQuery when nothing is left)."""
    return (_query(node, schema, tuple(fields)) or wq.NullQuery).normalize()


def _query(node: syntax.Node, schema: Schema, fields: tuple[str, ...]) -> wq.Query | None:
    """The query for one node, None where its words analyze away."""

    def sub(item: syntax.Node) -> wq.Query | None:
        return _query(item, schema, fields)

    if isinstance(node, (syntax.And, syntax.Or)):
        subs = [q for q in map(sub, node.items) if q is not None]
        return (wq.And if isinstance(node, syntax.And) else wq.Or)(subs, boost=node.boost)
    if isinstance(node, syntax.Not):
        inner = sub(node.item)
        return wq.Not(inner) if inner else None
    if isinstance(node, (syntax.AndNot, syntax.AndMaybe, syntax.Require)):
        a, b = sub(node.a), sub(node.b)
        if a is None or b is None:
            return wq.NullQuery if a is None and b is None else a or b
        kind = {syntax.AndNot: wq.AndNot, syntax.AndMaybe: wq.AndMaybe}.get(type(node))
        return (kind or wq.Require)(a, b)
    if isinstance(node, syntax.Every):
        return wq.Every()
    if node.field is None:
        copies = [_leaf(replace(node, field=name, boost=1.0), schema) for name in fields]
        return wq.Or([q for q in copies if q is not None], boost=node.boost)
    return _leaf(node, schema)


def _leaf(node: syntax.Leaf, schema: Schema) -> wq.Query | None:
    if isinstance(node, syntax.Phrase):
        return _phrase(node, schema)
    if isinstance(node, syntax.Range):
        return _range(node, schema)
    if isinstance(node, syntax.Term):
        return _term(node, schema, wq.Term, tokenize=True)
    return _term(node, schema, wq.Prefix if isinstance(node, syntax.Prefix) else wq.Wildcard)


def _term(node, schema: Schema, qclass: type, tokenize: bool = False) -> wq.Query | None:
    """Whoosh's QueryParser.term_query: analyze the text with the field's analyzer."""
    name, text, boost = node.field, node.text, node.boost
    if name in schema:
        field = schema[name]
        if field.self_parsing():
            try:
                return field.parse_query(name, text, boost=boost)
            except Exception as exc:  # as Whoosh's parser: an error query, dropped later
                return wq.error_query(exc)
        texts = list(
            field.process_text(text, mode="query", tokenize=tokenize, removestops=tokenize)
        )
        if len(texts) > 1:
            return _multitoken(field.multitoken_query, texts, name, qclass, boost)
        if not texts:
            return None
        text = texts[0]
    return qclass(name, text, boost=boost)


def _multitoken(spec: str, texts: list[str], name: str, qclass: type, boost: float) -> wq.Query:
    """Whoosh's QueryParser.multitoken_query: a word that analyzes to several tokens."""
    spec = spec.lower()
    if spec == "first":
        return qclass(name, texts[0], boost=boost)
    if spec == "phrase":
        return wq.Phrase(name, texts, boost=boost)
    group = {"default": wq.And, "and": wq.And, "or": wq.Or}.get(spec)
    if group is None:
        raise QueryParserError(f"Unknown multitoken_query value {spec!r}")
    return group([qclass(name, t, boost=boost) for t in texts])


def _phrase(node: syntax.Phrase, schema: Schema) -> wq.Query:
    """Whoosh's PhraseNode.query: the phrase's words as its field's analyzer reads them."""
    if node.field in schema:
        field = schema[node.field]
        if field.analyzer:
            words = [t.text for t in field.tokenize(node.text, mode="query", chars=True)]
        else:
            words = list(field.process_text(node.text, mode="query"))
    else:
        words = node.text.split()
    return wq.Phrase(node.field, words, slop=node.slop, boost=node.boost)


def _range(node: syntax.Range, schema: Schema) -> wq.Query:
    """Whoosh's RangeNode.query: numeric fields parse their range, others analyze the ends."""
    start, end = node.start, node.end
    if node.field in schema:
        field = schema[node.field]
        if field.self_parsing():
            try:
                parsed = field.parse_range(
                    node.field, start, end, node.start_excl, node.end_excl, boost=node.boost
                )
                if parsed is not None:
                    return parsed
            except QueryParserError as exc:
                return wq.error_query(exc)
        if start:
            start = get_single_text(field, start, tokenize=False, removestops=False)
        if end:
            end = get_single_text(field, end, tokenize=False, removestops=False)
    return wq.TermRange(node.field, start, end, node.start_excl, node.end_excl, boost=node.boost)
