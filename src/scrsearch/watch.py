"""Saved searches that report the reports newly matching since they last ran.

A watch is a query and filters with a name. Running it computes the reports that match now
(`search.matching_reports`, the same code as `search`) and reports those it has not reported
before: newness is by review (a copy or a new version of a review already reported is not
new; reviews.py), never by score. Its tables live in the catalogue's
SQLite file and are created here.

First run: `add` records every report matching at that moment as already seen, so a watch
reports only what arrives after it was made. `add --include-existing` records nothing, so the
first run reports everything that matches, once.

Two runs at once never report the same report twice: a report is "new" for the run whose
INSERT into `watch_seen` succeeds, inside one write transaction that also appends to the
`--to` file; if the append fails, nothing is marked seen.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import reviews
from .config import Home
from .errors import IndexError_, QueryError, UsageError
from .search import Filters, SearchRequest, matching_reports, report_json, search
from .store import Store, require_writable, utc_now, write_atomically

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    name TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    last_run_at TEXT
);
CREATE TABLE IF NOT EXISTS watch_seen (
    name TEXT NOT NULL REFERENCES watches(name) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (name, sha256)
);
"""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Watch:
    """A saved query and filters, and when it last ran."""

    name: str
    query: str
    filters: Filters
    created_at: str
    last_run_at: str | None = None
    seen: int = 0
    problem: str | None = None  # why it cannot run (its stored filters are unreadable)

    def request(self) -> SearchRequest:
        return SearchRequest(query=self.query, filters=self.filters)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "query": self.query,
            "filters": self.filters.to_json(),
            "created_at": self.created_at,
            "last_run_at": self.last_run_at,
            "seen": self.seen,
            **({"problem": self.problem} if self.problem else {}),
        }


@dataclass(frozen=True)
class WatchRun:
    """The reports a watch found new in one run."""

    watch: str
    new: list[dict]  # report objects as in search results
    matching: int
    error: str | None = None  # why this watch could not run (the others still ran)

    def to_json(self) -> dict:
        return {"watch": self.watch, "new": self.new, **({"error": self.error} if self.error
                                                          else {})}  # fmt: skip


def filters_from_json(data: dict) -> Filters:
    """Filters as stored by `Filters.to_json` (year ranges come back as tuples)."""
    values = {k: tuple(v) for k, v in data.items()}
    if "years" in values:
        values["years"] = tuple(tuple(pair) for pair in values["years"])
    return Filters(**values)


