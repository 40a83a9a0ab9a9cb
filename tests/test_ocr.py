"""OCR of scans with the real Tesseract: the hard cases, scanned copies of real letters measured
against their own text layer, provenance everywhere, and what happens without Tesseract."""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch import ocr, pipeline
from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.extract import extract_pdf
from scrsearch.store import Store

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import benchcorpus  # noqa: E402

#: Real inspection letters scanned in the tests (3 pages each).
LETTERS = (
    "ofsted-jtai/80485_liverpool/joint area child protection inspection - 03 august 2016.pdf",
    "ofsted-jtai/80532_northumberland/joint area child protection inspection - 02 august 2019.pdf",
)
SCANNED_PAGES = 3


@pytest.fixture(scope="session")
def tesseract() -> None:
    """Tesseract with English data, or a skip (a failure under SCRSEARCH_REQUIRE_OCR=1,
    which .ci/run sets after installing it)."""
    problem = ocr.engine_problem()
    if problem is None:
        return
    if os.environ.get("SCRSEARCH_REQUIRE_OCR") == "1":
        pytest.fail(f"{problem}; SCRSEARCH_REQUIRE_OCR=1 makes that a failure")
    pytest.skip(f"OCR tests need Tesseract: {problem}")


def words(text: str) -> Counter:
    """A bag of the words of 3+ letters, lower-cased."""
    return Counter(w.lower() for w in re.findall(r"[^\W\d_]{3,}", text))


def recall_precision(truth: Counter, got: Counter) -> tuple[float, float]:
    common = sum((truth & got).values())
    return common / max(1, sum(truth.values())), common / max(1, sum(got.values()))


def run(home: Home, *args: str):
    return CliRunner().invoke(main, ["--home", str(home.root), *args])


# ----------------------------------------------------------------------- the hard cases


@pytest.fixture(scope="module")
def hard_home(tmp_path_factory, corpus_dir, tesseract) -> Home:
    home = Home(tmp_path_factory.mktemp("hard") / "home").ensure()
    pipeline.add_paths(home, [corpus_dir / "hard-cases"])
    pipeline.run_index(home)
    return home


def test_every_scan_in_hard_cases_is_indexed(hard_home, corpus_dir):
    with Store(hard_home) as store:
        docs = {d.original_name: d for d in store.documents()}
    scans = sorted(p.name for p in (corpus_dir / "hard-cases").glob("*.pdf"))
    assert len(scans) >= 5
    for name in scans:
        if name == "invalid.pdf":  # 44 bytes, no PDF at all
            assert docs[name].status == "failed"
            continue
        assert docs[name].status == "indexed", (name, docs[name].error)
        assert docs[name].text_source in ("ocr", "mixed"), name
        assert docs[name].ocr_pages >= 1 and docs[name].ocr_confidence > 50


