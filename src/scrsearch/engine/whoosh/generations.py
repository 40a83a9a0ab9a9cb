"""The Whoosh schema, index generations and writing passages.

The index folder holds generations (`gen-NNNNNN/`, each one Whoosh index) and a `CURRENT`
file naming the one readers open, with its schema version. Incremental runs write into the
current generation: Whoosh commits a segment and then renames its table of contents into place,
so a reader sees either the last commit or the new one, never half a write. A rebuild (or a
schema change) fills a new generation and switches `CURRENT` only when it is complete; a first
build (no `CURRENT` yet) is made current at once, so its committed batches survive a kill.

Each commit also records the generation's files with their sizes and checksums
(manifest.py); opening checks the sizes, and any failure to open or read the index is one
`IndexDamaged` error naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.writing import IndexWriter, SegmentWriter

from . import manifest, whooshfix
from .config import Home
from .errors import IndexDamaged, IndexError_
from .models import Document, Passage
from .postings import CompactPositions, FlatCodec
from .store import write_atomically

whooshfix.apply()

#: Bump when the schema or what goes into it changes: a mismatch rebuilds the index.
SCHEMA_VERSION = 4

CURRENT_FILE = "CURRENT"
GEN_PREFIX = "gen-"

#: Facet fields of the index, in display order: (field, catalogue attribute or tag facet).
FACET_FIELDS = (
    "theme", "risk_factor", "practice_issue",
    "locality", "region", "nation", "year", "doc_type", "source", "subject",
)  # fmt: skip
TAG_FACETS = ("theme", "risk_factor", "practice_issue")

#: Fields a query may name that are properties of a report, not of a passage. They live in
#: the catalogue only: copying a report's metadata and tags into each of its passages made a
#: third of the index's postings. A query's `theme:neglect` matches the passages of the
#: reports the catalogue has with that value (search.py binds them).
REPORT_FIELDS = FACET_FIELDS


def _text_analyzer():
    # stoplist=None: the default analyzer drops stop words, so the phrase "voice of the child"
    # would match "voice child". Keeping them costs a little index size and buys exact phrases.
    return StemmingAnalyzer(stoplist=None, minsize=1)


def build_schema() -> Schema:
    """The one Whoosh schema: a document per passage, with its report's title for scoring.
    Positions are kept in our compact format (postings.py), read by the writer's codec."""
    schema = Schema(
        sha256=ID(stored=True, sortable=True),
        page=STORED(),
        ordinal=STORED(),
        text=TEXT(analyzer=_text_analyzer(), stored=True, phrase=True, multitoken_query="phrase"),
        title=TEXT(
            analyzer=_text_analyzer(), phrase=True, field_boost=1.5, multitoken_query="phrase"
        ),
        # The passage's own tags. scorable=True gives the field a length column: without one,
        # Whoosh stats the missing column file once per posting when it writes a segment.
        tags=KEYWORD(stored=True, lowercase=True, commas=True, scorable=True),
    )
    for name in ("text", "title"):
        schema[name].format = CompactPositions(field_boost=schema[name].format.field_boost)
    return schema


def query_schema() -> Schema:
    """The index schema and the report fields, as a query parser needs them to read
    `locality:bradford` or `year:[2015 TO 2018]` (the report fields are never indexed)."""
    schema = build_schema()
    for name in REPORT_FIELDS:
        if name == "year":
            schema.add(name, NUMERIC(bits=16, signed=False))
        else:
            schema.add(name, KEYWORD(lowercase=True, commas=True))
    return schema


@dataclass(frozen=True)
class Generation:
    """One complete Whoosh index and the schema version it was built with."""

    path: Path
    schema_version: int

    @property
    def name(self) -> str:
        return self.path.name


