"""One report in full: the JSON of `scrsearch show --format json`, and its passages in page order.

`show_report` is the one place that JSON is built: the `show` command prints it and the web
page's `/api/reports/ID` returns it. `report_passages` cuts the cached text into the same
passages the index holds (the same `split_passages` and `tag_passage` calls as indexing), so a
report page can list them in page order with their tags, without reading the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import tagging
from .config import Home
from .errors import UsageError
from .models import Document, ExtractedText, PassageTag
from .store import Store


@dataclass(frozen=True)
class ShownReport:
    """A report as `show` gives it: the JSON entry, the document and its cached text."""

    entry: dict
    doc: Document
    text: ExtractedText | None
    page_sources: dict = field(default_factory=dict)  # page -> how it was read, when not text


def show_report(home: Home, report_id: str, page: int | None = None) -> ShownReport:
    """Metadata and where each value came from, tags, URLs and warnings; a page's text."""
    from . import provenance
    from .search import report_json

    with Store(home) as store:
        doc = store.resolve(report_id)
        page_sources = store.page_sources(doc.sha256)
        entry = report_json(doc, store.report_tags(doc.sha256))
        entry.update(status=doc.status, error=doc.error, path=doc.path, pages=doc.pages,
                     extractor=doc.extractor, meta_origin=doc.meta_origin,
                     urls=store.urls_of(doc.sha256), added_from=doc.added_from,
                     added_at=doc.added_at, indexed_at=doc.indexed_at)  # fmt: skip
        text = store.cached_text(doc.sha256)
        entry.update(review_json(store, doc))
    # How each page's text was obtained: only pages not read from their text layer are listed.
    entry.update(text_source=doc.text_source, ocr_pages=doc.ocr_pages,
                 ocr_confidence=doc.ocr_confidence,
                 page_sources=[{"page": n, **provenance.passage_fields(s), "note": s.note}
                               for n, s in sorted(page_sources.items())])  # fmt: skip
    # Extraction warnings (a page with no text in a PDF that has text elsewhere, ...).
    entry["warnings"] = list(text.warnings) if text else []
    if page is not None:
        if text is None:
            raise UsageError(f"report {doc.report_id} has no extracted text ({doc.status})")
        if not 1 <= page <= len(text.pages):
            raise UsageError(f"--page {page}: report {doc.report_id} has pages 1-{len(text.pages)}")
        entry["page"] = page
        entry["text"] = text.pages[page - 1]
        entry.update(provenance.passage_fields(page_sources.get(page)))
    return ShownReport(entry, doc, text, page_sources)


def review_json(store: Store, doc: Document) -> dict:
    """The review of a report for `show`: its copies and versions, with the evidence, and the
    related documents of the same case."""
    from . import reviews

    member = reviews.member_of(store, doc.sha256)
    review_id = member.review_id if member else doc.report_id
    copies, versions = [], []
    for other in reviews.members_of(store, review_id) if member else []:
        other_doc = store.document(other.sha256)
        if other_doc is None or other.sha256 == doc.sha256:
            continue
        item = reviews.copy_json(other_doc, other, store.urls_of(other.sha256))
        (versions if other.superseded_by or member.superseded_by else copies).append(item)
    review = {**(member.to_json() if member else {"review_id": review_id, "how": "ungrouped"}),
              "copies": copies, "versions": versions}  # fmt: skip
    related = [
        {"report_id": d.report_id, "title": d.title or d.original_name, "year": d.year,
         "doc_type": d.doc_type, "review_id": reviews.review_id_of(store, d.sha256)}
        for d in reviews.related_documents(store, doc)
    ]  # fmt: skip
    return {"review_id": review_id, "review": review, "related": related}


@dataclass(frozen=True)
class ReportPassage:
    """A passage of a report as the index holds it, with the taxonomy evidence it carries."""

    page: int
    ordinal: int
    text: str
    tags: tuple[PassageTag, ...]


def report_passages(text: ExtractedText | None, sha256: str) -> list[ReportPassage]:
    """The report's passages in page order, each with its tags (as indexing makes them)."""
    from .passages import split_passages

    if text is None:
        return []
    taxonomy = tagging.load_taxonomy()
    return [
        ReportPassage(p.page, p.ordinal, p.text, tuple(tagging.tag_passage(p.text, taxonomy)))
        for p in split_passages(sha256, text.pages)
    ]


def tag_evidence(
    passages: Sequence[ReportPassage], term_ids: Sequence[str], per_tag: int = 3
) -> dict[str, list[ReportPassage]]:
    """For each term, the first `per_tag` passages (page order) that give evidence of it."""
    found: dict[str, list[ReportPassage]] = {t: [] for t in term_ids}
    for passage in passages:
        for term_id in {t.term_id for t in passage.tags}:
            shown = found.get(term_id)
            if shown is not None and len(shown) < per_tag:
                shown.append(passage)
    return found


def passage_stems(passages: Sequence[ReportPassage]) -> list[tuple[str, ...]]:
    """Each passage's index terms in order (the text field's analyzer: lower-cased, stemmed),
    so that a query's words can be looked up in a report's passages without analysing them
    again for each query."""
    from .engine import text_tokens

    tokens = text_tokens()
    return [tuple(term for term, _start, _end in tokens(p.text)) for p in passages]
