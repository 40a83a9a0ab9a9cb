"""The facet registry: every facet once, and every list of facets derived from it."""

from __future__ import annotations

import dataclasses
import inspect
import json

import click
import pytest
from click.testing import CliRunner

from scrsearch import facets, stats, tagging
from scrsearch.cli import main, options
from scrsearch.facets import (
    FACET_NAMES,
    FACETS,
    QUERY_FIELD_ALIASES,
    TAG_FACETS,
    facet_values,
)
from scrsearch.models import Document, ReportTag
from scrsearch.web import app, state

SEARCH_JSON_FACETS = (
    "theme", "risk_factor", "practice_issue",
    "locality", "region", "nation", "year", "doc_type", "source", "subject",
)  # fmt: skip


def test_each_facet_and_each_name_once() -> None:
    names = [f.name for f in FACETS]
    aliases = [a for f in FACETS for a in f.aliases]
    assert len(set(names)) == len(names)
    assert len(set(names + aliases)) == len(names) + len(aliases)
    assert FACET_NAMES == SEARCH_JSON_FACETS  # the search JSON's order must not change
    assert TAG_FACETS == ("theme", "risk_factor", "practice_issue")
    document_fields = {f.name for f in dataclasses.fields(Document)}
    for facet in FACETS:
        assert facet.from_tags or facet.name in document_fields, facet.name
        assert (facet.option is None) == (facet.filter_key is None) == (not facet.searchable)
        assert facet.heading and facet.heading[0].isupper()


def test_the_orders_name_each_facet_once() -> None:
    searchable = sorted(FACET_NAMES)
    assert sorted(facets.CLI_ORDER) == sorted(facets.WEB_ORDER) == searchable
    assert list(facets.FILTER_OPTIONS) == list(facets.CLI_ORDER)
    assert list(facets.FACET_HEADINGS) == list(facets.WEB_ORDER)
    assert set(facets.STATS_FIELDS) == {f.name for f in FACETS if f.counted}
    with pytest.raises(RuntimeError, match="does not name each"):
        facets._in_order(("theme",), ("theme", "year"))


def test_query_aliases() -> None:
    assert QUERY_FIELD_ALIASES["risk"] == "risk_factor"
    assert QUERY_FIELD_ALIASES["issue"] == "practice_issue"
    assert QUERY_FIELD_ALIASES["type"] == "doc_type"
    assert set(QUERY_FIELD_ALIASES.values()) == set(FACET_NAMES)
    assert "text_source" not in QUERY_FIELD_ALIASES


def test_lists_derived_from_the_registry() -> None:
    assert tagging.FACETS == TAG_FACETS
    assert stats.STATS_FIELDS == facets.STATS_FIELDS == (
        "year", "locality", "region", "nation", "doc_type", "source",
        "theme", "risk_factor", "practice_issue", "text_source",
    )  # fmt: skip
    assert options.FILTER_KEYS == facets.FILTER_KEYS
    assert set(options.FILTER_OPTION_HELP) == set(FACET_NAMES)
    assert list(state.FILTER_PARAMS.items()) == [
        ("theme", "themes"), ("risk", "risks"), ("issue", "issues"), ("region", "regions"),
        ("locality", "localities"), ("nation", "nations"), ("year", "years"),
        ("doc_type", "doc_types"), ("source", "sources"), ("subject", "subjects"),
    ]  # fmt: skip
    assert list(state.FACET_PARAMS) == list(facets.WEB_ORDER)
    assert [state.FACET_PARAMS[f] for f in TAG_FACETS] == ["theme", "risk", "issue"]
    assert list(app.FACET_HEADINGS) == list(facets.WEB_ORDER)
    assert app.FACET_HEADINGS["locality"] == "Local authority"


def test_the_filters_take_every_filter_key() -> None:
    from scrsearch.search import Filters, make_filters

    assert {f.name for f in dataclasses.fields(Filters)} == set(facets.FILTER_KEYS)
    assert set(facets.FILTER_KEYS) <= set(inspect.signature(make_filters).parameters)


def _options_of(command: click.Command) -> list[tuple[str, str]]:
    return [
        (p.opts[0], p.name)
        for p in command.params
        if isinstance(p, click.Option) and p.name in facets.FILTER_KEYS
    ]


@pytest.mark.parametrize("name", ["search", "export", "stats", "watch add"])
def test_the_cli_filter_options_come_from_the_registry(name: str) -> None:
    command = main
    for part in name.split():
        command = command.commands[part]
    expected = [(facets.FILTER_OPTIONS[f], facets.BY_NAME[f].filter_key) for f in facets.CLI_ORDER]
    assert _options_of(command) == expected


def test_the_cli_tag_facet_choices_are_the_tag_facets() -> None:
    taxonomy = main.commands["taxonomy"]
    cooccurrence = main.commands["stats"]
    for command, option in ((taxonomy, "facet"), (cooccurrence, "cooccurrence")):
        (param,) = [p for p in command.params if p.name == option]
        assert tuple(param.type.choices) == TAG_FACETS


# ---------------------------------------------------------------------- facet values

DOC = Document(
    sha256="ab" * 32, original_name="x.pdf", source="local", path="x", size=1,
    locality="Bradford", region="", year=2019, doc_type=None, text_source="ocr",
)  # fmt: skip
TAGS = [
    ReportTag("neglect", "theme", "Neglect", 3),
    ReportTag("domestic_abuse", "risk_factor", "Domestic abuse", 2),
    ReportTag("poverty", "theme", "Poverty", 1),
]


def test_facet_values() -> None:
    assert facet_values("theme", DOC, TAGS) == ["neglect", "poverty"]
    assert facet_values("risk_factor", DOC, TAGS) == ["domestic_abuse"]
    assert facet_values("practice_issue", DOC, TAGS) == []
    assert facet_values("locality", DOC, TAGS) == ["Bradford"]
    assert facet_values("year", DOC, TAGS) == [2019]
    assert facet_values("region", DOC, TAGS) == []  # an empty value is no value
    assert facet_values("doc_type", DOC, TAGS) == []
    assert facet_values("text_source", DOC, ()) == ["ocr"]
    assert facet_values("locality", None, ()) == []
    assert facet_values("theme", None, TAGS) == ["neglect", "poverty"]
    with pytest.raises(KeyError):
        facet_values("colour", DOC, TAGS)


def test_stats_reads_values_through_the_registry() -> None:
    reports = stats._Reports({DOC.sha256: DOC}, {DOC.sha256: TAGS})
    assert reports.values(DOC.sha256, "theme") == ["neglect", "poverty"]
    assert reports.values(DOC.sha256, "practice_issue") == [None]
    assert reports.values(DOC.sha256, "region") == [None]
    assert reports.values(DOC.sha256, "year") == [2019]


# ------------------------------------------------------------- what the JSON shows


def test_every_facet_the_json_shows_is_in_the_registry(web_home) -> None:
    runner = CliRunner()
    found = runner.invoke(main, ["--home", str(web_home.root), "search", "children",
                                 "--format", "json"])  # fmt: skip
    assert found.exit_code == 0, found.output
    payload = json.loads(found.stdout)
    assert list(payload["facets"]) == list(FACET_NAMES)
    listed = runner.invoke(main, ["--home", str(web_home.root), "reports", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    reports = json.loads(listed.stdout)
    reports = reports["reports"] if isinstance(reports, dict) else reports
    assert reports
    for report in reports:
        for facet in facets.DOCUMENT_FACETS:
            if facets.BY_NAME[facet].searchable:
                assert facet in report, facet
        assert {tag["facet"] for tag in report.get("tags", ())} <= set(TAG_FACETS)
