"""Reviews as results show them: each home's groups, hits and results folded to one per review,
a review's copies, and other documents of the same case."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .catalogue import connect_catalogue
from .config import Home
from .models import REPORT_ID_LEN, Document
from .review_members import _SCHEMA, Member, review_id_of
from .store import Store

#: A search ranks this many reports more than its page (at most: the copies in the catalogue)
#: so that copies folded away still leave a full page; more are ranked only when more copies
#: are among the hits.
FOLD_SLACK = 50

# -- reading groups, for search, stats, export and watch ---------------------------------------


@dataclass(frozen=True)
class Groups:
    """Every grouped report's review, primary and version state; what results fold by."""

    review: dict[str, str]  # sha256 -> review id
    primary: dict[str, str]  # review id -> primary sha256
    superseded: frozenset[str]
    members: dict[str, list[str]]  # review id -> sha256s, primary first

    @property
    def has_copies(self) -> bool:
        """Whether any review has more than one report."""
        return len(self.review) > len(self.members)

    @property
    def copies(self) -> int:
        """How many reports are not the only report of their review, less one a review: the
        most a ranked list can hold that folding drops."""
        return len(self.review) - len(self.members)

    def pager(self, offset: int, limit: int):
        """A function from reports in rank order to the page of one report per review (each
        review's best-ranked report, old versions left out) from `offset`, `limit` long."""

        def page(order: Sequence[str]) -> list[str]:
            seen: set[str] = set()
            kept: list[str] = []
            for sha in order:
                if len(kept) >= offset + limit:
                    break
                if sha in self.superseded:
                    continue
                review = self.review_of(sha)
                if review in seen:
                    continue
                seen.add(review)
                kept.append(sha)
            return kept[offset:]

        return page

    def review_of(self, sha: str) -> str:
        """A report's review id (its own report id when it stands alone or is not grouped)."""
        return self.review.get(sha) or sha[:REPORT_ID_LEN]

    def primary_of(self, review_id: str) -> str | None:
        """The sha256 of a review's primary report."""
        return self.primary.get(review_id)

    def copies_of(self, review_id: str) -> list[str]:
        """The sha256s of a review's reports, primary first."""
        return self.members.get(review_id, [])

    def fold(self, hits: Mapping[str, int]) -> dict[str, int]:
        """Report hits (sha256 -> matching passages) folded to one report per review.

        Superseded versions are not searched: they drop out. The report kept for a review is
        its primary when the primary matches, else its matching report with the most passages
        (ties: lowest sha256); its count is that report's.
        """
        best: dict[str, str] = {}
        for sha, n in hits.items():
            if sha in self.superseded:
                continue
            review = self.review_of(sha)
            held = best.get(review)
            if held is None or self._better(sha, n, held, hits[held], review):
                best[review] = sha
        return {sha: hits[sha] for sha in best.values()}

    def _better(self, sha: str, n: int, held: str, held_n: int, review: str) -> bool:
        primary = self.primary.get(review)
        if held == primary:
            return False
        if sha == primary:
            return True
        return (n, held) > (held_n, sha)


def load_groups(db: sqlite3.Connection) -> Groups:
    """Every review grouping from a catalogue connection."""
    db.executescript(_SCHEMA)
    review: dict[str, str] = {}
    primary: dict[str, str] = {}
    superseded = set()
    members: dict[str, list[str]] = {}
    rows = db.execute(
        "SELECT sha256, review_id, is_primary, superseded_by FROM review_members "
        "ORDER BY is_primary DESC, rowid"
    )
    for sha, review_id, is_primary, newer in rows:
        review[sha] = review_id
        members.setdefault(review_id, []).append(sha)
        if is_primary:
            primary[review_id] = sha
        if newer:
            superseded.add(sha)
    return Groups(review, primary, frozenset(superseded), members)


_GROUPS: dict[Path, tuple[sqlite3.Connection, int, Groups]] = {}


def groups_of(home: Home) -> Groups:
    """The home's review groups, reloaded only when the catalogue changed since last asked."""
    cached = _GROUPS.get(home.root)
    if cached is None:
        Store(home).close()  # creates the catalogue if it is not there yet
        db = connect_catalogue(home, any_thread=True)  # read-only when the home is
        cached = (db, -1, Groups({}, {}, frozenset(), {}))
    db, version, groups = cached
    now = db.execute("PRAGMA data_version").fetchone()[0]
    if now != version:
        groups = load_groups(db)
        db.commit()
        _GROUPS[home.root] = (db, now, groups)
    return groups


