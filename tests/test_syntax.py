"""Our query syntax (syntax.py) against Whoosh's own parser, which search.py used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from whoosh import query as wq
from whoosh.qparser import FieldAliasPlugin, MultifieldParser, PlusMinusPlugin

from scrsearch import syntax
from scrsearch.engine.whoosh import generations, query_schema, translate
from scrsearch.errors import QueryError

SCHEMA = query_schema()


def whooshs_parse(text: str, schema, fields=("text", "title")):
    """Whoosh's own parser with the plugins scrsearch used before syntax.py: the reference."""
    text = (text or "").strip()
    if not text:
        return None
    syntax.check_query_shape(text)
    parser = MultifieldParser(list(fields), schema)
    parser.add_plugin(PlusMinusPlugin(minusexpr=r"(?<![^\s(])-(?=[\w\"(])"))
    aliases: dict[str, list[str]] = {}
    for alias, target in syntax.QUERY_FIELDS.items():
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


def whoosh_and_ours(text: str, schema=SCHEMA, fields=("text", "title")) -> tuple:
    """What Whoosh's parser and ours make of a query, or their errors."""
    results = []
    for parse in (whooshs_parse, translate.parse_query):
        try:
            results.append(("query", parse(text, schema, fields)))
        except QueryError as exc:
            results.append(("error", str(exc)))
    return tuple(results)


def assert_same(text: str, schema=SCHEMA, fields=("text", "title")) -> None:
    whooshs, ours = whoosh_and_ours(text, schema, fields)
    assert ours == whooshs, text
    assert repr(ours) == repr(whooshs), text  # == on queries skips slop, boosts of phrases


def test_syntax_imports_no_whoosh():
    code = "import scrsearch.syntax, sys; print(sorted(m for m in sys.modules if 'whoosh' in m))"
    src = str(Path(syntax.__file__).parents[1])  # this checkout's, not an installed one
    env = {**os.environ, "PYTHONPATH": src}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


