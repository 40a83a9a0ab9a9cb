"""The manifest of an index generation: each file's size and checksum, written at each commit.

`index/gen-NNNNNN.manifest.json`, beside `CURRENT`, lists the files the generation's newest
table of contents needs (the `_MAIN_N.toc` and each segment's `MAIN_<id>.*`) with their size
and sha256. Whoosh never rewrites a file once written (a commit adds new segment files and a
new table of contents), so a file listed with the same name and size keeps its checksum and
only new files are hashed at a commit.

Opening a generation checks sizes only (`check_sizes`, a stat per file); `check` verifies the
checksums and reads every stored field and posting list once (`verify`). A failure is an
`IndexDamaged` error naming the file. A kill between Whoosh's commit and the manifest's write
leaves a newer table of contents than the manifest names: that is not damage (the commit
completed), and the next writer writes the manifest again.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ...errors import IndexDamaged
from ...store import sha256_of_file, write_atomically

SUFFIX = ".manifest.json"
_TOC = re.compile(r"^_MAIN_(\d+)\.toc$")


def manifest_path(gen_path: Path) -> Path:
    """Where the manifest of the generation in `gen_path` is kept (beside CURRENT)."""
    return gen_path.parent / f"{gen_path.name}{SUFFIX}"


def latest_toc(gen_path: Path) -> str | None:
    """The name of the newest table of contents in a generation (what Whoosh opens)."""
    best = max(
        ((int(m.group(1)), name) for name in _listing(gen_path) if (m := _TOC.match(name))),
        default=None,
    )
    return best[1] if best else None


def _listing(gen_path: Path) -> list[str]:
    try:
        return [p.name for p in gen_path.iterdir()]
    except FileNotFoundError:
        return []


def generation_files(gen_path: Path) -> list[str]:
    """The files the newest table of contents of a generation needs."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    toc_name = latest_toc(gen_path)
    if toc_name is None:
        raise IndexDamaged(f"{gen_path.name}/_MAIN_*.toc", "no table of contents")
    toc = TOC.read(FileStorage(str(gen_path), readonly=True), "MAIN")
    prefixes = tuple(f"{seg.segment_id()}." for seg in toc.segments)
    names = [n for n in _listing(gen_path) if prefixes and n.startswith(prefixes)]
    return [toc_name, *sorted(names)]


def read_manifest(gen_path: Path) -> dict | None:
    """The manifest of a generation, or None when it has none (built before manifests)."""
    path = manifest_path(gen_path)
    try:
        payload = json.loads(path.read_bytes())
        files = payload["files"]
        assert isinstance(files, dict) and isinstance(payload["toc"], str)
        return payload
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
        raise IndexDamaged(path.name, f"unreadable manifest ({exc})") from exc


def write_manifest(gen_path: Path) -> dict:
    """Record the size and checksum of each file of the generation's newest commit.

    The manifest also keeps what writing it has cost this generation so far (`cost`: seconds,
    bytes hashed, commits), which scripts/bench.py reports as a share of index time."""
    started = time.perf_counter()
    try:
        old = read_manifest(gen_path) or {"files": {}}
    except IndexDamaged:
        old = {"files": {}}
    files = {}
    hashed = 0
    for name in generation_files(gen_path):
        size = (gen_path / name).stat().st_size
        known = old["files"].get(name)
        if known and known[0] == size:
            files[name] = known
        else:
            files[name] = [size, sha256_of_file(gen_path / name)]
            hashed += size
    cost = old.get("cost") or {}
    payload = {"generation": gen_path.name, "toc": latest_toc(gen_path), "files": files}
    payload["cost"] = {
        "seconds": round(cost.get("seconds", 0.0) + time.perf_counter() - started, 4),
        "bytes_hashed": cost.get("bytes_hashed", 0) + hashed,
        "commits": cost.get("commits", 0) + 1,
    }
    write_atomically(manifest_path(gen_path), json.dumps(payload, indent=0).encode())
    return payload


def _where(gen_path: Path, name: str) -> str:
    return f"{gen_path.parent.name}/{gen_path.name}/{name}"


def check_sizes(gen_path: Path) -> None:
    """Raise IndexDamaged when a file the manifest lists is missing or has another size."""
    manifest = read_manifest(gen_path)
    if manifest is None or _is_superseded(gen_path, manifest["toc"]):
        return  # built before manifests, or a kill came between a commit and its manifest
    for name, (size, _sum) in manifest["files"].items():
        try:
            actual = (gen_path / name).stat().st_size
        except FileNotFoundError:
            raise IndexDamaged(_where(gen_path, name), "missing") from None
        if actual != size:
            raise IndexDamaged(_where(gen_path, name), f"{actual} bytes, expected {size}")


def _is_superseded(gen_path: Path, toc_name: str) -> bool:
    newest = latest_toc(gen_path)
    return newest is not None and newest != toc_name and _toc_number(newest) > _toc_number(toc_name)


def _toc_number(name: str) -> int:
    match = _TOC.match(name)
    return int(match.group(1)) if match else -1


def verify_checksums(gen_path: Path) -> None:
    """Raise IndexDamaged when a listed file is missing, resized or holds other bytes."""
    check_sizes(gen_path)
    manifest = read_manifest(gen_path)
    if manifest is None:
        raise IndexDamaged(manifest_path(gen_path).name, "missing")
    if manifest["toc"] != latest_toc(gen_path):
        raise IndexDamaged(
            _where(gen_path, str(latest_toc(gen_path))), "a commit the manifest does not list"
        )
    for name, (_size, checksum) in manifest["files"].items():
        if sha256_of_file(gen_path / name) != checksum:
            raise IndexDamaged(_where(gen_path, name), "its bytes changed (checksum differs)")


def read_everything(ix) -> int:
    """Read every stored field and every posting list of an open index once; the passages read.

    Raises whatever Whoosh raises on a damaged file (the caller names it)."""
    passages = 0
    if ix.doc_count_all() == 0:
        return 0  # an empty index has no segment to read (and its reader cannot list them)
    with ix.reader() as reader:
        for leaf, _offset in reader.leaf_readers():
            for docnum in range(leaf.doc_count_all()):
                if not leaf.is_deleted(docnum):
                    leaf.stored_fields(docnum)
                    passages += 1
            for name in leaf.schema.names():
                if leaf.has_column(name):
                    column = leaf.column_reader(name)
                    for docnum in range(leaf.doc_count_all()):
                        column[docnum]
                if not leaf.schema[name].indexed:
                    continue
                for term in leaf.lexicon(name):
                    matcher = leaf.postings(name, term)
                    while matcher.is_active():
                        matcher.id()
                        matcher.weight()
                        matcher.value()
                        matcher.next()
    return passages
