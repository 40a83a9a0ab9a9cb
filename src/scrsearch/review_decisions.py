"""Reviews merged and split by hand, kept in the catalogue and applied again after each index."""

from __future__ import annotations

from .catalogue import utc_now
from .config import Home
from .errors import UsageError
from .models import REPORT_ID_LEN, Document
from .review_members import (
    Authority,
    Ranks,
    _refresh_primary,
    ensure_tables,
    member_of,
    members_of,
    review_id_of,
)
from .store import Store

# -- hand decisions ----------------------------------------------------------------------------


def _resolve_grouped(store: Store, report_id: str) -> Document:
    doc = store.resolve(report_id)
    if member_of(store, doc.sha256) is None:
        raise UsageError(
            f"report {doc.report_id} is not in a review yet ({doc.status}); run `scrsearch "
            "index` first (only indexed reports are grouped)"
        )
    return doc


def _merge(store: Store, a: str, b: str, authority: Ranks) -> str:
    """Move b's whole review into a's; returns the review id."""
    into, other = review_id_of(store, a), review_id_of(store, b)
    if into != other:
        moved = [m.sha256 for m in members_of(store, other)]
        store.db.execute(
            "UPDATE review_members SET review_id=?, how='hand', matched=? WHERE review_id=?",
            (into, a, other),
        )
        kept = [m.sha256 for m in members_of(store, into) if m.sha256 not in moved]
        # A merge undoes earlier splits between the two groups.
        for x in moved:
            for y in kept:
                store.db.execute(
                    "DELETE FROM review_decisions WHERE kind='split' AND "
                    "((a=? AND b=?) OR (a=? AND b=?))",
                    (x, y, y, x),
                )
    _refresh_primary(store, into, authority)
    return into


def _split(store: Store, sha: str, authority: Ranks) -> list[str]:
    """Take a report out of its review to stand alone; returns the others it left."""
    review = review_id_of(store, sha)
    others = [m.sha256 for m in members_of(store, review) if m.sha256 != sha]
    own = sha[:REPORT_ID_LEN]
    if others and review == own:  # the review was named after this report: rename the rest
        store.db.execute(
            "UPDATE review_members SET review_id=? WHERE review_id=? AND sha256!=?",
            (others[0][:REPORT_ID_LEN], review, sha),
        )
        review = others[0][:REPORT_ID_LEN]
    store.db.execute(
        "UPDATE review_members SET review_id=?, how='hand', matched=NULL, similarity=NULL, "
        "jaccard=NULL WHERE sha256=?",
        (own, sha),
    )
    _refresh_primary(store, own, authority)
    if others:
        _refresh_primary(store, review, authority)
    return others


def merge(home: Home, first: str, second: str) -> tuple[str, list[Document]]:
    """Merge two reports' reviews into one, by hand; kept across re-indexing."""
    with Store(home) as store:
        ensure_tables(store)
        a, b = _resolve_grouped(store, first), _resolve_grouped(store, second)
        if a.sha256 == b.sha256:
            raise UsageError(f"{first} and {second} are the same report: name two reports")
        authority = Authority(home)
        with store.transaction() as db:
            db.execute(
                "INSERT INTO review_decisions(kind, a, b, made_at) VALUES ('merge', ?, ?, ?)",
                (a.sha256, b.sha256, utc_now()),
            )
            review = _merge(store, a.sha256, b.sha256, authority)
        docs = [store.document(m.sha256) for m in members_of(store, review)]
    return review, [d for d in docs if d is not None]


def split(home: Home, report_id: str) -> tuple[Document, list[str]]:
    """Take a report out of its review, by hand; detection never puts it back with those."""
    with Store(home) as store:
        ensure_tables(store)
        doc = _resolve_grouped(store, report_id)
        authority = Authority(home)
        with store.transaction() as db:
            others = _split(store, doc.sha256, authority)
            now = utc_now()
            db.execute(
                "DELETE FROM review_decisions WHERE kind='merge' AND (a=? OR b=?)",
                (doc.sha256, doc.sha256),
            )
            db.executemany(
                "INSERT INTO review_decisions(kind, a, b, made_at) VALUES ('split', ?, ?, ?)",
                [(doc.sha256, other, now) for other in others],
            )
    return doc, others


def apply_decisions(store: Store, authority: Ranks | None = None) -> int:
    """Apply every hand decision again, in the order made (after an index run); returns how
    many changed a grouping."""
    ensure_tables(store)
    authority = authority if authority is not None else Authority(store.home)
    changed = 0
    rows = store.db.execute("SELECT kind, a, b FROM review_decisions ORDER BY id").fetchall()
    for kind, a, b in rows:
        if member_of(store, a) is None or member_of(store, b) is None:
            continue  # one of them is not indexed (yet): applied when it is
        together = review_id_of(store, a) == review_id_of(store, b)
        with store.transaction():
            if kind == "merge" and not together:
                _merge(store, a, b, authority)
                changed += 1
            elif kind == "split" and together:
                _split(store, a, authority)
                changed += 1
    return changed
