"""PDF files to normalised page texts, in worker processes with time and memory limits.

pypdfium2 (the optional ``fast`` extra) is tried first when it is installed and pypdf is the
fallback; ``SCRSEARCH_EXTRACTOR=pypdf|pypdfium2|auto`` forces one. Both go through the same
normalisation, so the text does not depend on which one ran.

Pages without a usable text layer (none over a scanned image, or garbage) are OCR'd with
Tesseract (ocr.py) in the same worker, before normalisation, so OCR text gets the same
hyphenation and running-header clean-up. Each page's provenance is kept (`ExtractedText.sources`).
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import multiprocessing
import os
import re
import resource
import signal
import time
import unicodedata
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from . import config, ocr
from .errors import (
    BrokenPDFError,
    ConfigError,
    EncryptedError,
    ExtractError,
    ExtractTimeout,
    NeedsOCRError,
    NotPDFError,
)
from .models import TEXT_LAYER, ExtractedText, PageSource

try:  # the optional fast extractor
    import pypdfium2 as pdfium
except ImportError:  # pragma: no cover - depends on the installed extras
    pdfium = None

EXTRACTOR_ENV = config.Settings.variable("extractor")
EXTRACTORS = config.EXTRACTORS

#: A document whose pages are mostly empty and whose text averages fewer words a page than
#: this is a scan with a stray caption or chart label: it needs OCR, not indexing.
OCR_WORDS_PER_PAGE = 20


# --------------------------------------------------------------------------- extraction


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


def _check_is_pdf(path: Path) -> None:
    """Raise NotPDFError unless %PDF- is in the first KiB (where readers accept it)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        raise BrokenPDFError(
            f"{path.name} cannot be read ({exc.strerror}); check the file exists and is readable"
        ) from exc
    if b"%PDF-" in head:
        return
    start = head.lstrip()[:20].decode("utf-8", "replace")
    if not head:
        what = "is empty"
    elif re.match(rb"\s*<(!doctype html|html|\?xml|head|body)", head, re.IGNORECASE):
        what = f"is an HTML page, not a PDF (starts with {start[:15]!r})"
    else:
        what = f"is not a PDF (starts with {start!r})"
    raise NotPDFError(f"{path.name} {what}; download the real PDF and add it again")


def _check_page_count(path: Path, count: int) -> None:
    limit = config.Settings.from_env().max_pages
    if count > limit:
        raise ExtractError(
            f"{path.name} has {count} pages, more than the limit of {limit}; "
            "raise SCRSEARCH_MAX_PAGES to extract it"
        )


def _broken(path: Path, exc: BaseException) -> BrokenPDFError:
    detail = str(exc) or type(exc).__name__
    return BrokenPDFError(
        f"{path.name} is damaged or truncated ({detail}); "
        "download it again, or repair it (e.g. qpdf) and add it again"
    )


def _password_protected(path: Path) -> EncryptedError:
    return EncryptedError(
        f"{path.name} is protected by a password; get an unprotected copy "
        "(or remove the password, e.g. qpdf --decrypt) and add it again"
    )


class _PdfiumFailed(Exception):
    """pdfium could not read the file (pypdf may still): error says why."""

    def __init__(self, error: ExtractError) -> None:
        super().__init__(str(error))
        self.error = error


def _pdfium_pages(path: Path) -> tuple[list[str], list[str]]:
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise _PdfiumFailed(_password_protected(path)) from exc
        raise _PdfiumFailed(_broken(path, exc)) from exc
    try:
        _check_page_count(path, len(document))
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return pages, []
    except pdfium.PdfiumError as exc:
        raise _PdfiumFailed(_broken(path, exc)) from exc
    finally:
        document.close()


