"""Which review each report belongs to: the review tables, memberships and the primary rule."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from .catalogue import utc_now
from .config import Home
from .models import REPORT_ID_LEN
from .store import Store

#: Authority of a source kind, highest first (PRIMARY RULE in the docstring of reviews.py).
KIND_AUTHORITY = {"listing": 3, "results_library": 3, "govuk": 2, "nspcc": 1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_members (
    sha256 TEXT PRIMARY KEY,
    review_id TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    how TEXT NOT NULL,
    matched TEXT,
    similarity REAL,
    jaccard REAL,
    superseded_by TEXT,
    grouped_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_members_review ON review_members(review_id);
CREATE TABLE IF NOT EXISTS review_signatures (
    sha256 TEXT PRIMARY KEY,
    shingles INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS review_bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (band, key, sha256)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS review_document_urls ON document_urls(sha256);
CREATE TABLE IF NOT EXISTS review_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    made_at TEXT NOT NULL
);
"""


def ensure_tables(store: Store) -> None:
    """Create the review tables in a store's catalogue if they are not there yet (once per
    open store: executescript would commit an open transaction)."""
    if getattr(store, "_review_tables", False):
        return
    store.db.executescript(_SCHEMA)
    store._review_tables = True  # type: ignore[attr-defined]


# -- membership ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One report's place in its review."""

    sha256: str
    review_id: str
    is_primary: bool
    how: str  # alone, text, version, hand
    matched: str | None = None
    similarity: float | None = None
    jaccard: float | None = None
    superseded_by: str | None = None

    def to_json(self) -> dict:
        return {
            "review_id": self.review_id,
            "primary": self.is_primary,
            "how": self.how,
            "matched": self.matched[:REPORT_ID_LEN] if self.matched else None,
            "similarity": self.similarity,
            "jaccard": self.jaccard,
            "superseded_by": self.superseded_by[:REPORT_ID_LEN] if self.superseded_by else None,
        }


def _member(row: sqlite3.Row | tuple) -> Member:
    sha, review, primary, how, matched, sim, jac, newer = tuple(row)[:8]
    return Member(sha, review, bool(primary), how, matched, sim, jac, newer)


_MEMBER_COLUMNS = "sha256, review_id, is_primary, how, matched, similarity, jaccard, superseded_by"


def member_of(store: Store, sha256: str) -> Member | None:
    """A report's membership, or None when it has not been grouped (not indexed yet)."""
    ensure_tables(store)
    row = store.db.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM review_members WHERE sha256=?", (sha256,)
    ).fetchone()
    return _member(row) if row else None


def members_of(store: Store, review_id: str) -> list[Member]:
    """The reports of one review, primary first."""
    ensure_tables(store)
    rows = store.db.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM review_members WHERE review_id=? "
        "ORDER BY is_primary DESC, rowid",
        (review_id,),
    )
    return [_member(r) for r in rows]


def review_id_of(store: Store, sha256: str) -> str:
    """The review a report belongs to (its own report id when it stands alone)."""
    member = member_of(store, sha256)
    return member.review_id if member else sha256[:REPORT_ID_LEN]


def _put(
    store: Store,
    sha: str,
    review_id: str,
    how: str,
    matched: str | None = None,
    sim: float | None = None,
    jac: float | None = None,
) -> None:
    store.db.execute(
        "INSERT INTO review_members(sha256, review_id, how, matched, similarity, jaccard, "
        "grouped_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
        "review_id=excluded.review_id, how=excluded.how, matched=excluded.matched, "
        "similarity=excluded.similarity, jaccard=excluded.jaccard, "
        "grouped_at=excluded.grouped_at",
        (sha, review_id, how, matched, _round(sim), _round(jac), utc_now()),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# -- the primary -----------------------------------------------------------------------------


def source_authority(home: Home) -> dict[str, int]:
    """Authority of each configured source name (PRIMARY RULE); unknown names and local are 0."""
    from .errors import ScrsearchError
    from .sources import builtin_sources, load_sources

    try:
        sources = load_sources(home)
    except ScrsearchError:  # a broken sources.toml is reported by crawl, not here
        sources = builtin_sources()
    return {name: KIND_AUTHORITY.get(config.kind, 0) for name, config in sources.items()}


class Authority:
    """Source authority read on first use: most reviews have one report and never need it
    (reading the sources imports the crawlers)."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._ranks: dict[str, int] | None = None

    def get(self, source: str, default: int = 0) -> int:
        if self._ranks is None:
            self._ranks = source_authority(self.home)
        return self._ranks.get(source, default)


#: Source authority as the functions below take it: lazily read, or a plain dict (tests).
Ranks = Authority | Mapping[str, int]


def _refresh_primary(store: Store, review_id: str, authority: Ranks) -> None:
    """Mark the review's primary by the PRIMARY RULE."""
    rows = store.db.execute(
        "SELECT m.sha256, m.superseded_by, d.source, d.rowid, "
        "(SELECT MAX(first_seen) FROM document_urls u WHERE u.sha256=m.sha256) "
        "FROM review_members m JOIN documents d ON d.sha256=m.sha256 WHERE m.review_id=?",
        (review_id,),
    ).fetchall()
    if not rows:
        return
    if len(rows) == 1:
        store.db.execute("UPDATE review_members SET is_primary=1 WHERE sha256=?", (rows[0][0],))
        return

    def rank(row) -> tuple:
        sha, newer, source, rowid, seen = row
        return (newer is None, authority.get(source, 0), seen or "", -rowid)

    primary = max(rows, key=rank)[0]
    store.db.execute(
        "UPDATE review_members SET is_primary=(sha256=?) WHERE review_id=?", (primary, review_id)
    )
