"""Every fault ends in a clear message and a way back (issue 13), row by row, on real letters.

A home of real letters from ../shared/corpus is built once per module and copied per test;
damage is done to the copy by deleting files and flipping bytes. Commands run through the
real CLI (in process, or as a subprocess where a kill, a dropped privilege or a real stderr is
needed). Nothing here is mocked: a full disk is a 3 MB tmpfs, permissions are real file modes
enforced by dropping root's capabilities to override them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.engine import open_engine
from scrsearch.engine.whoosh import generations as search_index
from scrsearch.engine.whoosh import manifest
from scrsearch.pipeline import add_paths, run_index
from scrsearch.store import Store

LETTERS = 6
PATIENCE = 180.0


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def letters(corpus_dir) -> list[Path]:
    return sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:LETTERS]


@pytest.fixture(scope="module")
def built(tmp_path_factory, letters) -> Home:
    """A home with six real letters, indexed, one given title and one watch."""
    home = Home(tmp_path_factory.mktemp("faults") / "home").ensure()
    add_paths(home, letters[:1], meta={"title": "Given title of the first letter"})
    add_paths(home, letters[1:])
    assert run_index(home).indexed == LETTERS
    result = cli(home, "watch", "add", "children", "children")
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def fresh(built, tmp_path) -> Home:
    """A copy of the built home, for one test to damage."""
    shutil.copytree(built.root, tmp_path / "home")
    return Home(tmp_path / "home")


def cli(home: Home, *args: str):
    """Run the CLI in process; a traceback (an exception the CLI let through) fails the test."""
    result = CliRunner().invoke(main, ["--home", str(home.root), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"scrsearch {' '.join(args)} raised: {result.exception!r}")
    return result


def run(home: Home, *args: str, prefix: list[str] | None = None, **env: str):
    """Run `python -m scrsearch` as a subprocess (optionally under `prefix`, e.g. setpriv)."""
    command = [*(prefix or []), sys.executable, "-m", "scrsearch", "--home", str(home.root), *args]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **env}, timeout=PATIENCE
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def generation(home: Home) -> Path:
    found = search_index.current_generation(home)
    assert found is not None
    return found.path


def flip(path: Path, offset: int | None = None, count: int = 64) -> None:
    """Invert `count` bytes of a file from `offset` (default: its middle); same size."""
    data = bytearray(path.read_bytes())
    start = len(data) // 2 if offset is None else offset
    for i in range(start, min(start + count, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def one(folder: Path, pattern: str) -> Path:
    (found,) = sorted(folder.glob(pattern))[:1]
    return found


def index_error(home: Home, result) -> None:
    """The one IndexDamaged message: exit 1, names the file, says how to recover."""
    assert result.exit_code == 1, result.output
    assert "Error: the index is damaged (index/gen-" in result.stderr
    assert "run `scrsearch check --repair`" in result.stderr


def repaired_and_clean(home: Home, kind: str) -> None:
    """check finds `kind`, check --repair fixes it (exit 0), and the next check is clean."""
    found = cli(home, "check", "--format", "json")
    assert found.exit_code == 1
    assert kind in {p["kind"] for p in json.loads(found.stdout)["problems"]}
    repaired = cli(home, "check", "--repair", "--format", "json")
    assert repaired.exit_code == 0, repaired.output
    payload = json.loads(repaired.stdout)
    assert payload["ok"] and all(p["fixed"] for p in payload["problems"])
    after = cli(home, "check")
    assert after.exit_code == 0, after.output
    assert "all consistent" in after.stderr
    total = json.loads(cli(home, "search", "children", "--format", "json").stdout)["total"]
    assert total == LETTERS


def reports_shown(home: Home) -> int:
    return json.loads(cli(home, "search", "--format", "json").stdout)["total"]


def unprivileged() -> list[str]:
    """A command prefix under which file modes apply (root's override capabilities dropped)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed: cannot drop root's capabilities")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot drop capabilities here: {probe.stderr.decode().strip()}")
    return prefix