class _WarningCollector(logging.Handler):
    """Collects what pypdf logs while it reads one page (it warns instead of failing)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _pypdf_pages(path: Path) -> tuple[list[str], list[str]]:
    # What pypdf logs while it opens the file ("EOF marker not found", ...) would go to stderr
    # naming no file; it is kept as a warning of this document instead.
    opening = _WarningCollector()
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.addHandler(opening)
    try:
        reader = pypdf.PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _password_protected(path)
        count = len(reader.pages)
    except (DependencyError, FileNotDecryptedError, NotImplementedError) as exc:
        raise _password_protected(path) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        raise _broken(path, exc) from exc
    finally:
        pypdf_logger.removeHandler(opening)
    _check_page_count(path, count)
    pages: list[str] = []
    warnings: list[str] = [f"pypdf: {m}" for m in dict.fromkeys(opening.messages)]
    failures: list[BaseException] = []
    collector = _WarningCollector()
    pypdf_logger.addHandler(collector)
    try:
        for number in range(1, count + 1):
            collector.messages.clear()
            try:
                text = reader.pages[number - 1].extract_text()
            except LimitReachedError as exc:
                text = ""
                failures.append(exc)  # every page over a limit is a failure, not a scan
                warnings.append(f"page {number} is over a safety limit of pypdf ({exc}); skipped")
            except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
                text = ""
                failures.append(exc)
                warnings.append(f"page {number} could not be read ({exc}); skipped")
            if not text.strip() and collector.messages:
                warnings.append(f"page {number}: pypdf: {collector.messages[0]}")
            pages.append(text)
    finally:
        pypdf_logger.removeHandler(collector)
    if failures and len(failures) == count:
        raise _broken(path, failures[0]) from failures[0]
    return pages, warnings


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


# ------------------------------------------------------------------------- normalisation

_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
_LIST_ITEM = re.compile(
    r"^(•|[-–—*▪■►✓] |\(?\d{1,3}(\.\d{1,3})*[.)] |\d{1,3}(\.\d{1,3})+ |\([a-z]{1,3}\) )"
)
_PAGE_NUMBER = re.compile(
    r"^(page\s*)?[-–—]?\s*(\d{1,4}|[ivxlc]{1,6})\s*[-–—]?(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE
)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HEADER_ZONE = 3  # lines at the top and at the bottom of a page where running headers live


def normalise_pages(raw_pages: list[str]) -> list[str]:
    """Clean raw page texts: NFKC, joined hyphenation, paragraphs, no running headers."""
    pages = [_clean_lines(raw) for raw in raw_pages]
    _drop_running_headers(pages)
    words, compounds = _vocabulary(pages)
    width = _typical_width(pages)
    return [_join_lines(lines, width, words, compounds) for lines in pages]


def _clean_lines(raw: str) -> list[str]:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    # pdfium marks a hyphen at the end of a line with U+FFFE (old builds: U+0002) and drops
    # the line break: put both back so pypdf and pdfium text take the same road from here.
    text = re.sub("[\ufffe\x02]", "-\n", text)
    text = re.sub("\u00ad(?!\n)", "", text)  # soft hyphens only matter where a line breaks
    text = text.replace("\u00ad\n", "\u00ad-\n")
    text = unicodedata.normalize("NFKC", text)
    # Symbol-font bullets live in the private use area (U+F06E, U+F0A7, U+F0B7, ...).
    text = re.sub("[\uf000-\uf0ff]", "•", text)
    text = re.sub(r"[\t\v\f\u00a0\u2000-\u200b\u202f\u205f\u3000]", " ", text)
    text = re.sub(r"[\x00-\x08\x0e-\x1f\x7f]", "", text)
    lines = (re.sub(r" {2,}", " ", line).strip() for line in text.split("\n"))
    return [line for line in lines if line]


def _header_key(line: str) -> str:
    return re.sub(r"\d+", "#", line).lower()


def _drop_running_headers(pages: list[list[str]]) -> None:
    """Remove, in place, lines repeating at the top or bottom of many pages, and page numbers."""
    with_text = [lines for lines in pages if lines]
    top: Counter[str] = Counter()
    bottom: Counter[str] = Counter()
    for lines in with_text:
        top.update({_header_key(line) for line in lines[:_HEADER_ZONE]})
        bottom.update({_header_key(line) for line in lines[-_HEADER_ZONE:]})
    needed = max(3, (len(with_text) + 1) // 2)
    headers = {key for key, n in top.items() if n >= needed and re.search(r"[^\W\d_]", key)}
    footers = {key for key, n in bottom.items() if n >= needed and re.search(r"[^\W\d_]", key)}
    for lines in pages:
        last = len(lines)
        lines[:] = [
            line
            for index, line in enumerate(lines)
            if not _is_page_furniture(line, index, last, headers, footers)
        ]


def _is_page_furniture(line: str, index: int, count: int, headers: set, footers: set) -> bool:
    at_top, at_bottom = index < _HEADER_ZONE, index >= count - _HEADER_ZONE
    if not (at_top or at_bottom):
        return False
    key = _header_key(line)
    return bool(
        (at_top and key in headers) or (at_bottom and key in footers) or _PAGE_NUMBER.match(line)
    )


def _vocabulary(pages: list[list[str]]) -> tuple[set[str], set[str]]:
    """Words and hyphenated compounds seen whole in the document, to judge line-end hyphens."""
    words: set[str] = set()
    compounds: set[str] = set()
    for lines in pages:
        for line in lines:
            body = line[:-1] if line.endswith("-") else line
            for token in _WORD.findall(body.lower()):
                (compounds if "-" in token else words).add(token)
    return words, compounds


def _typical_width(pages: list[list[str]]) -> int:
    """The length of a full line of body text (the 80th percentile of line lengths)."""
    lengths = sorted(len(line) for lines in pages for line in lines if len(line) >= 10)
    if not lengths:
        return 80
    return max(20, lengths[int(len(lengths) * 0.8)])


def _join_lines(lines: list[str], width: int, words: set[str], compounds: set[str]) -> str:
    if not lines:
        return ""
    parts = [lines[0]]
    for before, after in zip(lines, lines[1:], strict=False):
        separator = _separator(before, after, width, words, compounds)
        if separator is None:  # a hyphen that only splits a word: drop it
            parts[-1] = parts[-1].removesuffix("-").removesuffix("\u00ad")
            separator = ""
        parts.append(separator)
        parts.append(after)
    text = "".join(parts).replace("\u00ad", "")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _separator(
    before: str, after: str, width: int, words: set[str], compounds: set[str]
) -> str | None:
    """What goes between two lines: " ", "\\n", "\\n\\n", "" (join), None (join, drop "-")."""
    starts_lower = after[0].islower()
    if before.endswith("-") and len(before) > 1 and starts_lower:
        if before.endswith("\u00ad-"):
            return None  # a soft hyphen: always a word split across lines
        if before[-2].isalpha():
            return None if _is_split_word(before, after, words, compounds) else ""
    if starts_lower or after[0] in ",;)]":
        return " "
    if _LIST_ITEM.match(after):
        return "\n\n"
    if _SENTENCE_END.search(before):
        return "\n\n" if len(before) < 0.8 * width else " "
    if len(before) < 0.6 * width:
        return "\n" if len(after) < 0.6 * width else "\n\n"
    return " "


def _is_split_word(before: str, after: str, words: set[str], compounds: set[str]) -> bool:
    """True for "safe-/guarding", false for "multi-/agency": the document decides.

    The hyphen stays unless the document uses the joined word elsewhere and never the
    hyphenated one: most reports are written in Word, which wraps lines only after real
    hyphens, and a wrongly kept hyphen still leaves both halves searchable.
    """
    head = _WORD.findall(before[:-1].lower())
    tail = _WORD.findall(after.lower())
    if not head or not tail:
        return False
    first, second = head[-1].split("-")[-1], tail[0].split("-")[0]
    return f"{first}-{second}" not in compounds and first + second in words


# ----------------------------------------------------------------------- worker processes


def extract_many(
    jobs: Iterable[tuple[str, Path]],
    *,
    workers: int | None = None,
    timeout: float | None = None,
    memory_limit: int | None = None,
    ocr_cache: Path | None = None,
) -> Iterator[tuple[str, ExtractedText | ExtractError]]:
    """Extract many PDFs in worker processes; yield (key, text or error) as each finishes.

    Each document gets `timeout` seconds of wall-clock time, and each page it OCRs at least
    twice the OCR page timeout from when that page starts; each worker gets `memory_limit`
    bytes more than it started with (0: no limit); each left out comes from the settings
    (SCRSEARCH_WORKERS, SCRSEARCH_EXTRACT_TIMEOUT, SCRSEARCH_EXTRACT_MEMORY_MB). A worker that
    runs late is killed and replaced, and only its document fails.
    Closing the generator (or an exception in the caller, Ctrl-C included) kills every worker;
    workers also die with this process. OCR'd pages are kept under `ocr_cache` by key.
    """
    _extractor_choice()  # a bad SCRSEARCH_EXTRACTOR is a usage error, not a failed document
    settings = config.Settings.from_env()
    pool = _Pool(
        max(1, settings.worker_count if workers is None else workers),
        settings.extract_timeout if timeout is None else timeout,
        settings.extract_memory_limit if memory_limit is None else memory_limit,
        ocr_cache,
    )
    todo = iter(jobs)
    upcoming = next(todo, None)
    try:
        while True:
            while upcoming is not None and pool.has_room():
                job, upcoming = upcoming, next(todo, None)
                # The last documents may OCR pages in several threads: the cores of workers
                # left idle (one scanned report alone still uses every core).
                threads = pool.size - len(pool.busy()) if upcoming is None else 1
                pool.submit(str(job[0]), Path(job[1]), threads)
            if not pool.busy():
                return
            yield from pool.collect()
    finally:
        pool.close()


#: The message a worker sends before it OCRs a page: (_OCR_PAGE, page number).
_OCR_PAGE = "ocr-page"
#: Seconds allowed to render a page for OCR, on top of Tesseract's own time.
_RENDER_SECONDS = 10


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    key: str | None = None
    path: Path | None = None
    deadline: float = 0.0


class _Pool:
    """Long-lived forked workers, one document at a time each, watched by the parent."""

    def __init__(
        self, size: int, timeout: float, memory_limit: int, ocr_cache: Path | None = None
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.size = size
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.ocr_cache = ocr_cache
        self.workers: list[_Worker] = []

    def has_room(self) -> bool:
        return len(self.workers) < self.size or any(w.key is None for w in self.workers)

    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.key is not None]

    def submit(self, key: str, path: Path, ocr_threads: int = 1) -> None:
        worker = next((w for w in self.workers if w.key is None), None) or self._start()
        folder = ocr.cache_folder(self.ocr_cache, key)
        job = (key, str(path), str(folder) if folder else None, max(1, ocr_threads))
        try:
            worker.conn.send(job)
        except OSError:  # it died while idle: start another
            self._retire(worker)
            worker = self._start()
            worker.conn.send(job)
        worker.key, worker.path = key, path
        worker.deadline = time.monotonic() + self.timeout

    def collect(self) -> Iterator[tuple[str, ExtractedText | ExtractError]]:
        """Wait until some worker finishes, dies or runs late; yield what became of its job."""
        busy = self.busy()
        wait_for = min(w.deadline for w in busy) - time.monotonic()
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy], max(0.0, wait_for))
        now = time.monotonic()
        for worker in busy:
            key, path = worker.key, worker.path
            assert key is not None and path is not None
            outcome = self._outcome(worker, now)
            if outcome is not None:
                worker.key, worker.path = None, None
                yield key, outcome

    def _outcome(self, worker: _Worker, now: float) -> ExtractedText | ExtractError | None:
        assert worker.path is not None
        while worker.conn.poll():
            try:
                result, exiting = worker.conn.recv()
            except (EOFError, OSError):
                break  # it died while sending: treated as a crash below
            # "About to OCR a page": the page gets its own time (Tesseract may run twice on
            # it, for orientation), so a long scan is not cut off, and a hang still is.
            if isinstance(result, str) and result == _OCR_PAGE:
                page_deadline = time.monotonic() + 2 * ocr.page_timeout() + _RENDER_SECONDS
                worker.deadline = max(worker.deadline, page_deadline)
                continue
            if exiting:
                self._retire(worker)
            return result
        if not worker.process.is_alive() or worker.conn.closed:
            worker.process.join()
            code = worker.process.exitcode
            self._retire(worker)
            return _crash_error(worker.path, code, self.memory_limit)
        if now >= worker.deadline:
            self._retire(worker)
            return ExtractTimeout(
                f"{worker.path.name} took longer than {self.timeout:g} s to extract and was "
                "stopped; check the file, or raise SCRSEARCH_EXTRACT_TIMEOUT"
            )
        return None

    def _start(self) -> _Worker:
        parent_end, child_end = self.context.Pipe()
        inherited = [w.conn for w in self.workers]
        process = self.context.Process(
            target=_worker_main,
            args=(child_end, parent_end, inherited, self.memory_limit, os.getpid()),
            name="scrsearch-extract",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _Worker(process, parent_end)
        self.workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        _kill_children(worker.process.pid)  # a Tesseract it started dies with it
        with contextlib.suppress(OSError):
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        if worker in self.workers:
            self.workers.remove(worker)

    def close(self) -> None:
        for worker in list(self.workers):
            self._retire(worker)


def _kill_children(pid: int | None) -> None:
    """Kill the child processes of a worker (its Tesseract runs): Linux lists them in /proc."""
    if pid is None:
        return
    with contextlib.suppress(OSError, ValueError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(child), signal.SIGKILL)


def _crash_error(path: Path, exitcode: int | None, memory_limit: int) -> ExtractError:
    if exitcode is not None and exitcode < 0:
        try:
            how = signal.Signals(-exitcode).name
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    if exitcode == -signal.SIGKILL:
        return ExtractTimeout(
            f"{path.name} was stopped by the system ({how}), probably for using too much "
            "memory; check the file, or lower SCRSEARCH_WORKERS"
        )
    limit = f", perhaps by going over the memory limit of {memory_limit // 2**20} MB"
    return BrokenPDFError(
        f"{path.name} crashed the PDF reader ({how}{limit if memory_limit else ''}); the file is "
        "probably damaged: download it again or repair it (e.g. qpdf)"
    )


def _worker_main(
    conn: Connection,
    parent_end: Connection,
    inherited: list[Connection],
    memory_limit: int,
    parent_pid: int,
) -> None:
    """Run in a worker process: extract one document per message until the pipe closes."""
    _die_with_parent(parent_pid)
    faulthandler.disable()  # a crash is reported by the parent; no dump of inherited state
    # Ctrl-C reaches the whole process group; the parent decides what happens to workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for other in [parent_end, *inherited]:  # so EOF on our pipe means the parent is gone
        with contextlib.suppress(OSError):
            other.close()
    _limit_memory(memory_limit)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        key, path, folder, ocr_threads = job
        global _announce_ocr
        _announce_ocr = lambda page: conn.send((_OCR_PAGE, page))  # noqa: E731
        result, exiting = _extract_in_worker(
            Path(path), memory_limit, Path(folder) if folder else None, ocr_threads
        )
        try:
            conn.send((result, exiting))
        except Exception as exc:  # e.g. a result that will not pickle
            conn.send((_broken(Path(path), exc), exiting))
        if exiting:
            return


def _extract_in_worker(
    path: Path, memory_limit: int, ocr_cache: Path | None = None, ocr_threads: int = 1
) -> tuple[ExtractedText | ExtractError, bool]:
    try:
        return extract_pdf(path, ocr_cache, ocr_threads), False
    except ExtractError as exc:
        return exc, False
    except MemoryError:
        # The heap may be in a poor state after this: answer, then let a fresh worker go on.
        return ExtractTimeout(
            f"{path.name} needed more than the memory limit of {memory_limit // 2**20} MB "
            "to extract; check the file, or raise SCRSEARCH_EXTRACT_MEMORY_MB"
        ), True
    except RecursionError as exc:
        return _broken(path, exc), False
    except Exception as exc:  # anything else is a bug or a hostile file: never a traceback
        return BrokenPDFError(
            f"{path.name} could not be extracted ({type(exc).__name__}: {exc}); "
            "the file is probably damaged: download it again or repair it (e.g. qpdf)"
        ), False


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this worker when the parent dies, even by SIGKILL (no orphans)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _limit_memory(memory_limit: int) -> None:
    """Cap the worker's address space at what it has now plus memory_limit bytes."""
    if memory_limit <= 0:
        return
    try:
        with open("/proc/self/statm") as handle:
            current = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        current = 0
    limit = current + memory_limit
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