class WatchStore:
    """The watches of one home, on the catalogue's SQLite file."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db
        if not store.read_only:
            self.db.executescript(_SCHEMA)

    def _watch(self, row) -> Watch:
        seen = self.db.execute(
            "SELECT COUNT(*) FROM watch_seen WHERE name=?", (row["name"],)
        ).fetchone()[0]
        try:
            filters, problem = filters_from_json(json.loads(row["filters"])), None
        except (ValueError, TypeError, AttributeError) as exc:
            filters = Filters()
            problem = (
                f"its stored filters {row['filters']!r} cannot be read ({exc}); "
                f"`scrsearch watch remove {row['name']}` and add it again"
            )
        return Watch(
            row["name"], row["query"], filters,
            row["created_at"], row["last_run_at"], seen, problem,
        )  # fmt: skip

    def get(self, name: str) -> Watch:
        """The watch called `name`; a usage error naming the known ones if there is none."""
        row = self.db.execute("SELECT * FROM watches WHERE name=?", (name,)).fetchone()
        if row is None:
            known = ", ".join(w.name for w in self.all()) or "none yet"
            raise UsageError(
                f"there is no watch {name!r} (watches: {known}); `scrsearch watch add` makes one"
            )
        return self._watch(row)

    def all(self) -> list[Watch]:
        """Every watch, by name."""
        return [self._watch(r) for r in self.db.execute("SELECT * FROM watches ORDER BY name")]

    def add(self, name: str, request: SearchRequest, seen: Sequence[str]) -> Watch:
        """Save a watch with the reports to count as already seen."""
        if not _NAME.match(name):
            raise UsageError(
                f"watch name {name!r} is not valid: use letters, digits, '.', '_' or '-' "
                "(at most 64, starting with a letter or digit)"
            )
        now = utc_now()
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM watches WHERE name=?", (name,)).fetchone():
                raise UsageError(
                    f"a watch called {name!r} exists; `scrsearch watch remove {name}` first, "
                    "or choose another name"
                )
            db.execute(
                "INSERT INTO watches(name, query, filters, created_at) VALUES (?, ?, ?, ?)",
                (name, request.query, json.dumps(request.filters.to_json()), now),
            )
            db.executemany(
                "INSERT INTO watch_seen(name, sha256, first_seen) VALUES (?, ?, ?)",
                [(name, sha, now) for sha in seen],
            )
            save_watches(self.store)
        return self.get(name)

    def remove(self, name: str) -> None:
        """Delete a watch and what it has seen."""
        self.get(name)
        with self.store.transaction() as db:
            db.execute("DELETE FROM watch_seen WHERE name=?", (name,))
            db.execute("DELETE FROM watches WHERE name=?", (name,))
            save_watches(self.store)


def watches_path(home: Home) -> Path:
    """corpus/watches.json: every watch and what it has seen, so a lost catalogue keeps them."""
    return home.corpus_dir / "watches.json"


def save_watches(store: Store) -> None:
    """Write every watch and its seen reports beside the originals (atomically)."""
    watches = []
    for row in store.db.execute("SELECT * FROM watches ORDER BY name"):
        seen = store.db.execute(
            "SELECT sha256, first_seen FROM watch_seen WHERE name=? ORDER BY sha256",
            (row["name"],),
        )
        watches.append({**dict(row), "seen": [list(r) for r in seen]})
    data = json.dumps({"watches": watches}, ensure_ascii=False, indent=1).encode()
    write_atomically(watches_path(store.home), data)


def restore_watches(store: Store) -> int:
    """Put back watches that corpus/watches.json has and the catalogue lacks; how many."""
    try:
        saved = json.loads(watches_path(store.home).read_bytes())["watches"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    WatchStore(store)  # creates the watch tables in a new catalogue
    restored = 0
    with store.transaction() as db:
        for entry in saved:
            if db.execute("SELECT 1 FROM watches WHERE name=?", (entry["name"],)).fetchone():
                continue
            db.execute(
                "INSERT INTO watches(name, query, filters, created_at, last_run_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (entry["name"], entry["query"], entry["filters"], entry["created_at"],
                 entry.get("last_run_at")),
            )  # fmt: skip
            db.executemany(
                "INSERT OR IGNORE INTO watch_seen(name, sha256, first_seen) VALUES (?, ?, ?)",
                [(entry["name"], sha, first) for sha, first in entry.get("seen", ())],
            )
            restored += 1
    return restored


def _current_matches(home: Home, request: SearchRequest) -> dict[str, int]:
    """The reports matching now, one per review (reviews.Groups.fold)."""
    try:
        return reviews.groups_of(home).fold(matching_reports(home, request))
    except IndexError_:
        if (home.index_dir / "CURRENT").exists():
            raise  # a broken index is news; no index yet just means nothing matches yet
        return {}


def add_watch(
    home: Home, name: str, request: SearchRequest, *, include_existing: bool = False
) -> Watch:
    """Save a watch; what matches now counts as seen unless `include_existing`."""
    from .syntax import check

    check(request.query)  # a bad query fails now, not later
    require_writable(home)
    seen = [] if include_existing else sorted(_current_matches(home, request))
    with Store(home) as store:
        return WatchStore(store).add(name, request, seen)


def list_watches(home: Home) -> list[Watch]:
    """Every watch of the home."""
    with Store(home) as store:
        return WatchStore(store).all()


def remove_watch(home: Home, name: str) -> None:
    """Delete a watch."""
    require_writable(home)
    with Store(home) as store:
        WatchStore(store).remove(name)


def _report_objects(home: Home, watch: Watch, shas: Sequence[str], matching: int) -> list[dict]:
    """The new reports as search results show them (score, best passages), best first."""
    if not shas:
        return []
    groups = reviews.groups_of(home)
    wanted = {groups.review_of(sha): sha for sha in shas}
    request = SearchRequest(query=watch.query, filters=watch.filters, limit=matching, facets=False)
    found = [r for r in search(home, request)["results"] if r.get("review_id") in wanted]
    missing = set(wanted) - {r.get("review_id") for r in found}
    if missing:  # ranked out of view (should not happen) or removed meanwhile: still report
        with Store(home) as store:
            for review in sorted(missing):
                doc = store.document(wanted[review])
                if doc is not None:
                    entry = report_json(doc, store.report_tags(doc.sha256))
                    found.append({**entry, "review_id": review})
    return found


def _append_jsonl(path: Path, records: Sequence[dict]) -> None:
    if not records:
        return
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"--to {path}: cannot open it for appending: {exc.strerror}") from exc
    try:
        os.write(fd, data)  # one write with O_APPEND: lines of two runs never interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def run_watch(home: Home, name: str, *, to: Path | None = None) -> WatchRun:
    """Report the reports that newly match watch `name`, mark them seen, append them to `to`."""
    with Store(home) as store:
        watch = WatchStore(store).get(name)
    if watch.problem:
        raise UsageError(f"watch {name}: {watch.problem}")
    try:
        matches = _current_matches(home, watch.request())
    except QueryError as exc:
        raise QueryError(
            f"watch {name}: {exc}; `scrsearch watch remove {name}` and add it again"
        ) from exc
    with Store(home) as store:
        seen = {
            r[0] for r in store.db.execute("SELECT sha256 FROM watch_seen WHERE name=?", (name,))
        }
        # Newness is by review: a copy or new version of a review already reported is not new.
        groups = reviews.groups_of(home)
        seen_reviews = {groups.review_of(sha) for sha in seen}
        candidates = [
            sha for sha in matches if sha not in seen and groups.review_of(sha) not in seen_reviews
        ]
        reports = _report_objects(home, watch, candidates, len(matches))
        now = utc_now()
        with store.transaction() as db:
            claimed = []
            for report in reports:
                inserted = db.execute(
                    "INSERT OR IGNORE INTO watch_seen(name, sha256, first_seen) VALUES (?, ?, ?)",
                    (name, report["sha256"], now),
                ).rowcount
                if inserted:  # another run may have claimed it since we looked
                    claimed.append(report)
            db.execute("UPDATE watches SET last_run_at=? WHERE name=?", (now, name))
            save_watches(store)
            if to is not None:
                _append_jsonl(to, [{"watch": name, "found_at": now, **r} for r in claimed])
    return WatchRun(name, claimed, len(matches))


def run_watches(home: Home, names: Sequence[str] = (), *, to: Path | None = None) -> list[WatchRun]:
    """Run the named watches (every watch when none is named)."""
    require_writable(home)
    chosen = list(names) or [w.name for w in list_watches(home)]
    runs = []
    for name in chosen:
        try:
            runs.append(run_watch(home, name, to=to))
        except (UsageError, IndexError_) as exc:  # one bad watch never stops the others
            if len(chosen) == 1 and names:
                raise
            runs.append(WatchRun(name, [], 0, error=str(exc)))
    return runs
