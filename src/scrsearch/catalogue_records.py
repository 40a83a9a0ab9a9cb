"""The catalogue's rows of documents, their tags and fetches: reads and writes, mixed into Store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, fields

from .catalogue import utc_now
from .errors import StoreError, UsageError
from .models import META_FIELDS, Document, ExtractedText, PageSource, ReportTag

_DOC_COLUMNS = tuple(f.name for f in fields(Document))

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


class CatalogueRecords:
    """Documents, report tags and fetches in the catalogue (a part of Store, whose connection,
    transaction and sidecars it uses)."""

    db: sqlite3.Connection

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
