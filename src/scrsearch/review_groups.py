"""Grouping reports into reviews as they are indexed: newer versions, copies found by text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .models import REPORT_ID_LEN, Document
from .near_duplicates import (
    MIN_SHINGLES,
    _minhash_class,
    band_keys,
    is_copy,
    shingles_of,
    signature_of,
    similarity,
)
from .review_decisions import apply_decisions
from .review_members import (
    Authority,
    Member,
    Ranks,
    _put,
    _refresh_primary,
    ensure_tables,
    member_of,
    review_id_of,
)
from .store import Store

# -- detection ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A report found to be a copy of another, with the evidence."""

    sha256: str
    containment: float
    jaccard: float


def _candidates(store: Store, sha: str, keys: Sequence[tuple[int, int]]) -> list[str]:
    found: Counter = Counter()
    for band, key in keys:
        rows = store.db.execute(
            "SELECT sha256 FROM review_bands WHERE band=? AND key=?", (band, key)
        )
        found.update(r[0] for r in rows if r[0] != sha)
    return [s for s, _ in found.most_common()]


def _apart(store: Store, sha: str) -> set[str]:
    """Reports a split by hand separated from this one."""
    rows = store.db.execute(
        "SELECT a, b FROM review_decisions WHERE kind='split' AND (a=? OR b=?)", (sha, sha)
    )
    return {b if a == sha else a for a, b in rows}


def _full_shingles(store: Store, sha: str):
    text = store.cached_text(sha)
    return shingles_of(text.pages, sample=1) if text is not None else None


def remember_text(store: Store, sha: str, pages: Sequence[str]) -> bool:
    """Record a report's MinHash signature and LSH bands, so later copies find it (`pipeline`
    calls this as it indexes each report). Returns False for too little text."""
    ensure_tables(store)
    _minhash_class()  # a missing datasketch is a clear error before any work
    shingles = shingles_of(pages)
    signature = signature_of(shingles)
    with store.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO review_signatures(sha256, shingles, signature) "
            "VALUES (?, ?, ?)",
            (sha, len(shingles), signature.tobytes()),
        )
        if len(shingles) >= MIN_SHINGLES:
            db.executemany(
                "INSERT OR IGNORE INTO review_bands(band, key, sha256) VALUES (?, ?, ?)",
                [(band, key, sha) for band, key in band_keys(signature)],
            )
    return len(shingles) >= MIN_SHINGLES


def _signature(store: Store, sha: str):
    """(sampled shingle count, MinHash values) of a remembered report, or None."""
    import numpy as np

    row = store.db.execute(
        "SELECT shingles, signature FROM review_signatures WHERE sha256=?", (sha,)
    ).fetchone()
    return (row[0], np.frombuffer(row[1], dtype=np.uint64)) if row else None


def find_copies(store: Store, sha: str) -> list[Match]:
    """The grouped reports whose text this one copies, best first: its LSH bands looked up,
    each candidate then compared exactly over every shingle of both texts."""
    remembered = _signature(store, sha)
    if remembered is None or remembered[0] < MIN_SHINGLES:
        return []
    keys = band_keys(remembered[1])
    apart = _apart(store, sha)
    mine = None
    matches = []
    for other in _candidates(store, sha, keys):
        if other in apart or member_of(store, other) is None:
            continue
        mine = mine if mine is not None else _full_shingles(store, sha)
        theirs = _full_shingles(store, other)
        if mine is None or theirs is None:
            continue
        containment, jaccard = similarity(mine, theirs)
        if is_copy(containment, jaccard):
            matches.append(Match(other, containment, jaccard))
    return sorted(matches, key=lambda m: (-m.containment, -m.jaccard, m.sha256))


def _older_versions(store: Store, sha: str) -> list[str]:
    """Grouped reports fetched earlier from a URL that now gives this report: older versions."""
    rows = store.db.execute(
        "SELECT DISTINCT old.sha256, old.first_seen, od.rowid FROM document_urls new "
        "JOIN document_urls old ON old.url=new.url AND old.sha256!=new.sha256 "
        "JOIN review_members m ON m.sha256=old.sha256 "
        "JOIN documents od ON od.sha256=old.sha256 JOIN documents nd ON nd.sha256=new.sha256 "
        "WHERE new.sha256=? AND (old.first_seen<new.first_seen "
        "OR (old.first_seen=new.first_seen AND od.rowid<nd.rowid)) "
        "ORDER BY old.first_seen, od.rowid",
        (sha,),
    )
    return [r[0] for r in rows]


def assign(store: Store, doc: Document, authority: Ranks | None = None) -> Member:
    """Put an indexed, remembered report in its review: a newer version, a copy found by
    text, or alone. A report already grouped keeps its place (its text cannot change)."""
    ensure_tables(store)
    sha = doc.sha256
    existing = member_of(store, sha)
    if existing is not None:
        return existing
    authority = authority if authority is not None else Authority(store.home)
    older = _older_versions(store, sha)
    if older:
        review = review_id_of(store, older[-1])
        _put(store, sha, review, "version", matched=older[-1])
        store.db.execute(
            f"UPDATE review_members SET superseded_by=? WHERE superseded_by IS NULL "
            f"AND sha256 IN ({', '.join('?' for _ in older)})",
            (sha, *older),
        )
    elif matches := find_copies(store, sha):
        best = matches[0]
        review = review_id_of(store, best.sha256)
        _put(store, sha, review, "text", best.sha256, best.containment, best.jaccard)
    else:
        review = sha[:REPORT_ID_LEN]
        _put(store, sha, review, "alone")
    _refresh_primary(store, review, authority)
    return member_of(store, sha)  # type: ignore[return-value]


def group_ungrouped(store: Store) -> int:
    """Put every indexed report that is in no review yet into one, oldest first (new reports
    of an index run; every report after a rebuild); then apply the hand decisions again.
    Returns how many of them joined another report's review (copies and versions)."""
    ensure_tables(store)
    forgotten = store.db.execute(
        "SELECT d.sha256 FROM documents d LEFT JOIN review_signatures s ON s.sha256=d.sha256 "
        "WHERE d.status='indexed' AND s.sha256 IS NULL ORDER BY d.rowid"
    ).fetchall()
    for (sha,) in forgotten:  # indexed before reviews.py, or by a killed run
        text = store.cached_text(sha)
        remember_text(store, sha, text.pages if text is not None else ())
    rows = store.db.execute(
        "SELECT d.sha256 FROM documents d LEFT JOIN review_members m ON m.sha256=d.sha256 "
        "WHERE d.status='indexed' AND m.sha256 IS NULL ORDER BY d.rowid"
    ).fetchall()
    if not rows:
        return 0
    authority = Authority(store.home)
    joined = 0
    for (sha,) in rows:
        doc = store.document(sha)
        if doc is not None:
            joined += assign(store, doc, authority).how != "alone"
    apply_decisions(store, authority)
    return joined


def forget_groups(store: Store) -> None:
    """Drop every grouping (signatures and hand decisions stay): after a rebuild, every report
    is grouped again."""
    ensure_tables(store)
    store.db.execute("DELETE FROM review_members")
