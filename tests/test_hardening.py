"""Hardening under the same load: kills mid-write, hostile PDFs, searches during writes.

Everything here drives the real `python -m scrsearch ...` command in subprocesses:

- `index` and `update` killed with SIGKILL at seeded random moments (during the crawl, before
  the first commit, between commits); the index must stay searchable, `check` must pass, and
  the next run must index every document exactly once;
- hostile PDFs generated here (a decompression bomb, a page tree loop, 10,000 pages, a content
  stream that keeps pypdf busy) indexed with real ones, under a time and memory limit, with
  the peak memory of the whole process tree measured;
- searches in a loop from other processes while `update` writes the index.

tests/test_kill.py covers a basic in-process check after an `index` kill; this file adds
`update`, `check`, kills before any commit, and orphaned workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import psutil
import pytest

from httpserver import LocalServer, Reply, board_source_toml, html_reply
from pdfmaker import pdf_file
from scrsearch import ocr
from scrsearch.config import Home
from scrsearch.engine.whoosh import generations as search_index
from scrsearch.passages import split_passages
from scrsearch.pipeline import add_paths, run_index
from scrsearch.search import SearchRequest, search
from scrsearch.store import Store

pytestmark = pytest.mark.slow

#: Kill-test documents: enough for several commits of SCRSEARCH_COMMIT_EVERY=3.
KILL_DOCS = 10
#: Documents indexed while searches run.
LOAD_DOCS = 16
#: A guard against hanging (not a timing assertion).
PATIENCE = 180.0


# ----------------------------------------------------------------------------- helpers


def scrsearch_cmd(home: Home, *args: str) -> list[str]:
    return [sys.executable, "-m", "scrsearch", "--home", str(home.root), *args]


def writer_env(**extra: str) -> dict[str, str]:
    """Small commits and the slow extractor: runs long enough to be killed mid-write."""
    env = dict(os.environ, SCRSEARCH_COMMIT_EVERY="3", SCRSEARCH_EXTRACTOR="pypdf")
    env.setdefault("SCRSEARCH_WORKERS", "2")
    env.update(extra)
    return env


def run_cli(home: Home, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        scrsearch_cmd(home, *args), capture_output=True, text=True, env=env, timeout=PATIENCE
    )


def wait_until(condition, what: str, limit: float = PATIENCE) -> None:
    """Wait for a condition of the system under test (a guard against hanging, not a timing)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def indexed_count(home: Home) -> int:
    with Store(home) as store:
        return store.count_by_status().get("indexed", 0)


def lock_holder(home: Home) -> int | None:
    try:
        return json.loads(home.lock_path.read_text() or "{}").get("pid")
    except (OSError, ValueError):
        return None


def live_passages(home: Home) -> Counter:
    """(sha256, ordinal) of every live passage in the current index, with multiplicity."""
    ix = search_index.open_for_reading(home)
    with ix.searcher() as searcher:
        return Counter((f["sha256"], f["ordinal"]) for f in searcher.all_stored_fields())


