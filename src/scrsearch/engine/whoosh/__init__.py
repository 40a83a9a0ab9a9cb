"""The Whoosh engine: scrsearch's `Engine` (engine/__init__.py) over Whoosh 2.7.

Modules, one job each: generations.py (schema, generations, `CURRENT`), writing.py (writer,
merge policy, reports in and out), codec.py (the posting format), manifest.py (each
generation's files and checksums), translate.py (our query syntax in Whoosh's form),
patches.py (our query and matcher subclasses), reports.py (each segment's docnum -> report
column; report fields bound to reports), fastpaths.py (matching sets and bulk scoring read
from posting blocks), strict.py (ranking strict queries), bestrank.py (ranking best-match
queries), suggest.py (spelling suggestions).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import TracebackType

from whoosh import query as wq

from ...config import Home
from ...errors import IndexDamaged, IndexError_
from ...highlight import Highlighter
from ...models import Document, Passage
from . import bestrank, fastpaths, generations, manifest, reports, strict, suggest, writing
from .generations import text_terms, text_tokens
from .patches import scoped
from .translate import parse_query


@lru_cache(maxsize=1)
def query_schema():
    """The schema queries are parsed with (the index's fields and the report fields)."""
    return generations.query_schema()


def highlighter_of(query) -> Highlighter:
    """Marks the words, patterns and phrases a parsed query looks for in passage text."""
    words, patterns, phrases = [], [], []
    for leaf in strict.positive_parts(query) if query is not None else ():
        if leaf.field() not in ("text", "title"):
            continue
        if isinstance(leaf, wq.Phrase):
            phrases.append(list(leaf.words))
        elif isinstance(leaf, wq.PatternQuery):
            patterns.append(leaf.text)
        elif isinstance(leaf, wq.Term):
            words.append(leaf.text if isinstance(leaf.text, str) else leaf.text.decode())
    return Highlighter(text_tokens, words, patterns, phrases)


def forget_segments() -> None:
    """Drop the per-segment tables kept for the life of the process."""
    reports.SEGMENT_REPORTS.clear()
    reports.SEGMENT_RUNS.clear()
    fastpaths.forget_lengths()
    bestrank.forget_numbers()


class WhooshBatch:
    """A write batch (engine.WriteBatch) on one generation: a Whoosh writer committed on a
    clean exit, cancelled on an exception."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer = None

    def __enter__(self) -> WhooshBatch:
        self.writer = writing.open_writer(self.path)
        return self

    def put_report(
        self, doc: Document, passages: Sequence[Passage], passage_tags: Sequence[Sequence[str]]
    ) -> None:
        writing.write_report(self.writer, doc, passages, passage_tags)

    def drop_report(self, sha256: str) -> None:
        writing.delete_report(self.writer, sha256)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        writer, self.writer = self.writer, None
        if exc_type is None:
            try:
                writer.commit()
            except BaseException:
                writing.cancel_quietly(writer)
                raise
        else:
            # The disk may still be full: a cancel that fails in turn leaves only files no
            # table of contents names, which the next commit removes; the error that stopped
            # the batch is the one raised.
            writing.cancel_quietly(writer)


@dataclass
class Health:
    """What `check` learns of the live index (engine.IndexHealth)."""

    stale: list[Path] = field(default_factory=list)
    damage: IndexDamaged | None = None
    unlisted: str | None = None
    passages_read: int = 0
    live: set[str] | None = None


class WhooshEngine:
    """scrsearch's engine over a Whoosh index in a home's `index/` folder."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._generation: Path | None = None
        self._ix = None
        self._searcher = None

    # -- generations and writing ----------------------------------------------------------------

    def needs_rebuild(self) -> bool:
        return generations.needs_rebuild(self.home)

    def has_index(self) -> bool:
        return generations.current_generation_or_none(self.home) is not None

    def generation(self) -> tuple[str, int] | None:
        current = generations.current_generation(self.home)
        return None if current is None else (current.name, current.schema_version)

    def new_generation(self, *, live: bool = False) -> Path:
        path = generations.new_generation(self.home)
        if live:
            generations.make_current(self.home, path)
        return path

    def live_path(self) -> Path:
        current = generations.current_generation(self.home)
        if current is None:
            raise IndexError_(f"there is no index in {self.home.root} yet: run `scrsearch index`")
        return current.path

    def make_live(self, path: Path) -> None:
        generations.make_current(self.home, path)

    def remove_stale(self) -> None:
        generations.remove_stale_generations(self.home)

    def batch(self, path: Path | None = None) -> WhooshBatch:
        return WhooshBatch(path if path is not None else self.live_path())

    def live_reports(self) -> set[str]:
        return writing.indexed_sha256s(self.home)

    def inspect(self) -> Health:
        health = Health(stale=generations.stale_generations(self.home))
        current = generations.current_generation_or_none(self.home)
        if current is None:
            health.damage = generations.find_damage(self.home)  # an unreadable CURRENT
            return health
        # An index made before manifests has none: read it all, and let repair write one.
        if manifest.read_manifest(current.path) is None:
            health.unlisted = f"index/{current.name}{manifest.SUFFIX}"
        else:
            health.damage = generations.find_damage(self.home)
            if health.damage is not None:
                return health
        try:
            ix = generations.open_for_reading(self.home)
            health.passages_read = manifest.read_everything(ix)
            health.live = writing.indexed_sha256s(self.home)
        except Exception as exc:  # whatever Whoosh raises on a damaged file
            health.damage = generations.damage_of(current.path, exc)
            health.live = health.unlisted = None
        return health

    def damage_explaining(self, exc: BaseException) -> IndexDamaged | None:
        if isinstance(exc, IndexDamaged):
            return exc
        current = generations.current_generation_or_none(self.home)
        if current is None:
            return None
        if isinstance(exc, OSError):
            if not (isinstance(exc, FileNotFoundError) and exc.filename):
                return None  # a full disk or a permission is not damage
            try:
                Path(exc.filename).resolve().relative_to(current.path.resolve())
            except ValueError:
                return None
            return generations.damage_of(current.path, exc)
        return generations.find_damage(self.home)

    def write_manifest(self) -> None:
        manifest.write_manifest(self.live_path())

    # -- reading --------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.searcher()

    def _open(self):
        """The searcher opened by the last `refresh()`: an operation checks that the index is
        current once, at its start, not at each passage it reads (a stat and a read of
        `CURRENT` each time made exports four times slower)."""
        return self._searcher if self._searcher is not None else self.searcher()

    def searcher(self):
        """An open searcher on the live index, reopened when anything was committed since."""
        current = generations.current_generation(self.home)
        if current is None or self._generation != current.path or self._ix is None:
            self._close_searcher()
            self._ix = generations.open_for_reading(self.home)
            self._searcher = self._ix.searcher()
            self._generation = current.path if current else None
            fastpaths.lengths_in_memory(self._searcher)
        elif not self._searcher.up_to_date():
            # Not Searcher.refresh(): it reuses segment readers and misses new deletions.
            self._searcher.close()
            self._searcher = self._ix.searcher()
            fastpaths.lengths_in_memory(self._searcher)
        return self._searcher

    def tokens(self, text: str) -> Iterator[tuple[str, int, int]]:
        return text_tokens(text)

    def terms(self, text: str) -> list[str]:
        return text_terms(text)

    def parse(self, text: str, catalogue, fields: Sequence[str] = ("text", "title")):
        parsed = parse_query(text, query_schema(), fields)
        return scoped(reports.bind_report_fields(parsed, catalogue, query_schema()))

    def highlighter(self, query) -> Highlighter:
        return highlighter_of(query)

    def count_reports(self, query, allowed: set[str] | None) -> Counter:
        return strict.count_reports(self._open(), query, allowed)

    def rank_reports(self, query, allowed, *, filtered, offset, limit, pager=None):
        return strict.rank_reports(
            self._open(), query, allowed, filtered=filtered, offset=offset, limit=limit,
            pager=pager,
        )  # fmt: skip

    def rank_best(self, best, allowed, catalogue) -> bestrank.BestRanking:
        return bestrank.rank_best(
            self._open(), best, allowed, catalogue,
            lambda sha: catalogue.title_terms(sha, text_terms),
        )  # fmt: skip

    def stored(self, passage: int) -> dict:
        return self._open().stored_fields(passage)

    def report_passages(self, sha256: str) -> list[int]:
        found = self._open().search(wq.Term("sha256", sha256), limit=None, scored=False)
        return [hit.docnum for hit in found]

    def matching_passages(self, sha256: str, query) -> dict[int, float]:
        own = wq.Term("sha256", sha256)
        mine = own if query is None else wq.And([own, query])
        return {hit.docnum: hit.score for hit in self._open().search(mine, limit=None)}

    def first_tagged_passages(self, shas: Sequence[str], tag_ids: set[str]) -> dict:
        return strict.first_tagged_passages(self._open(), shas, tag_ids)

    def suggest(self, words: Sequence[str]) -> dict[str, list[str]]:
        return suggest.suggestions(self._open(), words)

    def close(self) -> None:
        self._close_searcher()

    def _close_searcher(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
        self._searcher = None
        self._ix = None
        self._generation = None
