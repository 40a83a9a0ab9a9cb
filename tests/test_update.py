"""update: crawl a local board site, index, run watches; one run at a time; stale locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from httpserver import LocalServer, Reply, board_source_toml, html_reply, pdf_reply
from scrsearch import pipeline
from scrsearch.cli import main
from scrsearch.config import Home

LISTING = """<!doctype html><html><body><h1>Case reviews</h1><ul>
<li><a href="/reviews/child-a.pdf">Child A overview report</a></li>
<li><a href="/reviews/child-b.pdf">Child B overview report</a></li>
{extra}
</ul></body></html>"""


@pytest.fixture(scope="module")
def letters(corpus_dir) -> list[bytes]:
    return [p.read_bytes() for p in sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:4]]


def serve_board(server: LocalServer, letters: list[bytes], extra: str = "") -> None:
    server.route("/scr/", html_reply(LISTING.format(extra=extra)))
    server.route("/reviews/child-a.pdf", pdf_reply(letters[0]))
    server.route("/reviews/child-b.pdf", pdf_reply(letters[1]))


def write_sources(home: Home, server: LocalServer) -> None:
    home.sources_path.write_text(
        board_source_toml(server.url("/scr/")),
        encoding="utf-8",
    )


def cli(home: Home, *args: str):
    return CliRunner().invoke(main, ["--home", str(home.root), *args])


def update_process(home: Home, *args: str) -> list[str]:
    return [sys.executable, "-m", "scrsearch", "--home", str(home.root), "update", *args]


def search_total(home: Home) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "scrsearch", "--home", str(home.root), "search", "--format",
         "json", "--limit", "0"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)["total"]


def wait_until(condition, what: str, limit: float = 120.0) -> None:
    """Wait for a condition of the system under test (a guard against hanging, not a timing)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_update_crawls_indexes_and_summarises(home, letters):
    with LocalServer() as server:
        serve_board(server, letters)
        write_sources(home, server)
        first = cli(home, "update", "board", "--delay", "0", "--json")
        assert first.exit_code == 0, first.output
        payload = json.loads(first.stdout)
        assert payload["documents"]["new"] == 2 and payload["documents"]["failed"] == 0
        assert payload["indexed"] == 2 and payload["passages"] > 0 and payload["failed"] == 0
        assert "Update done" in first.stderr and "2 new" in first.stderr
        again = cli(home, "update", "board", "--delay", "0", "--json")
        payload = json.loads(again.stdout)
        assert payload["documents"]["unchanged"] == 2 and payload["indexed"] == 0
        quiet = cli(home, "update", "board", "--delay", "0", "--quiet")
        assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_some_items_failed_exits_1_but_the_index_is_updated(home, letters):
    with LocalServer() as server:
        serve_board(server, letters, '<li><a href="/reviews/gone.pdf">Child G</a></li>')
        server.route("/reviews/gone.pdf", Reply(404, b"not here"))
        write_sources(home, server)
        result = cli(home, "update", "board", "--delay", "0", "--quiet", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["documents"]["failed"] == 1 and payload["indexed"] == 2
    assert "gone.pdf" in result.stderr and "Update done" in result.stderr  # quiet, but it failed
    assert search_total(home) == 2


def test_update_runs_every_watch(home, letters, tmp_path):
    assert cli(home, "watch", "add", "kids", "children").exit_code == 0
    hits = tmp_path / "hits.jsonl"
    with LocalServer() as server:
        serve_board(server, letters)
        write_sources(home, server)
        result = cli(home, "update", "board", "--delay", "0", "--json", "--to", str(hits))
    assert result.exit_code == 0, result.output
    (watch,) = json.loads(result.stdout)["watches"]
    assert watch == {"watch": "kids", "new": 2, "matching": 2}
    assert len(hits.read_text().splitlines()) == 2


def test_two_concurrent_updates_the_second_exits_75_and_readers_keep_working(
    home, letters, tmp_path
):
    existing = tmp_path / "existing.pdf"
    existing.write_bytes(letters[3])
    pipeline.add_paths(home, [existing])
    pipeline.run_index(home)
    release = threading.Event()

    def slow_body(request):  # holds the first update inside its crawl until released
        release.wait(120)
        return letters[2]

    with LocalServer() as server:
        serve_board(server, letters, '<li><a href="/reviews/slow.pdf">Child S</a></li>')
        server.route(
            "/reviews/slow.pdf", Reply(200, slow_body, {"Content-Type": "application/pdf"})
        )
        write_sources(home, server)
        first = subprocess.Popen(
            update_process(home, "board", "--delay", "0"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_until(lambda: server.seen("/reviews/slow.pdf"), "the first update's crawl")
            second = subprocess.run(
                update_process(home, "board", "--delay", "0"), capture_output=True, text=True
            )
            assert second.returncode == 75, second.stderr
            assert "another scrsearch run" in second.stderr and f"pid {first.pid}" in second.stderr
            assert second.stderr.count("\n") == 1  # one line
            assert search_total(home) == 1  # a reader works and sees only committed documents
        finally:
            release.set()
            out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert search_total(home) == 4


def test_a_stale_lock_of_a_dead_process_is_taken_over_and_said_so(home, letters):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    home.lock_path.write_text(json.dumps(
        {"pid": dead.pid, "command": "update", "started": "2020-01-01T00:00:00Z"}
    ))  # fmt: skip
    with pytest.raises(ProcessLookupError):
        os.kill(dead.pid, 0)
    with LocalServer() as server:
        serve_board(server, letters)
        write_sources(home, server)
        result = cli(home, "update", "board", "--delay", "0", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.count(f"took over a lock left by dead process {dead.pid}") == 1
    assert json.loads(result.stdout)["stale_lock_from"] == dead.pid
    assert search_total(home) == 2


def test_an_unknown_source_is_a_usage_error(home):
    result = cli(home, "update", "nosuch")
    assert result.exit_code == 2 and "unknown source 'nosuch'" in result.output


def test_the_scripts_run_update_quietly():
    scripts = Path(__file__).resolve().parents[1] / "scripts"
    cron = (scripts / "crontab.example").read_text()
    assert "scrsearch update --quiet" in cron
    service = (scripts / "scrsearch-update.service").read_text()
    assert "ExecStart=" in service and "scrsearch update --quiet" in service
    assert "SuccessExitStatus=75" in service
    timer = (scripts / "scrsearch-update.timer").read_text()
    assert "OnCalendar=" in timer and "WantedBy=timers.target" in timer
