"""Content-addressed originals, the text cache and the SQLite catalogue."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from .config import Home
from .errors import StoreError, UsageError
from .models import META_FIELDS, AddResult, Document, ExtractedText, PageSource, ReportTag

CATALOGUE_VERSION = 1
#: Bump when extraction or normalisation changes, so cached text is made again.
TEXT_CACHE_VERSION = 2  # 2: pages without a usable text layer are OCR'd; per-page sources

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS documents (
    sha256 TEXT PRIMARY KEY,
    original_name TEXT NOT NULL,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    url TEXT,
    fetched_at TEXT,
    title TEXT, subject TEXT, locality TEXT, region TEXT, nation TEXT,
    year INTEGER, doc_type TEXT,
    pages INTEGER,
    passages INTEGER,
    extractor TEXT,
    text_source TEXT, ocr_pages INTEGER, ocr_confidence REAL,
    meta_origin TEXT NOT NULL DEFAULT '{}',
    added_from TEXT,
    added_at TEXT, extracted_at TEXT, indexed_at TEXT
);
CREATE INDEX IF NOT EXISTS documents_status ON documents(status);
CREATE TABLE IF NOT EXISTS report_tags (
    sha256 TEXT NOT NULL REFERENCES documents(sha256) ON DELETE CASCADE,
    term_id TEXT NOT NULL,
    facet TEXT NOT NULL,
    label TEXT NOT NULL,
    passages INTEGER NOT NULL,
    PRIMARY KEY (sha256, term_id)
);
CREATE TABLE IF NOT EXISTS document_urls (
    url TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (url, sha256)
);
CREATE TABLE IF NOT EXISTS fetches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT,
    url TEXT NOT NULL,
    final_url TEXT,
    status INTEGER,
    outcome TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    bytes INTEGER,
    sha256 TEXT,
    fetched_at TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS fetches_url ON fetches(url, id);
CREATE TABLE IF NOT EXISTS page_sources (
    sha256 TEXT NOT NULL REFERENCES documents(sha256) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    method TEXT NOT NULL,
    confidence REAL,
    note TEXT,
    PRIMARY KEY (sha256, page)
);
"""

#: What `text_source` says of a document: every page from its text layer, every page with
#: text OCR'd, some of each, or OCR still to do (no engine when it was extracted).
TEXT_SOURCES = ("text_layer", "ocr", "mixed", "needs_ocr")

_DOC_COLUMNS = tuple(f.name for f in fields(Document))


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def sha256_of(data: bytes) -> str:
    """The hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_of_file(path: Path) -> str:
    """The hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write bytes to a temp file beside `path`, fsync it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a home is often shared or archived for others
        # to search, so its files get the usual mode.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:  # a failed write (a full disk) names no file: name it
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Where metadata came from, strongest first; anything else (text:p1, filename...) ranks last.
META_ORIGIN_RANK = {"given": 3, "source": 2, "link": 1}


def _rank(origin: str | None) -> int:
    return META_ORIGIN_RANK.get(origin or "", 0)


@dataclass(frozen=True)
class FetchRecord:
    """One HTTP fetch as the catalogue keeps it."""

    url: str
    outcome: str  # new, changed, unchanged, not_modified, skipped_robots, failed, not_pdf, listing
    fetched_at: str
    source: str | None = None
    final_url: str | None = None
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    error: str | None = None


def has_corpus(home: Home) -> bool:
    """True when the home holds originals or an index (so a catalogue must exist)."""
    return (home.index_dir / "CURRENT").exists() or any(home.originals_dir.glob("*/*.pdf"))


def catalogue_writable(home: Home) -> bool:
    """True when the catalogue (and its folder, for SQLite's journal) can be written."""
    folder = home.corpus_dir if home.corpus_dir.exists() else home.root
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        return False
    return not home.catalogue_path.exists() or os.access(home.catalogue_path, os.W_OK)


