"""NSPCC: the case review lists ("2017 – Bradford – Jack", "Read the overview report") and
the "learning from case reviews" briefings.

The list pages give each review an entry heading `<year> – <LSCB or Anonymous> – <pseudonym>`
followed by a summary and a link to the report, usually in the NSPCC library. The year and
the LSCB are stated by the source, so they are authoritative for the document.
"""

from __future__ import annotations

import re
from typing import Any

from bs4 import Tag

from .base import DocumentLink, Page, hints_from_text, text_of
from .listing import ListingAdapter, _PageContext

#: "2017 – Anonymous - Child AB", "2025 - Cambridgeshire and Peterborough - Gabriel"
ENTRY = re.compile(r"^\s*((?:19|20)\d\d)\s*[–—-]\s*(.+?)\s+[–—-]\s+(.+?)\s*$")
_ENTRY_TAGS = ["h2", "h3", "h4", "h5", "p", "strong", "b", "dt"]
_LOOKBACK = 12


class NspccAdapter(ListingAdapter):
    """A listing adapter that reads NSPCC entry headings for year, LSCB and pseudonym."""

    kind = "nspcc"
    default_documents = (
        r"\.pdf(?:$|\?)",
        r"/HeritageScripts/Hapi\.dll/file",
        r"library\.nspcc\.org\.uk/.*(?:filetwo|GetDocument)",
    )
    default_link_texts = (
        r"(?i)\bread the (?:full |overview |executive summary |summary )?(?:overview )?report\b",
        r"(?i)\b(?:download|read) the (?:briefing|learning)\b",
    )

    def document_link(
        self, anchor: Tag, href: str, page: Page, context: _PageContext | None = None
    ) -> DocumentLink:
        entry = entry_heading(anchor)
        if entry is None:
            return super().document_link(anchor, href, page, context)
        year, board, pseudonym = entry
        text = text_of(anchor)
        stated: dict[str, Any] = {"year": year, "title": f"{pseudonym} ({board}, {year})"}
        if board.lower() != "anonymous":
            stated["locality"] = board
        hints = hints_from_text(f"{pseudonym}: {text}")
        hints.pop("title", None)
        return self.link(href, text, meta=stated, hints=hints, referrer=page.final_url)


def entry_heading(anchor: Tag) -> tuple[int, str, str] | None:
    """The (year, LSCB, pseudonym) of the NSPCC list entry a link belongs to, if any."""
    for element in anchor.find_all_previous(_ENTRY_TAGS, limit=_LOOKBACK):
        match = ENTRY.match(text_of(element))
        if match and len(match.group(0)) < 150:
            return int(match.group(1)), match.group(2).strip(), match.group(3).strip()
    return None