def make_read_only(path: Path) -> None:
    for folder, _dirs, files in os.walk(path):
        for name in files:
            Path(folder, name).chmod(0o444)
        Path(folder).chmod(0o555)


def make_writable(path: Path) -> None:
    path.chmod(0o755)
    for folder, dirs, files in os.walk(path):
        for name in dirs:
            Path(folder, name).chmod(0o755)
        for name in files:
            Path(folder, name).chmod(0o644)


def originals(home: Home) -> set[str]:
    return {p.stem for p in home.originals_dir.glob("*/*.pdf")}


def catalogued(home: Home) -> set[str]:
    with Store(home) as store:
        return {d.sha256 for d in store.documents()}


# ----------------------------------------------------------------------------- damage


@pytest.mark.parametrize("suffix", [".pst", ".trm"])
def test_a_deleted_segment_file_is_named_and_repaired(fresh, suffix):
    victim = one(generation(fresh), f"MAIN_*{suffix}")
    victim.unlink()
    for command in (["search", "children"], ["index"]):
        result = cli(fresh, *command)
        index_error(fresh, result)
        assert victim.name in result.stderr and "missing" in result.stderr
    repaired_and_clean(fresh, "damaged_index")


def test_a_flipped_table_of_contents_is_named_and_repaired(fresh):
    flip(one(generation(fresh), "_MAIN_*.toc"), offset=40)
    for command in (["search", "children"], ["index"], ["export", "--all-passages"]):
        result = cli(fresh, *command)
        index_error(fresh, result)
        assert ".toc: its bytes changed" in result.stderr
    repaired_and_clean(fresh, "damaged_index")


def test_flipped_stored_fields_are_found_by_check_and_named_by_export(fresh, tmp_path):
    flip(one(generation(fresh), "MAIN_*._stored.col"))
    out = tmp_path / "all.csv"
    exported = cli(fresh, "export", "--all-passages", "-o", str(out))
    index_error(fresh, exported)
    assert "_stored.col" in exported.stderr
    assert not out.exists(), "no partial export file"
    check = cli(fresh, "check")
    assert check.exit_code == 1 and "_stored.col" in check.stdout
    repaired_and_clean(fresh, "damaged_index")


def test_flipped_sha256_column_repair_is_honest(fresh):
    flip(one(generation(fresh), "MAIN_*.sha256.col"), offset=100)
    check = cli(fresh, "check")
    assert check.exit_code == 1 and "sha256.col  its bytes changed" in check.stdout
    # repair rebuilds, then checks again: "fixed" is what the second check no longer finds
    repaired_and_clean(fresh, "damaged_index")


def test_a_manifest_records_every_file_of_each_commit(fresh):
    gen = generation(fresh)
    listed = manifest.read_manifest(gen)
    assert listed["toc"] == manifest.latest_toc(gen)
    assert set(listed["files"]) == set(manifest.generation_files(gen))
    for name, (size, _sum) in listed["files"].items():
        assert (gen / name).stat().st_size == size
    manifest.verify_checksums(gen)  # no error: the files are as committed


@pytest.mark.parametrize("damage", ["delete", "garble"])
def test_damaged_cached_text_is_found_and_extracted_again(fresh, damage):
    with Store(fresh) as store:
        doc = store.documents()[2]
        path = store.text_path(doc.sha256)
    if damage == "delete":
        path.unlink()
    else:
        flip(path)
    shown = cli(fresh, "show", doc.sha256[:12], "--page", "1")
    assert shown.exit_code == 2 and "no extracted text" in shown.stderr
    check = cli(fresh, "check")
    assert check.exit_code == 1 and "damaged_text" in check.stdout
    assert str(path) in check.stdout
    repaired_and_clean(fresh, "damaged_text")
    assert cli(fresh, "show", doc.sha256[:12], "--page", "1").exit_code == 0


