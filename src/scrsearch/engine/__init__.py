"""The one search-engine interface: what scrsearch asks of an index, and nothing else.

Everything above this line (query reading, filters, facets, highlighting, results, export,
stats, watch) is engine-free and talks to an `Engine`; everything below it is one
implementation (`engine/whoosh/`, the only code that imports Whoosh). A second engine has to
implement `Engine` and `WriteBatch` and pass tests/test_engine_contract.py.

The contract, in the words an engine must keep:

- **Reports and passages.** The index holds passages (page text split by passages.py), each
  belonging to one report (its sha256). A passage has an engine-chosen id (`int`), unique in
  one open state of the index, and stored fields `text`, `page`, `ordinal`, `tags`.
- **Generations.** Readers always open a complete index. A write batch on the live index
  makes its reports visible on a clean exit; on an exception nothing of it is kept. A new
  generation (a rebuild) is invisible until `make_live`. `needs_rebuild()` says when the
  live index is missing or was built by another schema.
- **Queries.** `parse` turns a person's strict query (query syntax of syntax.py) into the
  engine's own query, report fields (`theme:neglect`) bound to the reports the catalogue
  names; `None` means no words. Best-match queries arrive already read (query.BestMatch).
- **Answers.** Counting and ranking take the set of reports the filters allow and never
  return others. Ranking is deterministic: equal scores order by report id, so pages agree.
- **Freshness.** Answers read the index as of the last `refresh()`, which each operation
  (a search, an export, a count) calls first; a long-lived process sees every commit.
- **Caches.** An engine may cache per open index; `close()` drops them, and
  `forget_engines()` closes every engine this process opened.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import Home
    from ..errors import IndexDamaged
    from ..highlight import Highlighter
    from ..models import Document, Passage
    from ..query import BestMatch
    from ..report_catalogue import ReportCatalogue

#: Passages an engine gives under each ranked report.
PASSAGES_PER_REPORT = 3

#: A page of ranked reports: (report sha256, score, [(passage id, score)] best first).
Ranked = list[tuple[str, float, list[tuple[int, float]]]]


class WriteBatch(Protocol):
    """Reports written together: kept on a clean exit of the `with` block, dropped on an
    exception (a failed batch leaves the index as it was)."""

    def put_report(
        self, doc: Document, passages: Sequence[Passage], passage_tags: Sequence[Sequence[str]]
    ) -> None:
        """Replace a report's passages (idempotent: its old passages go first)."""

    def drop_report(self, sha256: str) -> None:
        """Remove a report's passages."""

    def __enter__(self) -> WriteBatch: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class IndexHealth(Protocol):
    """What `check` learns of the live index (see Engine.inspect)."""

    stale: list[Path]  # generations other than the live one
    damage: IndexDamaged | None  # the first damaged file, if any
    unlisted: str | None  # built before manifests: the record of its files that is missing
    passages_read: int  # passages read while checking
    live: set[str] | None  # reports with live passages (None when unreadable or absent)


