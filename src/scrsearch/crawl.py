"""Crawl orchestration: for each source, discover document links, fetch them politely, store
them and record every fetch in the catalogue.

`crawl()` is the library entry point; `scrsearch crawl` and `scrsearch update` call it. It
takes no lock: the caller that writes the home holds it. One bad page or document never stops
the run: it is recorded with its reason and counted as failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from .config import Home
from .errors import FetchError, RobotsDisallowed, UsageError
from .fetch import Fetcher, Response
from .sources import DocumentLink, Page, SourceConfig, adapter_for, load_sources
from .store import FetchRecord, Store, require_writable, sha256_of, utc_now

#: Listing pages and API answers are small; a bigger one is not a listing.
LISTING_MAX_BYTES = 20 * 1024 * 1024
_NOT_PDF_TYPES = re.compile(r"^(?:text/|application/(?:xhtml\+xml|json|xml))")


@dataclass(frozen=True)
class Failure:
    """One page or document that could not be had, and why."""

    source: str
    url: str
    outcome: str  # failed, not_pdf
    reason: str
    status: int | None = None


@dataclass
class CrawlSummary:
    """What a crawl did. `new_sha256s` lists every newly stored document, new or changed."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped_robots: int = 0
    failed: int = 0
    new_sha256s: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    planned: list[DocumentLink] = field(default_factory=list)  # --dry-run: would be fetched
    sources: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def add(self, other: CrawlSummary) -> None:
        """Fold one source's summary into this one."""
        for name in ("new", "changed", "unchanged", "skipped_robots", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.new_sha256s += other.new_sha256s
        self.failures += other.failures
        self.planned += other.planned
        self.sources += other.sources

    def counts(self) -> dict[str, int]:
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "skipped_robots": self.skipped_robots,
            "failed": self.failed,
        }

    def describe(self) -> str:
        """One line for people: "3 new, 1 changed, 10 unchanged, 1 skipped by robots, 0 failed"."""
        return (
            f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
            f"{self.skipped_robots} skipped by robots.txt, {self.failed} failed"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "sources": list(self.sources),
            "new_sha256s": list(self.new_sha256s),
            "failures": [f.__dict__ for f in self.failures],
            "planned": [{"source": p.source, "url": p.url, "title": p.text} for p in self.planned],
        }


def select_sources(
    sources: dict[str, SourceConfig], names: Sequence[str] | None
) -> list[SourceConfig]:
    """The named sources (every enabled one when `names` is None or empty)."""
    if not names:
        return [s for s in sources.values() if s.enabled]
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise UsageError(
            f"unknown source {unknown[0]!r}; known sources: {', '.join(sources)} "
            "(`scrsearch sources` lists them; add your own in <home>/sources.toml)"
        )
    return [sources[n] for n in dict.fromkeys(names)]


def crawl(
    home: Home,
    names: Sequence[str] | None = None,
    *,
    max_documents: int | None = None,
    dry_run: bool = False,
    fetcher: Fetcher | None = None,
    progress: Callable[[str], None] | None = None,
) -> CrawlSummary:
    """Crawl the named sources (all enabled ones by default) into the home's store.

    `max_documents` caps the documents fetched from each source. With `dry_run`, listing
    pages are read but no document is fetched and nothing is written: `planned` lists what
    would be fetched.
    """
    selected = select_sources(load_sources(home), names)
    report = progress or (lambda line: None)
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher()
    summary = CrawlSummary()
    if not dry_run:
        require_writable(home)
    store = None if dry_run else Store(home)
    try:
        for config in selected:
            report(f"{config.name}: crawling {config.title}")
            part = SourceCrawl(config, fetcher, store, max_documents=max_documents).run()
            summary.add(part)
            found = f"{len(part.planned)} to fetch, " if dry_run else ""
            report(f"{config.name}: {found}{part.describe()}")
    finally:
        if store is not None:
            store.close()
        if own_fetcher:
            fetcher.close()
    return summary


