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


def test_add_manifest_gives_each_file_its_row(tmp_path, corpus_dir):
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:2]
    folder = tmp_path / "downloads"
    folder.mkdir()
    for n, letter in enumerate(letters):
        (folder / f"{n}.pdf").write_bytes(letter.read_bytes())
    manifest = tmp_path / "reviews.csv"
    manifest.write_text(
        "file,title,locality,year,doc_type,url\n"
        "downloads/0.pdf,Child A,Derby,2016,overview_report,https://example.org/a.pdf\n"
        "downloads/1.pdf,,Atlantis,2017,,\n"
        "downloads/missing.pdf,,,,,\n"
    )
    home = tmp_path / "home"
    result = run(home, "add", "--manifest", str(manifest), "--year", "2001")
    assert result.exit_code == 0, result.output
    assert "Added 1 new" in result.output and "2 skipped" in result.output
    assert "line 3: locality 'Atlantis' is not a known local authority" in result.output
    assert "line 4: no such file" in result.output
    listed = json.loads(run(home, "reports", "--format", "json").stdout)
    assert len(listed) == 1
    shown = json.loads(run(home, "show", listed[0]["report_id"], "--format", "json").stdout)
    # The row's values win over the option's; the locality brings its region.
    assert (shown["title"], shown["locality"], shown["region"], shown["year"]) == (
        "Child A", "Derby", "East Midlands", 2016)  # fmt: skip
    assert shown["doc_type"] == "overview_report" and shown["url"] == "https://example.org/a.pdf"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,year\nx.pdf,2001\n", "has no 'file' column"),
        ("file,place\nx.pdf,Derby\n", "unknown column(s) place"),
    ],
)
def test_add_manifest_that_cannot_be_used_is_a_usage_error(tmp_path, text, message):
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    result = run(tmp_path / "home", "add", "--manifest", str(manifest))
    assert result.exit_code == 2 and message in result.output and str(manifest) in result.output


def test_add_needs_something_to_add(tmp_path):
    result = run(tmp_path / "home", "add")
    assert result.exit_code == 2 and "--manifest" in result.output
