"""Content-addressed originals, the text cache and the SQLite catalogue.

The catalogue's schema and connections are in catalogue.py, its rows of documents, tags and
fetches in catalogue_records.py, the text cache in text_cache.py, hashes and atomic writes in
atomic_files.py; `Store` brings them together for one home, and this module keeps every name
it always had.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .atomic_files import sha256_of, sha256_of_file, write_atomically
from .catalogue import (
    _SCHEMA,
    CATALOGUE_VERSION,
    TEXT_SOURCES,
    catalogue_writable,
    connect_catalogue,
    has_corpus,
    require_writable,
    unwritable_path,
    utc_now,
)
from .catalogue_records import META_ORIGIN_RANK, CatalogueRecords, FetchRecord
from .config import Home
from .errors import StoreError, UsageError
from .models import META_FIELDS, AddResult, Document
from .text_cache import TEXT_CACHE_VERSION, TextCache

__all__ = [
    "CATALOGUE_VERSION",
    "META_ORIGIN_RANK",
    "TEXT_CACHE_VERSION",
    "TEXT_SOURCES",
    "FetchRecord",
    "Store",
    "catalogue_writable",
    "connect_catalogue",
    "has_corpus",
    "require_writable",
    "sha256_of",
    "sha256_of_file",
    "unwritable_path",
    "utc_now",
    "write_atomically",
]


class Store(CatalogueRecords, TextCache):
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
