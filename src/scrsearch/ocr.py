"""OCR of scanned pages with Tesseract 5, for pages without a usable text layer.

The wrapper is **pytesseract** (the ``ocr`` extra), not tesserocr, because:

- it drives the ``tesseract`` program the system already has (apt, Homebrew, the UB Mannheim
  installer on Windows) and needs no compiler: tesserocr builds against libtesseract's headers
  (``libtesseract-dev``) or ships wheels with its own copy of Tesseract, for fewer platforms;
- each page is recognised in its own child process: a page that hangs is killed by its
  timeout and the rest of the document goes on, a crash in Tesseract or Leptonica cannot take
  the extraction worker down, and the worker's memory limit (RLIMIT_AS) is inherited by the
  child, so the existing worker limits hold;
- its cost (a process start and an image file a page, some tens of milliseconds) is small next
  to the seconds recognition takes.

Pages are rendered with pypdfium2 (the ``fast`` extra; the ``ocr`` extra brings it too) at
the resolution of the page's scan within MIN_DPI..MAX_DPI (see MIN_DPI for why), cleaned of
specks by a median filter, and read with Tesseract's automatic layout (which also takes out
a skew of a few degrees); a page read with low confidence is checked for a sideways or upside
down scan with Tesseract's orientation detection. Tesseract is told the resolution, runs one
thread (the worker pool already uses every core), and reports a confidence per word, which
is used to drop the word salad that logos, stamps and signatures turn into.
"""

from __future__ import annotations

import json
import os
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from . import store
from .config import Settings
from .models import LOW_CONFIDENCE

try:  # the optional OCR wrapper
    import pytesseract
except ImportError:  # pragma: no cover - depends on the installed extras
    pytesseract = None

try:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from PIL import ImageFilter
except ImportError:  # pragma: no cover - depends on the installed extras
    pdfium = None
    pdfium_c = None
    ImageFilter = None

#: The variables of the OCR settings (config.Settings): the tesseract program to run (a name
#: looked up on PATH, or a full path); Tesseract's language(s), as its -l option ("eng",
#: "eng+fra"); seconds Tesseract may spend on one page before the page is recorded failed.
ENGINE_ENV = Settings.variable("tesseract")
LANG_ENV = Settings.variable("ocr_lang")
PAGE_TIMEOUT_ENV = Settings.variable("ocr_page_timeout")

#: Rendering resolution for OCR: a scanned page at its scan's own resolution within
#: [MIN_DPI, MAX_DPI] (resampling a noisy scan upwards multiplied Tesseract's errors), a page
#: with no image (a garbage text layer over vector text) at MAX_DPI.
MIN_DPI, MAX_DPI = 150, 300
#: A page image larger than this many pixels is rendered smaller (a poster-sized page).
MAX_PIXELS = 40_000_000
#: Bump when rendering or recognition changes, so cached OCR pages are made again.
OCR_VERSION = 1

INSTALL_HINT = (
    "install Tesseract with its English data (Debian/Ubuntu: "
    "sudo apt-get install tesseract-ocr tesseract-ocr-eng; macOS: brew install tesseract; "
    "Windows: the UB Mannheim installer), then run scrsearch index again"
)


@dataclass(frozen=True)
class PageOCR:
    """What Tesseract read on one page."""

    text: str
    confidence: float
    words: int


class OCRFailed(Exception):
    """Tesseract failed or ran out of time on one page."""


# --------------------------------------------------------------------------- the engine

_engine_problem: dict[str, str | None] = {}


def engine_problem() -> str | None:
    """Why OCR cannot run here (a message with the fix), or None when it can. Asked once a
    process for each engine setting."""
    command = _command()
    key = f"{command}|{_language()}"
    if key not in _engine_problem:
        _engine_problem[key] = _find_engine_problem(command)
    return _engine_problem[key]


