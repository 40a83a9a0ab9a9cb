"""extract: real corpus PDFs, hard cases, and small generated PDFs where a case needs control."""

from __future__ import annotations

import os
import zlib
from collections import Counter
from pathlib import Path

import psutil
import pypdf
import pytest
from fpdf import FPDF
from fpdf.enums import EncryptionMethod

from pdfmaker import pdf_file
from scrsearch.errors import (
    BrokenPDFError,
    ConfigError,
    EncryptedError,
    ExtractError,
    ExtractTimeout,
    NeedsOCRError,
    NotPDFError,
)
from scrsearch.extract import EXTRACTOR_ENV, extract_many, extract_pdf, normalise_pages
from scrsearch.models import ExtractedText

ILACS = "ofsted-ilacs/80429_birmingham/children's services inspection - "
BIRMINGHAM_2014 = "ofsted-ilacs/80429_birmingham/children's services inspection - 23 may 2014.pdf"
BIRMINGHAM_2023 = "ofsted-ilacs/80429_birmingham/children's services inspection - 18 april 2023.pdf"
BIRMINGHAM_2012 = ILACS + "19 october 2012.pdf"
ROTHERHAM_2012 = "ofsted-ilacs/80543_rotherham/children's services inspection - 10 august 2012.pdf"
NORFOLK = "ofsted-jtai/80418_norfolk/joint area child protection inspection - 27 february 2025.pdf"
BRADFORD_JTAI = (
    "ofsted-jtai/80449_bradford/joint area child protection inspection - 21 april 2017.pdf"
)
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(params=["pypdf", "pypdfium2"])
def extractor(request, monkeypatch) -> str:
    """Run a test once with each extractor forced."""
    if request.param == "pypdfium2":
        pytest.importorskip("pypdfium2")
    monkeypatch.setenv(EXTRACTOR_ENV, request.param)
    return request.param


def write_pdf(path: Path, pages: list[list[str]], **encryption) -> Path:
    """A PDF with one line of text a list item, one page a list (an empty list: a blank page)."""
    pdf = FPDF()
    if FONT.exists():
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.set_font("DejaVu", size=11)
    else:
        pdf.set_font("Helvetica", size=11)
    if encryption:
        pdf.set_encryption(**encryption)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


# ------------------------------------------------------------------------ real corpus


@pytest.mark.parametrize("name", [BIRMINGHAM_2014, NORFOLK, BRADFORD_JTAI])
def test_page_counts_match_pypdf(corpus_dir: Path, extractor: str, name: str) -> None:
    result = extract_pdf(corpus_dir / name)
    assert len(result.pages) == len(pypdf.PdfReader(corpus_dir / name).pages)
    assert result.extractor == extractor


def test_known_sentence_on_known_page(corpus_dir: Path, extractor: str) -> None:
    pages = extract_pdf(corpus_dir / BIRMINGHAM_2014).pages
    assert len(pages) == 37
    sentence = (
        "The most vulnerable children in Birmingham continue to be failed by the local "
        "authority. There is an insufficient focus on children who need help and protection"
    )
    assert sentence in pages[2]  # page 3, wrapped over three lines in the PDF
    assert [number for number, page in enumerate(pages, 1) if sentence in page] == [3]


def test_running_header_is_gone_and_body_stays(corpus_dir: Path, extractor: str) -> None:
    # Every page of this report but the first starts with these two lines, the second
    # ending in the page number.
    raw = [page.extract_text() for page in pypdf.PdfReader(corpus_dir / BIRMINGHAM_2023).pages]
    header = "Inspection of Birmingham local authority children’s services"
    assert sum(header in page for page in raw) >= 10
    pages = extract_pdf(corpus_dir / BIRMINGHAM_2023).pages
    for page in pages:
        assert header not in page
        assert "20 February to 3 March 2023 " not in page
        assert not page.split("\n")[0].strip().isdigit()
    assert pages[2].startswith(
        "4. The emergency duty service responds to children’s needs in a timely and "
        "proportionate way."
    )