class Engine(Protocol):
    """A search index for one home (see the module docstring for the contract)."""

    # -- generations and writing --------------------------------------------------------------
    def needs_rebuild(self) -> bool:
        """True when there is no usable live index (none yet, or another schema)."""

    def has_index(self) -> bool:
        """Whether a live index exists (even an outdated one)."""

    def generation(self) -> tuple[str, int] | None:
        """(name, schema version) of the live index, or None."""

    def new_generation(self, *, live: bool = False) -> Path:
        """An empty index beside the live one (live at once with `live`, for a first build)."""

    def live_path(self) -> Path:
        """Where the live index is."""

    def make_live(self, path: Path) -> None:
        """Switch readers to the index in `path` and remove the older ones."""

    def remove_stale(self) -> None:
        """Remove generations other than the live one (left by rebuilds or kills)."""

    def batch(self, path: Path | None = None) -> WriteBatch:
        """A write batch on the index in `path` (default: the live one)."""

    def live_reports(self) -> set[str]:
        """The sha256 of every report with live passages."""

    def inspect(self) -> IndexHealth:
        """Stale generations, damage (every file hashed), and every stored field read."""

    def damage_explaining(self, exc: BaseException) -> IndexDamaged | None:
        """The damaged file that explains an error met while reading, if it is damage."""

    def write_manifest(self) -> None:
        """Record the live index's files again (after `inspect` found none)."""

    # -- reading -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Open the live index, or reopen it if a commit happened since: every answer until
        the next refresh reads the index as it is now (an operation calls it once, first)."""

    def tokens(self, text: str) -> Iterator[tuple[str, int, int]]:
        """`text` as the index reads it: (index term, start char, end char)."""

    def terms(self, text: str) -> list[str]:
        """The index terms of `text`."""

    def parse(self, text: str, catalogue: ReportCatalogue, fields: Sequence[str] = ...):
        """A strict query in the engine's form (None when it has no words)."""

    def highlighter(self, query) -> Highlighter:
        """Marks the words and phrases a parsed query looks for."""

    def count_reports(self, query, allowed: set[str] | None) -> Counter:
        """Matching passages per report, within `allowed` (None: every report)."""

    def rank_reports(
        self, query, allowed: set[str], *, filtered: bool, offset: int, limit: int, pager=None
    ) -> tuple[Counter, Ranked]:
        """Matching passages per allowed report, and the page of reports best first
        (`pager` picks the page from the whole order, else offset and limit)."""

    def rank_best(self, best: BestMatch, allowed: set[str] | None, catalogue: ReportCatalogue):
        """A best-match ranking (engine/whoosh/bestrank.py: BestRanking)."""

    def stored(self, passage: int) -> dict:
        """A passage's stored fields."""

    def report_passages(self, sha256: str) -> list[int]:
        """Every live passage of a report."""

    def matching_passages(self, sha256: str, query) -> dict[int, float]:
        """A report's passages that match a query, with their scores."""

    def first_tagged_passages(self, shas: Sequence[str], tag_ids: set[str]) -> dict:
        """Each report's first passages (page order) tagged with any of `tag_ids`."""

    def suggest(self, words: Sequence[str]) -> dict[str, list[str]]:
        """Words of the index close to each of `words`, as written in the text."""

    def close(self) -> None:
        """Close the open index and drop every cache."""


_ENGINES: dict[Path, Engine] = {}


def open_engine(home: Home) -> Engine:
    """The engine of a home, kept for the life of the process (opening an index costs more
    than a typical query; the engine reopens it when a commit has happened since)."""
    engine = _ENGINES.get(home.root)
    if engine is None:
        from .whoosh import WhooshEngine

        engine = _ENGINES[home.root] = WhooshEngine(home)
    return engine


def forget_engines() -> None:
    """Close every engine this process opened, with their caches (tests; a long process
    that changes homes)."""
    for engine in _ENGINES.values():
        engine.close()
    _ENGINES.clear()
    if "scrsearch.engine.whoosh" in sys.modules:  # nothing to forget if never loaded
        from .whoosh import forget_segments

        forget_segments()


def text_tokens() -> Callable[[str], Iterator[tuple[str, int, int]]]:
    """The index's tokenizer, with no home needed (report pages, the web page)."""
    from .whoosh import text_tokens as whoosh_tokens

    return whoosh_tokens


def text_terms() -> Callable[[str], list[str]]:
    """The index's terms of a text, with no home needed."""
    from .whoosh import text_terms as whoosh_terms

    return whoosh_terms


def strict_highlighter(text: str) -> Highlighter:
    """Marks the words and phrases of a strict query (no home needed: report fields, which
    mark nothing, are not bound)."""
    from .whoosh import highlighter_of, query_schema
    from .whoosh.translate import parse_query

    return highlighter_of(parse_query(text, query_schema()))
