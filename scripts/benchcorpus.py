"""Generate a deterministic scale corpus of realistic case-review PDFs for the benchmark.

The paragraphs are real: they are extracted once (pypdf) from the PDFs in ../shared/corpus and
cached as a pool; each generated report recombines runs of them under case-review headings,
with a cover page, a running header, page numbers and PDF metadata. Locality, year and
document type are drawn from a seeded RNG and written to a manifest alongside the PDFs, so the
benchmark can `add` each file with its intended metadata.

    python scripts/benchcorpus.py --pages 2000 [--seed 1] [--cache DIR]

Everything is a pure function of (seed, pages, paragraph pool): the same arguments give the
same bytes. Files live outside the repository (default ~/.cache/scrsearch-bench/<seed>-<pages>/)
and are reused when the manifest says they are complete.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import hashlib
import json
import multiprocessing
import os
import random
import re
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

#: Bump when the layout or the draw changes, so cached corpora are regenerated.
GENERATOR_VERSION = 3
POOL_VERSION = 3

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = (REPO.parent / "shared" / "corpus").resolve()
if not DEFAULT_SOURCE.is_dir():  # a git worktree elsewhere: fall back to the known location
    DEFAULT_SOURCE = Path("/work/shared/corpus")
DEFAULT_CACHE_ROOT = Path(os.environ.get("SCRSEARCH_BENCH_CACHE", "~/.cache/scrsearch-bench"))

MIN_PAGES, MAX_PAGES = 5, 150
#: Reports generated beside the corpus for the incremental "add 10 new reports" stage.
EXTRA_REPORTS = 10
#: Copies of corpus reports (same body, a re-publisher's cover): COPIES added with the corpus
#: (manifest "copies"), and EXTRA_COPIES of the EXTRA_REPORTS added by "add 10", so copy
#: detection is part of what is measured. Bump COPIES_VERSION when their draw changes.
COPIES, EXTRA_COPIES = 3, 2
COPIES_VERSION = 1

# (locality, region): real English local authorities spread over the nine regions.
LOCALITIES = (
    ("Birmingham", "West Midlands"),
    ("Coventry", "West Midlands"),
    ("Sandwell", "West Midlands"),
    ("Wolverhampton", "West Midlands"),
    ("Staffordshire", "West Midlands"),
    ("Bradford", "Yorkshire and The Humber"),
    ("Calderdale", "Yorkshire and The Humber"),
    ("Rotherham", "Yorkshire and The Humber"),
    ("Leeds", "Yorkshire and The Humber"),
    ("Sheffield", "Yorkshire and The Humber"),
    ("Derbyshire", "East Midlands"),
    ("Nottinghamshire", "East Midlands"),
    ("Leicestershire", "East Midlands"),
    ("Lincolnshire", "East Midlands"),
    ("Manchester", "North West"),
    ("Liverpool", "North West"),
    ("Lancashire", "North West"),
    ("Blackpool", "North West"),
    ("Cumbria", "North West"),
    ("Newcastle upon Tyne", "North East"),
    ("County Durham", "North East"),
    ("Sunderland", "North East"),
    ("Haringey", "London"),
    ("Croydon", "London"),
    ("Hackney", "London"),
    ("Tower Hamlets", "London"),
    ("Southwark", "London"),
    ("Kent", "South East"),
    ("West Sussex", "South East"),
    ("Hampshire", "South East"),
    ("Oxfordshire", "South East"),
    ("Surrey", "South East"),
    ("Norfolk", "East of England"),
    ("Suffolk", "East of England"),
    ("Essex", "East of England"),
    ("Bedford", "East of England"),
    ("Cornwall", "South West"),
    ("Devon", "South West"),
    ("Bristol", "South West"),
    ("Somerset", "South West"),
)
YEARS = tuple(range(2008, 2025))
# (doc_type, weight, (min pages, max pages)): overview reports are long, briefings short.
DOC_TYPES = (
    ("overview_report", 40, (30, 150)),
    ("executive_summary", 15, (5, 25)),
    ("briefing", 8, (5, 12)),
    ("board_response", 6, (5, 20)),
    ("action_plan", 6, (5, 30)),
    ("thematic_review", 10, (20, 120)),
    ("national_review", 3, (40, 150)),
    ("inspection_report", 6, (10, 60)),
    ("guidance", 4, (15, 100)),
    ("other", 2, (5, 40)),
)
REVIEW_KINDS = {
    "overview_report": "Serious Case Review",
    "executive_summary": "Serious Case Review: Executive Summary",
    "briefing": "Learning Briefing",
    "board_response": "Safeguarding Children Board Response",
    "action_plan": "Action Plan",
    "thematic_review": "Thematic Review",
    "national_review": "National Review",
    "inspection_report": "Inspection of Services for Children",
    "guidance": "Practice Guidance",
    "other": "Report",
}
SUBJECTS = ("Child", "Baby", "Young Person", "Family", "Sibling Group")
SECTIONS = (
    "Introduction",
    "Reasons for the review",
    "Methodology",
    "Terms of reference",
    "Family composition",
    "Background and context",
    "Summary of agency involvement",
    "Key episodes",
    "The voice of the child",
    "Analysis of practice",
    "Information sharing between agencies",
    "Assessment of risk",
    "Management oversight and supervision",
    "Findings",
    "Good practice",
    "Lessons learned",
    "Conclusions",
    "Recommendations",
)

# Characters outside latin-1 that the real texts use, and their nearest latin-1 form.
LATIN1_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2022": "-",
        "\u25aa": "-",
        "\u25fc": "-",
        "\u25cf": "-",
        "\uf0b7": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\u20ac": "EUR",
    }
)


# --- the paragraph pool ----------------------------------------------------------------------


def to_latin1(text: str) -> str:
    """Text that the PDF core fonts can show: mapped where there is a near form, else dropped."""
    text = text.translate(LATIN1_MAP)
    if all(ord(c) < 256 for c in text):
        return text
    return "".join(c if ord(c) < 256 else _latin1_char(c) for c in text)


def _latin1_char(char: str) -> str:
    """A character outside latin-1 as its decomposed latin-1 letters ('ā' -> 'a'), or ''."""
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if ord(c) < 256 and not unicodedata.combining(c))


_TERMINAL = re.compile(r"[.:;!?)\"']\s*$")
_BULLET = re.compile(r"^\s*(?:[-\u2022\u25aa\u25fc\u25cf\uf0b7o]|\d+(?:\.\d+)*\.?|\([a-z]\))\s+")


def paragraphs_of_page(text: str) -> list[str]:
    """Paragraphs of one page of pypdf text: split at blank lines, bullets and short last lines."""
    lines = [line.rstrip() for line in text.splitlines()]
    widest = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            paragraphs.append(" ".join(part.strip() for part in current))
            current.clear()

    for line in lines:
        if not line.strip():
            close()
            continue
        if _BULLET.match(line):
            close()
        current.append(line)
        if _TERMINAL.search(line) and len(line) < 0.8 * widest:
            close()
    close()
    return paragraphs


def usable_paragraph(paragraph: str) -> str | None:
    """The cleaned paragraph if it reads as prose (long enough, mostly letters), else None."""
    text = re.sub(r"\s+", " ", to_latin1(paragraph)).strip()
    text = _BULLET.sub("", text)
    if not 120 <= len(text) <= 2500 or not text[0].isupper():
        return None  # too short or long, or the tail of a paragraph cut by a page break
    letters = sum(c.isalpha() for c in text)
    if letters < 0.7 * len(text) or text.count(" ") < 15:
        return None
    if "...." in text or "http" in text:  # contents pages, link lists
        return None
    return text


def source_pdfs(source: Path) -> list[Path]:
    """The PDFs of the real corpus, in a fixed order."""
    return sorted(Path(p) for p in glob.glob(str(source / "**" / "*.pdf"), recursive=True))


def extract_runs(path: Path) -> list[str]:
    """The usable paragraphs of one real PDF, in reading order (empty when it cannot be read)."""
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # the broken files are expected
    try:
        reader = PdfReader(path)
        texts = [page.extract_text() or "" for page in reader.pages]
    except Exception:  # scans, HTML saved as .pdf, broken files: they simply give no text
        return []
    kept = []
    for text in texts:
        for paragraph in paragraphs_of_page(text):
            usable = usable_paragraph(paragraph)
            if usable:
                kept.append(usable)
    return kept


def pool_path(source: Path, cache_root: Path) -> Path:
    """Where the paragraph pool of `source` is cached; the name changes with the sources."""
    digest = hashlib.sha256()
    for pdf in source_pdfs(source):
        stat = pdf.stat()
        digest.update(f"{pdf.relative_to(source)}\0{stat.st_size}\0".encode())
    digest.update(f"v{POOL_VERSION}".encode())
    return cache_root / f"paragraphs-{digest.hexdigest()[:12]}.json"


def load_pool(
    source: Path = DEFAULT_SOURCE, cache_root: Path = DEFAULT_CACHE_ROOT
) -> list[list[str]]:
    """The paragraph pool: one list of paragraphs a real document, extracted once and cached."""
    cache_root = cache_root.expanduser()
    path = pool_path(source, cache_root)
    if path.exists():
        return json.loads(path.read_text())["documents"]
    pdfs = source_pdfs(source)
    with multiprocessing.Pool(min(len(pdfs), os.cpu_count() or 1) or 1) as pool:
        documents = [runs for runs in pool.map(extract_runs, pdfs, chunksize=1) if len(runs) >= 3]
    if not documents:
        raise SystemExit(f"no usable paragraphs in the PDFs under {source}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"source": str(source), "documents": documents}))
    os.replace(tmp, path)
    return documents


# --- the plan: which reports, with which metadata --------------------------------------------


@dataclass(frozen=True)
class ReportSpec:
    """One report to generate and the metadata it is meant to carry."""

    file: str
    pages: int
    locality: str
    region: str
    year: int
    doc_type: str
    title: str
    seed: int


def _draw_pages(rng: random.Random, doc_type: str) -> int:
    low, high = next(r for name, _, r in DOC_TYPES if name == doc_type)
    # Triangular towards the short end: most reports are short, a few are long.
    return int(rng.triangular(low, high, low + (high - low) * 0.2))


def _report_spec(rng: random.Random, index: int, pages: int | None, prefix: str) -> ReportSpec:
    doc_type = rng.choices([d[0] for d in DOC_TYPES], weights=[d[1] for d in DOC_TYPES])[0]
    locality, region = rng.choice(LOCALITIES)
    year = rng.choice(YEARS)
    if pages is None:
        pages = _draw_pages(rng, doc_type)
    letter = "ABCDEFGHJKLMNPRSTWXYZ"[rng.randrange(21)]
    subject = f"{rng.choice(SUBJECTS)} {letter}{rng.randrange(1, 30) if rng.random() < 0.3 else ''}"
    title = f"{REVIEW_KINDS[doc_type]}: {subject}"
    slug = re.sub(r"[^a-z0-9]+", "-", locality.lower()).strip("-")
    name = f"{prefix}{index:06d}-{slug}-{year}-{doc_type}.pdf"
    return ReportSpec(name, pages, locality, region, year, doc_type, title, rng.getrandbits(63))


def plan(seed: int, total_pages: int) -> tuple[list[ReportSpec], list[ReportSpec]]:
    """The reports of the corpus (summing to total_pages) and the extra ones for `add10`."""
    rng = random.Random(f"scrsearch-bench:{seed}:{total_pages}")
    specs: list[ReportSpec] = []
    remaining = total_pages
    index = 0
    while remaining > 0:
        spec = _report_spec(rng, index, None, "")
        n = spec.pages
        if remaining - n < MIN_PAGES:  # never leave a tail too short to be a report
            n = remaining if remaining <= MAX_PAGES else remaining - MIN_PAGES
        specs.append(ReportSpec(**{**asdict(spec), "pages": n}))
        remaining -= n
        index += 1
    extra_rng = random.Random(f"scrsearch-bench-extra:{seed}:{total_pages}")
    extras = [_report_spec(extra_rng, i, None, "extra-") for i in range(EXTRA_REPORTS)]
    # A tiny corpus gets small extras, so that adding them stays a small increment.
    cap = max(MIN_PAGES, total_pages // 20)
    extras = [ReportSpec(**{**asdict(s), "pages": min(s.pages, cap)}) for s in extras]
    return specs, extras


def plan_copies(seed: int, total_pages: int, specs: list[ReportSpec]):
    """Copies of corpus reports: (added with the corpus, added among the 10 extras).

    A copy is its original's spec under another file name and title: the same seed draws the
    same body, so only the cover differs, as when a partnership re-publishes a review.
    """
    rng = random.Random(f"scrsearch-bench-copies:{seed}:{total_pages}")
    wanted = min(COPIES + EXTRA_COPIES, len(specs))
    originals = rng.sample(specs, wanted)
    copies = [
        ReportSpec(**{**asdict(o), "file": f"copy-{o.file}",
                      "title": f"{o.title} (re-published copy)"})
        for o in originals
    ]  # fmt: skip
    return copies[:COPIES], copies[COPIES:]


# --- rendering ------------------------------------------------------------------------------

PAGE_W, PAGE_H = 210.0, 297.0
MARGIN = 22.0
BODY_PT, LINE_MM = 11.0, 5.6
HEAD_PT = 13.0
TOP, BOTTOM = 30.0, PAGE_H - 24.0
TEXT_W = PAGE_W - 2 * MARGIN
PT_TO_MM = 25.4 / 72

_pool: list[list[str]] | None = None


class Writer:
    """Lays out text line by line on a fixed page count, with header and footer on each page."""

    def __init__(self, spec: ReportSpec) -> None:
        from fpdf import FPDF

        self.spec = spec
        self.pdf = FPDF(unit="mm", format="A4")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_compression(True)
        self.pdf.set_title(spec.title)
        self.pdf.set_author(f"{spec.locality} Safeguarding Children Partnership")
        self.pdf.set_subject(f"{REVIEW_KINDS[spec.doc_type]} ({spec.locality}, {spec.year})")
        self.pdf.set_keywords(f"safeguarding; {spec.doc_type}; {spec.locality}; {spec.region}")
        self.pdf.set_creator("scrsearch benchcorpus")
        self.pdf.set_creation_date(
            dt.datetime(spec.year, 1 + spec.seed % 12, 1 + spec.seed % 28, tzinfo=dt.UTC)
        )
        self.page = 0
        self.y = TOP
        self.widths: dict[str, float] = {}
        self.cw: dict[str, int] = {}
        self.size = BODY_PT

    def font(self, style: str, size: float) -> None:
        self.pdf.set_font("Helvetica", style, size)
        self.cw = self.pdf.current_font.cw
        self.size = size
        self.widths = self._width_caches.setdefault((style, size), {})

    _width_caches: dict[tuple[str, float], dict[str, float]] = {}

    def width(self, word: str) -> float:
        w = self.widths.get(word)
        if w is None:
            cw = self.cw
            w = sum(cw.get(c, 500) for c in word) * self.size / 1000 * PT_TO_MM
            self.widths[word] = w
        return w

    def new_page(self) -> bool:
        """Start the next page; False when the report already has all its pages."""
        if self.page >= self.spec.pages:
            return False
        self.pdf.add_page()
        self.page += 1
        spec = self.spec
        self.font("I", 8)
        self.pdf.set_text_color(90, 90, 90)
        self.pdf.text(
            MARGIN, 14, f"{spec.locality} Safeguarding Children Partnership - {spec.title}"
        )
        self.pdf.line(MARGIN, 16, PAGE_W - MARGIN, 16)
        self.pdf.text(PAGE_W / 2 - 10, PAGE_H - 12, f"Page {self.page} of {spec.pages}")
        self.pdf.set_text_color(0, 0, 0)
        self.y = TOP
        return True

    def lines_of(self, text: str) -> list[str]:
        space = self.width(" ")
        lines, current, used = [], [], 0.0
        for word in text.split(" "):
            if not word:
                continue
            w = self.width(word)
            if current and used + space + w > TEXT_W:
                lines.append(" ".join(current))
                current, used = [word], w
            else:
                used += (space if current else 0.0) + w
                current.append(word)
        if current:
            lines.append(" ".join(current))
        return lines

    def paragraph(self, text: str, style: str = "", size: float = BODY_PT) -> bool:
        """Write a paragraph, flowing onto new pages; False when the last page is full."""
        self.font(style, size)
        line_h = LINE_MM * size / BODY_PT
        for line in self.lines_of(text):
            if self.y + line_h > BOTTOM:
                if not self.new_page():
                    return False
                self.font(style, size)
            self.y += line_h
            self.pdf.text(MARGIN, self.y, line)
        self.y += line_h * 0.6
        return True

    def heading(self, text: str) -> bool:
        """A section heading, moved to the next page when fewer than 4 lines are left."""
        if self.y + 4 * LINE_MM > BOTTOM and not self.new_page():
            return False
        return self.paragraph(text, "B", HEAD_PT)

    def cover(self) -> None:
        spec = self.spec
        self.new_page()
        self.y = 80
        self.paragraph(f"{spec.locality} Safeguarding Children Partnership", "B", 16)
        self.y += 10
        self.paragraph(spec.title, "B", 20)
        self.y += 6
        self.paragraph(f"{REVIEW_KINDS[spec.doc_type]} - published {spec.year}", "", 12)
        self.paragraph(f"{spec.locality}, {spec.region}", "", 12)
        self.y = BOTTOM  # the body starts on page 2


def render(spec: ReportSpec, pool: list[list[str]]) -> bytes:
    """The PDF bytes of one report: a cover, then sections of real paragraphs to the last page."""
    rng = random.Random(spec.seed)
    writer = Writer(spec)
    writer.cover()
    section = 0
    sections = list(SECTIONS)
    while True:
        name = (
            sections[section % len(sections)]
            if section < len(sections)
            else (f"{rng.choice(SECTIONS)} ({section - len(sections) + 2})")
        )
        section += 1
        if not writer.heading(f"{section}. {name}"):
            break
        source = rng.choice(pool)
        start = rng.randrange(len(source))
        run = source[start : start + rng.randint(3, 10)]
        full = True
        for number, text in enumerate(run, 1):
            if not writer.paragraph(f"{section}.{number} {text}"):
                full = False
                break
        if not full:
            break
    while writer.page < spec.pages:  # only if the loop stopped early: keep the page count exact
        writer.new_page()
    return bytes(writer.pdf.output())


def _init_worker(pool: list[list[str]]) -> None:
    global _pool
    _pool = pool


def _write_one(args: tuple[dict, str]) -> int:
    spec_dict, folder = args
    spec = ReportSpec(**spec_dict)
    assert _pool is not None
    data = render(spec, _pool)
    path = Path(folder) / spec.file
    tmp = path.with_suffix(".pdf.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return spec.pages


# --- the corpus on disk ----------------------------------------------------------------------


def corpus_dir(seed: int, pages: int, cache: Path | None = None) -> Path:
    """The folder of the corpus for (seed, pages): `cache` itself if given, else under the root."""
    if cache is not None:
        return Path(cache).expanduser()
    return DEFAULT_CACHE_ROOT.expanduser() / f"{seed}-{pages}"


def manifest_is_current(folder: Path, seed: int, pages: int) -> dict | None:
    """The manifest of a complete cached corpus for (seed, pages), else None."""
    path = folder / "manifest.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    if (manifest.get("seed"), manifest.get("pages"), manifest.get("version")) != (
        seed,
        pages,
        GENERATOR_VERSION,
    ):
        return None
    for entry in manifest["reports"] + manifest.get("copies", []) + manifest["extra"]:
        if not (folder / entry["file"]).exists():
            return None
    return manifest


def ensure_corpus(
    seed: int,
    pages: int,
    cache: Path | None = None,
    *,
    source: Path = DEFAULT_SOURCE,
    workers: int | None = None,
    pool: list[list[str]] | None = None,
    log=print,
) -> tuple[Path, dict]:
    """Generate the corpus unless a complete one is cached; return its folder and manifest."""
    folder = corpus_dir(seed, pages, cache)
    manifest = manifest_is_current(folder, seed, pages)
    if manifest is not None and manifest.get("copies_version") == COPIES_VERSION:
        return folder, manifest
    # A cached corpus from before the copies keeps its reports: only what is missing is made.
    reuse = manifest is not None
    specs, extras = plan(seed, pages)
    copies, extra_copies = plan_copies(seed, pages, specs)
    extras = extras[: EXTRA_REPORTS - len(extra_copies)] + extra_copies
    (folder / "extra").mkdir(parents=True, exist_ok=True)
    jobs = [(asdict(s), str(folder)) for s in specs + copies]
    jobs += [(asdict(s), str(folder / "extra")) for s in extras]
    if reuse:
        jobs = [j for j in jobs if not (Path(j[1]) / j[0]["file"]).exists()]
    jobs.sort(key=lambda job: -job[0]["pages"])  # long ones first: the two workers end together
    started = time.perf_counter()
    if pool is None and jobs:
        pool = load_pool(source)
    if jobs:
        log(
            f"paragraph pool: {len(pool)} documents, {sum(map(len, pool))} paragraphs "
            f"({time.perf_counter() - started:.1f}s)"
        )
    workers = workers or os.cpu_count() or 1
    written = 0
    started = time.perf_counter()
    if workers == 1:
        _init_worker(pool)
        for job in jobs:
            written += _write_one(job)
    else:
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(pool,)) as procs:
            for n in procs.imap_unordered(_write_one, jobs, chunksize=1):
                written += n
    elapsed = time.perf_counter() - started
    log(
        f"generated {len(jobs)} PDFs, {written} pages in {elapsed:.1f}s "
        f"({written / max(elapsed, 1e-9):.0f} pages/s, {workers} workers) -> {folder}"
    )
    entries = [asdict(s) for s in specs]
    extra_entries = [{**asdict(s), "file": f"extra/{s.file}"} for s in extras]
    manifest = {
        "version": GENERATOR_VERSION,
        "copies_version": COPIES_VERSION,
        "seed": seed,
        "pages": pages,
        "reports": entries,
        "copies": [asdict(s) for s in copies],
        "extra": extra_entries,
    }
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, folder / "manifest.json")
    return folder, manifest


def make_scan(
    source: Path,
    target: Path,
    *,
    pages: int | None = None,
    dpi: int = 200,
    angle: float = 1.0,
    noise: float = 0.03,
    seed: int = 1,
) -> int:
    """Write an image-only copy of `source` as a scanner would: each page rendered (pypdfium2)
    at `dpi` in grey, turned by `angle` degrees (alternating sign), specked with `noise`
    (the share of pixels flipped to dark or light, plus a grain), saved as JPEG in a PDF
    (Pillow). No text layer survives. Returns the number of pages written."""
    import numpy
    import pypdfium2 as pdfium
    from PIL import Image

    rng = numpy.random.default_rng(seed)
    document = pdfium.PdfDocument(str(source))
    images = []
    try:
        for index in range(min(len(document), pages or len(document))):
            page = document[index]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            sign = -1 if index % 2 else 1
            image = image.rotate(sign * angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
            pixels = numpy.asarray(image, dtype=numpy.int16)
            pixels = pixels + rng.normal(0, 12, pixels.shape).astype(numpy.int16)  # grain
            specks = rng.random(pixels.shape)
            pixels[specks < noise / 2] = 0
            pixels[specks > 1 - noise / 2] = 255
            images.append(Image.fromarray(pixels.clip(0, 255).astype(numpy.uint8), "L"))
    finally:
        document.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(target, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return len(images)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="total pages (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cache",
        type=Path,
        help="corpus folder (default under ~/.cache/scrsearch-bench/<seed>-<pages>/)",
    )
    parser.add_argument("--workers", type=int, help="processes (default: every core)")
    args = parser.parse_args(argv)
    folder, manifest = ensure_corpus(args.seed, args.pages, args.cache, workers=args.workers)
    print(
        f"{folder}: {len(manifest['reports'])} reports, {manifest['pages']} pages, "
        f"+{len(manifest['extra'])} extra"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
