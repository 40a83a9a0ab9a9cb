"""`update`: crawl, then index what changed, then run every saved watch, holding the lock once.

One update at a time per home: the whole run holds `lock.home_lock` (a second run gets
LockedError, exit 75; a lock left by a dead process is taken over and said so). Readers keep
searching the committed index throughout and see new documents when the index commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import crawl as crawling
from . import pipeline, watch
from .config import Home
from .errors import ScrsearchError
from .fetch import Fetcher
from .lock import home_lock


@dataclass
class UpdateSummary:
    """What one update did, stage by stage."""

    crawl: crawling.CrawlSummary = field(default_factory=crawling.CrawlSummary)
    index: pipeline.IndexSummary = field(default_factory=pipeline.IndexSummary)
    watches: list[watch.WatchRun] = field(default_factory=list)
    watch_failures: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    seconds: float = 0.0
    stale_lock_from: int | None = None

    @property
    def failed(self) -> int:
        """Items that failed in any stage (crawl documents, index documents, watches)."""
        stopped = self.index.stopped is not None
        return self.crawl.failed + len(self.index.failed) + len(self.watch_failures) + stopped

    def to_json(self) -> dict:
        return {
            "documents": self.crawl.counts(),
            "crawl_failures": [f.__dict__ for f in self.crawl.failures],
            "indexed": self.index.indexed,
            "passages": self.index.passages,
            "needs_ocr": [d.sha256 for d in self.index.needs_ocr],
            "index_failures": [{"sha256": d.sha256, "reason": r} for d, r in self.index.failed],
            "watches": [
                {"watch": w.watch, "new": len(w.new), "matching": w.matching} for w in self.watches
            ],
            "watch_failures": [{"watch": n, "reason": r} for n, r in self.watch_failures],
            "failed": self.failed,
            "seconds": round(self.seconds, 2),
            "stale_lock_from": self.stale_lock_from,
        }


def run_update(
    home: Home,
    sources: Sequence[str] = (),
    *,
    max_documents: int | None = None,
    fetcher: Fetcher | None = None,
    watch_to: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> UpdateSummary:
    """Crawl `sources` (every enabled one when none is named), index, run every watch.

    New reports of the watches are appended to `watch_to` (JSON Lines) when given.

    Raises LockedError when another run holds the home; failures of single documents or
    watches are recorded in the summary, never raised.
    """
    say = progress or (lambda line: None)
    started = time.monotonic()
    summary = UpdateSummary()
    with home_lock(home, "update") as lock:
        summary.stale_lock_from = lock["stale_from"]
        summary.crawl = crawling.crawl(
            home, list(sources), max_documents=max_documents, fetcher=fetcher, progress=say
        )
        say("indexing what changed")
        summary.index = pipeline.index_locked(home)
        for saved in watch.list_watches(home):
            try:
                summary.watches.append(watch.run_watch(home, saved.name, to=watch_to))
            except ScrsearchError as exc:  # one bad watch never stops the others
                summary.watch_failures.append((saved.name, str(exc)))
    summary.seconds = time.monotonic() - started
    return summary