def forget_groups_of() -> None:
    """Drop every home's kept review groups (tests; a process that changes homes)."""
    for db, _version, _groups in _GROUPS.values():
        db.close()
    _GROUPS.clear()


def copy_json(doc: Document, member: Member | None, urls: Sequence[str] = ()) -> dict:
    """One report of a review as results list it: {report_id, sha256, source, url, pages}."""
    return {
        "report_id": doc.report_id,
        "sha256": doc.sha256,
        "source": doc.source,
        "url": doc.url or (urls[0] if urls else None),
        "pages": doc.pages,
        "primary": bool(member and member.is_primary),
        "how": member.how if member else "alone",
        "similarity": member.similarity if member else None,
        "superseded_by": (
            member.superseded_by[:REPORT_ID_LEN] if member and member.superseded_by else None
        ),
    }


def collapse_results(
    results: Sequence[dict],
    groups: Groups,
    documents: Mapping[str, Document],
    render,
    passages_per_result: int = 3,
) -> list[dict]:
    """Per-report results (best first) folded into one result per review, best first.

    Each result takes its review's best score, the primary's metadata (`render(doc)` gives
    the report fields, as `search.report_json`), the best passages of any of its copies (each
    passage names its `report_id`), and `"copies"`: every report of the review, primary
    first. A review's place is that of its best-ranked report. Superseded versions are not
    searched: their results are dropped.
    """
    order: list[str] = []
    found: dict[str, list[dict]] = {}
    for entry in results:
        if entry["sha256"] in groups.superseded:
            continue
        review = groups.review_of(entry["sha256"])
        if review not in found:
            order.append(review)
            found[review] = []
        found[review].append(entry)
    folded = []
    for review in order:
        current = found[review]
        primary = groups.primary_of(review)
        head_sha = primary if primary in documents else current[0]["sha256"]
        head = render(documents[head_sha]) if head_sha in documents else dict(current[0])
        head["score"] = max(e["score"] for e in current)
        passages, seen = [], set()
        for entry in sorted(current, key=lambda e: -e["score"]):
            for passage in entry["passages"]:
                if passage["text"] in seen:
                    continue
                seen.add(passage["text"])
                passages.append({**passage, "report_id": entry["report_id"]})
        passages.sort(key=lambda p: -p.get("score", 0.0))
        head["passages"] = passages[:passages_per_result]
        if "explain" in current[0]:
            head["explain"] = current[0]["explain"]
        head["review_id"] = review
        head["copies"] = [
            _copy_entry(documents.get(sha), sha, groups)
            for sha in (groups.copies_of(review) or [head_sha])
        ]
        folded.append(head)
    return folded


def _copy_entry(doc: Document | None, sha: str, groups: Groups) -> dict:
    review = groups.review_of(sha)
    return {
        "report_id": sha[:REPORT_ID_LEN],
        "sha256": sha,
        "source": doc.source if doc else None,
        "url": doc.url if doc else None,
        "pages": doc.pages if doc else None,
        "primary": groups.primary_of(review) == sha,
        "superseded": sha in groups.superseded,
    }


# -- related documents -------------------------------------------------------------------------


def related_documents(store: Store, doc: Document) -> list[Document]:
    """Other reviews' documents of the same case: the same subject and locality, and years
    within one of each other (an overview, its summary, the board's response, a briefing)."""
    if not (doc.subject and doc.locality):
        return []
    rows = store.db.execute(
        "SELECT sha256 FROM documents WHERE sha256!=? AND lower(subject)=lower(?) "
        "AND locality=? ORDER BY year, rowid",
        (doc.sha256, doc.subject, doc.locality),
    )
    own_review = review_id_of(store, doc.sha256)
    related = []
    for (sha,) in rows:
        other = store.document(sha)
        if other is None or review_id_of(store, sha) == own_review:
            continue
        if doc.year and other.year and abs(doc.year - other.year) > 1:
            continue
        related.append(other)
    return related
