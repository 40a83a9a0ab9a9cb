"""A SIGKILL during `index` leaves a searchable index and loses nothing on the next run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from scrsearch.config import Home
from scrsearch.engine import open_engine
from scrsearch.engine.whoosh import generations as search_index
from scrsearch.passages import split_passages
from scrsearch.pipeline import add_paths, run_index
from scrsearch.search import SearchRequest, search
from scrsearch.store import Store


def _index_process(home: Home) -> subprocess.Popen:
    env = dict(os.environ, SCRSEARCH_COMMIT_EVERY="3", SCRSEARCH_EXTRACTOR="pypdf")
    return subprocess.Popen(
        [sys.executable, "-m", "scrsearch", "--home", str(home.root), "index"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _wait_for_first_commit(home: Home, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with Store(home) as store:
            if store.count_by_status().get("indexed"):
                return
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_during_index_leaves_a_good_index(tmp_path, corpus_dir, seed):
    home = Home(tmp_path / "home").ensure()
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:20]
    add_paths(home, letters)
    # A first small run, so that there is a last good index to keep.
    proc = _index_process(home)
    _wait_for_first_commit(home, proc)
    time.sleep(random.Random(seed).uniform(0.0, 1.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    # Whatever the moment of the kill, readers can open the index and search it.
    if search_index.current_generation(home) is not None:
        payload = search(home, SearchRequest("children", limit=1))
        assert payload["total"] >= 0
    with Store(home) as store:
        marked = {d.sha256 for d in store.documents(["indexed"])}
    if marked:
        assert marked <= open_engine(home).live_reports(), "catalogue ahead of the index"

    # The next run finishes the job: every letter indexed exactly once.
    summary = run_index(home)
    assert summary.failed == []
    with Store(home) as store:
        indexed = {d.sha256 for d in store.documents(["indexed"])}
        assert len(indexed) == len(letters)
    assert open_engine(home).live_reports() == indexed
    ix = search_index.open_for_reading(home)
    with ix.searcher() as searcher:
        per_report = Counter(f["sha256"] for f in searcher.all_stored_fields())
    with Store(home) as store:
        for sha in indexed:
            expected = len(split_passages(sha, store.cached_text(sha).pages))
            assert per_report[sha] == expected, "no passage lost or indexed twice"