def test_paragraphs_are_separated_by_blank_lines(corpus_dir: Path, extractor: str) -> None:
    page = extract_pdf(corpus_dir / BIRMINGHAM_2023).pages[2]
    paragraphs = page.split("\n\n")
    numbered = [p for p in paragraphs if p[:3] in {"4. ", "5. ", "6. ", "7. ", "8. "}]
    assert len(numbered) == 5
    assert all("\n" not in p for p in numbered)  # wrapped lines are joined with spaces


def test_both_extractors_give_comparable_text(corpus_dir: Path) -> None:
    pytest.importorskip("pypdfium2")
    for name in (BIRMINGHAM_2014, NORFOLK, BRADFORD_JTAI):
        results = {}
        for choice in ("pypdf", "pypdfium2"):
            os.environ[EXTRACTOR_ENV] = choice
            try:
                results[choice] = extract_pdf(corpus_dir / name)
            finally:
                del os.environ[EXTRACTOR_ENV]
        a, b = results["pypdf"], results["pypdfium2"]
        assert (a.extractor, b.extractor) == ("pypdf", "pypdfium2")
        assert len(a.pages) == len(b.pages)
        words_a, words_b = Counter(" ".join(a.pages).split()), Counter(" ".join(b.pages).split())
        overlap = sum((words_a & words_b).values()) / max(words_a.total(), words_b.total())
        assert overlap > 0.98, name


def test_hyphens_at_line_ends_of_real_text_are_kept(corpus_dir: Path, extractor: str) -> None:
    # The PDF wraps "multi-/agency response" (pdfium reports that hyphen as U+FFFE) and also
    # writes "multiagency" once, on purpose; "multi-agency" must survive the line break.
    text = " ".join(extract_pdf(corpus_dir / BRADFORD_JTAI).pages)
    assert "This should be a multi-agency response" in text
    assert "\ufffe" not in text
    assert text.count("multiagency") == 1