@pytest.mark.parametrize("name", ["skew.pdf", "ccitt.pdf"])
def test_word_recall_on_skew_and_ccitt_against_linn_txt(hard_home, corpus_dir, name):
    truth = words((corpus_dir / "hard-cases" / "linn.txt").read_text(encoding="utf-8"))
    with Store(hard_home) as store:
        doc = next(d for d in store.documents() if d.original_name == name)
        text = store.cached_text(doc.sha256)
    recall, precision = recall_precision(truth, words("\n".join(text.pages)))
    print(f"{name}: recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.95
    assert precision >= 0.90
    assert text.sources[0].method == "ocr" and text.sources[0].confidence > 80


def test_show_stats_and_export_carry_ocr_provenance(hard_home):
    with Store(hard_home) as store:
        skew = next(d for d in store.documents() if d.original_name == "skew.pdf")
    shown = run(hard_home, "show", skew.report_id)
    assert shown.exit_code == 0, shown.output
    assert re.search(r"text +OCR on page\(s\) 1 \(mean confidence \d+", shown.output)
    page = json.loads(
        run(hard_home, "show", skew.report_id, "--page", "1", "--format", "json").stdout
    )
    assert page["text_source"] == "ocr" and page["ocr_confidence"] > 80
    assert page["page_sources"][0]["page"] == 1
    stats = json.loads(  # files, not reviews: skew.pdf and ccitt.pdf hold one text
        run(hard_home, "stats", "--by", "text_source", "--format", "json", "--all-copies").stdout
    )
    counts = {row["text_source"]: row["count"] for row in stats["rows"]}
    assert counts.get("ocr", 0) + counts.get("mixed", 0) == 5
    exported = run(hard_home, "export", "sequencer", "--format", "jsonl")
    rows = [json.loads(line) for line in exported.stdout.splitlines()][1:]
    assert rows and all(r["text_source"] == "ocr" and r["ocr_confidence"] > 80 for r in rows)


# ---------------------------------------------------- scanned copies of real letters


@pytest.fixture(scope="module")
def scans(tmp_path_factory, corpus_dir, tesseract) -> dict:
    """Two real letters scanned (200 dpi, turned 1 degree, 2% specks), indexed in one home."""
    folder = tmp_path_factory.mktemp("scans")
    home = Home(folder / "home").ensure()
    made = {}
    for number, name in enumerate(LETTERS):
        original = corpus_dir / name
        scan = folder / f"scan-{number}.pdf"
        benchcorpus.make_scan(
            original, scan, pages=SCANNED_PAGES, dpi=200, angle=1.0, noise=0.02, seed=number
        )
        assert extract_pdf_text_layer_is_empty(scan)
        made[scan.name] = original
    pipeline.add_paths(home, [folder / n for n in made])
    summary = pipeline.run_index(home)
    assert summary.indexed == len(LETTERS) and not summary.needs_ocr and not summary.failed
    return {"home": home, "originals": made}


def extract_pdf_text_layer_is_empty(path: Path) -> bool:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        return all(
            not document[i].get_textpage().get_text_range().strip() for i in range(len(document))
        )
    finally:
        document.close()


def test_scanned_letters_reach_recall_and_precision(scans):
    home = scans["home"]
    with Store(home) as store:
        docs = {d.original_name: d for d in store.documents()}
        for scan_name, original in scans["originals"].items():
            truth = extract_pdf(original).pages[:SCANNED_PAGES]
            text = store.cached_text(docs[scan_name].sha256)
            recall, precision = recall_precision(
                words("\n".join(truth)), words("\n".join(text.pages))
            )
            print(f"{original.name}: recall {recall:.3f}, precision {precision:.3f}")
            assert recall >= 0.97, original.name
            assert precision >= 0.90, original.name
            assert [s.method for s in text.sources] == ["ocr"] * SCANNED_PAGES


def page_two_phrase(original: Path) -> str:
    """Five words of page 2 of the original (3+ letters each, from the middle of the page)
    found on neither page 1 nor page 3: the phrase a reader would search for."""
    pages = extract_pdf(original).pages
    others = " ".join(" ".join(re.findall(r"\w+", p.lower())) for p in (pages[0], pages[2]))
    tokens = re.findall(r"[^\W\d_]+", pages[1])
    for start in range(len(tokens) // 2, len(tokens) - 5):
        run_ = tokens[start : start + 5]
        phrase = " ".join(run_)
        if (
            all(len(t) >= 3 for t in run_)
            and phrase.lower() not in others
            and re.search(r"\s+".join(run_), pages[1])  # consecutive in the text itself
        ):
            return phrase
    raise AssertionError(f"no phrase found on page 2 of {original.name}")


def test_a_phrase_from_page_two_is_found_on_page_two_of_the_scan(scans):
    home = scans["home"]
    for scan_name, original in scans["originals"].items():
        phrase = page_two_phrase(original)
        result = run(home, "search", f'"{phrase}"', "--format", "json")
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        hits = [r for r in payload["results"] if r["original_name"] == scan_name]
        assert hits, f"{phrase!r} not found in {scan_name}"
        pages = {p["page"] for p in hits[0]["passages"]}
        assert pages == {2}, (phrase, pages)
        assert all(p["text_source"] == "ocr" for p in hits[0]["passages"])
        assert all(
            p["ocr_confidence"] > 70 and not p["low_confidence"] for p in hits[0]["passages"]
        )


def test_ocr_pages_are_cached_and_never_read_twice(scans, monkeypatch):
    """A second extraction of a scanned document reads its pages from the OCR cache: with
    Tesseract made unreachable it still gets the same text."""
    home = scans["home"]
    with Store(home) as store:
        doc = store.documents()[0]
        first = store.cached_text(doc.sha256)
        path = home.root / doc.path
    folder = ocr.cache_folder(home.text_dir / "ocr", doc.sha256)
    assert len(list(folder.glob("*.json"))) == SCANNED_PAGES

    def no_tesseract(image, dpi):  # any recognition now would be a page read twice
        raise AssertionError("a cached page was OCR'd again")

    monkeypatch.setattr(ocr, "read_image", no_tesseract)
    again = extract_pdf(path, folder)
    assert again.pages == first.pages


def test_one_scanned_report_alone_is_read_in_threads_with_the_same_text(scans, tmp_path):
    """A report extracted alone with two workers OCRs its pages two at a time (the idle
    worker's core); the text is the same as read one page at a time."""
    from scrsearch.extract import extract_many

    home = scans["home"]
    with Store(home) as store:
        doc = store.documents()[0]
        one_at_a_time = store.cached_text(doc.sha256)
    jobs = [(doc.sha256, home.root / doc.path)]
    ((key, threaded),) = list(extract_many(jobs, workers=2, ocr_cache=tmp_path / "fresh"))
    assert key == doc.sha256
    assert threaded.pages == one_at_a_time.pages
    assert threaded.sources == one_at_a_time.sources
    assert len(list((tmp_path / "fresh").rglob("*.json"))) == SCANNED_PAGES


# ------------------------------------------------------------------ a page that fails


def test_a_page_that_times_out_is_recorded_and_the_rest_goes_on(
    tmp_path, corpus_dir, tesseract, monkeypatch
):
    """A letter with a born-digital page 1 and a scanned page 2: with a page timeout too short
    for Tesseract, page 2 is recorded as failed and page 1 is indexed."""
    from pypdf import PdfReader, PdfWriter

    original = corpus_dir / LETTERS[0]
    scan = tmp_path / "scan.pdf"
    benchcorpus.make_scan(original, scan, pages=2, dpi=200)
    writer = PdfWriter()
    writer.add_page(PdfReader(original).pages[0])
    writer.add_page(PdfReader(scan).pages[1])
    mixed = tmp_path / "mixed.pdf"
    with open(mixed, "wb") as handle:
        writer.write(handle)
    monkeypatch.setenv(ocr.PAGE_TIMEOUT_ENV, "0.05")
    text = extract_pdf(mixed)
    assert [s.method for s in text.sources] == ["text", "ocr_failed"]
    assert "longer than 0.05 s" in text.sources[1].note
    assert "Joint" in text.pages[0] or "joint" in text.pages[0]
    assert any("page 2: OCR failed" in w for w in text.warnings)


# ----------------------------------------------------------------- without Tesseract


@pytest.mark.parametrize("how", ["missing binary", "not on PATH"])
def test_without_tesseract_scans_stay_needs_ocr_with_the_install_hint(
    tmp_path, corpus_dir, monkeypatch, how
):
    """The real detection (pytesseract runs the program and finds none): documents stay
    needs_ocr, the message names the Debian packages, and index exits as it always did."""
    home = Home(tmp_path / "home").ensure()
    pipeline.add_paths(home, [corpus_dir / "hard-cases" / "skew.pdf"])
    with monkeypatch.context() as patched:
        patched.setattr(ocr, "_engine_problem", {})  # forget what this process found before
        if how == "missing binary":
            patched.setenv(ocr.ENGINE_ENV, str(tmp_path / "no-such" / "tesseract"))
        else:
            patched.delenv(ocr.ENGINE_ENV, raising=False)
            patched.setenv("PATH", str(tmp_path))  # a folder without tesseract
        result = run(home, "index")
        assert result.exit_code == 0, result.output  # needs_ocr is not a failure, as before
        assert "needs OCR: skew.pdf" in result.output
        assert "sudo apt-get install tesseract-ocr tesseract-ocr-eng" in result.output
        with Store(home) as store:
            (doc,) = store.documents()
        assert doc.status == "needs_ocr"
        assert "tesseract-ocr tesseract-ocr-eng" in doc.error
        if ocr.pytesseract is None:  # no ocr extra: that is said first
            assert "pip install 'scrsearch[ocr]'" in doc.error
        else:
            assert "Tesseract is not installed" in doc.error
    if ocr.engine_problem() is not None:
        return  # the rest needs the real engine
    # Tesseract is back: a plain `index` (no --retry-failed) picks the scan up.
    monkeypatch.setattr(ocr, "_engine_problem", {})
    result = run(home, "index")
    assert result.exit_code == 0, result.output
    with Store(home) as store:
        (doc,) = store.documents()
    assert doc.status == "indexed" and doc.text_source == "ocr"


# ------------------------------------------------------------------- clean-up, no engine


def test_word_salad_of_a_stamp_is_dropped_and_real_lines_kept():
    header = "\t".join(
        [
            "level",
            "page_num",
            "block_num",
            "par_num",
            "line_num",
            "word_num",
            "left",
            "top",
            "width",
            "height",
            "conf",
            "text",
        ]
    )

    def word(block, line, number, conf, text):
        return f"5\t1\t{block}\t1\t{line}\t{number}\t0\t0\t10\t10\t{conf}\t{text}"

    rows = [header]
    rows += [
        word(1, 1, n, 95, w) for n, w in enumerate(["The", "child", "was", "seen", "weekly."], 1)
    ]
    rows += [
        word(2, 1, n, c, w) for n, (c, w) in enumerate([(12, "~¥#"), (30, "|}a"), (8, "ee")], 1)
    ]
    rows += [
        word(3, 1, 1, 91, "Safeguarding"),
        word(3, 1, 2, 20, "%&*"),
        word(3, 1, 3, 93, "board"),
    ]
    result = ocr.read_tsv("\n".join(rows))
    assert result.text.splitlines() == ["The child was seen weekly.", "Safeguarding board"]
    assert result.confidence > 90


def test_garbage_text_layers_are_recognised():
    assert ocr.is_garbage("\ufffd\ufffd \ufffd\ufffd\ufffd a")
    assert ocr.is_garbage("\n".join("Thechildwas"))
    assert not ocr.is_garbage("The child was seen weekly by her health visitor.")
    assert not ocr.is_garbage("")
    assert ocr.needs_ocr("", 1.0) and ocr.needs_ocr("Page 3", 0.9)
    assert not ocr.needs_ocr("", 0.1)
    assert not ocr.needs_ocr("A full page of words " * 20, 1.0)


def test_a_page_scanned_sideways_is_turned_and_read(tmp_path, corpus_dir, tesseract):
    """Orientation: a page scanned a quarter turn round is read after Tesseract's orientation
    detection turns it back."""
    original = corpus_dir / LETTERS[0]
    scan = tmp_path / "sideways.pdf"
    benchcorpus.make_scan(original, scan, pages=1, angle=90, noise=0.01)
    text = extract_pdf(scan)
    recall, precision = recall_precision(
        words(extract_pdf(original).pages[0]), words(text.pages[0])
    )
    assert recall >= 0.95 and precision >= 0.90, (recall, precision)
    assert text.sources[0].method == "ocr" and not text.sources[0].low_confidence


def test_low_confidence_pages_are_flagged_not_dropped():
    from scrsearch import provenance
    from scrsearch.models import Document, PageSource

    doc = Document("ab" * 32, "scan.pdf", "local", "x.pdf", 1, pages=3, text_source="mixed",
                   ocr_pages=2, ocr_confidence=71.5)  # fmt: skip
    pages = {1: PageSource("ocr", 95.0), 2: PageSource("ocr", 48.0)}
    lines = provenance.describe(doc, pages)
    assert lines[0] == "OCR on page(s) 1-2 (mean confidence 71.5)"
    assert lines[1] == "low confidence (under 70) on page(s) 2: p.2 48"
    assert lines[-1] == "text layer on the other pages"
    assert provenance.passage_fields(pages[2]) == {
        "text_source": "ocr", "ocr_confidence": 48.0, "low_confidence": True
    }  # fmt: skip
    assert provenance.passage_fields(None)["text_source"] == "text_layer"


def test_stopping_a_run_kills_the_tesseract_it_started(tmp_path, corpus_dir, tesseract):
    """Ctrl-C while a page is being read: the worker and the Tesseract it runs both die (no
    orphan keeps a core busy)."""
    import signal
    import subprocess
    import time

    import psutil

    scan = tmp_path / "long.pdf"
    benchcorpus.make_scan(corpus_dir / LETTERS[1], scan, pages=8)
    script = (
        "import sys; from pathlib import Path; from scrsearch.extract import extract_many\n"
        "list(extract_many([('k', Path(sys.argv[1]))], workers=1, ocr_cache=Path(sys.argv[2])))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-c", script, str(scan), str(tmp_path / "c")]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)  # no KeyboardInterrupt noise
    try:
        deadline = time.monotonic() + 60
        engines: list[psutil.Process] = []
        while not engines and time.monotonic() < deadline:
            time.sleep(0.05)
            children = psutil.Process(proc.pid).children(recursive=True)
            engines = [p for p in children if p.name() == "tesseract"]
        assert engines, "no Tesseract was started"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        gone, alive = psutil.wait_procs(engines, timeout=0.3)  # a page takes seconds
        # A killed orphan may stay a zombie until PID 1 reaps it: dead all the same.
        running = [p for p in alive if _status(p) != psutil.STATUS_ZOMBIE]
        assert not running, f"Tesseract outlived its worker: {running}"
    finally:
        if proc.poll() is None:
            proc.kill()


def _status(process) -> str:
    import psutil

    try:
        return process.status()
    except psutil.NoSuchProcess:
        return psutil.STATUS_DEAD


def test_a_scanned_copy_and_its_born_digital_original_are_one_review(
    tmp_path, corpus_dir, tesseract
):
    """OCR and copies together: a whole letter printed and scanned (no text layer) is read by
    Tesseract and then found to be a copy of the original it was printed from."""
    from scrsearch import reviews

    original = (
        corpus_dir
        / "ofsted-jtai/80426_barnsley/joint area child protection inspection - 18 july 2022.pdf"
    )
    scan = tmp_path / "barnsley-scan.pdf"
    benchcorpus.make_scan(original, scan, dpi=200, angle=1.0, noise=0.02, seed=3)
    assert extract_pdf_text_layer_is_empty(scan)
    home = Home(tmp_path / "home").ensure()
    pipeline.add_paths(home, [original, scan])
    summary = pipeline.run_index(home)
    assert summary.indexed == 2 and not summary.needs_ocr and not summary.failed
    with Store(home) as store:
        by_name = {d.original_name: d for d in store.documents(["indexed"])}
        born, scanned = by_name[original.name], by_name[scan.name]
        assert scanned.text_source == "ocr"
        assert reviews.review_id_of(store, scanned.sha256) == reviews.review_id_of(
            store, born.sha256
        )
        assert reviews.member_of(store, born.sha256).is_primary  # added first, same source
