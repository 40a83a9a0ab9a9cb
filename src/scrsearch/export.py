"""Exports of matching passages as CSV or JSON Lines: streamed, atomic, reproducible, safe.

One row per passage (the hits of a search, or with `all_passages` every passage of the matching
reports). Rows are streamed from `search.iter_passages`, so memory stays flat however many
there are. A file export is written to a temp file beside the target and renamed into place
only when complete: an interrupted export leaves no partial file. Each export records what
produced it (query, filters, scrsearch version, index generation, time): JSONL as its first
record (`"type": "meta"`), CSV in a side file `FILE.meta.json`.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING

from . import __version__, provenance
from .atomic_files import atomic_file
from .config import Home
from .errors import UsageError
from .store import utc_now, write_atomically

if TYPE_CHECKING:
    from .search import SearchRequest

FORMATS = ("csv", "jsonl")

#: The columns of an export, in order.
COLUMNS = (
    "report_id", "sha256", "review_id", "title", "subject", "locality", "region", "nation", "year",
    "doc_type", "source", "url", "fetched_at", "page", "ordinal", "matched", "text",
    "highlighted", "terms", "passage_tags", "text_source", "ocr_confidence", "report_tags",
    "score",
)  # fmt: skip

#: The report's columns (the same on each of its rows), then the passage's; then report_tags, score.
REPORT_COLUMNS, PASSAGE_COLUMNS = COLUMNS[:13], COLUMNS[13:22]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: In CSV, list cells (terms, tags) join their items with this.
LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    rows: int
    reports: int
    path: Path | None  # None: stdout
    meta_path: Path | None
    meta: dict


def neutralise_cell(value: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def iter_passages(home: Home, request: SearchRequest, *, all_passages: bool = False):
    """`search.iter_passages`, imported when first used (it brings whoosh): the CLI imports this
    module for FORMATS and neutralise_cell, and should start without whoosh."""
    from .search import iter_passages as search_passages

    return search_passages(home, request, all_passages=all_passages)


def export_meta(home: Home, request: SearchRequest, *, all_passages: bool, fmt: str) -> dict:
    """The record that makes an export reproducible."""
    from .engine import open_engine

    generation = open_engine(home).generation()
    return {
        "type": "meta",
        "query": request.query,
        "filters": request.filters.to_json(),
        "match": "all" if request.all_words else "best",
        "expand": request.expand,
        "all_passages": all_passages,
        "all_copies": request.all_copies,
        "format": fmt,
        "scrsearch_version": __version__,
        "index_generation": generation[0] if generation else None,
        "schema_version": generation[1] if generation else None,
        "exported_at": utc_now(),
        "columns": list(COLUMNS),
    }


def export_rows(
    home: Home, request: SearchRequest, *, all_passages: bool = False
) -> Iterator[dict]:
    """Each exported row as a dict of COLUMNS (lists stay lists), streamed.

    Reports are one per review (the copy the passages come from, its primary when that
    matches), or every file with `request.all_copies`; `review_id` names the review."""
    from .reviews import groups_of
    from .store import Store

    groups = groups_of(home)
    last = head = report_tags = sha = None
    pages: dict = {}
    with Store(home) as store:
        for report, passage in iter_passages(home, request, all_passages=all_passages):
            if report is not last:  # a report's passages come together: its cells once
                last, sha = report, report["sha256"]
                head = {key: report.get(key) for key in REPORT_COLUMNS}
                head["review_id"] = groups.review_of(sha)
                report_tags = [tag["id"] for tag in report["tags"]]
                pages = store.page_sources(sha)  # its OCR'd pages (none: all text layer)
            yield _row(head, passage, sha, report_tags, pages)


def _row(head: dict, passage: dict, sha: str, report_tags: list, pages: dict) -> dict:
    """One export row: the report's cells, then the passage's with its provenance."""
    row = head.copy()
    row["page"] = passage["page"]
    row["ordinal"] = passage["ordinal"]
    row["matched"] = matched = passage["matched"]
    row["text"] = passage["text"]
    row["highlighted"] = passage["highlighted"] if matched else ""
    # The per-report restriction (sha256:<hash>) is part of the query: not a term.
    row["terms"] = [t for t in passage["terms"] if t != sha]
    row["passage_tags"] = passage["tags"]
    source = provenance.passage_fields(pages.get(passage["page"]))
    row["text_source"] = source["text_source"]
    row["ocr_confidence"] = source["ocr_confidence"]
    row["report_tags"] = report_tags.copy()
    row["score"] = passage["score"]
    return row


def _csv_cell(value: object) -> object:
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise_cell(value) if isinstance(value, str) else value


_report_cells = itemgetter(*REPORT_COLUMNS)
_passage_cells = itemgetter(*PASSAGE_COLUMNS)


def write_csv(rows: Iterator[dict], handle: IO[str]) -> tuple[int, int]:
    """Write rows as CSV with a header; returns (rows, distinct reports)."""
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count, reports, last = 0, 0, None
    key = head = tags = tags_cell = None
    for row in rows:
        # A report's cells are the same on each of its rows: made safe once per report.
        if _report_cells(row) != key:
            key = _report_cells(row)
            head = [_csv_cell(v) for v in key]
        if row["report_tags"] != tags:
            tags = row["report_tags"]
            tags_cell = _csv_cell(tags)
        cells = head + [_csv_cell(v) for v in _passage_cells(row)]
        cells += (tags_cell, _csv_cell(row["score"]))
        writer.writerow(cells)
        count += 1
        if row["sha256"] != last:  # rows come report by report
            reports, last = reports + 1, row["sha256"]
    return count, reports


#: json.dumps(..., ensure_ascii=False) without making an encoder each call.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def write_jsonl(meta: dict, rows: Iterator[dict], handle: IO[str]) -> tuple[int, int]:
    """Write the meta record, then one JSON object a row; returns (rows, distinct reports).

    Each line is exactly `json.dumps({"type": "passage", **row}, ensure_ascii=False)`; the
    report's part of it is encoded once per report, not once per row.
    """
    handle.write(_encode(meta) + "\n")
    count, reports, last = 0, 0, None
    key = head = tags = tail = None
    for row in rows:
        if _report_cells(row) != key:
            key = _report_cells(row)
            start = {"type": "passage"}
            start.update(zip(REPORT_COLUMNS, key, strict=True))
            head = _encode(start)[:-1] + ", "
        if row["report_tags"] != tags:
            tags = row["report_tags"]
            tail = ', "report_tags": ' + _encode(tags) + ', "score": '
        middle = _encode(dict(zip(PASSAGE_COLUMNS, _passage_cells(row), strict=True)))[1:-1]
        handle.write(head + middle + tail + _encode(row["score"]) + "}\n")
        count += 1
        if row["sha256"] != last:
            reports, last = reports + 1, row["sha256"]
    return count, reports


def _write(fmt: str, meta: dict, rows: Iterator[dict], handle: IO[str]) -> tuple[int, int]:
    return write_csv(rows, handle) if fmt == "csv" else write_jsonl(meta, rows, handle)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def export(
    home: Home,
    request: SearchRequest,
    *,
    fmt: str = "csv",
    output: str | os.PathLike[str] = "-",
    all_passages: bool = False,
    excel: bool = False,
    stdout: IO[str] | None = None,
) -> ExportSummary:
    """Export the passages a search matches to `output` (a file, or "-" for `stdout`)."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of: {', '.join(FORMATS)}")
    if excel and fmt != "csv":
        raise UsageError("--excel applies to CSV only: add --format csv or drop --excel")
    meta = export_meta(home, request, all_passages=all_passages, fmt=fmt)
    rows = export_rows(home, request, all_passages=all_passages)
    if str(output) == "-":
        if stdout is None:
            raise UsageError("-o -: there is no stdout to write to")
        if excel:
            stdout.write("\ufeff")
        count, reports = _write(fmt, meta, rows, stdout)
        stdout.flush()
        return ExportSummary(count, reports, None, None, meta)
    path = Path(output)
    if path.is_dir():
        raise UsageError(f"-o {path} is a folder: name a file, e.g. {path / ('export.' + fmt)}")
    if not path.parent.is_dir():
        raise UsageError(f"-o {path}: the folder {path.parent} does not exist; create it first")
    encoding = "utf-8-sig" if excel else "utf-8"
    # mkstemp makes 0600; an export is an ordinary file.
    with atomic_file(path, 0o666 & ~_umask(), encoding) as handle:
        count, reports = _write(fmt, meta, rows, handle)
        meta_path = None
        if fmt == "csv":  # written first: the export appears only with its record
            meta_path = path.with_name(path.name + ".meta.json")
            side = {**meta, "file": path.name, "rows": count, "reports": reports}
            write_atomically(meta_path, (json.dumps(side, indent=2) + "\n").encode())
    return ExportSummary(count, reports, path, meta_path, meta)
