"""stats on the real JTAI letters: counts checked against the letters' own labels and SQL."""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from collections import Counter

import pytest
from click.testing import CliRunner

from scrsearch import pipeline
from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.store import Store


@pytest.fixture(scope="module")
def labels(corpus_dir) -> list[dict]:
    with open(corpus_dir / "ofsted-jtai" / "labels.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def jtai_home(tmp_path_factory, corpus_dir, labels) -> Home:
    """The 43 JTAI letters, each added with the locality and year its label gives.

    Given metadata is never overridden by inference, so the counts below test stats, not
    metadata inference.
    """
    home = Home(tmp_path_factory.mktemp("stats") / "home").ensure()
    for label in labels:
        path = corpus_dir / "ofsted-jtai" / label["folder"] / label["file"]
        meta = {"locality": label["la_canonical"], "year": int(label["publication_year"])}
        pipeline.add_paths(home, [path], meta=meta)
    summary = pipeline.run_index(home)
    assert summary.indexed == 43 and not summary.failed
    return home


def stats_json(home: Home, *args: str) -> dict:
    result = CliRunner().invoke(
        main, ["--home", str(home.root), "stats", *args, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_crosstab_year_by_locality_matches_the_labels(jtai_home, labels):
    payload = stats_json(jtai_home, "--by", "year", "--by", "locality")
    assert payload["by"] == ["year", "locality"] and payload["total"] == len(labels) == 43
    by_hand = Counter((int(r["publication_year"]), r["la_canonical"]) for r in labels)
    counted = {(r["year"], r["locality"]): r["count"] for r in payload["rows"]}
    assert {k: n for k, n in counted.items() if n} == dict(by_hand)
    # every combination is listed (a cross-tab), and the year gaps are there with zeros
    years = {r["year"] for r in payload["rows"]}
    assert years == set(range(2009, 2026))
    assert len(payload["rows"]) == len(years) * len({r["la_canonical"] for r in labels})
    assert counted[(2012, "Norfolk")] == 0


def test_counts_by_theme_and_crosstab_match_the_catalogue(jtai_home):
    with Store(jtai_home) as store:
        rows = store.db.execute(
            "SELECT d.region, t.term_id FROM documents d JOIN report_tags t USING (sha256) "
            "WHERE t.facet='theme' AND d.status='indexed'"
        ).fetchall()
        untagged = store.db.execute(
            "SELECT COUNT(*) FROM documents WHERE status='indexed' AND sha256 NOT IN "
            "(SELECT sha256 FROM report_tags WHERE facet='theme')"
        ).fetchone()[0]
    by_hand = Counter((region, term) for region, term in rows)
    payload = stats_json(jtai_home, "--by", "region", "--by", "theme")
    counted = {(r["region"], r["theme"]): r["count"] for r in payload["rows"] if r["count"]}
    assert {k: n for k, n in counted.items() if k[1] is not None} == dict(by_hand)
    single = stats_json(jtai_home, "--by", "theme")
    assert {r["theme"]: r["count"] for r in single["rows"]}.get(None, 0) == untagged
    themes = Counter(term for _, term in rows)
    assert {r["theme"]: r["count"] for r in single["rows"] if r["theme"]} == dict(themes)


def test_query_and_filters_narrow_the_report_set_like_search(jtai_home, labels):
    search = CliRunner().invoke(
        main, ["--home", str(jtai_home.root), "search", "neglect", "--year", "2016-2018",
               "--format", "json", "--limit", "0"],
    )  # fmt: skip
    total = json.loads(search.stdout)["total"]
    payload = stats_json(jtai_home, "neglect", "--year", "2016-2018", "--by", "year")
    assert payload["total"] == total == sum(r["count"] for r in payload["rows"])
    assert [r["year"] for r in payload["rows"]] == [2016, 2017, 2018]


def test_empty_years_in_a_range_show_as_zero(jtai_home, labels):
    payload = stats_json(jtai_home, "--by", "year", "--year", "2010-2021")
    counts = {r["year"]: r["count"] for r in payload["rows"]}
    assert list(counts) == list(range(2010, 2022))
    by_hand = Counter(int(r["publication_year"]) for r in labels)
    assert counts == {y: by_hand.get(y, 0) for y in range(2010, 2022)}
    assert counts[2015] == 0 and counts[2021] == 0


def test_cooccurrence_of_the_toxic_trio_matches_the_catalogue(jtai_home):
    trio = ["domestic_abuse", "parental_mental_health", "parental_substance_misuse"]
    with Store(jtai_home) as store:
        tags = store.all_report_tags()
    per_report = [{t.term_id for t in tags.get(sha, [])} for sha in tags]
    payload = stats_json(jtai_home, "--cooccurrence", "risk_factor", "--size", "3",
                         *itertools.chain.from_iterable(("--term", t) for t in trio))  # fmt: skip
    assert payload["total"] == 43
    (row,) = payload["rows"]
    assert row["terms"] == trio
    assert row["count"] == sum(set(trio) <= found for found in per_report)
    assert row["share"] == round(row["count"] / 43, 4)
    pairs = stats_json(jtai_home, "--cooccurrence", "risk_factor")
    for entry in pairs["rows"]:
        assert entry["count"] == sum(set(entry["terms"]) <= found for found in per_report) > 0


def test_text_output_is_an_aligned_table(jtai_home):
    result = CliRunner().invoke(main, ["--home", str(jtai_home.root), "stats", "--by", "region"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["region", "count"] and set(lines[1]) <= {"-", " "}
    count_ends = {len(line) for line in lines}  # counts are right-aligned: lines end together
    assert len(count_ends) == 1
    assert "43 report(s) in all" in result.stderr


def test_csv_output_parses(jtai_home):
    result = CliRunner().invoke(
        main, ["--home", str(jtai_home.root), "stats", "--by", "doc_type", "--format", "csv"]
    )
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0] == ["doc_type", "count"] and sum(int(r[1]) for r in rows[1:]) == 43


def test_plot_writes_a_png(jtai_home, tmp_path):
    pytest.importorskip("matplotlib")
    for args, name in ((["--by", "year"], "bars.png"),
                       (["--by", "region", "--by", "theme"], "heat.png"),
                       (["--cooccurrence", "risk_factor"], "pairs.png")):  # fmt: skip
        target = tmp_path / name
        result = CliRunner().invoke(
            main, ["--home", str(jtai_home.root), "stats", *args, "--plot", str(target)]
        )
        assert result.exit_code == 0, result.output
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_it(jtai_home, tmp_path):
    script = (
        "import sys; sys.modules['matplotlib'] = None\n"  # as if it were not installed
        "from scrsearch.cli import main\n"
        f"main(['--home', {str(jtai_home.root)!r}, 'stats', '--by', 'year', "
        f"'--plot', {str(tmp_path / 'x.png')!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'scrsearch[plot]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists() and done.stdout == ""


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--by", "year", "--by", "year"], "--by year was given twice"),
        (["--by", "year", "--by", "region", "--by", "theme"], "at most twice"),
        ([], "give --by FIELD"),
        (["--by", "year", "--cooccurrence", "theme"], "not both"),
        (["--cooccurrence", "theme", "--term", "domestic_abuse"], "is not a theme"),
        (["--by", "year", "--plot", "chart.txt"], ".png"),
    ],
)
def test_usage_errors_exit_2_naming_the_option(jtai_home, args, needle):
    result = CliRunner().invoke(main, ["--home", str(jtai_home.root), "stats", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


def test_an_open_year_range_stops_at_the_years_present(jtai_home, labels):
    payload = stats_json(jtai_home, "--by", "year", "--year", "2022-")
    assert [r["year"] for r in payload["rows"]] == [2022, 2023, 2024, 2025]
    before = stats_json(jtai_home, "--by", "year", "--year=-2012")
    assert [(r["year"], r["count"]) for r in before["rows"]] == [
        (2009, 1), (2010, 0), (2011, 0), (2012, 0)
    ]  # fmt: skip