def test_a_lost_catalogue_is_an_error_and_is_rebuilt_from_the_originals(fresh, built):
    before = json.loads(cli(built, "search", "children", "--format", "json").stdout)
    for path in fresh.corpus_dir.glob("catalogue.sqlite*"):
        path.unlink()
    gen_files = sorted(p.name for p in generation(fresh).iterdir())
    searched = cli(fresh, "search", "children")
    assert searched.exit_code == 1
    assert "catalogue.sqlite is missing" in searched.stderr
    assert "scrsearch check --repair" in searched.stderr
    rebuild = cli(fresh, "index", "--rebuild")
    assert rebuild.exit_code == 1 and "is missing" in rebuild.stderr
    assert sorted(p.name for p in generation(fresh).iterdir()) == gen_files, "index untouched"
    assert not fresh.catalogue_path.exists()
    check = cli(fresh, "check")
    assert check.exit_code == 1 and "missing_catalogue" in check.stdout
    repaired_and_clean(fresh, "missing_catalogue")
    after = json.loads(cli(fresh, "search", "children", "--format", "json").stdout)
    assert after["total"] == before["total"]
    assert [r["sha256"] for r in after["results"]] == [r["sha256"] for r in before["results"]]
    with Store(built) as old, Store(fresh) as new:
        for doc in old.documents():
            again = new.document(doc.sha256)
            assert (again.original_name, again.source, again.title) == (
                doc.original_name, doc.source, doc.title,
            )  # fmt: skip
    titles = {r["title"] for r in after["results"]}
    assert "Given title of the first letter" in titles, "given metadata came back"
    watches = cli(fresh, "watch", "list", "--format", "json")
    assert [w["name"] for w in json.loads(watches.stdout)] == ["children"]


def test_an_original_without_its_row_is_reported_and_catalogued_again(fresh):
    with Store(fresh) as store:
        doc = store.documents()[4]
        store.db.execute("DELETE FROM documents WHERE sha256=?", (doc.sha256,))
    check = cli(fresh, "check")
    assert check.exit_code == 1 and f"uncatalogued_original {doc.sha256}" in check.stdout
    repaired_and_clean(fresh, "uncatalogued_original")


# ----------------------------------------------------------------------------- kills


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _indexed(home: Home) -> int:
    try:
        with Store(home) as store:
            return store.count_by_status().get("indexed", 0)
    except Exception:  # the catalogue is being created
        return 0


@pytest.mark.slow
def test_a_kill_during_the_first_build_keeps_its_committed_batches(tmp_path, corpus_dir):
    home = Home(tmp_path / "home").ensure()
    docs = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:12]
    add_paths(home, docs)
    env = {**os.environ, "SCRSEARCH_COMMIT_EVERY": "2", "SCRSEARCH_EXTRACTOR": "pypdf",
           "SCRSEARCH_WORKERS": "1"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "scrsearch", "--home", str(home.root), "index"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait(lambda: _indexed(home) >= 4 or proc.poll() is not None, "two commits")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=PATIENCE)
    kept = _indexed(home)
    assert kept >= 4, "the committed batches of a first build survive a kill"
    with Store(home) as store:
        marked = {d.sha256 for d in store.documents(["indexed"])}
    assert marked <= open_engine(home).live_reports()
    assert reports_shown(home) == kept, "what was committed is searchable"
    summary = run_index(home)
    assert summary.rebuilt is False and summary.unchanged == kept, "the next run goes on"
    assert _indexed(home) == len(docs)


