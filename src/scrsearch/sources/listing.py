"""The generic listing adapter: board pages with links to PDFs, driven by configuration alone."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import Tag

from ..fetch import host_allowed
from .base import (
    Adapter,
    DocumentLink,
    Page,
    PageGetter,
    hints_from_text,
    is_generic,
    parse_html,
    text_of,
)

_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
_BLOCKS = ("li", "p", "td", "dd", "div", "article", "section")
_CONTEXT_MAX = 300


class ListingAdapter(Adapter):
    """Follows listing and pagination links (`follow`) to `max_depth`; yields document links."""

    kind = "listing"

    def links(self, get_page: PageGetter) -> Iterator[DocumentLink]:
        config = self.config
        queue = deque((url, 0) for url in config.start_urls)
        queued = set(config.start_urls)
        yielded: set[str] = set()
        while queue:
            url, depth = queue.popleft()
            page = get_page(url)
            if page is None:
                continue
            context = _PageContext()
            for anchor, href in self.anchors(page, context):
                if self.is_document(href, text_of(anchor)):
                    if href not in yielded:
                        yielded.add(href)
                        yield self.document_link(anchor, href, page, context)
                elif (
                    depth < config.max_depth
                    and href not in queued
                    and any(p.search(href) for p in config.follow)
                ):
                    queued.add(href)
                    queue.append((href, depth + 1))

    def anchors(self, page: Page, context: _PageContext | None = None) -> Iterator[tuple[Tag, str]]:
        """Each link of a page on an allowed host, with its absolute URL (fragment dropped).

        One pass over the page's headings and links in document order notes the heading
        before each link (in `context`), so finding it is not a walk back through the page
        per link (quadratic: a 150,000-link page ran past ten minutes)."""
        soup = parse_html(page.text)
        heading: Tag | None = None
        for element in soup.find_all([*_HEADINGS, "a"]):
            if element.name != "a":
                heading = element
                continue
            anchor = element
            if anchor.get("href") is None:
                continue
            if context is not None:
                context.headings[id(anchor)] = heading
            href = urljoin(page.final_url, anchor["href"].strip()).split("#")[0]
            if urlsplit(href).scheme not in ("http", "https"):
                continue
            if host_allowed(href, self.config.allowed_hosts):
                yield anchor, href

    def is_document(self, href: str, text: str) -> bool:
        return any(p.search(href) for p in self.config.documents) or any(
            p.search(text) for p in self.config.link_texts
        )

    def document_link(
        self, anchor: Tag, href: str, page: Page, context: _PageContext | None = None
    ) -> DocumentLink:
        """The link with a title from its text (or nearby heading) and inferred metadata."""
        text = text_of(anchor) or anchor.get("title", "") or anchor.get("aria-label", "")
        heading = context.heading(anchor) if context else nearby_heading(anchor)
        title = text
        if is_generic(text) and heading:
            title = f"{heading}: {text}" if text else heading
        hints: dict[str, Any] = hints_from_text(title)
        if "year" not in hints:
            # "(Published August 2024)" often sits beside the link rather than in it
            block = context.block_text(anchor) if context else block_text(anchor)
            context_year = hints_from_text(block).get("year") if block else None
            if context_year is not None:
                hints["year"] = context_year
        hints.setdefault("title", title)
        return self.link(href, title, hints=hints, referrer=page.final_url)


class _PageContext:
    """What links of one page share, each computed once: the heading before each link (from
    the one pass of `anchors`), and the text of each block (a block holding every link of a
    long page would otherwise be read again for each of them)."""

    def __init__(self) -> None:
        self.headings: dict[int, Tag | None] = {}
        self._heading_texts: dict[int, str] = {}
        self._block_texts: dict[int, str] = {}

    def heading(self, anchor: Tag) -> str:
        found = self.headings.get(id(anchor))
        if found is None:
            return ""
        key = id(found)
        if key not in self._heading_texts:
            self._heading_texts[key] = text_of(found)
        return self._heading_texts[key]

    def block_text(self, anchor: Tag) -> str:
        for parent in anchor.parents:
            if parent.name in _BLOCKS:
                key = id(parent)
                if key not in self._block_texts:
                    text = text_of(parent)
                    self._block_texts[key] = text if len(text) <= _CONTEXT_MAX else ""
                return self._block_texts[key]
        return ""


def nearby_heading(anchor: Tag) -> str:
    """The text of the nearest heading before a link, or ''."""
    heading = anchor.find_previous(_HEADINGS)
    return text_of(heading) if heading is not None else ""


def block_text(anchor: Tag) -> str:
    """The text of the smallest block around a link, when short enough to be about it alone."""
    for parent in anchor.parents:
        if parent.name in _BLOCKS:
            text = text_of(parent)
            return text if len(text) <= _CONTEXT_MAX else ""
    return ""
