"""check: damaged and missing originals, reports missing from the index or the catalogue."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from httpserver import LocalServer
from scrsearch import check as checking
from scrsearch import pipeline
from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.engine import open_engine
from scrsearch.fetch import Fetcher
from scrsearch.search import SearchRequest, matching_reports
from scrsearch.store import Store, sha256_of_file


@pytest.fixture(scope="module")
def built(tmp_path_factory, corpus_dir) -> Home:
    home = Home(tmp_path_factory.mktemp("check") / "home").ensure()
    pipeline.add_paths(home, sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:4])
    assert pipeline.run_index(home).indexed == 4
    return home


@pytest.fixture
def fresh(built, tmp_path) -> Home:
    """A copy of the built home, for a test to damage."""
    shutil.copytree(built.root, tmp_path / "home")
    return Home(tmp_path / "home")


def cli(home: Home, *args: str):
    return CliRunner().invoke(main, ["--home", str(home.root), "check", *args])


def documents(home: Home):
    with Store(home) as store:
        return store.documents()


def test_a_consistent_home_passes(fresh):
    result = cli(fresh)
    assert result.exit_code == 0, result.output
    assert "4 originals hashed, 4 report(s) in the index; all consistent" in result.stderr


def test_a_corrupted_original_is_named_by_sha256_and_flagged_on_repair(fresh, tmp_path):
    doc = documents(fresh)[1]
    path = fresh.root / doc.path
    pristine = path.read_bytes()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    result = cli(fresh, "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [(p["kind"], p["sha256"]) for p in payload["problems"]] == [
        ("damaged_original", doc.sha256)
    ]
    repaired = cli(fresh, "--repair")
    assert repaired.exit_code == 1  # no URL to fetch it from: flagged, not fixed
    assert doc.sha256 in repaired.stdout and "NOT fixed" in repaired.stdout
    with Store(fresh) as store:
        flagged = store.document(doc.sha256)
    assert flagged.status == "failed" and "no URL" in flagged.error
    assert doc.sha256 not in open_engine(fresh).live_reports()
    # the advice works: add a good copy again, retry, and all is well
    good = tmp_path / "good.pdf"
    good.write_bytes(pristine)
    assert pipeline.add_paths(fresh, [good]).duplicates
    assert sha256_of_file(path) == doc.sha256
    assert pipeline.run_index(fresh, retry_failed=True).indexed == 1
    assert cli(fresh).exit_code == 0


def test_a_missing_index_entry_is_found_and_repaired(fresh):
    doc = documents(fresh)[2]
    with open_engine(fresh).batch() as batch:
        batch.drop_report(doc.sha256)
    # the lexicon may still list it until a merge: check must look at live documents
    result = cli(fresh)
    assert result.exit_code == 1
    assert f"not_in_index      {doc.sha256}" in result.stdout
    repaired = cli(fresh, "--repair", "--format", "json")
    assert repaired.exit_code == 0, repaired.output
    (problem,) = json.loads(repaired.stdout)["problems"]
    assert problem["fixed"] and problem["repair"] == "indexed again"
    assert doc.sha256 in matching_reports(fresh, SearchRequest())
    assert cli(fresh).exit_code == 0


def test_a_missing_original_and_a_report_unknown_to_the_catalogue(fresh):
    docs = documents(fresh)
    (fresh.root / docs[0].path).unlink()
    with Store(fresh) as store:
        store.db.execute("DELETE FROM documents WHERE sha256=?", (docs[3].sha256,))
        # its original and sidecar gone too: nothing can bring its row back
        store.original_path(docs[3].sha256).unlink()
        store.sidecar_path(docs[3].sha256).unlink()
    report = checking.check(fresh)
    found = {(p.kind, p.sha256) for p in report.problems}
    assert found == {("missing_original", docs[0].sha256), ("not_in_catalogue", docs[3].sha256)}
    repaired = checking.check(fresh, repair=True, fetcher=Fetcher(delay=0))
    unknown = next(p for p in repaired.problems if p.kind == "not_in_catalogue")
    assert unknown.fixed and unknown.repair == "removed from the index"
    live = open_engine(fresh).live_reports()
    assert docs[3].sha256 not in live


def test_a_report_whose_row_was_lost_is_catalogued_again_from_its_sidecar(fresh):
    doc = documents(fresh)[3]
    with Store(fresh) as store:
        store.db.execute("DELETE FROM documents WHERE sha256=?", (doc.sha256,))
    found = {(p.kind, p.sha256) for p in checking.check(fresh).problems}
    assert found == {("uncatalogued_original", doc.sha256), ("not_in_catalogue", doc.sha256)}
    repaired = cli(fresh, "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "all repaired" in repaired.stderr
    with Store(fresh) as store:
        again = store.document(doc.sha256)
    assert again.original_name == doc.original_name and again.status == "indexed"
    assert cli(fresh).exit_code == 0


def test_repair_fetches_a_damaged_original_again_from_its_url(fresh, corpus_dir):
    doc = documents(fresh)[0]
    original = (fresh.root / doc.path).read_bytes()
    with LocalServer() as server:
        server.file("/reports/letter.pdf", original)
        url = server.url("/reports/letter.pdf")
        with Store(fresh) as store:
            store.db.execute("UPDATE documents SET url=? WHERE sha256=?", (url, doc.sha256))
        (fresh.root / doc.path).write_bytes(b"<html>not found</html>")
        with Fetcher(delay=0) as fetcher:
            report = checking.check(fresh, repair=True, fetcher=fetcher)
        assert server.seen("/reports/letter.pdf")
    (problem,) = report.problems
    assert problem.kind == "damaged_original" and problem.fixed and url in problem.repair
    assert sha256_of_file(fresh.root / doc.path) == doc.sha256
    assert cli(fresh).exit_code == 0