@pytest.mark.slow
def test_a_killed_rebuild_leaves_a_generation_that_check_names_and_index_removes(fresh):
    env = {**os.environ, "SCRSEARCH_COMMIT_EVERY": "1", "SCRSEARCH_EXTRACTOR": "pypdf"}
    old = generation(fresh)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scrsearch", "--home", str(fresh.root), "index", "--rebuild"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    partial = fresh.index_dir / "gen-000002"
    _wait(lambda: manifest.latest_toc(partial) not in (None, "_MAIN_0.toc")
          or proc.poll() is not None, "a commit of the rebuild")  # fmt: skip
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=PATIENCE)
    if proc.returncode != -signal.SIGKILL or not partial.exists():
        pytest.skip("the rebuild finished before it could be killed")
    assert generation(fresh) == old and reports_shown(fresh) == LETTERS
    check = cli(fresh, "check")
    assert check.exit_code == 1 and "stale_generation  gen-000002" in check.stdout
    assert cli(fresh, "index").exit_code == 0
    assert not partial.exists() and not (fresh.index_dir / "gen-000002.manifest.json").exists()
    assert cli(fresh, "check").exit_code == 0


# ----------------------------------------------------------------------------- permissions


def test_a_read_only_home_is_searchable_and_writers_name_the_path(fresh, letters):
    prefix = unprivileged()
    make_read_only(fresh.root)
    try:
        for command in (["search", "children"], ["show", catalogued_first(fresh)],
                        ["reports"], ["export", "--format", "csv"], ["stats", "--by", "year"],
                        ["watch", "list"], ["check"]):  # fmt: skip
            done = run(fresh, *command, prefix=prefix)
            assert done.returncode == 0, (command, done.stderr)
        searched = run(fresh, "search", "children", "--format", "json", prefix=prefix)
        assert json.loads(searched.stdout)["total"] == LETTERS
        for command in (["add", str(letters[0].parent)], ["index"],
                        ["watch", "add", "w2", "neglect"], ["watch", "run"],
                        ["check", "--repair"]):  # fmt: skip
            done = run(fresh, *command, prefix=prefix)
            assert done.returncode == 1, (command, done.stderr)
            (line,) = done.stderr.strip().splitlines()
            assert f"Error: {fresh.root} is not writable" in line
    finally:
        make_writable(fresh.root)


def catalogued_first(home: Home) -> str:
    with Store(home) as store:
        return store.documents()[0].sha256[:12]


def test_a_read_only_catalogue_stops_writers_and_leaves_no_orphan(fresh, corpus_dir):
    prefix = unprivileged()
    before = originals(fresh)
    fresh.catalogue_path.chmod(0o444)
    other = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[LETTERS]
    try:
        for command in (["add", str(other)], ["index"], ["watch", "add", "w2", "neglect"],
                        ["watch", "run"]):  # fmt: skip
            done = run(fresh, *command, prefix=prefix)
            assert done.returncode == 1, (command, done.stderr)
            (line,) = done.stderr.strip().splitlines()
            assert f"{fresh.catalogue_path} is not writable" in line
        assert run(fresh, "search", "children", prefix=prefix).returncode == 0
    finally:
        fresh.catalogue_path.chmod(0o644)
    assert originals(fresh) == before, "no original without its row"
    assert cli(fresh, "check").exit_code == 0


@pytest.mark.parametrize("folder", ["index", "corpus/text"])
def test_an_unwritable_index_or_text_folder_is_named(fresh, folder):
    prefix = unprivileged()
    target = fresh.root / folder
    make_read_only(target)
    try:
        done = run(fresh, "index", "--rebuild", prefix=prefix)
        assert done.returncode == 1
        assert f"Error: {target} is not writable" in done.stderr
    finally:
        make_writable(target)


def test_an_unreadable_folder_given_to_add_is_reported(tmp_path, letters):
    prefix = unprivileged()
    given = tmp_path / "given"
    (given / "open").mkdir(parents=True)
    (given / "closed").mkdir()
    shutil.copy(letters[0], given / "open" / "a.pdf")
    shutil.copy(letters[1], given / "closed" / "b.pdf")
    (given / "closed").chmod(0o000)
    home = Home(tmp_path / "home")
    try:
        done = run(home, "add", str(given), prefix=prefix)
    finally:
        (given / "closed").chmod(0o755)
    assert done.returncode == 1
    assert f"failed: {given / 'closed'}: cannot read this folder" in done.stderr
    assert "Added 1 new document(s)" in done.stderr and "1 failed" in done.stderr


