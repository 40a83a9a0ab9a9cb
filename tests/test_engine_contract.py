"""The engine interface's contract (engine/__init__.py), checked on every engine we have.

A second engine joins `ENGINES` and has to pass these; the search, export, stats and watch
tests then run over it unchanged, since they reach the index only through `Engine`.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

import pytest

from scrsearch import engine as engine_module
from scrsearch.config import Home
from scrsearch.engine import Engine, forget_engines, open_engine
from scrsearch.models import Document, Passage
from scrsearch.pipeline import add_paths, run_index
from scrsearch.report_catalogue import ReportCatalogue
from scrsearch.search import SearchRequest, search
from scrsearch.store import Store

SRC = Path(engine_module.__file__).parents[1]
ENGINES = ["whoosh"]


def _doc(sha: str, title: str = "A made-up review") -> Document:
    return Document(
        sha256=sha, original_name=f"{sha[:6]}.pdf", source="test", path="", size=0, title=title
    )


def _passages(sha: str, texts: list[str]) -> list[Passage]:
    return [Passage(sha, page=i + 1, ordinal=i, text=t) for i, t in enumerate(texts)]


@pytest.fixture(params=ENGINES)
def empty(request, tmp_path) -> Engine:
    """An engine over a fresh home with an empty live index."""
    home = Home(tmp_path / "home").ensure()
    forget_engines()
    engine = open_engine(home)
    assert type(engine).__module__.startswith(f"scrsearch.engine.{request.param}")
    assert engine.needs_rebuild() and not engine.has_index()
    engine.new_generation(live=True)
    assert not engine.needs_rebuild() and engine.has_index()
    yield engine
    forget_engines()


A, B, C = "a" * 64, "b" * 64, "c" * 64


def _put(engine: Engine, path=None) -> None:
    with engine.batch(path) as batch:
        batch.put_report(_doc(A), _passages(A, ["neglect of a baby", "home visits"]), [[], []])
        batch.put_report(_doc(B), _passages(B, ["neglect and drugs"]), [["neglect"]])


def test_a_clean_batch_is_kept_and_a_failed_one_leaves_nothing(empty):
    _put(empty)
    assert empty.live_reports() == {A, B}
    with pytest.raises(RuntimeError), empty.batch() as batch:
        batch.put_report(_doc(C), _passages(C, ["neglect"]), [[]])
        batch.drop_report(A)
        raise RuntimeError("a failure half-way")
    assert empty.live_reports() == {A, B}, "nothing of a failed batch is kept"
    with empty.batch() as batch:
        batch.drop_report(A)
    assert empty.live_reports() == {B}


def test_putting_a_report_again_replaces_its_passages(empty):
    _put(empty)
    with empty.batch() as batch:
        batch.put_report(_doc(A), _passages(A, ["something else"]), [[]])
    catalogue = ReportCatalogue({A: _doc(A), B: _doc(B)}, {})
    assert empty.count_reports(empty.parse("neglect", catalogue), None) == Counter({B: 1})
    assert len(empty.report_passages(A)) == 1


def test_a_new_generation_is_invisible_until_it_is_made_live(empty):
    _put(empty)
    path = empty.new_generation()
    with empty.batch(path) as batch:
        batch.put_report(_doc(C), _passages(C, ["neglect"]), [[]])
    assert empty.live_reports() == {A, B}
    empty.make_live(path)
    assert empty.live_reports() == {C}
    assert empty.live_path() == path


def test_counting_and_ranking_stay_within_the_allowed_reports(empty):
    _put(empty)
    catalogue = ReportCatalogue({A: _doc(A), B: _doc(B)}, {})
    query = empty.parse("neglect", catalogue)
    assert empty.count_reports(query, None) == Counter({A: 1, B: 1})
    assert empty.count_reports(query, {B}) == Counter({B: 1})
    counts, page = empty.rank_reports(query, {A}, filtered=True, offset=0, limit=10)
    assert counts == Counter({A: 1}) and [sha for sha, _score, _p in page] == [A]
    ((_sha, score, passages),) = page
    assert score > 0 and [empty.stored(p)["page"] for p, _s in passages] == [1]
    assert empty.parse("   ", catalogue) is None or empty.parse("", catalogue) is None


def test_equal_scores_rank_by_report_id_whatever_the_order_written(empty):
    with empty.batch() as batch:
        for sha in (C, A, B):
            batch.put_report(_doc(sha), _passages(sha, ["the same words"]), [[]])
    catalogue = ReportCatalogue({s: _doc(s) for s in (A, B, C)}, {})
    _counts, page = empty.rank_reports(
        empty.parse("words", catalogue), {A, B, C}, filtered=False, offset=0, limit=3
    )
    assert [sha for sha, _s, _p in page] == [A, B, C]


def test_passages_matching_a_query_and_every_passage_of_a_report(empty):
    _put(empty)
    catalogue = ReportCatalogue({A: _doc(A), B: _doc(B)}, {})
    every = empty.report_passages(A)
    assert sorted(empty.stored(p)["ordinal"] for p in every) == [0, 1]
    matching = empty.matching_passages(A, empty.parse("visits", catalogue))
    assert [empty.stored(p)["text"] for p in matching] == ["home visits"]
    assert set(empty.matching_passages(A, None)) == set(every)
    first = empty.first_tagged_passages([A, B], {"neglect"})
    assert first[A] == [] and [empty.stored(p)["text"] for p in first[B]] == ["neglect and drugs"]


def test_close_drops_the_open_index_and_a_commit_elsewhere_is_seen(empty):
    _put(empty)
    catalogue = ReportCatalogue({A: _doc(A), B: _doc(B)}, {})
    query = empty.parse("neglect", catalogue)
    assert len(empty.count_reports(query, None)) == 2
    other = type(empty)(empty.home)  # another process's engine, in effect
    with other.batch() as batch:
        batch.drop_report(B)
    assert len(empty.count_reports(query, None)) == 2, "answers read the last refresh"
    empty.refresh()
    assert set(empty.count_reports(query, None)) == {A}, "a long-lived engine sees commits"
    empty.close()
    assert set(empty.count_reports(query, None)) == {A}


def test_search_is_the_same_through_a_reopened_engine(tmp_path, corpus_dir):
    home = Home(tmp_path / "home").ensure()
    add_paths(home, sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:4])
    run_index(home)
    first = search(home, SearchRequest("neglect of children", limit=5))
    forget_engines()
    assert search(home, SearchRequest("neglect of children", limit=5)) == first
    with Store(home) as store:
        assert open_engine(home).live_reports() == {d.sha256 for d in store.documents()}


def test_forgetting_the_caches_leaves_nothing_kept_and_search_still_works(tmp_path, corpus_dir):
    from scrsearch import engine, report_catalogue, review_results
    from scrsearch.engine.whoosh import bestrank, fastpaths, reports
    from scrsearch.results import forget_caches

    home = Home(tmp_path / "home").ensure()
    add_paths(home, sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:2])
    run_index(home)
    before = search(home, SearchRequest("neglect of children", limit=5))
    kept = (
        engine._ENGINES, report_catalogue._LOADED, review_results._GROUPS,
        reports.SEGMENT_REPORTS, fastpaths._SEGMENT_LENGTHS, bestrank._SEGMENT_NUMBERS,
    )  # fmt: skip
    assert all(kept), "a search keeps its engine, catalogue, groups and segment tables"
    forget_caches()
    assert not any(kept)
    assert search(home, SearchRequest("neglect of children", limit=5)) == before


# -- the engine's boundary, read from the source -------------------------------------------------


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_only_the_engine_imports_whoosh():
    outside = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "engine" not in path.relative_to(SRC).parts[:1]
        and any(m == "whoosh" or m.startswith("whoosh.") for m in _imports(path))
    ]
    assert outside == [], "only src/scrsearch/engine/ may import whoosh"


def test_no_module_is_over_600_lines():
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 600
    }
    assert long == {}


def test_searching_imports_whoosh_only_through_the_engine(tmp_path):
    """The engine-free modules load without Whoosh: they reach it only through an Engine."""
    import subprocess

    code = (
        "import sys; import scrsearch.results, scrsearch.watch, scrsearch.stats, "
        "scrsearch.export, scrsearch.highlight, scrsearch.filters, scrsearch.syntax; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'whoosh'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(SRC.parent), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.stdout.strip() == "[]"
