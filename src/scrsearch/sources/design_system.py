"""A GOV.UK design-system results library, like the Home Office DHR library.

Each result is a card (`<section>`) with a heading, caption/value pairs ("CSP" Lincoln,
"CSP Region" East Midlands, "Uploaded on" February 2026) and `/download/<id>` links. Pages
are numbered from `first_page` (0 by default) in the query parameter `page_param`; the crawl
stops at the first page without cards or after `max_pages`. `fields` maps a card caption to a
metadata field; the values are stated by the source, so they win over inference.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import Tag

from ..fetch import host_allowed
from ..models import META_FIELDS
from .base import Adapter, DocumentLink, PageGetter, hints_from_text, parse_html, text_of, year_in

_CAPTION = "govuk-caption-m"


class ResultsLibraryAdapter(Adapter):
    """Result cards with download links, paged by a 0-based page-number parameter."""

    kind = "results_library"
    default_documents = (r"/download/[^/?#]+$", r"\.pdf(?:$|\?)")
    options = {
        "page_param": (str, "pagination[pageNumber]"),
        "first_page": (int, 0),
        "max_pages": (int, 50),
        "card": (str, "section"),
        "fields": (dict, {}),
    }

    def links(self, get_page: PageGetter) -> Iterator[DocumentLink]:
        opts = self.config.options
        seen: set[str] = set()
        for start in self.config.start_urls:
            for offset in range(opts["max_pages"]):
                url = page_url(start, opts["page_param"], opts["first_page"] + offset)
                page = get_page(url)
                if page is None:
                    break
                soup = parse_html(page.text)
                cards = [c for c in soup.select(opts["card"]) if self._document_anchor(c, url)]
                if not cards:
                    break
                for card in cards:
                    link = self.card_link(card, page.final_url)
                    if link is not None and link.url not in seen:
                        seen.add(link.url)
                        yield link

    def _document_anchor(self, card: Tag, base: str) -> tuple[Tag, str] | None:
        for anchor in card.find_all("a", href=True):
            href = urljoin(base, anchor["href"])
            if host_allowed(href, self.config.allowed_hosts) and any(
                p.search(href) for p in self.config.documents
            ):
                return anchor, href
        return None

    def card_link(self, card: Tag, base: str) -> DocumentLink | None:
        """The card's document link with its title and mapped fields as stated metadata."""
        found = self._document_anchor(card, base)
        if found is None:
            return None
        anchor, href = found
        heading = card_title(card)
        label = next(
            (a["download"] for a in card.find_all("a", download=True) if a["download"]),
            heading or text_of(anchor),
        )
        stated = mapped_fields(card_fields(card), self.config.options["fields"])
        stated.setdefault("title", label)
        hints = hints_from_text(label)
        if heading and heading != label:
            hints.setdefault("subject", heading)
        return self.link(href, label, meta=stated, hints=hints, referrer=base)


def page_url(start: str, param: str, number: int) -> str:
    """The start URL with the page-number parameter set to `number`."""
    parts = urlsplit(start)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, str(number)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def card_title(card: Tag) -> str:
    """The card heading's text without its caption ("DHR Title")."""
    heading = card.find(["h2", "h3", "h4"])
    if heading is None:
        return ""
    parts = [
        text_of(child) if isinstance(child, Tag) else str(child).strip()
        for child in heading.children
        if not (isinstance(child, Tag) and _CAPTION in (child.get("class") or []))
    ]
    return " ".join(p for p in parts if p)


def card_fields(card: Tag) -> dict[str, str]:
    """Caption -> value pairs of a card (captions inside headings are titles, not fields)."""
    fields: dict[str, str] = {}
    for caption in card.find_all(class_=_CAPTION):
        if caption.find_parent(["h2", "h3", "h4"]) is not None:
            continue
        value = caption.find_next_sibling()
        if value is not None:
            fields[text_of(caption)] = text_of(value)
    return fields


def mapped_fields(fields: Mapping[str, str], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Card fields renamed to metadata fields; a year field keeps only its year."""
    stated: dict[str, Any] = {}
    for caption, target in mapping.items():
        value = fields.get(caption)
        if not value or target not in META_FIELDS:
            continue
        if target == "year":
            year = year_in(value)
            if year is not None:
                stated["year"] = year
        else:
            stated[target] = value
    return stated
