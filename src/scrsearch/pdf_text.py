"""One PDF to normalised page texts in this process: the reader chosen, pages without a usable
text layer OCR'd, the text normalised and checked."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from . import config, ocr
from .errors import ConfigError, ExtractError, NeedsOCRError
from .models import TEXT_LAYER, ExtractedText, PageSource
from .normalise import normalise_pages
from .pdf_readers import _check_is_pdf, _pdfium_pages, _PdfiumFailed, _pypdf_pages, pdfium

EXTRACTOR_ENV = config.Settings.variable("extractor")
EXTRACTORS = config.EXTRACTORS

#: A document whose pages are mostly empty and whose text averages fewer words a page than
#: this is a scan with a stray caption or chart label: it needs OCR, not indexing.
OCR_WORDS_PER_PAGE = 20


def extract_pdf(path: Path, ocr_cache: Path | None = None, ocr_threads: int = 1) -> ExtractedText:
    """Extract and normalise the text of each page of the PDF at path, in this process; OCR
    the pages that need it (`ocr_threads` at once), keeping each OCR'd page in the folder
    `ocr_cache` if given."""
    path = Path(path)
    choice = _extractor_choice()
    _check_is_pdf(path)
    if choice == "pypdf" or (choice == "auto" and pdfium is None):
        name, raw_pages, warnings = "pypdf", *_pypdf_pages(path)
    else:
        try:
            name, raw_pages, warnings = "pypdfium2", *_pdfium_pages(path)
        except _PdfiumFailed as failed:
            if choice == "pypdfium2":
                raise failed.error from failed.__cause__
            name, raw_pages, warnings = "pypdf", *_pypdf_pages(path)
        else:
            # pdfium finding no text at all is worth a second opinion before calling it a scan.
            if choice == "auto" and not any(p.strip() for p in raw_pages):
                name, raw_pages, warnings = "pypdf", *_pypdf_pages(path)
    raw_pages, sources, ocr_warnings = _ocr_where_needed(
        path, list(raw_pages), ocr_cache, ocr_threads
    )
    pages = normalise_pages(raw_pages)
    _check_has_text(path, pages, sources)
    warnings = tuple(warnings) + ocr_warnings + _empty_page_warnings(pages)
    return ExtractedText(tuple(pages), name, warnings, sources)


#: Called by a worker process before it OCRs a page, so the parent gives that page its own
#: time (None when extracting in this process).
_announce_ocr: Callable[[int], None] | None = None


def _ocr_where_needed(
    path: Path, raw_pages: list[str], ocr_cache: Path | None, ocr_threads: int = 1
) -> tuple[list[str], tuple[PageSource, ...], tuple[str, ...]]:
    """OCR the pages without a usable text layer; returns the pages, their sources (empty if
    every page is its text layer) and warnings."""
    document = None
    if pdfium is not None:
        with contextlib.suppress(pdfium.PdfiumError):
            document = pdfium.PdfDocument(str(path))
    try:
        wanted = _pages_to_ocr(document, raw_pages)
        if not wanted:
            return raw_pages, (), ()
        sources = [TEXT_LAYER] * len(raw_pages)
        problem = ocr.engine_problem()  # no Tesseract, or no pypdfium2 to render pages
        numbers = _number_ranges([i + 1 for i in wanted])
        if problem:
            for index in wanted:
                sources[index] = PageSource("needs_ocr", note=problem)
            return raw_pages, tuple(sources), (f"pages {numbers} need OCR: {problem}",)
        if document is None:  # pypdf read it, pdfium cannot: nothing to render, ever
            note = "pypdfium2 cannot open the file to render its pages"
            for index in wanted:
                sources[index] = PageSource("ocr_failed", note=note)
            return raw_pages, tuple(sources), (f"pages {numbers} could not be OCR'd: {note}",)
        warnings: list[str] = []
        for index, outcome in _ocr_pages(document, wanted, ocr_cache, ocr_threads):
            if isinstance(outcome, ocr.OCRFailed):
                sources[index] = PageSource("ocr_failed", note=str(outcome))
                warnings.append(f"page {index + 1}: OCR failed: {outcome}")
            else:
                raw_pages[index] = outcome.text
                sources[index] = PageSource("ocr", outcome.confidence)
        low = [n for n, s in enumerate(sources, 1) if s.low_confidence]
        if low:
            warnings.append(
                f"OCR of page(s) {_number_ranges(low)} has low confidence "
                f"(under {ocr.LOW_CONFIDENCE:g}): their text may hold misread words"
            )
        return raw_pages, tuple(sources), tuple(warnings)
    finally:
        if document is not None:
            document.close()


def _ocr_pages(
    document, wanted: list[int], ocr_cache: Path | None, threads: int
) -> Iterator[tuple[int, ocr.PageOCR | ocr.OCRFailed]]:
    """OCR the wanted pages (0-based) in order: cached ones from the cache, the others rendered
    here (pdfium, one thread) and read by Tesseract in up to `threads` threads at once."""
    in_flight: deque[tuple[int, Future, bool]] = deque()  # (page index, result, fresh)

    def finish() -> tuple[int, ocr.PageOCR | ocr.OCRFailed]:
        index, future, fresh = in_flight.popleft()
        try:
            result = future.result()
        except ocr.OCRFailed as exc:
            return index, exc
        if fresh:
            ocr.cache_page(ocr_cache, index + 1, result)
            if _announce_ocr is not None:  # a page done: the next ones get their time from now
                _announce_ocr(index + 1)
        return index, result

    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="scrsearch-ocr") as pool:
        for index in wanted:
            cached = ocr.cached_page(ocr_cache, index + 1)
            if cached is not None:
                in_flight.append((index, _done(cached), False))
                continue
            if _announce_ocr is not None:
                _announce_ocr(index + 1)
            page = document[index]
            try:
                image, dpi = ocr.render_page(page)
            finally:
                page.close()
            in_flight.append((index, pool.submit(ocr.read_image, image, dpi), True))
            while len(in_flight) > max(1, threads) or (in_flight and in_flight[0][1].done()):
                yield finish()
        while in_flight:
            yield finish()


def _done(result: ocr.PageOCR) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def _pages_to_ocr(document, raw_pages: list[str]) -> list[int]:
    """Indexes of the pages to OCR: no usable text over a scanned image, or garbage; every
    empty page when no page has text (text drawn as shapes)."""
    if not any(page.strip() for page in raw_pages):
        return list(range(len(raw_pages)))
    if document is None or len(document) != len(raw_pages):
        return [i for i, text in enumerate(raw_pages) if ocr.is_garbage(text)]
    wanted = []
    for index, text in enumerate(raw_pages):
        if ocr.is_garbage(text):
            wanted.append(index)
        elif len(text.split()) < 5:
            page = document[index]
            try:
                if ocr.needs_ocr(text, ocr.image_coverage(page)):
                    wanted.append(index)
            finally:
                page.close()
    return wanted


def _extractor_choice() -> str:
    choice = config.Settings.from_env().extractor
    if choice == "pypdfium2" and pdfium is None:
        raise ConfigError(
            f"{EXTRACTOR_ENV}=pypdfium2 but pypdfium2 is not installed; "
            "install it with pip install 'scrsearch[fast]' or unset the variable"
        )
    return choice


def _check_has_text(path: Path, pages: Sequence[str], sources: Sequence[PageSource]) -> None:
    with_text = sum(1 for page in pages if page)
    words = sum(len(page.split()) for page in pages)
    if with_text == 0 or (with_text * 2 <= len(pages) and words < OCR_WORDS_PER_PAGE * len(pages)):
        waiting = next((s.note for s in sources if s.method == "needs_ocr"), None)
        failed = next((s.note for s in sources if s.method == "ocr_failed"), None)
        scanned = f"{path.name} has no text layer on {len(pages) - with_text} of its {len(pages)} "
        if waiting:
            raise NeedsOCRError(
                scanned + f"pages (it is a scan) and cannot be OCR'd here: {waiting}"
            )
        if not sources:  # mostly empty pages, but no scanned image on them to OCR
            raise NeedsOCRError(
                scanned + "pages and no scanned image on them to OCR; run OCR on it "
                "(e.g. ocrmypdf) and add the result"
            )
        if failed:
            raise ExtractError(f"{path.name} is a scan and OCR failed on it ({failed})")
        raise ExtractError(
            f"{path.name} has (almost) no text, even by OCR: it holds blank pages or pictures only"
        )


def _empty_page_warnings(pages: Sequence[str]) -> tuple[str, ...]:
    empty = [number for number, page in enumerate(pages, 1) if not page]
    if not empty:
        return ()
    label = "page" if len(empty) == 1 else "pages"
    return (f"{label} {_number_ranges(empty)} had no text (an image or a blank page)",)


def _number_ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
