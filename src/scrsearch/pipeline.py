"""The stages chained: add files, index what is new (extract, infer, split, tag, write)."""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import faults, reviews, tagging
from .config import Home, Settings
from .errors import ExtractError, UsageError
from .lock import home_lock
from .models import Document, ExtractedText
from .store import Store, require_writable

if TYPE_CHECKING:
    from .engine import Engine, WriteBatch

#: A progress callback: (items done, items in all, what is being done).
Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, label: str) -> None:
    return None


# -- add ---------------------------------------------------------------------------------------


@dataclass
class AddSummary:
    """What `add` did with each file it was given."""

    new: list[Document] = field(default_factory=list)
    duplicates: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    #: files or folders that could not be read or stored (a full disk, no permission)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def pdf_files(paths: Sequence[str | os.PathLike[str]]) -> Iterator[Path | tuple[Path, str]]:
    """Each file to add: named files as they are, folders searched recursively for *.pdf.

    Yields a Path to add, or (path, reason) for one that cannot be added.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _pdfs_under(path)
        elif path.is_file():
            yield path
        elif path.exists():
            yield (path, "not a regular file")
        else:
            raise UsageError(f"{path} does not exist; give a PDF file or a folder of PDFs")


def _pdfs_under(folder: Path) -> Iterator[Path | tuple[Path, str]]:
    """The PDFs in a folder and its subfolders, sorted; then each subfolder that cannot be
    read, with the reason (a folder skipped without a word would look like an empty one)."""
    unreadable: list[OSError] = []
    found = []
    for dirpath, _dirs, files in os.walk(folder, onerror=unreadable.append):
        found += [Path(dirpath, f) for f in files if f.lower().endswith(".pdf")]
    yield from sorted(f for f in found if f.is_file())
    for exc in unreadable:
        yield (
            Path(exc.filename or folder),
            f"cannot read this folder ({exc.strerror}); make it readable and add it again",
        )


def normalise_given_meta(meta: dict | None) -> dict:
    """Check and complete metadata given on the command line (locality brings its region)."""
    values = {k: v for k, v in (meta or {}).items() if v not in (None, "")}
    if "locality" in values:
        record = tagging.locality_record(values["locality"])
        if record is None:
            raise UsageError(
                f"--locality {values['locality']!r} is not a known local authority; use a name "
                "such as 'Bradford' or 'Derby' (see src/scrsearch/data/localities.csv)"
            )
        values["locality"] = record.name
        values.setdefault("region", record.region)
        values.setdefault("nation", record.nation)
    if "region" in values and values["region"]:
        region = tagging.region_name(values["region"])
        if region is None:
            raise UsageError(f"--region {values['region']!r} is not a known region")
        values["region"] = region
    return values


#: Columns a manifest may have besides `file`: metadata for that row's file, and its address.
MANIFEST_COLUMNS = ("title", "locality", "year", "doc_type", "subject", "url")


@dataclass(frozen=True)
class ManifestRow:
    """One file named by a manifest, with the metadata its row gives (or why it is unusable)."""

    path: Path
    meta: dict
    url: str | None = None
    problem: str | None = None


def read_manifest(manifest: str | os.PathLike[str]) -> list[ManifestRow]:
    """The rows of a CSV manifest: a `file` column (relative to the manifest's folder) and any
    of MANIFEST_COLUMNS. A bad row is returned with its problem, so the others still go in."""
    from .models import DOC_TYPES

    path = Path(manifest)
    started = 1
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            # strict: a quote never closed is an error, not a title running to the end
            reader = csv.DictReader(handle, strict=True)
            columns = [c.strip() for c in reader.fieldnames or ()]
            records = []
            started = reader.line_num + 1
            for record in reader:
                records.append(record)
                started = reader.line_num + 1
    except csv.Error as exc:
        raise UsageError(
            f"--manifest {path}, line {started}: {exc} (a quote opened on that line is "
            'probably never closed); close it, or write a quote inside a value as ""'
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"--manifest {path}: cannot read it ({exc}); give a UTF-8 CSV file"
        ) from exc
    if "file" not in columns:
        header = ",".join(reader.fieldnames or ())
        hint = next(
            (f"; its columns seem separated by {sep!r}: save it as a comma-separated CSV"
             for sep in (";", "\t", "|") if sep in header and "file" in header),
            "",
        )  # fmt: skip
        raise UsageError(
            f"--manifest {path} has no 'file' column{hint}; its first line must name the "
            f"columns, e.g. file,{','.join(MANIFEST_COLUMNS)}"
        )
    unknown = [c for c in columns if c not in ("file", *MANIFEST_COLUMNS)]
    if unknown:
        raise UsageError(
            f"--manifest {path}: unknown column(s) {', '.join(unknown)}; "
            f"the columns are file, {', '.join(MANIFEST_COLUMNS)}"
        )
    rows = []
    for line, record in enumerate(records, 2):
        values = {(k or "").strip(): (v or "").strip() for k, v in record.items() if k}
        where = f"{path}, line {line}"
        if not values.get("file"):
            rows.append(ManifestRow(path, {}, problem=f"{where}: the file column is empty"))
            continue
        target = path.parent / values.pop("file")
        url = values.pop("url", "") or None
        meta: dict = {k: v for k, v in values.items() if v}
        problem = None
        if "year" in meta:
            if not (meta["year"].isdigit() and 1900 <= int(meta["year"]) <= 2100):
                problem = f"year {meta['year']!r} is not a year between 1900 and 2100"
            else:
                meta["year"] = int(meta["year"])
        if meta.get("doc_type") and meta["doc_type"] not in DOC_TYPES:
            problem = f"doc_type {meta['doc_type']!r} is not one of: {', '.join(DOC_TYPES)}"
        if problem is None:
            try:
                meta = normalise_given_meta(meta)
            except UsageError as exc:
                problem = str(exc).replace("--locality", "locality")
        if url and not re.match(r"https?://\S+$", url):
            problem = f"url {url!r} is not an http(s) address"
        if problem is None and not target.is_file():
            problem = "no such file"
        rows.append(ManifestRow(target, meta, url, f"{where}: {problem}" if problem else None))
    return rows


def add_paths(
    home: Home,
    paths: Sequence[str | os.PathLike[str]],
    *,
    meta: dict | None = None,
    source: str = "local",
    manifest: str | os.PathLike[str] | None = None,
    progress: Progress = _no_progress,
) -> AddSummary:
    """Store files and folders of PDFs in the home's corpus; the same bytes twice is a no-op.

    With a `manifest`, its files are added too, each with its row's metadata over `meta`.
    """
    given = normalise_given_meta(meta)
    require_writable(home)
    items: list[Path | tuple[Path, str] | ManifestRow] = list(pdf_files(paths))
    if manifest is not None:
        items += read_manifest(manifest)
    summary = AddSummary()
    with Store(home) as store:
        for done, item in enumerate(items, 1):
            if isinstance(item, tuple):
                unreadable = item[1].startswith("cannot read")
                (summary.failed if unreadable else summary.skipped).append((str(item[0]), item[1]))
                continue
            if isinstance(item, ManifestRow) and item.problem:
                summary.skipped.append((str(item.path), item.problem))
                continue
            path, url, values = item, None, given
            if isinstance(item, ManifestRow):
                path, url, values = item.path, item.url, {**given, **item.meta}
            try:
                result = store.add_file(path, source=source, meta=values, url=url)
            except UsageError as exc:
                summary.skipped.append((str(path), str(exc)))
                continue
            except (OSError, sqlite3.Error) as exc:  # disk full, ...: the others still go
                summary.failed.append((str(path), str(faults.explain(home, exc) or exc)))
                continue
            (summary.new if result.is_new else summary.duplicates).append(result.document)
            progress(done, len(items), path.name)
    return summary


# -- index -------------------------------------------------------------------------------------


@dataclass
class IndexSummary:
    """What `index` did."""

    indexed: int = 0
    passages: int = 0
    unchanged: int = 0
    needs_ocr: list[Document] = field(default_factory=list)
    failed: list[tuple[Document, str]] = field(default_factory=list)
    rebuilt: bool = False
    copies: int = 0  # reports grouped with another report's review (copies, versions)
    seconds: float = 0.0
    stale_lock_from: int | None = None
    stopped: str | None = None  # why the run stopped early (a full disk...); commits kept


def _texts(
    store: Store, docs: Sequence[Document]
) -> Iterator[tuple[Document, ExtractedText | ExtractError]]:
    """Each document's text: from the cache, else extracted in worker processes (text whose
    pages waited for an OCR engine is extracted again once there is one)."""
    from . import ocr
    from .extract import extract_many

    by_sha = {d.sha256: d for d in docs}
    to_extract = []
    for doc in docs:
        cached = store.cached_text(doc.sha256)
        if cached is not None and _awaits_ocr(cached) and ocr.engine_problem() is None:
            cached = None
        if cached is None:
            to_extract.append((doc.sha256, store.home.root / doc.path))
        else:
            yield doc, cached
    for sha, result in extract_many(to_extract, ocr_cache=store.home.text_dir / "ocr"):
        if isinstance(result, ExtractedText):
            store.cache_text(sha, result)
        yield by_sha[sha], result


def _awaits_ocr(text: ExtractedText) -> bool:
    return any(source.method == "needs_ocr" for source in text.sources)


def _ocr_now_possible(store: Store) -> list[Document]:
    """Documents left for OCR by an earlier run, if an OCR engine is here now."""
    from . import ocr

    waiting = store.documents_awaiting_ocr()
    return waiting if waiting and ocr.engine_problem() is None else []


def _infer_and_record(store: Store, doc: Document, text: ExtractedText) -> Document:
    """Infer metadata from the text (never over given or source values) and return the doc."""
    inferred = tagging.infer_metadata(
        text.pages, doc.original_name, path=doc.added_from or doc.original_name
    )
    values = {k: v for k, (v, _) in inferred.items()}
    origins = {k: origin for k, (_, origin) in inferred.items()}
    # A locality that was given or stated by a source brings its own region and nation.
    if doc.meta_origin.get("locality") in ("given", "source", "link"):
        values.pop("region", None)
        values.pop("nation", None)
    store.set_metadata(doc.sha256, values, origins)
    return store.document(doc.sha256) or doc


def _index_one(store: Store, batch: WriteBatch, doc: Document, text: ExtractedText) -> int:
    """Split, tag and write one report; returns its passage count."""
    from .passages import split_passages

    doc = _infer_and_record(store, doc, text)
    passages = split_passages(doc.sha256, text.pages)
    passage_tags = [tagging.tag_passage(p.text) for p in passages]
    report_tags = tagging.report_tags(passage_tags, passages_total=len(passages))
    store.set_report_tags(doc.sha256, report_tags)
    store.set_passages(doc.sha256, len(passages))
    tag_ids = [sorted({t.term_id for t in tags}) for tags in passage_tags]
    batch.put_report(doc, passages, tag_ids)
    reviews.remember_text(store, doc.sha256, text.pages)  # for copy detection (reviews.py)
    return len(passages)


def run_index(
    home: Home,
    *,
    rebuild: bool = False,
    retry_failed: bool = False,
    progress: Progress = _no_progress,
) -> IndexSummary:
    """Index every new document (or all, with `rebuild`); one run at a time per home."""
    with home_lock(home, "index") as lock:
        summary = index_locked(home, rebuild=rebuild, retry_failed=retry_failed, progress=progress)
    summary.stale_lock_from = lock["stale_from"]
    return summary


def index_locked(
    home: Home,
    *,
    rebuild: bool = False,
    retry_failed: bool = False,
    progress: Progress = _no_progress,
) -> IndexSummary:
    """`run_index` for a caller that already holds the home's lock (`update`, `check`)."""
    from .engine import open_engine

    Settings.from_env()  # a bad setting stops the run before it starts, not half-way

    started = time.monotonic()
    summary = IndexSummary()
    engine = open_engine(home)
    with Store(home) as store:
        first_build = not engine.has_index()
        rebuild = rebuild or engine.needs_rebuild()
        summary.rebuilt = rebuild
        # A generation left by a killed rebuild is never finished: start again.
        engine.remove_stale()
        if rebuild:
            # A first build has nothing for readers to keep: its generation is live at once,
            # so each committed batch is searchable and survives a kill.
            gen_path = engine.new_generation(live=first_build)
            todo = store.documents()
            if first_build:
                store.mark_all_pending()
                todo = store.documents()
                rebuild = False
        else:
            gen_path = engine.live_path()
            statuses = ["pending"] + (["failed", "needs_ocr"] if retry_failed else [])
            todo = store.documents(statuses)
            # Installing Tesseract is enough: a plain run OCRs what earlier runs could not.
            seen = {d.sha256 for d in todo}
            todo += [d for d in _ocr_now_possible(store) if d.sha256 not in seen]
            summary.unchanged = len(store.documents(["indexed"]))
            summary.unchanged -= sum(1 for d in todo if d.status == "indexed")
        deferred = _index_documents(
            store, engine, gen_path, todo, summary, progress, defer_marks=rebuild
        )
        if rebuild and summary.stopped is None:
            # Switch readers to the new generation first: a kill between the two steps leaves
            # documents marked pending that are indexed (the next run redoes them), never the
            # other way round.
            engine.make_live(gen_path)
            store.mark_indexed(deferred)
            reviews.forget_groups(store)  # grouped again below, hand decisions kept
        # Copies and versions of one review, found by text (reviews.py).
        summary.copies = reviews.group_ungrouped(store)
    summary.seconds = time.monotonic() - started
    return summary


