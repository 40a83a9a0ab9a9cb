"""From real PDFs on disk to an index: statuses, errors, incremental runs and rebuilds."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import missing_tesseract
from scrsearch.config import Home
from scrsearch.engine import open_engine
from scrsearch.engine.whoosh import generations as search_index
from scrsearch.engine.whoosh import writing
from scrsearch.errors import UsageError
from scrsearch.pipeline import add_paths, run_index
from scrsearch.store import Store


@pytest.fixture(scope="module")
def jtai_home(tmp_path_factory, corpus_dir):
    """A home with a few real JTAI letters and the hard cases, indexed once without an OCR
    engine (test_ocr.py indexes the scans with one)."""
    home = Home(tmp_path_factory.mktemp("jtai") / "home").ensure()
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:8]
    html_named_pdfs = sorted((corpus_dir / "ofsted-ilacs").rglob("*2012.pdf"))
    add_paths(home, [*letters, corpus_dir / "hard-cases", *html_named_pdfs])
    with pytest.MonkeyPatch.context() as patched:
        missing_tesseract(patched, home.root)
        summary = run_index(home)
    return home, summary, letters


def test_every_document_gets_a_status_and_broken_ones_a_reason(jtai_home):
    home, summary, letters = jtai_home
    with Store(home) as store:
        docs = {d.original_name: d for d in store.documents()}
    assert summary.indexed >= len(letters)
    for letter in letters:
        assert docs[letter.name].status == "indexed"
        assert docs[letter.name].pages and docs[letter.name].pages > 0
    invalid = docs["invalid.pdf"]
    assert invalid.status == "failed" and "invalid.pdf" in invalid.error
    html = [d for name, d in docs.items() if name.endswith("2012.pdf")]
    assert html and all(d.status == "failed" and "HTML" in d.error for d in html)
    ocr = [d for d in docs.values() if d.status == "needs_ocr"]
    assert ocr, "the image-only scans in hard-cases need OCR"
    assert summary.passages > 0 and len(summary.failed) == len(
        [d for d in docs.values() if d.status == "failed"]
    )


def test_no_change_run_processes_nothing(jtai_home, without_ocr):
    home, _, letters = jtai_home
    again = run_index(home)
    assert again.indexed == 0 and not again.rebuilt
    assert again.unchanged >= len(letters)


def test_adding_one_file_indexes_only_it(tmp_path, corpus_dir):
    home = Home(tmp_path / "home").ensure()
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:3]
    add_paths(home, letters[:2])
    first = run_index(home)
    assert first.indexed == 2
    before = open_engine(home).live_reports()
    added = add_paths(home, [letters[2]])
    second = run_index(home)
    assert second.indexed == 1 and second.unchanged == 2
    after = open_engine(home).live_reports()
    assert after == before | {added.new[0].sha256}


def test_rebuild_switches_generation_and_keeps_everything(tmp_path, corpus_dir):
    home = Home(tmp_path / "home").ensure()
    add_paths(home, sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:2])
    run_index(home)
    old = search_index.current_generation(home)
    before = open_engine(home).live_reports()
    rebuilt = run_index(home, rebuild=True)
    new = search_index.current_generation(home)
    assert rebuilt.rebuilt and new.name != old.name and not old.path.exists()
    assert open_engine(home).live_reports() == before


def test_schema_version_mismatch_rebuilds(tmp_path, corpus_dir):
    home = Home(tmp_path / "home").ensure()
    add_paths(home, sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:1])
    run_index(home)
    pointer = home.index_dir / search_index.CURRENT_FILE
    payload = json.loads(pointer.read_text())
    pointer.write_text(json.dumps({**payload, "schema_version": 0}))
    assert search_index.needs_rebuild(home)
    summary = run_index(home)
    assert summary.rebuilt and summary.indexed == 1
    assert not search_index.needs_rebuild(home)


def test_adding_a_missing_path_names_it(tmp_path):
    home = Home(tmp_path / "home").ensure()
    with pytest.raises(UsageError, match="nowhere.pdf does not exist"):
        add_paths(home, [tmp_path / "nowhere.pdf"])


def test_folders_are_searched_recursively_for_pdfs_only(tmp_path, corpus_dir):
    folder = tmp_path / "in" / "deeper"
    folder.mkdir(parents=True)
    shutil.copy(corpus_dir / "hard-cases" / "linn.txt", folder / "linn.txt")
    shutil.copy(corpus_dir / "hard-cases" / "multipage.pdf", folder / "Multipage.PDF")
    home = Home(tmp_path / "home").ensure()
    summary = add_paths(home, [tmp_path / "in"])
    assert [d.original_name for d in summary.new] == ["Multipage.PDF"]


def _segments(home: Home) -> list:
    ix = search_index.open_for_reading(home)
    return list(ix._segments())


@pytest.mark.parametrize("merge_below", [writing.MERGE_BELOW_PASSAGES, 1])
def test_incremental_runs_merge_only_small_segments(tmp_path, corpus_dir, monkeypatch, merge_below):
    """Each run commits a segment: small ones are merged so they do not pile up; big ones
    (everything, when the threshold is 1 passage) are never rewritten."""
    monkeypatch.setattr(writing, "MERGE_BELOW_PASSAGES", merge_below)
    home = Home(tmp_path / "home").ensure()
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:5]
    passages = 0
    for letter in letters:
        add_paths(home, [letter])
        passages += run_index(home).passages
    segments = _segments(home)
    assert sum(s.doc_count() for s in segments) == passages
    if merge_below == 1:
        assert len(segments) == len(letters)
    else:
        assert len(segments) <= 2
    from scrsearch.search import SearchRequest, search

    assert search(home, SearchRequest("children", limit=0))["total"] == len(letters)
