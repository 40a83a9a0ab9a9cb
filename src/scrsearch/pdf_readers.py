"""Raw page texts of a PDF by pypdfium2 or by pypdf, and the errors a bad file gives."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pypdf
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from . import config
from .errors import BrokenPDFError, EncryptedError, ExtractError, NotPDFError

try:  # the optional fast extractor
    import pypdfium2 as pdfium
except ImportError:  # pragma: no cover - depends on the installed extras
    pdfium = None


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
