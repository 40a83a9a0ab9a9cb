"""Writing passages into a generation: the writer, its merge policy, reports in and out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from whoosh.writing import IndexWriter, SegmentWriter

from ...config import Home, Settings
from ...models import Document, Passage
from . import fastpaths, manifest
from .codec import FlatCodec
from .generations import _open_checked, open_for_reading

#: Memory for a writer's postings before it spills sorted runs to disk (Whoosh's estimate;
#: the real size is about a quarter more). With a commit every SCRSEARCH_COMMIT_PASSAGES passages
#: (pipeline.py) a batch fits, so postings are sorted in memory: spilling pickled each posting
#: to a run file and merged the runs back, a third of the index time.

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
    from memory (fastpaths.LengthTable).

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
        lengths = fastpaths.LengthTable(pdr) if pdr is not None else None
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
        ix,
        limitmb=Settings.from_env().writer_mb,
        timeout=60.0,
        delay=0.25,
        compound=False,
        codec=FlatCodec(),
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
