"""`check`: are the originals, the catalogue and the index consistent? `--repair` fixes it.

Checks, each problem naming the document by its sha256:

    missing_original    the catalogue lists a document whose original file is gone
    damaged_original    the original's bytes no longer hash to its sha256
    not_in_index        the catalogue says indexed, but the index has no live passage of it
    not_in_catalogue    the index has passages of a report the catalogue does not know

The index side counts live documents (what search sees), not the sha256 lexicon, which keeps
deleted reports until a merge. Repair holds the home's lock: an original is fetched again from
its URL (kept only if the bytes hash right) or else flagged (status failed, with the reason, and
removed from the index); reports missing from the index are indexed again; reports unknown to
the catalogue are removed from the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import index as search_index
from . import pipeline
from .config import Home
from .errors import FetchError
from .fetch import Fetcher
from .lock import home_lock
from .models import Document
from .store import FetchRecord, Store, sha256_of, sha256_of_file, utc_now, write_atomically

PROBLEM_KINDS = ("missing_original", "damaged_original", "not_in_index", "not_in_catalogue")


@dataclass
class Problem:
    """One inconsistency, and what repair did about it (None: not repaired)."""

    kind: str
    sha256: str
    detail: str
    repair: str | None = None
    fixed: bool = False

    def to_json(self) -> dict:
        return {
            "kind": self.kind, "sha256": self.sha256, "detail": self.detail,
            "repair": self.repair, "fixed": self.fixed,
        }  # fmt: skip


@dataclass
class CheckReport:
    """What `check` looked at and found."""

    documents: int = 0
    originals_hashed: int = 0
    indexed_reports: int = 0
    problems: list[Problem] = field(default_factory=list)
    repaired: bool = False
    reindexed: int = 0
    stale_lock_from: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is wrong, or everything wrong was fixed."""
        return all(p.fixed for p in self.problems)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "documents": self.documents,
            "originals_hashed": self.originals_hashed,
            "indexed_reports": self.indexed_reports,
            "problems": [p.to_json() for p in self.problems],
            "repaired": self.repaired,
            "reindexed": self.reindexed,
        }


def _original_problem(store: Store, doc: Document) -> Problem | None:
    path = store.home.root / doc.path
    if not path.is_file():
        return Problem("missing_original", doc.sha256, f"{doc.original_name}: {path} is missing")
    actual = sha256_of_file(path)
    if actual != doc.sha256:
        return Problem(
            "damaged_original", doc.sha256,
            f"{doc.original_name}: {path} now hashes to {actual}",
        )  # fmt: skip
    return None


def _live_index(home: Home) -> set[str] | None:
    """The reports with live passages in the current index; None when there is no index."""
    if search_index.current_generation(home) is None:
        return None
    return search_index.indexed_sha256s(home)


def find_problems(
    home: Home, progress: Callable[[int, int, str], None] | None = None
) -> CheckReport:
    """Hash every original and compare catalogue and index; change nothing."""
    report = CheckReport()
    with Store(home) as store:
        docs = store.documents()
        report.documents = len(docs)
        for done, doc in enumerate(docs, 1):
            if progress:
                progress(done, len(docs), doc.original_name)
            problem = _original_problem(store, doc)
            report.originals_hashed += problem is None or problem.kind == "damaged_original"
            if problem:
                report.problems.append(problem)
    live = _live_index(home)
    report.indexed_reports = len(live or ())
    known = {d.sha256: d for d in docs}
    for doc in docs:
        if doc.status == "indexed" and (live is None or doc.sha256 not in live):
            report.problems.append(
                Problem(
                    "not_in_index",
                    doc.sha256,
                    f"{doc.original_name} is marked indexed but the index has none of its passages",
                )  # fmt: skip
            )
    for sha in sorted((live or set()) - set(known)):
        report.problems.append(
            Problem(
                "not_in_catalogue",
                sha,
                "the index has passages of a report the catalogue does not list",
            )  # fmt: skip
        )
    return report