def connect_catalogue(home: Home, *, any_thread: bool = False) -> sqlite3.Connection:
    """A connection to the catalogue, read-only when the home cannot be written (usable from
    any thread, one at a time, with `any_thread`).

    Read-only, SQLite still needs to create the WAL's shared-memory file beside the catalogue;
    where it cannot (a read-only folder), the file is opened as immutable, which is right for
    an archived home that nothing writes to."""
    path = home.catalogue_path
    same = not any_thread
    if catalogue_writable(home):
        return sqlite3.connect(path, timeout=30, check_same_thread=same)
    uri = "file:" + urllib.parse.quote(str(path))
    try:
        db = sqlite3.connect(
            uri + "?mode=ro", uri=True, timeout=30, isolation_level=None, check_same_thread=same
        )
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        return sqlite3.connect(
            uri + "?immutable=1", uri=True, isolation_level=None, check_same_thread=same
        )


def unwritable_path(home: Home) -> Path | None:
    """The first path of the home a writing command needs and cannot write, or None."""
    candidates = [home.root, home.corpus_dir, home.originals_dir, home.text_dir, home.index_dir]
    candidates += [home.catalogue_path, home.lock_path]
    candidates += [Path(f"{home.catalogue_path}{x}") for x in ("-wal", "-shm")]
    for path in candidates:
        if path.exists() and not os.access(path, os.W_OK):
            return path
    return None


def require_writable(home: Home) -> None:
    """Raise StoreError naming the path when a writing command cannot write the home."""
    path = unwritable_path(home)
    if path is not None:
        raise StoreError(
            f"{path} is not writable, and this command writes to the home; make it writable "
            "(or run as its owner), or give another --home (searching needs no write access)"
        )


