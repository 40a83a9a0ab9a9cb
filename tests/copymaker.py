"""Copies of real PDFs as they reach a corpus: re-saved, behind a cover, short of a page,
re-typeset with words redacted; and small generated reports with exact text."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pypdf
from fpdf import FPDF

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _pdf() -> FPDF:
    pdf = FPDF()
    if FONT.exists():
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.set_font("DejaVu", size=10)
    else:
        pdf.set_font("Helvetica", size=10)
    return pdf


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with one string of text a page (wrapped)."""
    pdf = _pdf()
    for text in pages:
        pdf.add_page()
        if not FONT.exists():
            text = text.encode("latin-1", "replace").decode("latin-1")
        pdf.multi_cell(0, 5, text)
    return bytes(pdf.output())


def resaved(original: Path) -> bytes:
    """The same pages written again by another program: other bytes, same text."""
    writer = pypdf.PdfWriter(clone_from=str(original))
    writer.add_metadata({"/Producer": "a partnership's re-hosting", "/Title": "copy"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_cover(original: Path, cover: str) -> bytes:
    """A cover page in front of the original pages."""
    writer = pypdf.PdfWriter()
    writer.append(pypdf.PdfReader(io.BytesIO(text_pdf([cover]))))
    writer.append(pypdf.PdfReader(str(original)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def without_last_page(original: Path) -> bytes:
    """The original less its last page (an appendix or back page dropped)."""
    reader = pypdf.PdfReader(str(original))
    writer = pypdf.PdfWriter()
    for page in reader.pages[:-1]:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def redacted(pages: list[str], words: int = 12, seed: int = 7) -> bytes:
    """The text re-typeset with `words` capitalised words (names, places) blacked out."""
    rng = random.Random(seed)
    text = list(pages)
    names = sorted({w for p in text for w in re.findall(r"\b[A-Z][a-z]{3,}\b", p)})
    for name in rng.sample(names, min(words, len(names))):
        text = [re.sub(rf"\b{name}\b", "XXXXX", p) for p in text]
    return text_pdf(text)


_WORDS = [
    "child",
    "mother",
    "father",
    "school",
    "nurse",
    "health",
    "visitor",
    "police",
    "social",
    "worker",
    "plan",
    "meeting",
    "referral",
    "assessment",
    "home",
    "visit",
    "concern",
    "injury",
    "bruise",
    "hospital",
    "neglect",
    "drugs",
    "alcohol",
    "housing",
    "contact",
    "court",
    "order",
    "strategy",
    "review",
    "board",
    "agency",
    "practice",
    "learning",
    "record",
    "supervision",
    "manager",
    "threshold",
    "family",
    "baby",
    "sibling",
    "partner",
]


def prose(seed: int, words: int = 400) -> str:
    """Generated text of `words` words, different for every seed."""
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(words)) + "."