EVERY_FEATURE = [
    # words, case, stop words, numbers, unicode, punctuation
    "neglect", "Neglect", "NEGLECT", "the", "of the", "a", "voice of the child",
    "bruising baby not mobile", "2015", "0161 123", "children's", "child's voice", "o'neill",
    "parents'", "self-harm", "self - harm", "multi-agency working", "e-mail", "café",
    "naïve Zoë", "Ærø", "日本語", "co-operation", "...", "neglect.", "neglect,abuse", "a/b",
    "c++", "x@y.com", "#hashtag", "50%", "£300", "a&b", "don't", "won't stop", "it’s",
    "-", "+", "- -", "a - b", "a -", "!", "?!", ";", "_",
    # phrases
    '"voice of the child"', '"early help"', '"the"', '"  "', '""', '"a b"~2', '"a b"~10',
    '"a b"~0', '"a b" ~2', '"early help" OR "looked after children"',
    '"early help" -"looked after children"', '"a"b', 'a"b c"', '"a b"*', '"a" "b"',
    # single quotes
    "'voice of child'", "'neglect'", "x 'a b' y", "'a b'c", "l'enfant",
    # operators
    "a AND b", "a OR b", "a NOT b", "NOT a", "NOT a b", "a ANDNOT b", "a ANDMAYBE b",
    "a REQUIRE b", "REQUIRE a", "a OR b c", "a b OR c", "a OR b OR c", "a AND b AND c",
    "a OR b AND c", "a AND b OR c", "a ANDNOT b ANDNOT c", "a ANDNOT b c", "NOT a OR b",
    "a OR NOT b", "a and b", "a or b", "a Or b", "aORb", "a AND OR b", "a OR AND b",
    "a ANDNOT OR b", "NOT NOT a", "NOT (a)", "NOT(a)", "a NOT(b)", "(a) NOT b",
    # brackets and nesting
    "(a)", "(a b)", "(a OR b) c", "a (b OR c)", "((a OR b) AND (c OR d))", "(a (b (c d)))",
    "()", "a ()", "(a OR b)", "((a))", "(a OR b) OR (c AND d)", "NOT (a OR b)",
    "(NOT a)", "(a NOT )", "(a OR)", "(AND a)", "neglect (", ") neglect (", '"a (b" c)',
    # + and -
    "+a", "+a b", "a +b", "+a +b c", "-a", "a -b", "-a b", "a -b -c", '-"early help"',
    'a -"early help"', "a -(b OR c)", "-(a OR b) c", "+(a b) c", "a +", "(a -b)", "(a -b) c",
    "(+a b)", "a OR -b", "-police neglect", "a-b", "a -b-c", "a +-b", "+a -b c",
    "a NOT -b", "theme:+x", "theme:-x", "NOT -a b", "a (-b)",
    # wildcards and prefixes
    "safeguard*", "Safeguarding*", "wo?d", "ne*ect", "ne*ect*", "ab*cd?", "ab**", "ab*c*d",
    "neglect ab*", "ab* cd*", "(ab*)", "theme:ne*", "locality:brad*", "year:20*",
    "year:2?15", "title:safe*", "tag:neg*", "ab*:x", "ab?", "abc?d*", "ab\u055e",
    # fields, with every name and alias
    *(f"{name}:neglect" for name in syntax.QUERY_FIELDS),
    *(f"{name}:Bradford" for name in syntax.QUERY_FIELDS),
    *(f'{name}:"early help"' for name in syntax.QUERY_FIELDS),
    *(f"{name}:(a OR b)" for name in syntax.QUERY_FIELDS),
    "theme: x", "theme:", "x theme:", "theme:x:y", "title:a:b", "x-y:z", "a.b:c",
    "sha256:ABC", "type:scr theme:neglect", "title:(a -b)", "title:(a b) c",
    "tag:x,y", "tags:a b", "theme:neglect OR theme:abuse", "NOT theme:neglect",
    "a -theme:neglect", "locality:bradford OR locality:derby", "subject:child",
    "region:yorkshire", "nation:england", "source:nspcc", "doc_type:scr", "issue:x",
    "risk:domestic_abuse", "2015:x", "theme:\"a b\"~2", "year:2015", "year:abc",
    "year:-1", "year:>2015", "year:<2015", "year:1e3",
    # ranges
    "year:[2015 TO 2018]", "year:[2015 to 2018]", "year:{2015 TO 2018}", "year:[2015 TO 2018}",
    "year:[TO 2018]", "year:[2015 TO]", "year:[ TO ]", "[a TO b]", "title:[a TO c]",
    "theme:[a TO c]", "year:[abc TO def]", "year:[2015 TO 2018] neglect", "[2015 TO 2018]",
    "year:['2015' TO '2018']", "year:[2018 TO 2015]", "x [a TO b] y", "(year:[2015 TO 2018])",
    # boosts
    "a^2", "a^2 b", "a ^2", "(a ^2)", "(a b)^2", "(a b)^2 AND c", "a^2 OR b", "b OR a^2",
    '"a b"^3', "a^", "a^x", "a^2.5", "a^.5", "^2", "a^2^3", "theme:x^2", "ab*^2", "-a^2 b",
    "year:[2015 TO 2018]^2", "(a OR b)^2", "a^2 AND b",
    # every
    "theme:cd*:*",
    # spaces
    "  neglect  ", "a\tb", "a\nb", "a\u00a0b", "   ",
]  # fmt: skip


@pytest.mark.parametrize("text", EVERY_FEATURE)
def test_ours_equals_whooshs_parser(text):
    assert_same(text)


@pytest.mark.parametrize(
    "text", ["neglect", '"early help"', "theme:neglect", "a OR b", "type:x", "year:2015"]
)
def test_ours_equals_whooshs_parser_with_other_schemas_and_fields(text):
    assert_same(text, generations.build_schema())
    assert_same(text, SCHEMA, fields=("text",))


WORDS = ["neglect", "Child's", "the", "early", "help", "ab", "x1", "2015", "self-harm", "é"]
FIELDS = [*syntax.QUERY_FIELDS, "sha256"]


