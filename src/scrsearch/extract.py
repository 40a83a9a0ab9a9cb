"""PDF files to normalised page texts, in worker processes with time and memory limits.

pypdfium2 (the optional ``fast`` extra) is tried first when it is installed and pypdf is the
fallback; ``SCRSEARCH_EXTRACTOR=pypdf|pypdfium2|auto`` forces one. Both go through the same
normalisation, so the text does not depend on which one ran.

Pages without a usable text layer (none over a scanned image, or garbage) are OCR'd with
Tesseract (ocr.py) in the same worker, before normalisation, so OCR text gets the same
hyphenation and running-header clean-up. Each page's provenance is kept (`ExtractedText.sources`).

The stage is split by job: pdf_text.py extracts one PDF in this process (pdf_readers.py reads
its raw page texts, normalise.py cleans them), extract_worker.py runs many in worker processes
with time and memory limits. This module keeps every name it always had.
"""

from __future__ import annotations

from .extract_worker import extract_many
from .normalise import normalise_pages
from .pdf_text import EXTRACTOR_ENV, EXTRACTORS, OCR_WORDS_PER_PAGE, extract_pdf

__all__ = [
    "EXTRACTORS",
    "EXTRACTOR_ENV",
    "OCR_WORDS_PER_PAGE",
    "extract_many",
    "extract_pdf",
    "normalise_pages",
]