def test_auto_reports_the_extractor_used(corpus_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv(EXTRACTOR_ENV, raising=False)
    result = extract_pdf(corpus_dir / NORFOLK)
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        assert result.extractor == "pypdf"
    else:
        assert result.extractor == "pypdfium2"


def test_bad_extractor_setting_is_a_config_error(corpus_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv(EXTRACTOR_ENV, "tesseract")
    with pytest.raises(ConfigError, match="SCRSEARCH_EXTRACTOR"):
        extract_pdf(corpus_dir / NORFOLK)


# ------------------------------------------------------------------------- hard cases


@pytest.mark.parametrize("name", ["c02-22.pdf", "ccitt.pdf", "francais.pdf", "skew.pdf"])
def test_image_only_scans_need_ocr(
    corpus_dir: Path, extractor: str, name: str, without_ocr
) -> None:
    with pytest.raises(NeedsOCRError, match="OCR") as caught:
        extract_pdf(corpus_dir / "hard-cases" / name)
    assert name in str(caught.value)
    assert caught.value.status == "needs_ocr"


def test_scan_with_one_stray_chart_label_needs_ocr(
    corpus_dir: Path, extractor: str, without_ocr
) -> None:
    # multipage.pdf: six scanned pages; page 4 carries a few words of a chart's labels.
    assert (
        sum(
            bool(p.extract_text().strip())
            for p in pypdf.PdfReader(corpus_dir / "hard-cases" / "multipage.pdf").pages
        )
        == 1
    )
    with pytest.raises(NeedsOCRError, match="5 of its 6 pages"):
        extract_pdf(corpus_dir / "hard-cases" / "multipage.pdf")


def test_truncated_pdf_is_broken(corpus_dir: Path, extractor: str) -> None:
    with pytest.raises(BrokenPDFError) as caught:
        extract_pdf(corpus_dir / "hard-cases" / "invalid.pdf")
    message = str(caught.value)
    assert message.startswith("invalid.pdf is damaged or truncated")
    assert "download it again" in message


@pytest.mark.parametrize("name", [BIRMINGHAM_2012, ROTHERHAM_2012])
def test_html_page_saved_as_pdf_is_not_a_pdf(corpus_dir: Path, name: str) -> None:
    with pytest.raises(NotPDFError) as caught:
        extract_pdf(corpus_dir / name)
    message = str(caught.value)
    assert Path(name).name in message
    assert "is an HTML page, not a PDF (starts with '<!DOCTYPE html" in message
    assert "download the real PDF" in message


def test_other_non_pdf_says_how_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("Minutes of the board meeting\n")
    with pytest.raises(NotPDFError, match="notes.pdf is not a PDF \\(starts with 'Minutes"):
        extract_pdf(path)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(NotPDFError, match="empty.pdf is empty"):
        extract_pdf(empty)


# ---------------------------------------------------------------------- generated PDFs


def test_aes_pdf_with_empty_user_password_opens(tmp_path: Path, extractor: str) -> None:
    path = write_pdf(
        tmp_path / "open.pdf",
        [["The review panel met in March and agreed the terms of reference."]],
        owner_password="owner-secret",
        user_password="",
        encryption_method=EncryptionMethod.AES_128,
    )
    assert pypdf.PdfReader(path).is_encrypted
    pages = extract_pdf(path).pages
    assert pages == ("The review panel met in March and agreed the terms of reference.",)


def test_pdf_with_user_password_is_encrypted_error(tmp_path: Path, extractor: str) -> None:
    path = write_pdf(
        tmp_path / "locked.pdf",
        [["Confidential draft of the practice review."]],
        owner_password="owner-secret",
        user_password="reader-secret",
        encryption_method=EncryptionMethod.AES_128,
    )
    with pytest.raises(EncryptedError) as caught:
        extract_pdf(path)
    assert "locked.pdf is protected by a password" in str(caught.value)


def test_ligatures_are_unfolded(tmp_path: Path, extractor: str) -> None:
    if not FONT.exists():
        pytest.skip(f"{FONT} is needed to write ligature characters")
    path = write_pdf(tmp_path / "lig.pdf", [["The ﬁrst ﬂoor oﬃce was identiﬁed."]])
    assert extract_pdf(path).pages == ("The first floor office was identified.",)


def test_hyphen_joining_follows_the_document(tmp_path: Path, extractor: str) -> None:
    lines = [
        "Safeguarding is everyone's business, and the multi-agency team agreed on",
        "the need for better safe-",
        "guarding training across the",
        "multi-",
        "agency partnership in the county.",
    ]
    text = extract_pdf(write_pdf(tmp_path / "hyph.pdf", [lines])).pages[0]
    assert "better safeguarding training" in text
    assert "the multi-agency partnership" in text
    assert "safe-guarding" not in text


def test_blank_page_stays_empty_with_a_warning(tmp_path: Path, extractor: str) -> None:
    pages = [
        ["Chapter one: the family and the agencies involved with them."],
        [],
        ["Chapter two: what happened during the period under review."],
        ["Chapter three: findings and the recommendations of the review."],
    ]
    result = extract_pdf(write_pdf(tmp_path / "blank.pdf", pages))
    assert len(result.pages) == 4
    assert result.pages[1] == ""
    assert result.pages[2].startswith("Chapter two")
    assert result.warnings == ("page 2 had no text (an image or a blank page)",)


def test_too_many_pages_is_an_error_before_extraction(
    tmp_path: Path, extractor: str, monkeypatch
) -> None:
    path = write_pdf(tmp_path / "long.pdf", [[f"Page {n} of the appendix."] for n in range(5)])
    monkeypatch.setenv("SCRSEARCH_MAX_PAGES", "4")
    with pytest.raises(ExtractError, match="long.pdf has 5 pages, more than the limit of 4"):
        extract_pdf(path)


def write_bomb_pdf(path: Path) -> Path:
    """A 1-page PDF whose content stream inflates from ~80 KB to 80 MB."""
    text = b"BT /F1 12 Tf 72 720 Td (Hello safeguarding world) Tj ET"
    stream = zlib.compress(text + b" " * 80_000_000, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    path.write_bytes(pdf_file(objects))
    return path


# ------------------------------------------------------------------------ extract_many


def test_extract_many_survives_a_hang_and_replaces_the_worker(
    corpus_dir: Path, tmp_path: Path, without_ocr
) -> None:
    fifo = tmp_path / "hang.pdf"
    os.mkfifo(fifo)  # open() blocks for ever: nobody writes to it
    jobs = [
        ("hang", fifo),
        ("norfolk", corpus_dir / NORFOLK),
        ("invalid", corpus_dir / "hard-cases" / "invalid.pdf"),
        ("scan", corpus_dir / "hard-cases" / "skew.pdf"),
        ("html", corpus_dir / BIRMINGHAM_2012),
    ]
    # One worker: every job after the hang needs the replacement worker.
    results = dict(extract_many(jobs, workers=1, timeout=3))
    assert set(results) == {"hang", "norfolk", "invalid", "scan", "html"}
    assert isinstance(results["hang"], ExtractTimeout)
    assert "hang.pdf took longer than 3 s" in str(results["hang"])
    assert isinstance(results["norfolk"], ExtractedText)
    assert len(results["norfolk"].pages) == len(pypdf.PdfReader(corpus_dir / NORFOLK).pages)
    assert isinstance(results["invalid"], BrokenPDFError)
    assert isinstance(results["scan"], NeedsOCRError)
    assert isinstance(results["html"], NotPDFError)


def test_extract_many_matches_extract_pdf(corpus_dir: Path) -> None:
    names = [BIRMINGHAM_2014, NORFOLK, BRADFORD_JTAI]
    results = dict(extract_many(((n, corpus_dir / n) for n in names), workers=2, timeout=120))
    for name in names:
        assert results[name] == extract_pdf(corpus_dir / name)


def test_decompression_bomb_fails_alone(corpus_dir: Path, tmp_path: Path) -> None:
    bomb = write_bomb_pdf(tmp_path / "bomb.pdf")
    jobs = [("bomb", bomb), ("norfolk", corpus_dir / NORFOLK)]
    results = dict(extract_many(jobs, workers=1, timeout=60, memory_limit=40 * 2**20))
    assert isinstance(results["bomb"], ExtractError)
    assert "bomb.pdf" in str(results["bomb"])
    assert isinstance(results["norfolk"], ExtractedText)


def test_closing_extract_many_leaves_no_workers(corpus_dir: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "hang.pdf"
    os.mkfifo(fifo)
    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    results = extract_many(
        [("hang", fifo), ("norfolk", corpus_dir / NORFOLK)], workers=2, timeout=600
    )
    key, result = next(results)  # the hang is still running in its worker
    assert key == "norfolk" and isinstance(result, ExtractedText)
    workers = [c for c in me.children(recursive=True) if c.pid not in before]
    assert len(workers) == 2
    results.close()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []


# ---------------------------------------------------------------------- normalisation


def test_normalise_drops_page_numbers_of_many_forms() -> None:
    bodies = ["The partnership knows its neglect.", "Leaders act.", "Audits are thorough."]
    furniture = [("12", "Page 3 of 20"), ("- 4 -", "5"), ("Page 6", "6 / 20")]
    pairs = zip(bodies, furniture, strict=True)
    raw = [f"{top}\n{body}\n{bottom}" for body, (top, bottom) in pairs]
    assert normalise_pages(raw) == bodies


def test_normalise_drops_running_headers_and_footers_but_not_rare_lines() -> None:
    raw = [
        f"Local Child Safeguarding Practice Review: Child {n}\n{'Some body text ' * n}here.\n"
        f"OFFICIAL - version {n}.2"
        for n in range(1, 6)
    ]
    raw[0] = "A title line seen once\n" + raw[0]
    pages = normalise_pages(raw)
    assert pages[0] == "A title line seen once\nSome body text here."
    assert pages[3] == "Some body text " * 4 + "here."


def test_normalise_keeps_headers_on_short_documents() -> None:
    raw = ["Child Q review\nFirst page text.", "Child Q review\nSecond page text."]
    assert normalise_pages(raw)[1].startswith("Child Q review")


def test_normalise_soft_hyphen_and_pdfium_marks() -> None:
    raw = ["the agencies' child protec\u00ad\ntion plans were not signed off by\r\nmanagers"]
    assert normalise_pages(raw) == [
        "the agencies' child protection plans were not signed off by managers"
    ]
