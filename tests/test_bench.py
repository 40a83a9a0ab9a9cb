"""The benchmark's corpus generator is deterministic and makes valid PDFs; bench.py runs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import benchcorpus  # noqa: E402

#: Two short real letters: enough paragraphs for a pool, quick to extract.
SOURCE_PDFS = (
    "ofsted-jtai/80485_liverpool/joint area child protection inspection - 03 august 2016.pdf",
    "ofsted-jtai/80532_northumberland/joint area child protection inspection - 02 august 2019.pdf",
)


@pytest.fixture(scope="module")
def small_source(corpus_dir: Path, tmp_path_factory) -> Path:
    """A folder of a few real PDFs, so the paragraph pool is built in seconds."""
    folder = tmp_path_factory.mktemp("source")
    for name in SOURCE_PDFS:
        (folder / Path(name).name).symlink_to(corpus_dir / name)
    return folder


@pytest.fixture(scope="module")
def pool(small_source: Path) -> list[list[str]]:
    documents = [benchcorpus.extract_runs(p) for p in benchcorpus.source_pdfs(small_source)]
    return [d for d in documents if d]


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.pdf"))
    }


def test_plan_is_deterministic_and_sums_to_the_pages():
    specs, extras = benchcorpus.plan(7, 1234)
    assert (specs, extras) == benchcorpus.plan(7, 1234)
    assert specs != benchcorpus.plan(8, 1234)[0]
    assert sum(s.pages for s in specs) == 1234
    assert all(benchcorpus.MIN_PAGES <= s.pages <= benchcorpus.MAX_PAGES for s in specs)
    assert len(extras) == benchcorpus.EXTRA_REPORTS
    assert len({s.file for s in specs + extras}) == len(specs) + len(extras)
    assert len({s.locality for s in specs}) > 3 and len({s.doc_type for s in specs}) > 3


def test_paragraphs_are_latin1_prose(pool):
    paragraphs = [p for document in pool for p in document]
    assert len(paragraphs) > 20
    for paragraph in paragraphs:
        paragraph.encode("latin-1")
        assert len(paragraph) >= 120 and paragraph[0].isupper()
    assert benchcorpus.to_latin1("\u2018a\u2019 \u2013 \u201cb\u201d \u2022 caf\u00e9 \u4e2d") == (
        "'a' - \"b\" - caf\u00e9 "
    )


def test_generator_is_deterministic_and_pages_are_as_planned(pool, tmp_path):
    one, manifest = benchcorpus.ensure_corpus(
        3, 60, tmp_path / "one", pool=pool, workers=1, log=lambda m: None
    )
    two, _ = benchcorpus.ensure_corpus(
        3, 60, tmp_path / "two", pool=pool, workers=2, log=lambda m: None
    )
    assert digests(one) == digests(two)
    assert json.loads((one / "manifest.json").read_text()) == manifest
    entries = manifest["reports"] + manifest["extra"]
    assert sum(e["pages"] for e in manifest["reports"]) == 60
    for entry in entries:
        reader = PdfReader(one / entry["file"])
        assert len(reader.pages) == entry["pages"]
        assert reader.metadata.title == entry["title"]
        body = reader.pages[1].extract_text()
        assert f"Page 2 of {entry['pages']}" in body
        assert entry["locality"] in body  # the running header
        assert len(body) > 1500  # a full page of text


def test_cached_corpus_is_reused(pool, tmp_path):
    folder, _ = benchcorpus.ensure_corpus(2, 20, tmp_path, pool=pool, log=lambda m: None)
    first = next(folder.glob("*.pdf"))
    stamp = first.stat().st_mtime_ns
    benchcorpus.ensure_corpus(2, 20, tmp_path, pool=pool, log=lambda m: None)
    assert first.stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_bench_runs_tiny_and_prints_every_key(small_source, tmp_path):
    env = {**os.environ, "SCRSEARCH_BENCH_CACHE": str(tmp_path / "cache")}
    env.pop("SCRSEARCH_EXTRACTOR", None)
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench.py"), "--pages", "40", "--json", "--repeat", "1",
         "--source", str(small_source), "--cache", str(tmp_path / "corpus")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    import bench

    assert set(bench.JSON_KEYS) <= set(result)
    assert result["pages"] == 40 and result["reports"] >= 1
    for key in bench.JSON_KEYS:
        value = result[key]
        assert value is None or isinstance(value, int | float | str), key
    assert result["extract_pages_per_s"] > 0 and result["pypdf_pages_per_s"] > 0
    assert result["add_index_s"] > 0 and result["peak_rss_mb"] > 10