def check(
    home: Home,
    *,
    repair: bool = False,
    fetcher: Fetcher | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> CheckReport:
    """Find problems; with `repair`, fix what can be fixed (holding the home's lock)."""
    if not repair:
        return find_problems(home, progress)
    with home_lock(home, "check --repair") as lock:
        report = find_problems(home, progress)
        report.stale_lock_from = lock["stale_from"]
        report.repaired = True
        if report.problems:
            _repair(home, report, fetcher)
    return report


def _repair(home: Home, report: CheckReport, fetcher: Fetcher | None) -> None:
    own_fetcher = fetcher is None
    drop_from_index: set[str] = set()
    flagged: set[str] = set()
    try:
        with Store(home) as store:
            for problem in report.problems:
                if problem.kind in ("missing_original", "damaged_original"):
                    if fetcher is None:
                        fetcher = Fetcher()
                    if not _refetch(store, problem, fetcher):
                        drop_from_index.add(problem.sha256)
            flagged = set(drop_from_index)
            for problem in report.problems:
                if problem.kind == "not_in_index" and problem.sha256 not in flagged:
                    store.set_status(problem.sha256, "pending")
                elif problem.kind == "not_in_catalogue":
                    drop_from_index.add(problem.sha256)
                    problem.repair, problem.fixed = "removed from the index", True
    finally:
        if own_fetcher and fetcher is not None:
            fetcher.close()
    generation = search_index.current_generation(home)
    if drop_from_index and generation is not None:
        writer = search_index.open_writer(generation.path)
        try:
            for sha in sorted(drop_from_index):
                search_index.delete_report(writer, sha)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
    summary = pipeline.index_locked(home)
    report.reindexed = summary.indexed
    live = _live_index(home) or set()
    for problem in report.problems:
        if problem.kind == "not_in_index" and problem.sha256 not in flagged:
            problem.fixed = problem.sha256 in live
            problem.repair = "indexed again" if problem.fixed else "indexing it again failed"


def _refetch(store: Store, problem: Problem, fetcher: Fetcher) -> bool:
    """Fetch a damaged or missing original again from its URLs; else flag it. True if fixed."""
    doc = store.document(problem.sha256)
    urls = list(dict.fromkeys([u for u in [doc.url] if u] + store.urls_of(doc.sha256)))
    reasons = []
    for url in urls:
        try:
            response = fetcher.get(url)
        except FetchError as exc:
            reasons.append(f"{url}: {exc}")
            continue
        got = sha256_of(response.content)
        same = got == doc.sha256
        # Other bytes are not stored here, so the record must not carry validators a crawl
        # would send (it would get a 304 and never fetch the new version): no sha256, no ETag.
        store.record_fetch(FetchRecord(
            url=url, outcome="unchanged" if same else "changed", fetched_at=utc_now(),
            source=doc.source, final_url=response.final_url, status=response.status,
            etag=response.etag if same else None,
            last_modified=response.last_modified if same else None,
            bytes=len(response.content), sha256=got if same else None,
            error=None if same else f"check --repair: not stored (sha256 {got})",
        ))  # fmt: skip
        if same:
            write_atomically(store.original_path(doc.sha256), response.content)
            problem.repair, problem.fixed = f"fetched again from {url}", True
            return True
        reasons.append(
            f"{url} now serves other bytes (sha256 {got}); `scrsearch update` fetches them"
        )
    why = "; ".join(reasons) if reasons else "it has no URL to fetch it from again"
    reason = (
        f"{problem.kind.replace('_', ' ')}: {problem.detail}; {why}. "
        "Put a good copy back with `scrsearch add FILE`, then `scrsearch index --retry-failed`"
    )
    store.set_status(doc.sha256, "failed", reason)
    problem.repair = "flagged failed: " + why
    return False