def check_cli(home: Home) -> dict:
    done = run_cli(home, "check", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    payload = json.loads(done.stdout)
    assert payload["ok"] is True and payload["problems"] == [], payload
    return payload


def browse_total(home: Home) -> int:
    done = run_cli(home, "search", "--format", "json", "--limit", "0")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["total"]


def kill_tree(proc: subprocess.Popen) -> list[psutil.Process]:
    """SIGKILL the process (its children are left to die with it); return the children."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=PATIENCE)
    return children


def assert_everything_indexed_once(home: Home, expected: set[str]) -> None:
    """Catalogue, live index and passage counts agree: every document indexed exactly once."""
    with Store(home) as store:
        docs = store.documents()
        assert {d.sha256 for d in docs} == expected, "a document was lost or appeared"
        assert Counter(d.status for d in docs) == {"indexed": len(expected)}, [
            (d.original_name, d.status, d.error) for d in docs if d.status != "indexed"
        ]
        wanted = {}
        for sha in expected:
            cached = store.cached_text(sha)
            assert cached is not None, f"{sha} is indexed but its text is not cached"
            wanted[sha] = len(split_passages(sha, cached.pages))
    live = live_passages(home)
    twice = [key for key, n in live.items() if n > 1]
    assert not twice, f"passages indexed twice: {twice[:5]}"
    per_report = Counter(sha for sha, _ in live)
    assert set(per_report) == expected, "the live index and the catalogue disagree"
    for sha, count in wanted.items():
        assert per_report[sha] == count, f"{sha}: {per_report[sha]} passages, expected {count}"
        ordinals = {ordinal for s, ordinal in live if s == sha}
        assert ordinals == set(range(count)), f"{sha}: passages missing or out of place"


# ------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def letters(corpus_dir) -> list[Path]:
    found = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))
    assert len(found) >= 2 + max(KILL_DOCS, LOAD_DOCS)
    return found


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory, letters) -> Home:
    """A home with two letters indexed: the last good index that a kill must keep."""
    home = Home(tmp_path_factory.mktemp("seed") / "home").ensure()
    add_paths(home, letters[:2])
    summary = run_index(home)
    assert summary.indexed == 2 and not summary.failed
    return home


def copy_home(seeded: Home, tmp_path: Path) -> Home:
    target = tmp_path / "home"
    shutil.copytree(seeded.root, target)
    return Home(target)


def seeded_shas(home: Home) -> set[str]:
    with Store(home) as store:
        return {d.sha256 for d in store.documents(["indexed"])}


BOARD = """<!doctype html><html><body><h1>Serious case reviews</h1><ul>
{items}
</ul></body></html>"""


def serve_board(server: LocalServer, home: Home, pdfs: list[Path], delay: float = 0.0) -> None:
    """A board page linking the PDFs (each answered after `delay`), and a source for it."""
    items = []
    for number, pdf in enumerate(pdfs):
        path = f"/reviews/child-{number}.pdf"
        items.append(f'<li><a href="{path}">Child {number} overview report</a></li>')
        server.route(
            path, Reply(200, pdf.read_bytes(), {"Content-Type": "application/pdf"}, delay=delay)
        )
    server.route("/scr/", html_reply(BOARD.format(items="\n".join(items))))
    home.sources_path.write_text(
        board_source_toml(server.url("/scr/")),
        encoding="utf-8",
    )


def pdf_requests(server: LocalServer) -> int:
    return sum(path.startswith("/reviews/") for path in server.paths_seen())


# ------------------------------------------------------------------ 1. kills mid-write

# (command, when, seed): when is "crawl" (while PDFs download), or the number of commits of
# the killed run to wait for before the seeded random delay (0: before its first commit).
KILLS = [
    ("index", 0, 11),
    ("index", 1, 12),
    ("update", "crawl", 21),
    ("update", 0, 22),
    ("update", 1, 23),
]


@pytest.mark.parametrize(("command", "when", "seed"), KILLS)
def test_sigkill_mid_write_then_check_and_next_run_lose_nothing(
    seeded_home, letters, tmp_path, command, when, seed
):
    rng = random.Random(seed)
    home = copy_home(seeded_home, tmp_path)
    before = seeded_shas(home)
    assert len(before) == 2
    new = letters[2 : 2 + KILL_DOCS]
    expected = before | {hashlib.sha256(p.read_bytes()).hexdigest() for p in new}
    assert len(expected) == 2 + KILL_DOCS

    with LocalServer() as server:
        if command == "index":
            add_paths(home, new)
            args = ["index"]
        else:
            # Slow downloads, so that a kill "during the crawl" lands during the crawl.
            serve_board(server, home, new, delay=0.15 if when == "crawl" else 0.0)
            args = ["update", "board", "--delay", "0"]
        proc = subprocess.Popen(
            scrsearch_cmd(home, *args), env=writer_env(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_until(lambda: lock_holder(home) == proc.pid, "the run to take the lock")
            if when == "crawl":
                at = rng.randint(1, KILL_DOCS - 1)
                wait_until(lambda: pdf_requests(server) >= at, f"download {at}")
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                if command == "update":
                    wait_until(lambda: pdf_requests(server) >= KILL_DOCS, "the crawl")
                target = len(before) + 3 * when
                wait_until(lambda: indexed_count(home) >= target, f"{when} commit(s)")
                time.sleep(rng.uniform(0.0, 1.0))
            assert proc.poll() is None, "the run finished before the kill: the test proves nothing"
            workers = kill_tree(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, f"extraction workers outlived the killed run: {alive}"

        # Right after the kill: the last good index opens, search works, and `check` finds
        # the catalogue and the index consistent (nothing marked indexed that is not there).
        with Store(home) as store:
            marked = {d.sha256 for d in store.documents(["indexed"])}
        assert before <= marked
        live = {sha for sha, _ in live_passages(home)}
        assert marked <= live, "the catalogue says indexed, the index has no passage of it"
        payload = search(home, SearchRequest("children", limit=1))
        assert payload["total"] >= 1 and payload["results"]
        assert browse_total(home) == len(marked)
        check_cli(home)

        # The next run finishes the job (with the default extractor) and says what it took over.
        nxt = run_cli(home, *args, env=dict(os.environ, SCRSEARCH_WORKERS="2"))
        assert nxt.returncode == 0, nxt.stderr
        assert f"took over a lock left by dead process {proc.pid}" in nxt.stderr
    assert_everything_indexed_once(home, expected)
    payload = check_cli(home)
    assert payload["documents"] == payload["indexed_reports"] == len(expected)
    assert browse_total(home) == len(expected)


# ------------------------------------------------------------------ 2. hostile PDFs


def stream(data: bytes, flate: bool = False) -> bytes:
    filters = b" /Filter /FlateDecode" if flate else b""
    return b"<< /Length %d%s >>\nstream\n" % (len(data), filters) + data + b"\nendstream"


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
TEXT = b"BT /F1 12 Tf 72 720 Td (Safeguarding children review page) Tj ET\n"


def page(parent: int, font: int, contents: int) -> bytes:
    return (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (parent, font, contents)
    )


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """zlib's adler32_combine: the checksum of A+B from those of A and B (len(B) given)."""
    base = 65521
    rem = second_length % base
    low = first & 0xFFFF
    high = (rem * low) % base
    low += (second & 0xFFFF) + base - 1
    high += ((first >> 16) & 0xFFFF) + ((second >> 16) & 0xFFFF) + base - rem
    return (low % base) | ((high % base) << 16)


def write_bomb(path: Path, gib: int = 4) -> Path:
    """One page whose FlateDecode content stream (~4 MB) inflates to `gib` GiB.

    Built without compressing gigabytes: after a full flush deflate starts afresh, so the
    compressed form of one 16 MiB block of spaces repeats; the checksum is combined.
    """
    chunk = b" " * (16 << 20)
    count = (gib << 30) // len(chunk)
    deflate = zlib.compressobj(9)
    head = deflate.compress(TEXT) + deflate.flush(zlib.Z_FULL_FLUSH)
    first = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush()  # the final empty block and the checksum of TEXT + 2 chunks
    checksum, chunk_sum = zlib.adler32(TEXT), zlib.adler32(chunk)
    for _ in range(count):
        checksum = _adler32_combine(checksum, chunk_sum, len(chunk))
    data = head + first + block * (count - 1) + tail[:-4] + checksum.to_bytes(4, "big")
    path.write_bytes(pdf_file([
        CATALOG, b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", FONT, page(2, 3, 5),
        stream(data, flate=True),
    ]))  # fmt: skip
    return path


def write_page_tree_loop(path: Path) -> Path:
    """The root's only kid is a /Pages node whose /Kids points back to the root."""
    path.write_bytes(pdf_file([
        CATALOG,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ]))  # fmt: skip
    return path


def write_many_pages(path: Path, pages: int = 10_000) -> Path:
    """`pages` pages sharing one font and one small content stream, written by hand."""
    kids = b" ".join(b"%d 0 R" % (5 + n) for n in range(pages))
    objects = [CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages), FONT,
               stream(TEXT)]  # fmt: skip
    objects += [page(2, 3, 4)] * pages
    path.write_bytes(pdf_file(objects))
    return path