# ----------------------------------------------------------------------------- a full disk


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MB tmpfs, or a skip where mounting is not permitted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full-disk test needs root to mount a 3 MB tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_a_message_and_leaves_nothing_half_done(tiny_disk, corpus_dir):
    home = Home(tiny_disk / "home")
    pdfs = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:17]
    added = run(home, "add", *map(str, pdfs))
    assert added.returncode == 1
    assert "the disk is full" in added.stderr
    last = added.stderr.strip().splitlines()[-1]
    assert last.startswith("Added ") and " failed" in last, "add ends with its summary"
    assert originals(home) == catalogued(home), "every stored original has its row"
    indexed = run(home, "index")
    assert indexed.returncode == 1
    assert "the disk is full" in indexed.stderr and "indexing stopped" in indexed.stderr
    out = tiny_disk / "export.csv"
    for filler in range(100):  # leave no room for the export
        try:
            (tiny_disk / f"filler{filler}").write_bytes(b"x" * 65536)
        except OSError:
            break
    exported = run(home, "export", "--all-passages", "-o", str(out))
    if exported.returncode == 0:
        pytest.skip("nothing was indexed on the tiny disk, so the export was empty")
    assert f"{out}: the disk is full" in exported.stderr
    assert not out.exists() and not list(tiny_disk.glob(".export.csv.*"))


# ----------------------------------------------------------------------------- watches


def test_a_failing_watch_is_named_and_the_others_run(fresh):
    assert cli(fresh, "watch", "add", "neglect", "neglect").exit_code == 0
    with Store(fresh) as store:
        store.db.execute("UPDATE watches SET query='title:(' WHERE name='children'")
    done = cli(fresh, "watch", "run")
    assert done.exit_code == 1
    assert "failed: watch children:" in done.stderr
    assert "neglect: 0 new" in done.stdout


def test_bad_filters_json_of_a_watch_is_listed_with_its_reason(fresh):
    with Store(fresh) as store:
        store.db.execute("UPDATE watches SET filters='[1, 2' WHERE name='children'")
    listed = cli(fresh, "watch", "list")
    assert listed.exit_code == 0
    assert "cannot run: its stored filters" in listed.stdout
    ran = cli(fresh, "watch", "run", "children")
    assert ran.exit_code == 2 and "watch children:" in ran.stderr


# ----------------------------------------------------------------------------- smaller ones


def test_unknown_nation_and_source_are_usage_errors(fresh):
    for option, value in (("--nation", "Narnia"), ("--source", "nope"), ("--region", "Mars")):
        result = cli(fresh, "search", "children", option, value)
        assert result.exit_code == 2 and repr(value) in result.stderr
    assert cli(fresh, "search", "children", "--nation", "england").exit_code == 0
    assert cli(fresh, "search", "children", "--source", "local").exit_code == 0


def test_limit_zero_says_no_report_is_shown(fresh):
    result = cli(fresh, "search", "children", "--limit", "0")
    assert result.exit_code == 0
    assert "Showing 1-0" not in result.stdout
    assert f"No reports shown (--limit 0); --limit N shows N of {LETTERS}" in result.stdout


def test_a_truncated_pdf_leaves_no_stray_message_on_stderr(tmp_path, letters):
    data = letters[0].read_bytes()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "cut.pdf").write_bytes(data[: data.rfind(b"%%EOF") - 1] + b"\n")
    home = Home(tmp_path / "home")
    assert run(home, "add", str(folder)).returncode == 0
    done = run(home, "index", SCRSEARCH_EXTRACTOR="pypdf")
    for line in done.stderr.splitlines():
        assert "cut.pdf" in line or line.startswith(("Rebuilt", "Indexed")), line


def test_update_lock_as_a_folder_is_a_message(fresh):
    fresh.lock_path.unlink()
    fresh.lock_path.mkdir()
    result = cli(fresh, "index")
    assert result.exit_code == 1
    assert f"{fresh.lock_path} is a folder" in result.stderr and "rmdir" in result.stderr


