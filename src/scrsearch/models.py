"""Frozen dataclasses passed between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Metadata fields a user, a source or inference can set on a document.
META_FIELDS = ("title", "subject", "locality", "region", "nation", "year", "doc_type")

#: The fixed list of document types.
DOC_TYPES = (
    "overview_report",
    "executive_summary",
    "briefing",
    "board_response",
    "action_plan",
    "thematic_review",
    "national_review",
    "inspection_report",
    "guidance",
    "other",
)

#: Processing states of a document, as `reports` shows them.
STATUSES = ("pending", "indexed", "needs_ocr", "failed")

#: OCR'd pages whose mean word confidence is below this are flagged (kept, not dropped).
LOW_CONFIDENCE = 70.0

#: Length of the short report id shown to people (a sha256 prefix).
REPORT_ID_LEN = 12


@dataclass(frozen=True)
class Document:
    """One stored original and what the catalogue knows of it."""

    sha256: str
    original_name: str
    source: str
    path: str
    size: int
    status: str = "pending"
    error: str | None = None
    url: str | None = None
    fetched_at: str | None = None
    title: str | None = None
    subject: str | None = None
    locality: str | None = None
    region: str | None = None
    nation: str | None = None
    year: int | None = None
    doc_type: str | None = None
    pages: int | None = None
    passages: int | None = None
    extractor: str | None = None
    text_source: str | None = None  # text_layer, ocr, mixed or needs_ocr (store.TEXT_SOURCES)
    ocr_pages: int | None = None
    ocr_confidence: float | None = None
    meta_origin: dict[str, str] = field(default_factory=dict)
    added_from: str | None = None
    added_at: str | None = None
    extracted_at: str | None = None
    indexed_at: str | None = None

    @property
    def report_id(self) -> str:
        return self.sha256[:REPORT_ID_LEN]


@dataclass(frozen=True)
class AddResult:
    """What adding one file or download did."""

    document: Document
    is_new: bool


@dataclass(frozen=True)
class PageSource:
    """How one page's text was obtained: "text" (its text layer), "ocr", "ocr_failed" or
    "needs_ocr" (no engine), with Tesseract's mean word confidence (0-100) for OCR."""

    method: str
    confidence: float | None = None
    note: str | None = None

    @property
    def low_confidence(self) -> bool:
        return self.method == "ocr" and (self.confidence or 0.0) < LOW_CONFIDENCE

    def to_json(self) -> list:
        return [self.method, self.confidence, self.note]

    @classmethod
    def from_json(cls, value: list) -> PageSource:
        return cls(*value)


#: A page read from its text layer.
TEXT_LAYER = PageSource("text")


@dataclass(frozen=True)
class ExtractedText:
    """The normalised text of a PDF, one string a page, and how it was made: `sources` has a
    PageSource a page when any page was not read from its text layer, else it is empty."""

    pages: tuple[str, ...]
    extractor: str
    warnings: tuple[str, ...] = ()
    sources: tuple[PageSource, ...] = ()

    def source(self, page: int) -> PageSource:
        """How page (1-based) was read."""
        return self.sources[page - 1] if self.sources else TEXT_LAYER


@dataclass(frozen=True)
class Passage:
    """A paragraph-sized piece of one page of one report."""

    sha256: str
    page: int  # 1-based
    ordinal: int  # position within the report, 0-based
    text: str


@dataclass(frozen=True)
class PassageTag:
    """A taxonomy term found in a passage, with the cue and span that produced it."""

    term_id: str
    facet: str
    cue: str
    start: int
    end: int


@dataclass(frozen=True)
class ReportTag:
    """A taxonomy term that applies to a whole report, with its evidence count."""

    term_id: str
    facet: str
    label: str
    passages: int