def write_spinner(path: Path, pages: int = 12, operators: int = 600_000) -> Path:
    """Pages sharing a content stream of 600,000 text moves (just under pypdf's budget of 2M
    tokens a stream, so it parses them all, in Python, for every page) and no visible text."""
    content = b"BT /F1 12 Tf\n" + b"0 0 Td\n" * operators + b"() Tj ET\n"
    kids = b" ".join(b"%d 0 R" % (5 + n) for n in range(pages))
    objects = [CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages), FONT,
               stream(zlib.compress(content, 9), flate=True)]  # fmt: skip
    objects += [page(2, 3, 4)] * pages
    path.write_bytes(pdf_file(objects))
    return path


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    write_bomb(folder / "bomb.pdf")
    write_page_tree_loop(folder / "loop.pdf")
    write_many_pages(folder / "pages10k.pdf")
    write_spinner(folder / "spinner.pdf")
    return folder


def test_the_bomb_really_inflates_to_gigabytes(hostile_dir):
    one, two = b"safeguarding ", b"children " * 1000
    combined = _adler32_combine(zlib.adler32(one), zlib.adler32(two), len(two))
    assert combined == zlib.adler32(one + two)
    data = (hostile_dir / "bomb.pdf").read_bytes()
    body = data[data.index(b"stream\n") + 7 : data.rindex(b"\nendstream")]
    assert len(body) < 8 << 20
    inflate = zlib.decompressobj()
    head = inflate.decompress(body, 1 << 20)
    assert head.startswith(TEXT) and len(head) == 1 << 20
    # The rest is the same block again and again; the checksum at the end makes it valid.
    # Inflating all 4 GiB takes a while: check the first 256 MiB and the stream's structure.
    total = len(head)
    while total < 256 << 20:
        total += len(inflate.decompress(inflate.unconsumed_tail, 64 << 20))
    assert not inflate.eof and len(inflate.unconsumed_tail) > 3 << 20


