"""The strict query syntax, read into our own small tree without any search engine.

    query    := item*                          side by side: AND, the loosest binding
    item     := [+|-] expr                     top level only: + required (the rest
                                               optional), - excluded
    expr     := NOT expr | expr (AND|OR|ANDNOT|ANDMAYBE|REQUIRE) expr | unit
                                               binding in that order, NOT the tightest
    unit     := [field:] primary [^boost]
    primary  := word | 'quoted words' | "phrase"[~slop] | wo*d | wo?d | [a TO b] | {a TO b}
              | *:* | ( query )

`parse` returns a tree of frozen dataclasses (Term, Phrase, Prefix, Wildcard, Range, Every,
And, Or, Not, AndNot, AndMaybe, Require); a leaf whose field is None searches the default
fields. The tree is word-level: the engine analyzes each leaf with its field's analyzer.

It reads exactly what Whoosh's MultifieldParser read for scrsearch before it: a tokenizer
with Whoosh's taggers in their order, then one function per Whoosh filter in its order (brackets,
wildcards, fields, boosts, + and -, operators). So it copies Whoosh's odd cases, and the
equivalence tests (tests/test_syntax.py) hold it to that:
- `+word` makes the other items optional (AndMaybe), and `-`/`+` count only at the top
  level: `(a -b) c` cannot be understood (`(a -b)` alone can: one bracket is the top).
- `a OR b c` is `(a OR b) AND c`; `a ANDNOT b c` is `(a ANDNOT b) AND c`.
- `field:` applies to the item right after it (a group, too), and `field: x` is the word
  "field"; `theme:+x` drops the field; a name the engine lacks (`x-y:z`) is text ("y:z").
- A wildcard joins the text touching it: `"a b"*` is the prefix `a b`.
- `word^2` boosts, `word ^2` is the word "^2" at the top level (inside brackets it boosts);
  `(a b)^2 AND c` boosts c too (AND joins an existing bracket group).
- `NOT NOT a` and `NOT AND b` cannot be understood; `a ANDNOT OR b` is `a b`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .errors import QueryError
from .facets import QUERY_FIELD_ALIASES

#: Fields a query may name as `field:value`, with the aliases people type.
QUERY_FIELDS = {
    "text": "text", "title": "title", **QUERY_FIELD_ALIASES, "tag": "tags", "tags": "tags",
}  # fmt: skip
FIELD_NAMES = frozenset(QUERY_FIELDS.values())

#: Longest query accepted (Whoosh's parser takes time growing with the square of a query's
#: length; no real question is this long).
MAX_QUERY_CHARS = 2000

_FIELD_RE = re.compile(r"(?:^|[\s(])([A-Za-z_]+):(?=\S)")


@dataclass(frozen=True)
class Term:
    """A word (or 'quoted words') in a field, None for the default fields."""

    field: str | None
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class Phrase:
    """Words in this order, at most `slop` positions apart."""

    field: str | None
    text: str
    slop: int = 1
    boost: float = 1.0


@dataclass(frozen=True)
class Prefix:
    """Words starting with `text` (typed as text*)."""

    field: str | None
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class Wildcard:
    """Words matching a pattern of * (any characters) and ? (one character)."""

    field: str | None
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class Range:
    """Values from `start` to `end` ([ ] include the ends, { } leave them out)."""

    field: str | None
    start: str | None
    end: str | None
    start_excl: bool = False
    end_excl: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class Every:
    """Every passage (`*:*`)."""


@dataclass(frozen=True)
class And:
    """All of the items."""

    items: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Or:
    """Any of the items."""

    items: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Not:
    """Not the item."""

    item: Node


@dataclass(frozen=True)
class AndNot:
    """`a` without `b`."""

    a: Node
    b: Node


@dataclass(frozen=True)
class AndMaybe:
    """`a`, ranked higher with `b`."""

    a: Node
    b: Node


@dataclass(frozen=True)
class Require:
    """`a` where `b` also matches, scored by `a`."""

    a: Node
    b: Node


Leaf = Term | Phrase | Prefix | Wildcard | Range
Node = Leaf | Every | And | Or | Not | AndNot | AndMaybe | Require
_TEXTS = (Term, Phrase, Prefix, Wildcard)
_QMARKS = "?\u055e\u061f\u1367"
_ALIASES = {alias: name for alias, name in QUERY_FIELDS.items() if alias != name}
_RANGE = r"""(?P<open>\{|\[) (?P<start>('[^']*?'\s+) | ([^\]}]+?(?=[Tt][Oo])))? [Tt][Oo]
    (?P<end>(\s+'[^']*?') | ([^\]}]+?))? (?P<close>}|])"""
#: Whoosh's taggers in its order: at each position the first that matches makes a token.
_TAGGERS = [
    (kind, re.compile(expr, re.VERBOSE if kind == "range" else 0))
    for kind, expr in [
        ("andnot", r"(?<=\s)ANDNOT(?=\s)"), ("andmaybe", r"(?<=\s)ANDMAYBE(?=\s)"),
        ("every", r"[*]:[*]"), ("squote", r"(^|(?<=\W))'(?P<text>.*?)'(?=\s|\]|[)}]|$)"),
        ("field", r"(?P<text>\w+|[*]):"), ("wild", f"[*{_QMARKS}]"),
        ("phrase", r'"(?P<text>.*?)"(~(?P<slop>[1-9][0-9]*))?'), ("open", r"[(]"),
        ("close", r"[)]"), ("not", r"(^|(?<=(\s|[()])))NOT(?=\s)"), ("and", r"(?<=\s)AND(?=\s)"),
        ("or", r"(?<=\s)OR(?=\s)"), ("require", r"(^|(?<=\s))REQUIRE(?=\s)"),
        ("boost", r"\^(?P<boost>[0-9]*(\.[0-9]+)?)($|(?=[ \t\r\n)]))"), ("plus", r"\+"),
        ("minus", r"(?<![^\s(])-(?=[\w\"(])"), ("range", _RANGE), ("ws", r"\s+"),
    ]
]  # fmt: skip
_INFIX = ("and", "or", "andnot", "andmaybe", "require")
_BINARY = {"andnot": AndNot, "andmaybe": AndMaybe, "require": Require}


@dataclass(frozen=True)
class _Mark:
    """A token that is not a leaf: an operator, bracket, sign, field name, boost or space."""

    kind: str
    text: str
    value: str | float | None = None


class _Group(list):
    """Items of a bracket or operator while parsing (`kind` is and, or, not, andnot, ...)."""

    def __init__(self, kind: str, items=(), boost: float = 1.0) -> None:
        super().__init__(items)
        self.kind, self.boost = kind, boost


class _Unparsable(Exception):
    """The query leaves Whoosh's parser with a part it cannot turn into a query."""


def check_query_shape(text: str) -> None:
    """Refuse queries too long, unclosed, naming unknown fields or matching nearly everything."""
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


def parse(text: str, known_fields: frozenset[str] = FIELD_NAMES) -> Node | None:
    """A person's query as our tree (None when empty); QueryError names what is wrong."""
    text = (text or "").strip()
    if not text:
        return None
    check_query_shape(text)
    top = _grouped(_tokens(text))
    _clean_boosts(top)
    top = _with_boosts(_without_spaces(_fields(_wildcards(top), known_fields)))
    try:
        return _built(_operators(_signs(top)))
    except _Unparsable:
        raise QueryError(f"could not understand the query {text!r}: simplify it") from None


def check(text: str) -> None:
    """Raise QueryError for a malformed query: all but "has no words" (words that analyze
    away, such as `...` or a lone `-word`), which needs the engine's analyzers."""
    parse(text)


def _tokens(text: str) -> list:
    """Leaves and marks in the order of the text; text between tokens is a word."""
    found, word_start, pos = [], 0, 0
    while pos < len(text):
        for kind, expr in _TAGGERS:
            if match := expr.match(text, pos):
                if word_start < pos:
                    found.append(Term(None, text[word_start:pos]))
                found.append(_token(kind, match))
                word_start = pos = match.end()
                break
        else:
            pos += 1
    if word_start < len(text):
        found.append(Term(None, text[word_start:]))
    return found


def _token(kind: str, match: re.Match):
    """The token one tagger's match makes."""
    if kind == "squote":
        return Term(None, match["text"])
    if kind == "phrase":
        return Phrase(None, match["text"], int(match["slop"] or 1))
    if kind == "wild":
        return Wildcard(None, match[0])
    if kind == "every":
        return Every()
    if kind == "range":
        start, end = match["start"], match["end"]
        start = start.rstrip() if start else start
        end = end.lstrip() if end else end
        if start and start.startswith("'") and start.endswith("'"):
            start = start[1:-1]
        if end and end.startswith("'") and end.endswith("'"):
            end = end[1:-1]
        return Range(None, start, end, match["open"] == "{", match["close"] == "}")
    if kind == "boost":
        try:
            return _Mark(kind, match[0], float(match["boost"]))
        except ValueError:
            return Term(None, match[0])
    name = match["text"] if kind == "field" else None
    return _Mark(kind, match[0], _ALIASES.get(name, name))


def _is(node, kind: str) -> bool:
    return isinstance(node, _Mark) and node.kind == kind


def _boostable(node) -> bool:
    return isinstance(node, (_Group, *_TEXTS, Range))


def _grouped(tokens: list) -> _Group:
    """Brackets as nested groups (a stray `)` is ignored, an unclosed `(` spliced in)."""
    stack = [_Group("and")]
    for token in tokens:
        if _is(token, "open"):
            stack.append(_Group("and"))
        elif _is(token, "close"):
            if len(stack) > 1:
                stack[-2].append(stack.pop())
        else:
            stack[-1].append(token)
    top = stack[0]
    for unclosed in stack[1:]:
        top.extend(unclosed)
    return top[0] if len(top) == 1 and isinstance(top[0], _Group) else top


def _clean_boosts(top: _Group) -> None:
    """At the top level, a ^boost with nothing boostable right before it is a word."""
    for i, node in enumerate(top):
        if _is(node, "boost") and (not i or not _boostable(top[i - 1])):
            top[i] = Term(None, node.text)


def _wildcards(group: _Group) -> _Group:
    """A * or ? joins the text right after and right before it; text* is a prefix."""
    i = 0
    while i < len(group):
        node = group[i]
        if isinstance(node, Wildcard):
            if i < len(group) - 1 and isinstance(group[i + 1], _TEXTS):
                node = replace(node, text=node.text + group.pop(i + 1).text)
            if i > 0 and isinstance(group[i - 1], _TEXTS):
                group[i - 1] = replace(node, text=group.pop(i - 1).text + node.text)
                continue
            group[i] = node
        elif isinstance(node, _Group):
            _wildcards(node)
        i += 1
    for i, node in enumerate(group):
        text = getattr(node, "text", "")
        plain = len(text) > 1 and not set(text) & set(_QMARKS)
        if isinstance(node, Wildcard) and plain and text.find("*") == len(text) - 1:
            group[i] = Prefix(None, text[:-1])
    return group


def _fields(group: _Group, known: frozenset[str]) -> _Group:
    """`name:` gives its field to the item right after it; an unknown name is text."""
    items, unknown = [], None
    for node in group:
        if _is(node, "field") and node.value not in known:
            unknown = node
            continue
        if unknown:
            if isinstance(node, _TEXTS):
                node = replace(node, text=unknown.text + node.text)
            else:
                items.append(Term(None, unknown.text))
            unknown = None
        items.append(node)
    if unknown:
        items.append(Term(None, unknown.text))
    fielded, i = [], len(items)
    while i > 0:
        i -= 1
        node = items[i]
        if _is(node, "field"):
            node = Term(None, node.text)
        elif isinstance(node, _Group):
            node = _fields(node, known)
        if i > 0 and not _is(node, "ws") and _is(items[i - 1], "field"):
            node = _with_field(node, items[i - 1].value)
            i -= 1
        fielded.append(node)
    return _Group(group.kind, reversed(fielded), group.boost)


def _with_field(node, name):
    if isinstance(node, _Group):
        return _Group(node.kind, [_with_field(n, name) for n in node], node.boost)
    if isinstance(node, (*_TEXTS, Range)) and node.field is None:
        return replace(node, field=name)
    return node


def _without_spaces(group: _Group) -> _Group:
    items = [_without_spaces(n) if isinstance(n, _Group) else n for n in group]
    return _Group(group.kind, [n for n in items if not _is(n, "ws")], group.boost)


def _with_boosts(group: _Group) -> _Group:
    """A ^boost sets the boost of the item before it, or is a word."""
    items = _Group(group.kind, boost=group.boost)
    for node in group:
        if isinstance(node, _Group):
            node = _with_boosts(node)
        elif _is(node, "boost"):
            if items and _boostable(items[-1]):
                if isinstance(items[-1], _Group):
                    items[-1].boost = node.value
                else:
                    items[-1] = replace(items[-1], boost=node.value)
                continue
            node = Term(None, node.text)
        items.append(node)
    return items


def _signs(top: _Group) -> _Group:
    """Top-level `+item` is required (the rest optional), `-item` excluded."""
    required, optional, banned = _Group("and"), _Group("and"), _Group("or")
    target = optional
    for node in top:
        if _is(node, "plus"):
            target = required
        elif _is(node, "minus"):
            target = banned
        else:
            target.append(node)
            target = optional
    result = _Group("andmaybe", [required, optional]) if required else optional
    return _Group("andnot", [result, banned]) if banned else result


def _operators(group: _Group) -> _Group:
    """NOT, AND, OR, ANDNOT, ANDMAYBE, REQUIRE in turn, left to right, then inner groups."""
    for op in ("not", *_INFIX):
        i = 0
        while i < len(group):
            if not _is(group[i], op):
                i += 1
            elif op == "not":
                del group[i]
                if i < len(group):
                    group[i] = _Group("not", [group[i]])
            elif 0 < i < len(group) - 1:
                left, right = group[i - 1], group[i + 1]
                if op == "or" and isinstance(left, (*_TEXTS, Range)) and left.field is None:
                    # An unfielded item is already an OR over the default fields in Whoosh.
                    left = _Group("or", [replace(left, boost=1.0)], left.boost)
                if op in ("and", "or") and isinstance(left, _Group) and left.kind == op:
                    left.append(right)
                    group[i - 1 : i + 2] = [left]
                else:
                    group[i - 1 : i + 2] = [_Group(op, [left, right])]
            else:
                del group[i]
    for i, node in enumerate(group):
        if isinstance(node, _Group):
            group[i] = _operators(node)
    return group


def _built(node, operand: bool = False) -> Node:
    """The frozen tree; a mark left over is a part Whoosh could not turn into a query."""
    if isinstance(node, _Mark):
        raise _Unparsable(node.kind)
    if not isinstance(node, _Group):
        return node
    items = tuple(_built(n, node.kind in _BINARY) for n in node)
    if node.kind in ("and", "or"):
        # A group of one leaf is that leaf, but not beside ANDNOT & co. (there an empty
        # group, its words analyzed away, voids the query where a missing operand is
        # skipped). Groups stay: Whoosh's normalize resets boosts inside nested groups.
        single = len(items) == 1 and isinstance(items[0], (*_TEXTS, Range, Every, Not))
        if single and node.boost == 1.0 and not operand:
            return items[0]
        return (And if node.kind == "and" else Or)(items, node.boost)
    if node.kind == "not" and items:
        return Not(items[0])
    if node.kind in _BINARY and len(items) == 2:
        return _BINARY[node.kind](*items)
    raise _Unparsable(node.kind)
