"""GOV.UK: an organisation's publications via the Search API, their PDFs via the Content API.

    <base_url>/api/search.json?filter_organisations=<organisation>&count=..&start=..
    <base_url>/api/content<link>  ->  details.attachments[] or details.documents (HTML)

Withdrawn publications are skipped unless `include_withdrawn = true`; HTML publications and
HTML attachments have no PDF and are skipped; a document collection's documents are read
one level down. The publication's own date and attachment titles are stated metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from .base import Adapter, DocumentLink, PageGetter, hints_from_text, parse_html, text_of, year_in

_SEARCH_FIELDS = ("link", "title", "format", "content_store_document_type", "public_timestamp")
_HTML_TYPES = {"html_publication"}
_COLLECTION_TYPES = {"document_collection"}


class GovukAdapter(Adapter):
    """Publications of one GOV.UK organisation and their PDF attachments."""

    kind = "govuk"
    needs_start_urls = False
    options = {
        "base_url": (str, "https://www.gov.uk"),
        "organisation": (str, "child-safeguarding-practice-review-panel"),
        "page_size": (int, 100),
        "max_pages": (int, 20),
        "include_withdrawn": (bool, False),
    }

    @classmethod
    def default_start_urls(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (search_url(options["base_url"], options["organisation"], options["page_size"], 0),)

    @classmethod
    def default_allowed_hosts(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (urlsplit(options["base_url"]).hostname or "", "assets.publishing.service.gov.uk")

    def links(self, get_page: PageGetter) -> Iterator[DocumentLink]:
        seen: set[str] = set()
        for path in self.publication_paths(get_page):
            for link in self.publication_links(get_page, path, depth=0):
                if link.url not in seen:
                    seen.add(link.url)
                    yield link

    def publication_paths(self, get_page: PageGetter) -> Iterator[str]:
        """The path of each publication the Search API lists, newest first, page by page."""
        opts = self.config.options
        size = opts["page_size"]
        for number in range(opts["max_pages"]):
            url = (
                self.config.start_urls[0]
                if number == 0
                else search_url(opts["base_url"], opts["organisation"], size, number * size)
            )
            data = _json(get_page(url))
            if not isinstance(data, dict):
                return
            results = data.get("results") or []
            for result in results:
                link = result.get("link") or ""
                kind = result.get("content_store_document_type") or result.get("format")
                if link.startswith("/") and kind not in _HTML_TYPES:
                    yield link
            if not results or (number + 1) * size >= int(data.get("total") or 0):
                return

    def publication_links(
        self, get_page: PageGetter, path: str, *, depth: int
    ) -> Iterator[DocumentLink]:
        """The PDF attachments of one publication (or of a collection's documents)."""
        base = self.config.options["base_url"]
        item = _json(get_page(base.rstrip("/") + "/api/content" + path))
        if not isinstance(item, dict):
            return
        kind = item.get("document_type") or item.get("schema_name")
        if kind in _COLLECTION_TYPES or item.get("schema_name") in _COLLECTION_TYPES:
            if depth == 0:
                for child in (item.get("links") or {}).get("documents") or []:
                    child_path = child.get("base_path") or ""
                    if child_path.startswith("/"):
                        yield from self.publication_links(get_page, child_path, depth=1)
            return
        if item.get("schema_name") in _HTML_TYPES or kind in _HTML_TYPES:
            return
        if item.get("withdrawn_notice") and not self.config.options["include_withdrawn"]:
            return
        yield from self.attachment_links(item)

    def attachment_links(self, item: Mapping[str, Any]) -> Iterator[DocumentLink]:
        base = self.config.options["base_url"]
        page_url = urljoin(base, item.get("base_path") or "/")
        details = item.get("details") or {}
        published = (
            details.get("first_public_at")
            or item.get("first_published_at")
            or item.get("public_updated_at")
            or ""
        )
        stated: dict[str, Any] = {}
        if year_in(published[:4]):
            stated["year"] = int(published[:4])
        publication = item.get("title") or ""
        for url, title in _attachments(details, base):
            hints = hints_from_text(title or publication)
            meta = {**stated, "title": title or publication}
            yield self.link(url, title or publication, meta=meta, hints=hints, referrer=page_url)


def search_url(base_url: str, organisation: str, count: int, start: int) -> str:
    """The Search API URL of one page of an organisation's documents, newest first."""
    params = [
        ("filter_organisations", organisation),
        ("count", str(count)),
        ("start", str(start)),
        ("order", "-public_timestamp"),
        *(("fields", f) for f in _SEARCH_FIELDS),
    ]
    return base_url.rstrip("/") + "/api/search.json?" + urlencode(params)


def _attachments(details: Mapping[str, Any], base: str) -> Iterator[tuple[str, str]]:
    """(URL, title) of each PDF attachment, from `attachments[]` and from `documents` HTML."""
    for attachment in details.get("attachments") or []:
        url = attachment.get("url") or ""
        if not url:
            continue
        is_pdf = attachment.get("content_type") == "application/pdf" or _pdf_path(url)
        if attachment.get("attachment_type", "file") == "file" and is_pdf:
            yield urljoin(base, url), (attachment.get("title") or "").strip()
    for fragment in details.get("documents") or []:
        soup = parse_html(fragment)
        for section in soup.select("section.attachment") or [soup]:
            title_link = section.select_one(".title a[href]") or section.find("a", href=True)
            if title_link is None:
                continue
            href = title_link["href"]
            kind = section.select_one(".metadata .type")
            declared_pdf = kind is not None and "PDF" in text_of(kind).upper()
            if _pdf_path(href) or declared_pdf:
                yield urljoin(base, href), text_of(title_link)


def _pdf_path(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".pdf")


def _json(page) -> Any:
    if page is None:
        return None
    try:
        return json.loads(page.text)
    except ValueError:
        return None