def _queries() -> st.SearchStrategy[str]:
    """Queries from a small grammar of every feature (and some of its odd corners)."""
    word = st.sampled_from(WORDS)
    leaf = st.one_of(
        word,
        word.map(lambda w: f'"{w} {w[::-1]}"'),
        st.tuples(word, word, st.integers(1, 3)).map(lambda t: f'"{t[0]} {t[1]}"~{t[2]}'),
        word.map(lambda w: f"{w}*"),
        st.tuples(word, st.sampled_from("*?")).map(lambda t: t[0][:2] + t[1] + t[0][2:]),
        st.tuples(st.integers(2000, 2020), st.integers(2000, 2020)).map(
            lambda t: f"year:[{t[0]} TO {t[1]}]"
        ),
        st.tuples(st.sampled_from(FIELDS), word).map(lambda t: f"{t[0]}:{t[1]}"),
        word.map(lambda w: f"'{w} {w}'"),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        op = st.sampled_from([" ", " AND ", " OR ", " ANDNOT ", " ANDMAYBE ", " REQUIRE "])
        return st.one_of(
            st.tuples(inner, op, inner).map("".join),
            inner.map(lambda q: f"({q})"),
            inner.map(lambda q: f"NOT {q}"),
            st.tuples(st.sampled_from("+-"), inner).map("".join),
            st.tuples(st.sampled_from(FIELDS), inner).map(lambda t: f"{t[0]}:({t[1]})"),
            st.tuples(inner, st.sampled_from(["^2", "^0.5", " ^3"])).map("".join),
        )

    return st.recursive(leaf, extend, max_leaves=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_queries())
@example("a OR b -c")
@example("+(a OR b) -c NOT d")
def test_ours_equals_whooshs_parser_on_generated_queries(text):
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab *?\"()+-:^[]{}~'TONDRAtheme", max_size=24))
def test_ours_equals_whooshs_parser_on_any_characters(text):
    assert_same(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("neglect " * 300, "at most 2,000"),
        ('"voice of the child', "has an unclosed quote"),
        ("(neglect OR abuse", "has unbalanced parentheses"),
        ("neglect) (abuse", "has unbalanced parentheses"),
        ("foo:bar", "names an unknown field 'foo'; fields are: doc_type, issue"),
        ("neglect AND", "ends with the operator AND"),
        ('"early help" OR', "ends with the operator OR"),
        ("a NOT", "ends with the operator NOT"),
        ("OR neglect", "starts with the operator OR"),
        ("year:[2015 TO", "has an unclosed range"),
        ("*abuse", "has a wildcard after fewer than two letters"),
        ("a*", "has a wildcard after fewer than two letters"),
        ("theme:?x", "has a wildcard after fewer than two letters"),
        ("-*x", "has a wildcard after fewer than two letters"),
    ],
)
def test_shape_errors_name_the_fix(text, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        syntax.check_query_shape(text.strip())
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        syntax.parse(text)
    assert_same(text)


@pytest.mark.parametrize("text", ["(a -b) c", "NOT NOT a", "NOT AND b", "(a +b) c"])
def test_what_whoosh_could_not_understand_fails_without_whoosh(text):
    with pytest.raises(QueryError, match="could not understand"):
        syntax.parse(text)
    assert_same(text)


def test_the_tree_is_words_as_typed():
    assert syntax.parse("") is None and syntax.parse("   ") is None
    assert syntax.parse("Neglect") == syntax.Term(None, "Neglect")
    assert syntax.parse('type:"Early Help"~2') == syntax.Phrase("doc_type", "Early Help", 2)
    assert syntax.parse("a -b") == syntax.AndNot(
        syntax.And((syntax.Term(None, "a"),)), syntax.Or((syntax.Term(None, "b"),))
    )
    assert syntax.parse("year:[2015 TO 2018]") == syntax.Range("year", "2015", "2018")
    assert syntax.parse("safe*") == syntax.Prefix(None, "safe")


def test_check_finds_malformed_queries_without_the_engine():
    syntax.check("neglect OR (abuse NOT police)")
    for bad in ('"unclosed', "foo:bar", "neglect OR (abuse -police)", "*ing", "neglect OR"):
        with pytest.raises(QueryError):
            syntax.check(bad)
    syntax.check("...")  # no words only once analyzed: the engine says so
    with pytest.raises(QueryError, match="has no words"):
        translate.parse_query("...", SCHEMA)