class SourceCrawl:
    """One source's crawl: listing pages through the adapter, then each document."""

    def __init__(
        self,
        config: SourceConfig,
        fetcher: Fetcher,
        store: Store | None,
        *,
        max_documents: int | None = None,
    ) -> None:
        self.config = config
        self.fetcher = fetcher
        self.store = store
        self.max_documents = max_documents
        self.summary = CrawlSummary(sources=[config.name])

    @property
    def dry_run(self) -> bool:
        return self.store is None

    def run(self) -> CrawlSummary:
        for taken, link in enumerate(adapter_for(self.config).links(self.get_page)):
            if self.max_documents is not None and taken >= self.max_documents:
                break
            if self.dry_run:
                self.plan(link)
            else:
                self.fetch_document(link)
        return self.summary

    # -- listing pages ------------------------------------------------------------------------

    def get_page(self, url: str) -> Page | None:
        """Fetch a listing page or API answer; None (recorded, counted) when it fails."""
        try:
            response = self.fetcher.get(
                url,
                allowed_hosts=self.config.allowed_hosts,
                delay=self.config.delay,
                max_bytes=LISTING_MAX_BYTES,
            )
        except RobotsDisallowed as exc:
            self.summary.skipped_robots += 1
            self.record(url, "skipped_robots", error=str(exc))
            return None
        except FetchError as exc:
            self.fail(url, "failed", str(exc), getattr(exc, "status", None), exc)
            return None
        self.record(url, "listing", response=response)
        if response.content[:5] == b"%PDF-":
            return None  # a `follow` pattern caught a document; it is not a listing
        return Page(url, response.final_url, response.text, response.content_type)

    # -- documents ----------------------------------------------------------------------------

    def plan(self, link: DocumentLink) -> None:
        if self.fetcher.allowed_by_robots(link.url):
            self.summary.planned.append(link)
        else:
            self.summary.skipped_robots += 1

    def fetch_document(self, link: DocumentLink) -> None:
        """Fetch one document (conditionally), check it is a PDF, store it, record it."""
        assert self.store is not None
        previous = self.store.last_fetch(link.url)
        try:
            response = self.fetcher.get(
                link.url,
                etag=previous.etag if previous else None,
                last_modified=previous.last_modified if previous else None,
                allowed_hosts=self.config.allowed_hosts,
                delay=self.config.delay,
            )
        except RobotsDisallowed as exc:
            self.summary.skipped_robots += 1
            self.record(link.url, "skipped_robots", error=str(exc))
            return
        except FetchError as exc:
            self.fail(link.url, "failed", str(exc), getattr(exc, "status", None), exc)
            return
        if response.not_modified:
            self.summary.unchanged += 1
            self.record(
                link.url,
                "not_modified",
                response=response,
                etag=response.etag or (previous.etag if previous else None),
                last_modified=response.last_modified
                or (previous.last_modified if previous else None),
                sha256=previous.sha256 if previous else None,
            )
            return
        problem = not_pdf_reason(response)
        if problem:
            self.fail(link.url, "not_pdf", problem, response.status, response=response)
            return
        self.store_document(link, response, previous)

    def store_document(
        self, link: DocumentLink, response: Response, previous: FetchRecord | None
    ) -> None:
        assert self.store is not None
        sha = sha256_of(response.content)
        result = self.store.add_bytes(
            response.content,
            original_name=original_name(response),
            source=self.config.name,
            url=link.url,
            fetched_at=utc_now(),
            meta=dict(link.meta) or None,
            meta_origin="source",
        )
        if result.is_new and link.hints:
            hints = dict(link.hints)
            self.store.set_metadata(sha, hints, {key: "link" for key in hints})
        if not result.is_new:
            outcome = "unchanged"
            self.summary.unchanged += 1
        elif previous is not None and previous.sha256 != sha:
            outcome = "changed"
            self.summary.changed += 1
            self.summary.new_sha256s.append(sha)
        else:
            outcome = "new"
            self.summary.new += 1
            self.summary.new_sha256s.append(sha)
        self.record(link.url, outcome, response=response, sha256=sha)

    # -- records ------------------------------------------------------------------------------

    def fail(
        self,
        url: str,
        outcome: str,
        reason: str,
        status: int | None,
        exc: Exception | None = None,
        response: Response | None = None,
    ) -> None:
        self.summary.failed += 1
        self.summary.failures.append(Failure(self.config.name, url, outcome, reason, status))
        final_url = getattr(exc, "final_url", None)
        self.record(url, outcome, response=response, status=status, final_url=final_url,
                    error=reason)  # fmt: skip

    def record(self, url: str, outcome: str, *, response: Response | None = None, **values) -> None:
        """Append a fetch to the catalogue (not in a dry run)."""
        if self.store is None:
            return
        fields: dict[str, Any] = {}
        if response is not None:
            fields = {
                "final_url": response.final_url,
                "status": response.status,
                "etag": response.etag,
                "last_modified": response.last_modified,
                "bytes": len(response.content),
            }
        fields.update({k: v for k, v in values.items() if v is not None})
        self.store.record_fetch(
            FetchRecord(
                url=url, outcome=outcome, fetched_at=utc_now(), source=self.config.name, **fields
            )  # fmt: skip
        )


def not_pdf_reason(response: Response) -> str | None:
    """Why a download is not a PDF (HTML error or login page, wrong bytes), or None."""
    kind = response.content_type
    if _NOT_PDF_TYPES.match(kind):
        return (
            f"{response.final_url} answered {kind} (HTTP {response.status}), not a PDF: "
            "probably an error or login page"
        )
    if b"%PDF-" not in response.content[:1024]:
        return (
            f"{response.final_url} does not start with %PDF- (Content-Type "
            f"{kind or 'missing'}); not stored"
        )
    return None


def original_name(response: Response) -> str:
    """The file name the server gave (Content-Disposition) or the URL's last segment."""
    disposition = response.header("Content-Disposition") or ""
    match = re.search(r"filename\*=(?:UTF-8'')?([^;]+)|filename=\"?([^\";]+)\"?", disposition, re.I)
    if match:
        name = unquote((match.group(1) or match.group(2)).strip())
    else:
        name = unquote(PurePosixPath(urlsplit(response.final_url).path).name)
    name = name.replace("/", "_").strip() or "document"
    return name if name.lower().endswith(".pdf") else name + ".pdf"
