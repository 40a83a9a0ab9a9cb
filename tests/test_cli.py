"""The command line as a person uses it: real files, a tmp home, exit codes, pure JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from scrsearch.cli import main


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory, corpus_dir):
    home = tmp_path_factory.mktemp("cli") / "home"
    runner = CliRunner()
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:6]
    added = runner.invoke(main, ["--home", str(home), "add", *map(str, letters),
                                 str(corpus_dir / "hard-cases" / "invalid.pdf")])  # fmt: skip
    assert added.exit_code == 0, added.output
    indexed = runner.invoke(main, ["--home", str(home), "index"])
    assert indexed.exit_code == 1, "invalid.pdf failed, so index exits 1"
    return home


def run(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_add_twice_says_already_present(cli_home, corpus_dir):
    letter = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[0]
    result = run(cli_home, "add", str(letter))
    assert result.exit_code == 0
    assert "already present" in result.output and "Added 0 new" in result.output


def test_search_json_is_pure_and_parses(cli_home):
    result = CliRunner().invoke(
        main, ["--home", str(cli_home), "search", "children", "--format", "json"]
    )
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["total"] > 0 and payload["results"][0]["passages"][0]["page"] >= 1


def test_search_text_shows_pages_and_facets(cli_home):
    result = run(cli_home, "search", "children", "--limit", "2")
    assert result.exit_code == 0
    assert "p." in result.output and "Counts of matching reports" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 100


def test_malformed_query_is_one_line_and_exit_2(cli_home):
    result = run(cli_home, "search", '"voice of the child')
    assert result.exit_code == 2
    assert "unclosed quote" in result.output and "Traceback" not in result.output


def test_unknown_locality_is_a_usage_error(cli_home):
    result = run(cli_home, "search", "x", "--locality", "Atlantis")
    assert result.exit_code == 2 and "Atlantis" in result.output


def test_reports_lists_statuses_and_errors(cli_home):
    result = CliRunner().invoke(main, ["--home", str(cli_home), "reports", "--format", "json"])
    rows = json.loads(result.stdout)
    statuses = {r["original_name"]: r["status"] for r in rows}
    assert statuses["invalid.pdf"] == "failed"
    assert sum(s == "indexed" for s in statuses.values()) == 6
    failed = next(r for r in rows if r["status"] == "failed")
    assert failed["error"] and failed["path"].startswith("corpus/")


def test_show_prints_a_page(cli_home):
    rows = json.loads(
        CliRunner().invoke(main, ["--home", str(cli_home), "reports", "--format", "json"]).stdout
    )
    indexed = next(r for r in rows if r["status"] == "indexed")
    result = CliRunner().invoke(
        main, ["--home", str(cli_home), "show", indexed["report_id"], "--page", "1",
               "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["page"] == 1 and len(shown["text"]) > 100
    bad = run(cli_home, "show", indexed["report_id"], "--page", "9999")
    assert bad.exit_code == 2 and "has pages 1-" in bad.output


def test_search_without_index_explains(tmp_path):
    result = run(tmp_path / "empty", "search", "neglect")
    assert result.exit_code == 1 and "scrsearch index" in result.output