def _find_engine_problem(command: str) -> str | None:
    if pytesseract is None:
        return "OCR needs the ocr extra (pip install 'scrsearch[ocr]') and " + INSTALL_HINT
    if pdfium is None:
        return "OCR renders pages with pypdfium2: pip install 'scrsearch[ocr]'"
    pytesseract.pytesseract.tesseract_cmd = command
    try:
        version = pytesseract.get_tesseract_version()
        languages = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError):
        where = (
            f"there is no program {command}, which {ENGINE_ENV} names"
            if Settings.from_env().is_set("tesseract")
            else f"there is no {command} on PATH"
        )
        return f"Tesseract is not installed ({where}); " + INSTALL_HINT
    except pytesseract.TesseractError as exc:
        return f"Tesseract ({command}) does not run ({exc}); " + INSTALL_HINT
    if version.major < 4:
        return f"Tesseract {version} is too old (4 or newer is needed); " + INSTALL_HINT
    missing = [lang for lang in _language().split("+") if lang not in languages]
    if missing:
        return (
            f"Tesseract has no language data for {', '.join(missing)} (has: "
            f"{', '.join(sorted(languages)) or 'none'}); on Debian/Ubuntu: sudo apt-get install "
            + " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        )
    return None


def _command() -> str:
    return Settings.from_env().tesseract


def _language() -> str:
    return Settings.from_env().ocr_lang


def page_timeout() -> float:
    """Seconds one page may take (SCRSEARCH_OCR_PAGE_TIMEOUT, default 60)."""
    return max(0.01, Settings.from_env().ocr_page_timeout)


# ------------------------------------------------------------------ which pages need OCR

_GARBAGE = re.compile("[\ufffd\ufffe\x00-\x08\x0e-\x1f]")


def is_garbage(text: str) -> bool:
    """A text layer that is there but unusable: replacement characters, one character a line."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return False
    if len(_GARBAGE.findall(text)) >= 0.3 * len(chars):
        return True
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(lines) >= 8 and len(chars) <= 1.5 * len(lines)


def image_coverage(page) -> float:
    """The share of a pdfium page's area covered by its largest image."""
    width, height = page.get_size()
    area = max(width * height, 1.0)
    best = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        best = max(best, (right - left) * (top - bottom) / area)
    return min(best, 1.0)


def needs_ocr(text: str, coverage: float) -> bool:
    """Whether a page is OCR'd: a garbage text layer, or (almost) no text over a large image."""
    if is_garbage(text):
        return True
    words = len(text.split())
    return (words == 0 and coverage >= 0.25) or (words < 5 and coverage >= 0.5)


# -------------------------------------------------------------------------- recognition


def scan_dpi(page) -> float:
    """The resolution of the finest image covering most of the page (0 if none)."""
    best = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
        left, _, right, _ = obj.get_bounds()
        if right - left <= 0:
            continue
        try:
            pixels_wide = obj.get_px_size()[0]
        except Exception:  # an image pdfium cannot describe: render at the default
            continue
        best = max(best, pixels_wide / ((right - left) / 72))
    return best


def render_dpi(page) -> float:
    """The scan's own resolution within [MIN_DPI, MAX_DPI] (MAX_DPI for a page without an
    image); less for a page too large to render whole."""
    native = scan_dpi(page)
    dpi = min(max(native, MIN_DPI), MAX_DPI) if native else MAX_DPI
    width, height = page.get_size()
    pixels = width * height * (dpi / 72) ** 2
    if pixels > MAX_PIXELS:
        dpi *= (MAX_PIXELS / pixels) ** 0.5
    return dpi


def ocr_page(page) -> PageOCR:
    """Render one pdfium page and read it with Tesseract; OCRFailed if Tesseract fails."""
    return read_image(*render_page(page))


def render_page(page):
    """A pdfium page as a grey PIL image for OCR, and its resolution. pdfium is not
    thread-safe: call this from one thread only."""
    dpi = render_dpi(page)
    return page.render(scale=dpi / 72, grayscale=True).to_pil(), dpi


def read_image(image, dpi: float) -> PageOCR:
    """Read a rendered page with Tesseract (safe to call from several threads at once: each
    call is its own Tesseract process); OCRFailed if Tesseract fails."""
    # Tesseract's OpenMP threads cost more than they give here (5x slower measured on 2 busy
    # cores): parallelism comes from documents on every core and pages in threads instead.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # A 3x3 median takes out scanner specks (salt and pepper) that Tesseract reads as
    # punctuation or merges into letters; it leaves strokes of 2 pixels and more alone.
    image = image.filter(ImageFilter.MedianFilter(3))
    result = _recognise(image, dpi)
    if result.confidence < LOW_CONFIDENCE:
        # Perhaps a page scanned sideways or upside down: ask Tesseract's orientation detection.
        angle = _orientation(image, dpi)
        if angle:
            turned = _recognise(image.rotate(-angle, expand=True), dpi)
            if turned.confidence > result.confidence:
                result = turned
    return result


def _run(function, image, dpi: float, config: str):
    # The setting read now, not when the engine was first checked: it may have changed since.
    pytesseract.pytesseract.tesseract_cmd = _command()
    try:
        return function(
            image,
            lang=_language(),
            config=f"--dpi {round(dpi)} {config}".strip(),
            timeout=page_timeout(),
        )
    except RuntimeError as exc:  # pytesseract's timeout
        raise OCRFailed(f"Tesseract took longer than {page_timeout():g} s") from exc
    except (pytesseract.TesseractError, OSError) as exc:
        raise OCRFailed(f"Tesseract failed ({str(exc).strip()[:200]})") from exc


def _orientation(image, dpi: float) -> int:
    try:
        osd = _run(pytesseract.image_to_osd, image, dpi, "--psm 0")
    except OCRFailed:  # too little text to tell: keep the page as it is
        return 0
    angle = re.search(r"Rotate: (\d+)", osd)
    confidence = re.search(r"Orientation confidence: ([\d.]+)", osd)
    if angle and confidence and float(confidence.group(1)) >= 2.0:
        return int(angle.group(1)) % 360
    return 0


def _recognise(image, dpi: float) -> PageOCR:
    data = _run(pytesseract.image_to_data, image, dpi, "--psm 3")
    return read_tsv(data)


#: A word or a number, with any quotes, brackets and punctuation around it.
_PLAUSIBLE = re.compile(
    r"^[\"'(\[‘“]?([A-Za-z]+(['’-][A-Za-z]+)*|\d+([.,:/-]\d+)*%?)[.,;:!?)\]’”'\"]*$"
)


def read_tsv(tsv: str) -> PageOCR:
    """Tesseract's TSV (image_to_data) to page text, without the word salad of pictures.

    A word Tesseract is unsure of (confidence under 40) that does not even look like a word or
    number is dropped; a line that is mostly such words, or whose words average under 50, is a
    logo, stamp or signature and is dropped whole. The page's confidence is the mean over the
    words kept, weighted by length.
    """
    lines: dict[tuple[int, int, int], list[tuple[str, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        text = cells[11].strip()
        try:
            confidence = float(cells[10])
        except ValueError:
            continue
        if text and confidence >= 0:
            key = (int(cells[2]), int(cells[3]), int(cells[4]))  # block, paragraph, line
            lines.setdefault(key, []).append((text, confidence))
    kept_lines: list[str] = []
    weights: list[tuple[float, int]] = []
    for words in lines.values():
        plausible = [(w, c) for w, c in words if _PLAUSIBLE.match(w) and len(w) > 1 or c >= 40]
        mean = statistics.fmean(c for _, c in words)
        if mean < 50 or len(plausible) * 2 < len(words):
            continue
        kept = [(w, c) for w, c in words if c >= 40 or _PLAUSIBLE.match(w)]
        if not kept:
            continue
        kept_lines.append(" ".join(w for w, _ in kept))
        weights.extend((c, len(w)) for w, c in kept)
    total = sum(n for _, n in weights)
    confidence = sum(c * n for c, n in weights) / total if total else 0.0
    return PageOCR("\n".join(kept_lines), round(confidence, 1), len(weights))


# ----------------------------------------------------------------- the per-page OCR cache


def cached_page(folder: Path | None, page: int) -> PageOCR | None:
    """A page OCR'd before (by an earlier, perhaps interrupted, run), or None."""
    if folder is None:
        return None
    try:
        payload = json.loads((folder / f"{page}.json").read_text(encoding="utf-8"))
        return PageOCR(payload["text"], payload["confidence"], payload["words"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cache_page(folder: Path | None, page: int, result: PageOCR) -> None:
    """Keep one page's OCR, atomically, so no page is ever OCR'd twice."""
    if folder is None:
        return
    payload = {"text": result.text, "confidence": result.confidence, "words": result.words}
    store.write_atomically(folder / f"{page}.json", json.dumps(payload).encode())


def cache_folder(root: Path | None, key: str) -> Path | None:
    """Where the OCR'd pages of the document with this key (its sha256) are kept."""
    if root is None:
        return None
    return root / f"v{OCR_VERSION}-{_language()}" / key[:2] / key