def test_manifest_unterminated_quote_and_semicolons(tmp_path, letters):
    shutil.copy(letters[0], tmp_path / "a.pdf")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('file,title\na.pdf,"Child A review\n')
    semi = tmp_path / "semi.csv"
    semi.write_text("file;title\na.pdf;Child A\n")
    home = Home(tmp_path / "home")
    result = cli(home, "add", "--manifest", str(quoted))
    assert result.exit_code == 2 and f"{quoted}, line 2" in result.stderr
    assert "never closed" in result.stderr
    result = cli(home, "add", "--manifest", str(semi))
    assert result.exit_code == 2 and "separated by ';'" in result.stderr


def test_sources_toml_unknown_locality_and_malformed_file_exit_2(home):
    home.sources_path.write_text(
        '[sources.mine]\nstart_urls = ["https://x.example/"]\nlocality = "Atlantis"\n'
    )
    result = CliRunner().invoke(main, ["--home", str(home.root), "sources"])
    assert result.exit_code == 2 and "'Atlantis' is not a known local authority" in result.stderr
    home.sources_path.write_text('[sources.mine\nstart_urls = "x"\n')
    result = CliRunner().invoke(main, ["--home", str(home.root), "sources"])
    assert result.exit_code == 2 and "is not valid TOML" in result.stderr


def test_a_known_locality_in_sources_toml_is_stored_as_the_catalogue_spells_it(home):
    home.sources_path.write_text(
        '[sources.mine]\nstart_urls = ["https://x.example/"]\nlocality = "bradford"\n'
    )
    from scrsearch.sources import load_sources

    assert load_sources(home)["mine"].meta["locality"] == "Bradford"


# ----------------------------------------------------------------------------- listings


def test_a_listing_finds_each_links_heading_as_find_previous_did(tmp_path):
    import tomllib

    from scrsearch.sources import Page, adapter_for, parse_sources
    from scrsearch.sources.listing import nearby_heading

    toml = '[sources.big]\nstart_urls = ["https://x.example/scr/"]\ndocuments = ["\\\\.pdf$"]\n'
    config = parse_sources(tomllib.loads(toml), "t")["big"]
    rows = []
    for i in range(3000):
        heading = f"<h3>Review {i} (2019)</h3>" if i % 3 else ""
        nested = f'<h4><a href="/t{i}.pdf">Title in a heading {i}</a></h4>' if i % 7 == 0 else ""
        rows.append(f'{heading}<p><a href="/files/r{i}.pdf">Download</a></p>{nested}')
    html = f"<html><body><div>{''.join(rows)}</div></body></html>"
    links = list(adapter_for(config).links(lambda url: Page(url, url, html)))
    assert len(links) == 3000 + len(range(0, 3000, 7))
    # the reference: BeautifulSoup's own walk back to the previous heading, link by link
    from scrsearch.sources.base import parse_html

    by_url = {link.url: link for link in links}
    for anchor in parse_html(html).find_all("a", href=True)[::5]:
        link = by_url["https://x.example" + anchor["href"]]
        if anchor.get_text() == "Download":
            heading = nearby_heading(anchor)
            assert link.text == (f"{heading}: Download" if heading else "Download"), link
    assert by_url["https://x.example/files/r1.pdf"].text == "Review 1 (2019): Download"


def test_an_index_made_before_manifests_gets_one_from_repair_without_a_rebuild(fresh):
    gen = generation(fresh)
    manifest.manifest_path(gen).unlink()
    assert reports_shown(fresh) == LETTERS, "readers do not need a manifest"
    check = cli(fresh, "check")
    assert check.exit_code == 1 and "made before manifests" in check.stdout
    repaired = cli(fresh, "check", "--repair")
    assert repaired.exit_code == 0 and "manifest written" in repaired.stdout
    assert generation(fresh) == gen, "not rebuilt"
    assert cli(fresh, "check").exit_code == 0
