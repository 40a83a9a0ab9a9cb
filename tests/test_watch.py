"""Watches: only reports that newly match are reported, once, across real add + index runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from scrsearch import pipeline
from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.search import SearchRequest, matching_reports
from scrsearch.store import Store


@pytest.fixture(scope="module")
def letters(corpus_dir):
    return sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))


def cli(home: Home, *args: str):
    return CliRunner().invoke(main, ["--home", str(home.root), *args])


def sha_of(home: Home, path) -> str:
    with Store(home) as store:
        return next(d.sha256 for d in store.documents() if d.original_name == path.name
                    and d.added_from == str(path))  # fmt: skip


def test_a_watch_reports_only_new_reports_across_two_updates(home, letters, tmp_path):
    pipeline.add_paths(home, letters[:3])
    pipeline.run_index(home)
    before = matching_reports(home, SearchRequest("children"))
    added = cli(home, "watch", "add", "kids", "children")
    assert added.exit_code == 0, added.output
    assert f"{len(before)} matching report(s) marked seen" in added.stderr

    first = cli(home, "watch", "run", "kids", "--format", "json")
    assert json.loads(first.stdout) == {"watch": "kids", "new": []}

    pipeline.add_paths(home, letters[3:5])  # the first update: two more letters
    pipeline.run_index(home)
    hits = tmp_path / "hits.jsonl"
    second = cli(home, "watch", "run", "kids", "--format", "json", "--to", str(hits))
    payload = json.loads(second.stdout)
    new = {sha_of(home, p) for p in letters[3:5]}
    assert {r["sha256"] for r in payload["new"]} == new
    assert all(r["passages"] and r["score"] > 0 for r in payload["new"])  # as search shows them
    lines = [json.loads(x) for x in hits.read_text().splitlines()]
    assert {x["sha256"] for x in lines} == new and {x["watch"] for x in lines} == {"kids"}

    again = cli(home, "watch", "run", "kids", "--format", "json", "--to", str(hits))
    assert json.loads(again.stdout)["new"] == []
    assert len(hits.read_text().splitlines()) == 2  # nothing appended twice

    pipeline.add_paths(home, letters[5:6])  # the second update: one more
    pipeline.run_index(home)
    third = cli(home, "watch", "run", "kids", "--format", "json")
    assert [r["sha256"] for r in json.loads(third.stdout)["new"]] == [sha_of(home, letters[5])]


def test_include_existing_reports_everything_once(home, letters):
    pipeline.add_paths(home, letters[:3])
    pipeline.run_index(home)
    assert cli(home, "watch", "add", "all", "--include-existing").exit_code == 0
    run = cli(home, "watch", "run", "all", "--format", "json")
    assert len(json.loads(run.stdout)["new"]) == 3
    assert json.loads(cli(home, "watch", "run", "all", "--format", "json").stdout)["new"] == []


def test_filters_are_saved_and_applied(home, letters):
    pipeline.add_paths(home, letters[:4])
    pipeline.run_index(home)
    with Store(home) as store:
        docs = store.documents(["indexed"])
    locality = docs[0].locality
    expected = {d.sha256 for d in docs if d.locality == locality}
    assert (
        cli(home, "watch", "add", "here", "--locality", locality, "--include-existing").exit_code
        == 0
    )
    listed = json.loads(cli(home, "watch", "list", "--format", "json").stdout)
    assert listed[0]["name"] == "here" and listed[0]["filters"] == {"localities": [locality]}
    run = json.loads(cli(home, "watch", "run", "here", "--format", "json").stdout)
    assert {r["sha256"] for r in run["new"]} == expected
    text = cli(home, "watch", "list")
    assert f"--locality {locality}" in text.stdout or f"--locality '{locality}'" in text.stdout


def test_run_without_name_runs_every_watch_and_remove_forgets(home, letters):
    pipeline.add_paths(home, letters[:2])
    pipeline.run_index(home)
    for name in ("a", "b"):
        assert cli(home, "watch", "add", name, "--include-existing").exit_code == 0
    runs = json.loads(cli(home, "watch", "run", "--format", "json").stdout)
    assert [r["watch"] for r in runs] == ["a", "b"] and all(len(r["new"]) == 2 for r in runs)
    assert cli(home, "watch", "remove", "a").exit_code == 0
    assert [
        w["name"] for w in json.loads(cli(home, "watch", "list", "--format", "json").stdout)
    ] == ["b"]
    gone = cli(home, "watch", "run", "a")
    assert gone.exit_code == 2 and "no watch 'a'" in gone.output and "b" in gone.output


def test_a_watch_made_before_any_index_reports_later_arrivals(home, letters):
    assert cli(home, "watch", "add", "early", "children").exit_code == 0
    pipeline.add_paths(home, letters[:1])
    pipeline.run_index(home)
    run = json.loads(cli(home, "watch", "run", "early", "--format", "json").stdout)
    assert [r["sha256"] for r in run["new"]] == [sha_of(home, letters[0])]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["watch", "add", "bad name", "x"], "not valid"),
        (["watch", "add", "q", '"unclosed'], "unclosed quote"),
        (["watch", "add", "l", "x", "--locality", "Atlantis"], "Atlantis"),
        (["watch", "remove", "nope"], "no watch 'nope'"),
    ],
)
def test_usage_errors_exit_2(home, args, needle):
    result = cli(home, *args)
    assert result.exit_code == 2 and needle in result.output, result.output


def test_adding_a_watch_twice_is_refused(home):
    assert cli(home, "watch", "add", "dup", "x").exit_code == 0
    again = cli(home, "watch", "add", "dup", "y")
    assert again.exit_code == 2 and "watch remove dup" in again.output