HOSTILE_ENV = {
    "SCRSEARCH_EXTRACT_TIMEOUT": "10",
    "SCRSEARCH_EXTRACT_MEMORY_MB": "512",
    "SCRSEARCH_MAX_PAGES": "3000",
    "SCRSEARCH_WORKERS": "2",
}

#: What becomes of each hostile file with each extractor: (status, words the reason contains).
HOSTILE_OUTCOMES = {
    "pypdf": {
        "bomb.pdf": ("failed", "limit"),
        "loop.pdf": ("failed", "damaged"),
        "pages10k.pdf": ("failed", "10000 pages, more than the limit of 3000"),
        "spinner.pdf": ("failed", "took longer than 10 s"),
    },
    "pypdfium2": {
        "bomb.pdf": ("failed", "memory limit of 512 MB"),
        "loop.pdf": ("failed", "damaged"),
        "pages10k.pdf": ("failed", "10000 pages, more than the limit of 3000"),
        # pdfium reads its 12 pages quickly and finds no text on them: that is the truth; with
        # Tesseract they are OCR'd (blank) and the document fails as having no text at all.
        "spinner.pdf": ("needs_ocr", "no text layer on 12 of its 12 pages")
        if ocr.engine_problem()
        else ("failed", "no text, even by OCR"),
    },
}


def run_measured(cmd: list[str], env: dict[str, str], out: Path) -> tuple[int, str, str, int]:
    """Run cmd; return its exit code, stdout, stderr and the peak RSS of its process tree."""
    with open(out / "stdout", "w+") as stdout, open(out / "stderr", "w+") as stderr:
        proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=stderr)
        peak = 0
        deadline = time.monotonic() + PATIENCE
        try:
            root = psutil.Process(proc.pid)
            while proc.poll() is None:
                assert time.monotonic() < deadline, f"{cmd} did not finish"
                rss = 0
                try:
                    for member in [root, *root.children(recursive=True)]:
                        with_memory = member.memory_info()
                        rss += with_memory.rss
                except psutil.NoSuchProcess:
                    pass  # a worker ended between listing and measuring
                peak = max(peak, rss)
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        stdout.seek(0)
        stderr.seek(0)
        return proc.returncode, stdout.read(), stderr.read(), peak