class Store:
    """The originals, text cache and catalogue of one home. Use as a context manager."""

    def __init__(self, home: Home, *, missing_ok: bool = False) -> None:
        """Open the catalogue (read-only when the home cannot be written).

        A missing catalogue is created only in a new home: where originals or an index exist,
        it was lost, and that is an error (unless `missing_ok`, for `check --repair`, which
        rebuilds it from the originals and their sidecars)."""
        self.home = home
        path = home.catalogue_path
        if not path.exists() and not missing_ok and has_corpus(home):
            raise StoreError(
                f"the catalogue {path} is missing, but {home.corpus_dir} holds originals; "
                "run `scrsearch check --repair` to rebuild it from them"
            )
        self.read_only = not catalogue_writable(home)
        try:
            if self.read_only:
                self.db = connect_catalogue(home)
            else:
                home.ensure()
                self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            if not self.read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                self.db.executescript(_SCHEMA)
                self._add_missing_columns()
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the catalogue {path}: {exc}; if the file is damaged, move it "
                "away and run `scrsearch check --repair` to rebuild it from the originals"
            ) from exc

    def _add_missing_columns(self) -> None:
        """Catalogues made before a column was added get it (additive changes only)."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}
        added = {
            "passages": "INTEGER", "text_source": "TEXT", "ocr_pages": "INTEGER",
            "ocr_confidence": "REAL",
        }  # fmt: skip
        for column, kind in added.items():
            if column not in have:
                self.db.execute(f"ALTER TABLE documents ADD COLUMN {column} {kind}")

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='catalogue_version'").fetchone()
        if row is None and self.read_only:
            return
        if row is None:
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES('catalogue_version', ?)",
                (str(CATALOGUE_VERSION),),
            )
        elif int(row[0]) > CATALOGUE_VERSION:
            raise StoreError(
                f"the catalogue {self.home.catalogue_path} was written by a newer scrsearch "
                f"(version {row[0]}); upgrade scrsearch to use it"
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any error. Inside another
        one, it is part of that one."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- originals ---------------------------------------------------------------------------

    def original_path(self, sha256: str) -> Path:
        """Where the original with this sha256 is stored."""
        return self.home.originals_dir / sha256[:2] / f"{sha256}.pdf"

    def add_file(
        self,
        path: Path,
        *,
        source: str = "local",
        meta: dict | None = None,
        url: str | None = None,
    ) -> AddResult:
        """Store a file from disk (downloaded from `url`, if known); the same bytes twice is a
        no-op."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
        return self.add_bytes(
            data,
            original_name=Path(path).name,
            source=source,
            url=url,
            meta=meta,
            added_from=str(path),
        )

    def add_bytes(
        self,
        data: bytes,
        *,
        original_name: str,
        source: str,
        url: str | None = None,
        fetched_at: str | None = None,
        meta: dict | None = None,
        meta_origin: str = "given",
        added_from: str | None = None,
    ) -> AddResult:
        """Store bytes under their sha256 and catalogue them; the same bytes twice is a no-op.

        `meta` holds given metadata (fields of META_FIELDS); `meta_origin` says where it came
        from ("given" for `add` options, "source" for a crawler's source). Given metadata is
        never overwritten by inference.
        """
        sha = sha256_of(data)
        now = utc_now()
        existing = self.document(sha)
        if existing is not None:
            with self.transaction():
                if url:
                    self._link_url(url, sha, source, now)
                if meta:
                    self._set_given_meta(existing, meta, meta_origin)
                self._restore_original(sha, data)
                self.write_sidecar(sha)
            return AddResult(self.document(sha), is_new=False)
        target = self.original_path(sha)
        values = {k: v for k, v in (meta or {}).items() if k in META_FIELDS and v is not None}
        origin = {k: meta_origin for k in values}
        row = {
            "sha256": sha,
            "original_name": original_name,
            "source": source,
            "path": str(target.relative_to(self.home.root)),
            "size": len(data),
            "url": url,
            "fetched_at": fetched_at,
            "added_at": now,
            "added_from": added_from or url,
            "meta_origin": json.dumps(origin),
            **values,
        }
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        created = not target.exists()
        # The original, its row and its sidecar go in together or not at all: a failure
        # (disk full, a read-only catalogue) leaves no original that no row points to.
        try:
            with self.transaction() as db:
                if created:
                    write_atomically(target, data)
                if url:
                    self._link_url(url, sha, source, now)
                db.execute(
                    f"INSERT OR IGNORE INTO documents ({cols}) VALUES ({marks})",
                    tuple(row.values()),
                )
                self.write_sidecar(sha)
        except BaseException:
            if created:
                target.unlink(missing_ok=True)
                self.sidecar_path(sha).unlink(missing_ok=True)
            raise
        return AddResult(self.document(sha), is_new=True)

    # -- sidecars: what the catalogue knows that an original cannot tell again -------------

    def sidecar_path(self, sha256: str) -> Path:
        """The JSON beside an original that lets `check --repair` rebuild its catalogue row."""
        return self.original_path(sha256).with_suffix(".json")

    def write_sidecar(self, sha256: str) -> None:
        """Write (atomically) the facts about a document that cannot be derived from its bytes:
        name, source, URLs, fetches and their validators, given metadata."""
        doc = self.document(sha256)
        if doc is None:
            return
        kept = {k: o for k, o in doc.meta_origin.items() if o in META_ORIGIN_RANK}
        urls = self.db.execute(
            "SELECT url, source, first_seen, last_seen FROM document_urls WHERE sha256=? "
            "ORDER BY first_seen",
            (sha256,),
        )
        fetches = self.db.execute("SELECT * FROM fetches WHERE sha256=? ORDER BY id", (sha256,))
        payload = {
            "sidecar_version": 1,
            "sha256": sha256,
            "original_name": doc.original_name,
            "source": doc.source,
            "url": doc.url,
            "fetched_at": doc.fetched_at,
            "added_from": doc.added_from,
            "added_at": doc.added_at,
            "meta": {k: getattr(doc, k) for k in kept},
            "meta_origin": kept,
            "urls": [dict(r) for r in urls],
            "fetches": [{k: v for k, v in dict(r).items() if k != "id"} for r in fetches],
        }
        data = json.dumps(payload, ensure_ascii=False, indent=1).encode()
        write_atomically(self.sidecar_path(sha256), data)

    def read_sidecar(self, sha256: str) -> dict:
        """A document's sidecar, or {} when it is missing or unreadable."""
        try:
            payload = json.loads(self.sidecar_path(sha256).read_bytes())
        except (OSError, ValueError):
            return {}
        return payload if isinstance(payload, dict) and payload.get("sha256") == sha256 else {}

    def uncatalogued_originals(self) -> list[str]:
        """The sha256 of each stored original that no catalogue row points to."""
        known = {r[0] for r in self.db.execute("SELECT sha256 FROM documents")}
        found = (p.stem for p in self.home.originals_dir.glob("*/*.pdf"))
        return sorted(s for s in found if len(s) == 64 and s not in known)

    def catalogue_original(self, sha256: str) -> Document:
        """Re-create the catalogue row of a stored original from its sidecar (status pending;
        metadata the sidecar does not give is inferred again when it is indexed)."""
        path = self.original_path(sha256)
        side = self.read_sidecar(sha256)
        meta = {k: v for k, v in (side.get("meta") or {}).items() if k in META_FIELDS}
        origin = {k: o for k, o in (side.get("meta_origin") or {}).items() if k in meta}
        row = {
            "sha256": sha256,
            "original_name": side.get("original_name") or path.name,
            "source": side.get("source") or "local",
            "path": str(path.relative_to(self.home.root)),
            "size": path.stat().st_size,
            "url": side.get("url"),
            "fetched_at": side.get("fetched_at"),
            "added_at": side.get("added_at") or utc_now(),
            "added_from": side.get("added_from"),
            "meta_origin": json.dumps(origin),
            **meta,
        }
        with self.transaction() as db:
            db.execute(
                f"INSERT OR IGNORE INTO documents ({', '.join(row)}) "
                f"VALUES ({', '.join('?' for _ in row)})",
                tuple(row.values()),
            )
            for link in side.get("urls") or ():
                db.execute(
                    "INSERT OR IGNORE INTO document_urls(url, sha256, source, first_seen, "
                    "last_seen) VALUES (?, ?, ?, ?, ?)",
                    (link["url"], sha256, link["source"], link["first_seen"], link["last_seen"]),
                )
            known = {r[0] for r in db.execute("SELECT fetched_at FROM fetches WHERE sha256=?",
                                               (sha256,))}  # fmt: skip
            for fetch in side.get("fetches") or ():
                if fetch.get("fetched_at") not in known:
                    self.record_fetch(FetchRecord(**fetch), sidecar=False)
        return self.document(sha256)

    def _restore_original(self, sha: str, data: bytes) -> None:
        """Put good bytes back when the stored original is missing or damaged (`check`)."""
        target = self.original_path(sha)
        if (
            not target.is_file()
            or target.stat().st_size != len(data)
            or (sha256_of_file(target) != sha)
        ):
            write_atomically(target, data)

    def _link_url(self, url: str, sha: str, source: str, now: str) -> None:
        self.db.execute(
            "INSERT INTO document_urls(url, sha256, source, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url, sha256) DO UPDATE SET last_seen=excluded.last_seen",
            (url, sha, source, now, now),
        )

    def _set_given_meta(self, doc: Document, meta: dict, origin: str) -> None:
        values = {k: v for k, v in meta.items() if k in META_FIELDS and v is not None}
        changed = {k: v for k, v in values.items() if getattr(doc, k) != v}
        if changed:
            self.set_metadata(doc.sha256, changed, {k: origin for k in changed}, force=True)
            if doc.status == "indexed":  # the index copies metadata: index it again
                self.set_status(doc.sha256, "pending")

    # -- catalogue reads ---------------------------------------------------------------------

    @staticmethod
    def _document(row: sqlite3.Row) -> Document:
        values = dict(row)
        values["meta_origin"] = json.loads(values.get("meta_origin") or "{}")
        return Document(**{k: values[k] for k in _DOC_COLUMNS if k in values})

    def document(self, sha256: str) -> Document | None:
        """The catalogued document with this sha256, or None."""
        row = self.db.execute("SELECT * FROM documents WHERE sha256=?", (sha256,)).fetchone()
        return self._document(row) if row else None

    def resolve(self, report_id: str) -> Document:
        """The one document whose sha256 starts with `report_id` (at least 6 hex digits)."""
        prefix = report_id.strip().lower()
        if len(prefix) < 6 or any(c not in "0123456789abcdef" for c in prefix):
            raise UsageError(
                f"report id {report_id!r} is not valid: give at least 6 hex digits of the "
                "sha256, as `scrsearch reports` shows"
            )
        rows = self.db.execute(
            "SELECT * FROM documents WHERE sha256 >= ? AND sha256 < ? LIMIT 2",
            (prefix, prefix + "g"),
        ).fetchall()
        if not rows:
            raise UsageError(f"no report has the id {report_id}; `scrsearch reports` lists them")
        if len(rows) > 1:
            raise UsageError(f"report id {report_id} is ambiguous; give more digits")
        return self._document(rows[0])

    def documents(self, statuses: Iterable[str] | None = None) -> list[Document]:
        """Every catalogued document (or those with the given statuses), oldest first."""
        sql = "SELECT * FROM documents"
        args: tuple = ()
        if statuses is not None:
            wanted = tuple(statuses)
            sql += f" WHERE status IN ({', '.join('?' for _ in wanted)})"
            args = wanted
        sql += " ORDER BY rowid"
        return [self._document(r) for r in self.db.execute(sql, args)]

    def count_by_status(self) -> dict[str, int]:
        """How many documents have each status."""
        rows = self.db.execute("SELECT status, COUNT(*) FROM documents GROUP BY status")
        return {status: n for status, n in rows}

    def urls_of(self, sha256: str) -> list[str]:
        """Every URL this document was fetched from, first seen first."""
        rows = self.db.execute(
            "SELECT url FROM document_urls WHERE sha256=? ORDER BY first_seen", (sha256,)
        )
        return [r[0] for r in rows]

    # -- catalogue writes --------------------------------------------------------------------

    def set_metadata(
        self, sha256: str, values: dict, origins: dict[str, str], *, force: bool = False
    ) -> None:
        """Set metadata fields; without `force`, a value from a weaker origin never replaces
        one from a stronger: given (add options) > source > link (a source's link text) >
        inference from the document's own text or file name."""
        doc = self.document(sha256)
        if doc is None:
            raise StoreError(f"no document {sha256} in the catalogue")
        merged_origin = dict(doc.meta_origin)
        updates: dict = {}
        for key, value in values.items():
            if key not in META_FIELDS:
                continue
            origin = origins.get(key, "inferred")
            if not force and _rank(origin) < _rank(merged_origin.get(key)):
                continue
            updates[key] = value
            merged_origin[key] = origin
        if not updates:
            return
        kept = any(merged_origin[k] in META_ORIGIN_RANK for k in updates)
        updates["meta_origin"] = json.dumps(merged_origin)
        assignments = ", ".join(f"{k}=?" for k in updates)
        self.db.execute(
            f"UPDATE documents SET {assignments} WHERE sha256=?", (*updates.values(), sha256)
        )
        if kept:  # given, source or link metadata cannot be inferred again: keep it beside
            self.write_sidecar(sha256)

    def set_extracted(
        self,
        sha256: str,
        *,
        pages: int | None,
        extractor: str | None,
        status: str,
        error: str | None,
    ) -> None:
        """Record the outcome of extracting a document."""
        self.db.execute(
            "UPDATE documents SET pages=?, extractor=?, status=?, error=?, extracted_at=? "
            "WHERE sha256=?",
            (pages, extractor, status, error, utc_now(), sha256),
        )

    def set_page_sources(self, sha256: str, text: ExtractedText | None) -> None:
        """Record how each page's text was obtained: only pages not read from their text layer
        get a row; the document gets a summary (text_source, ocr_pages, ocr_confidence)."""
        sources = text.sources if text is not None else ()
        rows = [
            (sha256, page, s.method, s.confidence, s.note)
            for page, s in enumerate(sources, 1)
            if s.method != "text"
        ]
        ocr = [s.confidence or 0.0 for s in sources if s.method == "ocr"]
        if text is None:
            summary = None
        elif any(s.method == "needs_ocr" for s in sources):
            summary = "needs_ocr"
        elif not ocr:
            summary = "text_layer"
        else:
            with_text = [n for n, page in enumerate(text.pages, 1) if page]
            by_ocr = [n for n in with_text if text.source(n).method == "ocr"]
            summary = "ocr" if len(by_ocr) == len(with_text) else "mixed"
        mean = round(sum(ocr) / len(ocr), 1) if ocr else None
        with self.transaction() as db:
            db.execute("DELETE FROM page_sources WHERE sha256=?", (sha256,))
            db.executemany("INSERT INTO page_sources VALUES (?, ?, ?, ?, ?)", rows)
            db.execute(
                "UPDATE documents SET text_source=?, ocr_pages=?, ocr_confidence=? WHERE sha256=?",
                (summary, len(ocr) if text is not None else None, mean, sha256),
            )

    def page_sources(self, sha256: str) -> dict[int, PageSource]:
        """The pages of a document not read from their text layer: page -> how it was read."""
        rows = self.db.execute(
            "SELECT page, method, confidence, note FROM page_sources WHERE sha256=?", (sha256,)
        )
        return {page: PageSource(method, conf, note) for page, method, conf, note in rows}

    def documents_awaiting_ocr(self) -> list[Document]:
        """Documents with pages left for OCR because no engine was there (needs_ocr status, or
        indexed with some pages not OCR'd)."""
        rows = self.db.execute(
            "SELECT * FROM documents WHERE status='needs_ocr' OR text_source='needs_ocr' "
            "ORDER BY rowid"
        )
        return [self._document(r) for r in rows]

    def set_passages(self, sha256: str, passages: int) -> None:
        """Record how many passages a report was split into."""
        self.db.execute("UPDATE documents SET passages=? WHERE sha256=?", (passages, sha256))

    def set_status(self, sha256: str, status: str, error: str | None = None) -> None:
        """Set a document's processing status."""
        self.db.execute(
            "UPDATE documents SET status=?, error=? WHERE sha256=?", (status, error, sha256)
        )

    def mark_indexed(self, sha256s: Iterable[str]) -> None:
        """Record that these documents are in the committed index."""
        now = utc_now()
        with self.transaction() as db:
            db.executemany(
                "UPDATE documents SET status='indexed', error=NULL, indexed_at=? WHERE sha256=?",
                [(now, s) for s in sha256s],
            )

    def mark_all_pending(self) -> None:
        """Forget what was indexed, for a rebuild (failed and needs_ocr are retried too)."""
        self.db.execute("UPDATE documents SET status='pending', indexed_at=NULL")

    def set_report_tags(self, sha256: str, tags: Iterable[ReportTag]) -> None:
        """Replace a report's tags."""
        with self.transaction() as db:
            db.execute("DELETE FROM report_tags WHERE sha256=?", (sha256,))
            db.executemany(
                "INSERT INTO report_tags(sha256, term_id, facet, label, passages) "
                "VALUES (?, ?, ?, ?, ?)",
                [(sha256, t.term_id, t.facet, t.label, t.passages) for t in tags],
            )

    def report_tags(self, sha256: str) -> list[ReportTag]:
        """A report's tags, strongest first."""
        rows = self.db.execute(
            "SELECT term_id, facet, label, passages FROM report_tags WHERE sha256=? "
            "ORDER BY passages DESC, term_id",
            (sha256,),
        )
        return [ReportTag(*r) for r in rows]

    def all_report_tags(self) -> dict[str, list[ReportTag]]:
        """Every report's tags, strongest first, by sha256."""
        tags: dict[str, list[ReportTag]] = {}
        rows = self.db.execute(
            "SELECT sha256, term_id, facet, label, passages FROM report_tags "
            "ORDER BY sha256, passages DESC, term_id"
        )
        for sha, *rest in rows:
            tags.setdefault(sha, []).append(ReportTag(*rest))
        return tags

    # -- fetch records -------------------------------------------------------------------------

    def record_fetch(self, record: FetchRecord, *, sidecar: bool = True) -> None:
        """Append one fetch to the catalogue (and to the sidecar of the document it stored)."""
        row = {f.name: getattr(record, f.name) for f in fields(FetchRecord)}
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute(f"INSERT INTO fetches ({cols}) VALUES ({marks})", tuple(row.values()))
        if sidecar and record.sha256:
            self.write_sidecar(record.sha256)

    def last_fetch(self, url: str, *, with_document: bool = True) -> FetchRecord | None:
        """The newest fetch of `url` (by default one that stored a document), or None."""
        sql = "SELECT * FROM fetches WHERE url=?"
        if with_document:
            sql += " AND sha256 IS NOT NULL"
        row = self.db.execute(sql + " ORDER BY id DESC LIMIT 1", (url,)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values.pop("id")
        return FetchRecord(**values)

    def fetches(self, url: str | None = None) -> list[FetchRecord]:
        """Every fetch (of `url`, if given), oldest first."""
        sql, args = "SELECT * FROM fetches", ()
        if url is not None:
            sql, args = sql + " WHERE url=?", (url,)
        out = []
        for row in self.db.execute(sql + " ORDER BY id", args):
            values = dict(row)
            values.pop("id")
            out.append(FetchRecord(**values))
        return out

    # -- text cache --------------------------------------------------------------------------

    def text_path(self, sha256: str) -> Path:
        return self.home.text_dir / sha256[:2] / f"{sha256}.json.gz"

    def cached_text(self, sha256: str) -> ExtractedText | None:
        """The cached extracted text of a document, if present and current."""
        path = self.text_path(sha256)
        try:
            payload = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, ValueError, EOFError):
            return None
        if payload.get("version") != TEXT_CACHE_VERSION:
            return None
        return ExtractedText(
            pages=tuple(payload["pages"]),
            extractor=payload["extractor"],
            warnings=tuple(payload.get("warnings", ())),
            sources=tuple(PageSource.from_json(s) for s in payload.get("sources", ())),
        )

    def cached_text_is_of(self, sha256: str) -> bool:
        """False when the cached text names another document (a file copied over another);
        caches written before they named their document count as theirs."""
        try:
            payload = json.loads(gzip.decompress(self.text_path(sha256).read_bytes()))
        except (OSError, ValueError, EOFError):
            return False
        return payload.get("sha256", sha256) == sha256

    def cache_text(self, sha256: str, text: ExtractedText) -> None:
        """Cache extracted text by sha256, atomically."""
        payload = {
            "version": TEXT_CACHE_VERSION,
            "sha256": sha256,
            "extractor": text.extractor,
            "warnings": list(text.warnings),
            "pages": list(text.pages),
            "sources": [s.to_json() for s in text.sources],
        }
        data = gzip.compress(json.dumps(payload, ensure_ascii=False).encode(), compresslevel=5)
        write_atomically(self.text_path(sha256), data)
