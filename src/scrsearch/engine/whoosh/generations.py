"""The Whoosh schema and index generations (writing passages is writing.py).

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
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from ...config import Home
from ...errors import IndexDamaged, IndexError_
from ...facets import REPORT_FIELDS
from ...store import write_atomically
from . import manifest
from .codec import CompactPositions

#: Bump when the schema or what goes into it changes: a mismatch rebuilds the index.
SCHEMA_VERSION = 4

CURRENT_FILE = "CURRENT"
GEN_PREFIX = "gen-"


def _text_analyzer():
    # stoplist=None: the default analyzer drops stop words, so the phrase "voice of the child"
    # would match "voice child". Keeping them costs a little index size and buys exact phrases.
    return StemmingAnalyzer(stoplist=None, minsize=1)


@lru_cache(maxsize=1)
def text_analyzer():
    """The text field's analyzer, made once (queries, highlights and titles read text as the
    index did)."""
    return _text_analyzer()


def text_tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """`text` as the index reads it: (index term, start char, end char)."""
    for token in text_analyzer()(text, chars=True):
        yield token.text, token.startchar, token.endchar


def text_terms(text: str) -> list[str]:
    """The index terms of `text`."""
    return [t.text for t in text_analyzer()(text)]


def build_schema() -> Schema:
    """The one Whoosh schema: a document per passage, with its report's title for scoring.
    Positions are kept in our compact format (codec.py), read by the writer's codec."""
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