@pytest.mark.parametrize("extractor", ["pypdf", "pypdfium2"])
def test_hostile_pdfs_fail_alone_with_a_reason_in_bounded_memory(
    tmp_path, hostile_dir, letters, extractor
):
    if extractor == "pypdfium2":
        pytest.importorskip("pypdfium2")
    home = Home(tmp_path / "home")
    env = dict(os.environ, SCRSEARCH_EXTRACTOR=extractor, **HOSTILE_ENV)
    real = letters[2:4]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for source in [*sorted(hostile_dir.glob("*.pdf")), *real]:
        shutil.copy(source, inputs / source.name)

    code, _, err, add_peak = run_measured(scrsearch_cmd(home, "add", str(inputs)), env, tmp_path)
    assert code == 0, err
    assert "Added 6 new document(s)" in err
    code, _, err, index_peak = run_measured(scrsearch_cmd(home, "index"), env, tmp_path)
    assert code == 1, err  # some documents failed, and the run finished
    assert "Traceback" not in err
    assert "report(s)" in err.splitlines()[-1], err  # the summary line: the run got to its end

    done = run_cli(home, "reports", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = {row["original_name"]: row for row in json.loads(done.stdout)}
    assert set(rows) == {p.name for p in inputs.iterdir()}
    for pdf in real:
        assert rows[pdf.name]["status"] == "indexed", rows[pdf.name]
        assert rows[pdf.name]["error"] is None
    for name, (status, words) in HOSTILE_OUTCOMES[extractor].items():
        row = rows[name]
        reason = row["error"] or ""
        assert (row["status"], words.lower() in reason.lower()) == (status, True), (
            name,
            row["status"],
            reason,
        )
        assert reason.startswith(name), reason  # names the file as the user knows it
        assert "\n" not in reason and "Traceback" not in reason and len(reason) < 400, reason
        if status == "failed":
            assert f"failed: {name} " in err

    # The real letters are searchable; a bound on memory (never on time).
    found = search(home, SearchRequest("", limit=10))
    assert found["total"] == len(real)
    check_cli(home)
    assert max(add_peak, index_peak) < 2 * 2**30, (add_peak, index_peak)
    # The kernel's count catches a spike between two samples: no single process of the
    # finished runs (nor of any run of this session) ever held 2 GB.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 < 2 * 2**30


# ------------------------------------------------------------ 3. searches during a write


def test_searches_in_a_loop_never_fail_while_update_writes(seeded_home, letters, tmp_path):
    home = copy_home(seeded_home, tmp_path)
    before = browse_total(home)
    assert before == 2
    served = letters[2 : 2 + LOAD_DOCS]
    expected = seeded_shas(home) | {hashlib.sha256(p.read_bytes()).hexdigest() for p in served}
    queries = {
        "browse": ["search", "--format", "json", "--limit", "0"],
        "children": ["search", "children", "--format", "json", "--limit", "3"],
    }
    runs: list[tuple[str, subprocess.CompletedProcess, bool]] = []
    writer_log = tmp_path / "writer.log"
    with LocalServer() as server, writer_log.open("w") as log:
        serve_board(server, home, served)
        writer = subprocess.Popen(
            scrsearch_cmd(home, "update", "board", "--delay", "0"), env=writer_env(),
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + PATIENCE
            count = 0
            while writer.poll() is None and count < 200 and time.monotonic() < deadline:
                kind = "browse" if count % 2 == 0 else "children"
                done = subprocess.run(
                    scrsearch_cmd(home, *queries[kind]), capture_output=True, text=True,
                    timeout=PATIENCE,
                )  # fmt: skip
                runs.append((kind, done, writer.poll() is None))
                count += 1
            writer.wait(timeout=PATIENCE)
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    assert writer.returncode == 0, writer_log.read_text()
    for kind in queries:  # and once more each after the writer finished
        runs.append((kind, run_cli(home, *queries[kind]), False))

    during = [run for run in runs if run[2]]
    assert len(during) >= 2, "no search ran while the writer was writing"
    totals: dict[str, list[int]] = {kind: [] for kind in queries}
    for kind, done, _ in runs:
        assert done.returncode == 0, (kind, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        payload = json.loads(done.stdout)
        assert isinstance(payload["results"], list)
        totals[kind].append(payload["total"])
    assert totals["browse"] == sorted(totals["browse"]), totals  # never decreasing
    assert totals["children"] == sorted(totals["children"]), totals
    assert min(totals["browse"]) >= before
    assert totals["browse"][-1] == before + LOAD_DOCS
    assert_everything_indexed_once(home, expected)
    check_cli(home)
