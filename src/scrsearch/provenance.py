"""How each page's text was obtained (text layer or OCR), as search, export and show give it.

The catalogue holds a row a page only for pages not read from their text layer
(`Store.page_sources`), so a born-digital corpus costs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .config import Home
from .models import LOW_CONFIDENCE, TEXT_LAYER, Document, PageSource

#: What `text_source` of a passage or page can be.
PAGE_SOURCES = {
    "text": "text_layer",
    "ocr": "ocr",
    "ocr_failed": "ocr_failed",
    "needs_ocr": "needs_ocr",
}


def passage_fields(source: PageSource | None) -> dict:
    """The provenance fields of a passage (or page) in JSON and exports."""
    source = source or TEXT_LAYER
    return {
        "text_source": PAGE_SOURCES.get(source.method, source.method),
        "ocr_confidence": source.confidence,
        "low_confidence": source.low_confidence,
    }


def sources_of(home: Home, shas: Iterable[str]) -> dict[str, dict[int, PageSource]]:
    """The page sources (pages not from their text layer) of some documents."""
    from .store import Store

    wanted = list(shas)
    if not wanted:
        return {}
    with Store(home) as store:
        return {sha: store.page_sources(sha) for sha in wanted}


def annotate_results(home: Home, results: list[dict], documents: Mapping[str, Document]) -> None:
    """Give each passage of search results its provenance fields, in place. The catalogue is
    read only when a result has OCR'd pages."""
    with_ocr = [r["sha256"] for r in results if _has_page_sources(documents.get(r["sha256"]))]
    sources = sources_of(home, with_ocr)
    for result in results:
        pages = sources.get(result["sha256"], {})
        for passage in result.get("passages", ()):
            passage.update(passage_fields(pages.get(passage["page"])))


def _has_page_sources(doc: Document | None) -> bool:
    return doc is not None and (bool(doc.ocr_pages) or doc.text_source not in (None, "text_layer"))


def page_ranges(numbers: list[int]) -> str:
    """1, 2, 3, 5 -> "1-3, 5"."""
    spans: list[list[int]] = []
    for number in sorted(numbers):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def describe(doc: Document, pages: Mapping[int, PageSource]) -> list[str]:
    """Lines for `show`: which pages were OCR'd, how confidently, and which were not."""
    if not pages:
        return ["text layer on every page" if doc.pages else "not extracted yet"]
    lines = []
    by_method: dict[str, list[int]] = {}
    for number, source in pages.items():
        by_method.setdefault(source.method, []).append(number)
    if by_method.get("ocr"):
        confidence = f" (mean confidence {doc.ocr_confidence:g})" if doc.ocr_confidence else ""
        lines.append(f"OCR on page(s) {page_ranges(by_method['ocr'])}{confidence}")
        low = [n for n, s in pages.items() if s.low_confidence]
        if low:
            lines.append(
                f"low confidence (under {LOW_CONFIDENCE:g}) on page(s) {page_ranges(low)}: "
                + ", ".join(f"p.{n} {pages[n].confidence:g}" for n in sorted(low))
            )
    if by_method.get("ocr_failed"):
        note = pages[by_method["ocr_failed"][0]].note
        lines.append(f"OCR failed on page(s) {page_ranges(by_method['ocr_failed'])}: {note}")
    if by_method.get("needs_ocr"):
        note = pages[by_method["needs_ocr"][0]].note
        lines.append(f"not OCR'd yet: page(s) {page_ranges(by_method['needs_ocr'])}: {note}")
    if doc.pages and len(pages) < doc.pages:
        lines.append("text layer on the other pages")
    return lines
