"""The SQLite catalogue: schema and version, connections, and whether a home can be written."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from .config import Home
from .errors import StoreError

CATALOGUE_VERSION = 1

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


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


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