def current_generation(home: Home) -> Generation | None:
    """The generation readers should open, or None when there is no index yet."""
    pointer = home.index_dir / CURRENT_FILE
    try:
        payload = json.loads(pointer.read_text())
        generation = Generation(home.index_dir / payload["generation"], payload["schema_version"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexError_(
            f"{pointer} is damaged; run `scrsearch index --rebuild` to build the index again"
        ) from exc
    # Not whoosh's exists_in: it opens the index, and a damaged one would raise from here.
    if manifest.latest_toc(generation.path) is None:
        raise IndexError_(
            f"the index {generation.path} named by {pointer} is missing; "
            "run `scrsearch index --rebuild`"
        )
    return generation


def open_for_reading(home: Home):
    """The current Whoosh index, for searching."""
    generation = current_generation(home)
    if generation is None:
        raise IndexError_(
            f"there is no index in {home.root} yet: run `scrsearch add FOLDER` and "
            "`scrsearch index` first"
        )
    if generation.schema_version != SCHEMA_VERSION:
        raise IndexError_(
            f"the index in {home.index_dir} was built by another version of scrsearch; "
            "run `scrsearch index` to rebuild it"
        )
    return _open_checked(generation.path)


def _open_checked(path: Path):
    """Open the Whoosh index in `path` after the manifest's size check; IndexDamaged if not."""
    manifest.check_sizes(path)
    try:
        return whoosh_index.open_dir(str(path))
    except Exception as exc:  # whoosh raises many kinds on a damaged folder
        raise damage_of(path, exc) from exc


def damage_of(path: Path, exc: BaseException) -> IndexDamaged:
    """The IndexDamaged error that explains `exc`, raised while reading the generation `path`:
    the file it names, else the first file whose checksum differs, else the table of contents."""
    if isinstance(exc, IndexDamaged):
        return exc
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return IndexDamaged(f"index/{path.name}/{Path(exc.filename).name}", "missing")
    try:
        manifest.verify_checksums(path)
    except IndexDamaged as found:
        return found
    reason = f"unreadable ({type(exc).__name__}: {exc})"
    return IndexDamaged(f"index/{path.name}/{manifest.latest_toc(path)}", reason)


def find_damage(home: Home) -> IndexDamaged | None:
    """The damage of the current generation (missing file, other size or bytes), or None.

    Hashes every file: for `check` and for explaining an error met while reading."""
    try:
        generation = current_generation(home)
    except IndexError_ as exc:
        return IndexDamaged(CURRENT_FILE, str(exc))
    if generation is None:
        return None
    try:
        manifest.verify_checksums(generation.path)
    except IndexDamaged as exc:
        return exc
    return None


def current_generation_or_none(home: Home) -> Generation | None:
    """The current generation, or None when there is none or `CURRENT` is unreadable."""
    try:
        return current_generation(home)
    except IndexError_:
        return None


def needs_rebuild(home: Home) -> bool:
    """True when there is no usable current generation (none yet, or an old schema)."""
    try:
        generation = current_generation(home)
    except IndexError_:
        return True
    return generation is None or generation.schema_version != SCHEMA_VERSION


def new_generation(home: Home) -> Path:
    """Create an empty Whoosh index in a fresh generation folder (not yet current)."""
    numbers = [
        int(p.name[len(GEN_PREFIX) :])
        for p in home.index_dir.glob(GEN_PREFIX + "*")
        if p.name[len(GEN_PREFIX) :].isdigit()
    ]
    path = home.index_dir / f"{GEN_PREFIX}{max(numbers, default=0) + 1:06d}"
    path.mkdir(parents=True)
    whoosh_index.create_in(str(path), build_schema())
    manifest.write_manifest(path)
    return path


def make_current(home: Home, path: Path) -> None:
    """Atomically point readers at the generation in `path`, then remove older ones."""
    payload = {"generation": path.name, "schema_version": SCHEMA_VERSION}
    write_atomically(home.index_dir / CURRENT_FILE, json.dumps(payload).encode())
    remove_stale_generations(home)


def remove_stale_generations(home: Home) -> None:
    """Delete generation folders other than the current one (left by rebuilds or kills)."""
    for folder in stale_generations(home):
        # A reader that still has the old generation open keeps its open files on POSIX.
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.unlink(missing_ok=True)


def stale_generations(home: Home) -> list[Path]:
    """Generation folders and manifests other than the current ones (left by rebuilds or
    kills)."""
    generation = current_generation_or_none(home)
    keep = set() if generation is None else {generation.name, generation.name + manifest.SUFFIX}
    return sorted(p for p in home.index_dir.glob(GEN_PREFIX + "*") if p.name not in keep)


#: Memory for a writer's postings before it spills sorted runs to disk (Whoosh's estimate;
#: the real size is about a quarter more). With a commit every COMMIT_EVERY_PASSAGES passages
#: (pipeline.py) a batch fits, so postings are sorted in memory: spilling pickled each posting
#: to a run file and merged the runs back, a third of the index time.
WRITER_LIMIT_MB = int(os.environ.get("SCRSEARCH_WRITER_MB", "1024"))

#: Segments with fewer live passages than this are merged (when there are two or more, or
#: when one is more than half deleted); bigger ones are left as written.
MERGE_BELOW_PASSAGES = 5_000


def merge_small_segments(writer, segments):
    """A merge policy: only small (or mostly deleted) segments are merged, into the segment
    being written.

    Whoosh's default policy started merging the first 24 segments of a 100,000-page build
    into one, through its on-disk sort (still at it four minutes later, when the run was
    stopped). Segments written by a big batch stay as they are; the small ones left by
    incremental runs are merged together so their number stays small.
    """
    from whoosh.reading import SegmentReader

    def mostly_deleted(seg) -> bool:
        return seg.doc_count() * 2 < seg.doc_count_all()

    small = [s for s in segments if s.doc_count() < MERGE_BELOW_PASSAGES or mostly_deleted(s)]
    if len(small) < 2 and not any(mostly_deleted(s) for s in small):
        return segments
    for seg in small:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in small]


class _SegmentWriter(SegmentWriter):
    """Whoosh's segment writer with our merge policy and the flush reading document lengths
    from memory (whooshfix.LengthTable).

    When a segment is flushed, Whoosh asks its length column for each posting's document
    length through a file read per posting (an eighth of index time); the columns are read
    once into memory here instead.
    """

    def commit(self, mergetype=None, optimize=False, merge=True):
        if mergetype is None and not optimize and merge:
            mergetype = merge_small_segments
        result = super().commit(mergetype=mergetype, optimize=optimize, merge=merge)
        manifest.write_manifest(Path(self.storage.folder))
        return result

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        lengths = whooshfix.LengthTable(pdr) if pdr is not None else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if pdr is not None:
            pdr.close()


def open_writer(path: Path) -> IndexWriter:
    """A writer on the Whoosh index in `path` (waits for another writer to finish).

    Segments are written as separate files (compound=False): Whoosh reads a compound segment
    by copying its parts into memory, which doubled a searcher's memory (68 -> 34 MB on the
    shared corpus; about 1.8 GB at 100,000 pages).
    """
    ix = _open_checked(path)
    if manifest.read_manifest(path) is None or not _manifest_is_current(path):
        manifest.write_manifest(path)  # built before manifests, or killed before writing it
    return _SegmentWriter(
        ix, limitmb=WRITER_LIMIT_MB, timeout=60.0, delay=0.25, compound=False, codec=FlatCodec()
    )


def cancel_quietly(writer: IndexWriter) -> None:
    """Cancel a writer after a failure; a cancel that fails in turn (the disk still full)
    leaves only files no table of contents names, which the next commit removes."""
    try:
        writer.cancel()
    except (OSError, ValueError):
        pass


def _manifest_is_current(path: Path) -> bool:
    listed = manifest.read_manifest(path)
    return listed is not None and listed["toc"] == manifest.latest_toc(path)


def write_report(
    writer: IndexWriter,
    doc: Document,
    passages: Sequence[Passage],
    passage_tags: Sequence[Iterable[str]],
) -> None:
    """Replace a report's passages in the index (idempotent: old copies are deleted first)."""
    writer.delete_by_term("sha256", doc.sha256)
    title = {"title": doc.title} if doc.title else {}
    for passage, tags in zip(passages, passage_tags, strict=True):
        writer.add_document(
            sha256=doc.sha256,
            page=passage.page,
            ordinal=passage.ordinal,
            text=passage.text,
            tags=",".join(tags),
            **title,
        )


def delete_report(writer: IndexWriter, sha256: str) -> None:
    """Remove a report's passages from the index."""
    writer.delete_by_term("sha256", sha256)


def indexed_sha256s(home: Home) -> set[str]:
    """The sha256 of every report with live passages in the current index.

    Read from live documents, not the sha256 lexicon, which keeps the terms of deleted
    passages until their segment is merged.
    """
    ix = open_for_reading(home)
    shas: set[str] = set()
    if ix.doc_count_all() == 0:
        return shas  # an empty index's reader cannot list segments
    with ix.reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            column = leaf.column_reader("sha256")
            shas.update(column[docnum] for docnum in leaf.all_doc_ids())
    return shas