def _index_documents(
    store: Store,
    engine: Engine,
    gen_path: Path,
    todo: Sequence[Document],
    summary: IndexSummary,
    progress: Progress,
    *,
    defer_marks: bool,
) -> list[str]:
    """Write `todo` into the index at `gen_path`, committing in batches.

    Marks each committed batch indexed in the catalogue, or, with `defer_marks` (a rebuild
    that readers cannot see yet), returns the sha256s for the caller to mark.
    """
    texts = iter(_texts(store, todo))
    deferred: list[str] = []
    done = 0
    written: list[str] = []  # reports in the open batch
    written_passages = 0
    # Commit after this many reports or passages, so a long run saves its work as it goes and
    # a kill loses at most one batch.
    settings = Settings.from_env()
    more = True
    try:
        while more:
            # One write batch a pass, committed when it is full or the texts run out.
            written, written_passages, more = [], 0, False
            with engine.batch(gen_path) as batch:
                for doc, result in texts:
                    done += 1
                    progress(done, len(todo), doc.original_name)
                    if isinstance(result, ExtractError):
                        _record_failure(store, batch, doc, result, summary)
                        continue
                    # An indexed report stays visible to readers while a rebuild redoes it.
                    store.set_extracted(
                        doc.sha256,
                        pages=len(result.pages),
                        extractor=result.extractor,
                        status="indexed" if doc.status == "indexed" else "pending",
                        error=None,
                    )
                    store.set_page_sources(doc.sha256, result)
                    count = _index_one(store, batch, doc, result)
                    summary.indexed += 1
                    summary.passages += count
                    written.append(doc.sha256)
                    written_passages += count
                    if (
                        len(written) >= settings.commit_every
                        or written_passages >= settings.commit_passages
                    ):
                        more = True
                        break
            (deferred.extend if defer_marks else store.mark_indexed)(written)
        return deferred
    except (OSError, sqlite3.Error) as exc:
        # A full disk or a permission: keep what was committed, say why the run stopped.
        if isinstance(exc, OSError) and not exc.filename:
            exc.filename = str(gen_path)  # Whoosh's failed writes name no file
        summary.indexed -= len(written)
        summary.passages -= written_passages
        summary.stopped = str(faults.explain(store.home, exc) or exc)
        return deferred


def _record_failure(
    store: Store, batch: WriteBatch, doc: Document, error: ExtractError, summary: IndexSummary
) -> None:
    status = error.status
    # Name the file as the user knows it, not by its content-addressed storage name.
    message = str(error).replace(Path(doc.path).name, doc.original_name)
    store.set_extracted(doc.sha256, pages=None, extractor=None, status=status, error=message)
    store.set_page_sources(doc.sha256, None)
    batch.drop_report(doc.sha256)
    if status == "needs_ocr":
        summary.needs_ocr.append(dataclasses.replace(doc, status=status, error=message))
    else:
        summary.failed.append((doc, message))


def iter_documents(home: Home, statuses: Iterable[str] | None = None) -> list[Document]:
    """The catalogued documents of a home."""
    with Store(home) as store:
        return store.documents(statuses)
