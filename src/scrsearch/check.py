"""`check`: are the originals, the catalogue, the text cache and the index consistent?
`--repair` fixes what it finds, then checks again and reports what is left.

Checks, each problem naming the document by its sha256 (or the file, for the index):

    missing_catalogue      corpus/catalogue.sqlite is gone, though originals are there
    missing_original       the catalogue lists a document whose original file is gone
    damaged_original       the original's bytes no longer hash to its sha256
    uncatalogued_original  an original that no catalogue row points to
    damaged_text           an indexed report's cached text is missing, unreadable or not its own
    damaged_index          a file of the current index generation is missing, resized, holds
                           other bytes than its manifest records, or cannot be read
    stale_generation       a generation folder that is not current (left by a killed rebuild)
    not_in_index           the catalogue says indexed, but the index has no live passage of it
    not_in_catalogue       the index has passages of a report the catalogue does not know

The index is verified against its manifest's checksums, then every stored field and posting
list is read once. The index side counts live documents (what search sees), not the sha256
lexicon, which keeps deleted reports until a merge.

Repair holds the home's lock: a lost catalogue is rebuilt from the originals and the JSON
sidecars beside them (watches from corpus/watches.json); an original is fetched again from its
URL (kept only if the bytes hash right) or else flagged (status failed, with the reason, and
removed from the index); an uncatalogued original gets its row again from its sidecar; damaged
cached text is extracted again; a damaged index is rebuilt from the cached text; stale
generations are removed; reports missing from the index are indexed again; reports unknown to
the catalogue are removed from the index. Then everything is checked again: a problem is
`fixed` only when that second check no longer finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import pipeline
from .config import Home
from .engine import open_engine
from .errors import FetchError
from .fetch import Fetcher
from .lock import home_lock
from .models import Document
from .store import (
    FetchRecord,
    Store,
    has_corpus,
    sha256_of,
    sha256_of_file,
    utc_now,
    write_atomically,
)

PROBLEM_KINDS = (
    "missing_catalogue", "missing_original", "damaged_original", "uncatalogued_original",
    "damaged_text", "damaged_index", "stale_generation", "not_in_index", "not_in_catalogue",
)  # fmt: skip


NO_MANIFEST = "missing (the index was made before manifests); every file reads well"


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
    passages_read: int = 0
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
            "passages_read": self.passages_read,
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


def _text_problem(store: Store, doc: Document) -> Problem | None:
    """An indexed report must have its cached text, readable, with its own page count."""
    if doc.status != "indexed":
        return None
    path = store.text_path(doc.sha256)
    text = store.cached_text(doc.sha256)
    if not path.is_file():
        why = "is missing"
    elif text is None:
        why = "cannot be read (damaged or from another version)"
    elif not store.cached_text_is_of(doc.sha256) or (
        doc.pages is not None and len(text.pages) != doc.pages
    ):
        why = f"does not match the report ({len(text.pages)} pages, the catalogue has {doc.pages})"
    else:
        return None
    return Problem("damaged_text", doc.sha256, f"{doc.original_name}: cached text {path} {why}")


def _index_problems(home: Home, report: CheckReport) -> tuple[list[Problem], set[str] | None]:
    """Damage and stale generations; and the live reports (None when unreadable or absent)."""
    health = open_engine(home).inspect()
    problems = [
        Problem("stale_generation", folder.name, f"{folder} is not the current generation")
        for folder in health.stale
    ]
    report.passages_read = health.passages_read
    if health.damage is not None:
        problems.append(Problem("damaged_index", health.damage.file, health.damage.reason))
        return problems, None
    if health.unlisted:
        problems.append(Problem("damaged_index", health.unlisted, NO_MANIFEST))
    return problems, health.live


def find_problems(
    home: Home, progress: Callable[[int, int, str], None] | None = None
) -> CheckReport:
    """Hash every original, read the text cache and the whole index, compare; change nothing."""
    report = CheckReport()
    docs: list[Document] = []
    if not home.catalogue_path.exists() and has_corpus(home):
        report.problems.append(Problem(
            "missing_catalogue", "", f"{home.catalogue_path} is missing; the originals in "
            f"{home.originals_dir} and their sidecars can rebuild it",
        ))  # fmt: skip
    else:
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
                problem = _text_problem(store, doc)
                if problem:
                    report.problems.append(problem)
            for sha in store.uncatalogued_originals():
                report.problems.append(Problem(
                    "uncatalogued_original", sha,
                    f"{store.original_path(sha)} has no catalogue row",
                ))  # fmt: skip
    index_problems, live = _index_problems(home, report)
    report.problems += index_problems
    report.indexed_reports = len(live or ())
    if live is None and any(p.kind == "damaged_index" for p in index_problems):
        return report  # what the index holds cannot be known until it is rebuilt
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
    if report.problems and report.problems[0].kind == "missing_catalogue":
        return report
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
    """Find problems; with `repair`, fix what can be fixed (holding the home's lock), then
    check again: what the second check still finds is reported as not fixed."""
    if not repair:
        return find_problems(home, progress)
    with home_lock(home, "check --repair") as lock:
        report = find_problems(home, progress)
        report.stale_lock_from = lock["stale_from"]
        report.repaired = True
        if report.problems:
            _repair(home, report, fetcher)
            _verify_again(home, report)
    return report


def _verify_again(home: Home, report: CheckReport) -> None:
    """Mark as fixed exactly the problems a fresh check no longer finds; add new ones."""
    after = find_problems(home)
    left = {(p.kind, p.sha256): p for p in after.problems}
    for problem in report.problems:
        still = left.pop((problem.kind, problem.sha256), None)
        problem.fixed = still is None
        if problem.repair is None:
            problem.repair = "repaired" if problem.fixed else "not repaired"
    for problem in left.values():
        problem.repair = "found after the repair; not repaired"
        report.problems.append(problem)
    report.documents = after.documents
    report.originals_hashed = after.originals_hashed
    report.indexed_reports = after.indexed_reports
    report.passages_read = after.passages_read


def _repair(home: Home, report: CheckReport, fetcher: Fetcher | None) -> None:
    own_fetcher = fetcher is None
    drop_from_index: set[str] = set()
    kinds = {p.kind for p in report.problems}
    try:
        with Store(home, missing_ok=True) as store:
            _recatalogue(store, report)
            for problem in report.problems:
                if problem.kind in ("missing_original", "damaged_original"):
                    if fetcher is None:
                        fetcher = Fetcher()
                    if not _refetch(store, problem, fetcher):
                        drop_from_index.add(problem.sha256)
            for problem in report.problems:
                if problem.kind == "damaged_text" and problem.sha256 not in drop_from_index:
                    store.text_path(problem.sha256).unlink(missing_ok=True)
                    store.set_status(problem.sha256, "pending")
                    problem.repair = "extracted again"
                elif problem.kind == "not_in_index" and problem.sha256 not in drop_from_index:
                    store.set_status(problem.sha256, "pending")
                    problem.repair = "indexed again"
                elif problem.kind == "not_in_catalogue":
                    if store.document(problem.sha256) is not None:
                        problem.repair = "catalogued again from its original"
                    else:
                        drop_from_index.add(problem.sha256)
                        problem.repair = "removed from the index"
    finally:
        if own_fetcher and fetcher is not None:
            fetcher.close()
    engine = open_engine(home)
    if "stale_generation" in kinds:
        engine.remove_stale()
    damaged = [p for p in report.problems if p.kind == "damaged_index"]
    rebuild = any(p.detail != NO_MANIFEST for p in damaged)
    for problem in damaged:
        if rebuild:
            problem.repair = "index rebuilt from the cached text"
        else:
            engine.write_manifest()
            problem.repair = "manifest written"
    if drop_from_index and engine.has_index() and not rebuild:
        with engine.batch() as batch:
            for sha in sorted(drop_from_index):
                batch.drop_report(sha)
    summary = pipeline.index_locked(home, rebuild=rebuild)
    report.reindexed = summary.indexed


def _recatalogue(store: Store, report: CheckReport) -> None:
    """Give every original without a row its row again, from its sidecar; and the watches."""
    from . import watch as watching

    orphans = store.uncatalogued_originals()
    for sha in orphans:
        store.catalogue_original(sha)
    restored = watching.restore_watches(store)
    for problem in report.problems:
        if problem.kind == "uncatalogued_original":
            problem.repair = "catalogued again from its sidecar"
        elif problem.kind == "missing_catalogue":
            problem.repair = f"rebuilt from {len(orphans)} original(s) and their sidecars" + (
                f", and {restored} watch(es)" if restored else ""
            )


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
