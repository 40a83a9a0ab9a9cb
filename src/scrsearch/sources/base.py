"""What every source adapter shares: its configuration, the links it yields, the base class."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bs4 import BeautifulSoup, Tag

from ..models import META_FIELDS

#: Metadata a source may state in its configuration (authoritative for its documents).
STATED_FIELDS = ("locality", "region", "nation", "doc_type")


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: where to start, what to follow, what is a document."""

    name: str
    title: str
    kind: str
    start_urls: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    follow: tuple[re.Pattern[str], ...] = ()
    documents: tuple[re.Pattern[str], ...] = ()
    link_texts: tuple[re.Pattern[str], ...] = ()
    max_depth: int = 2
    delay: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    origin: str = "built-in"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "start_urls": list(self.start_urls),
            "allowed_hosts": list(self.allowed_hosts),
            "follow": [p.pattern for p in self.follow],
            "documents": [p.pattern for p in self.documents],
            "link_texts": [p.pattern for p in self.link_texts],
            "max_depth": self.max_depth,
            "delay": self.delay,
            "meta": dict(self.meta),
            "options": dict(self.options),
            "enabled": self.enabled,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class DocumentLink:
    """A link to one document, with what the source states and what its text suggests."""

    url: str
    source: str
    text: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)  # stated by the source: authoritative
    hints: Mapping[str, Any] = field(default_factory=dict)  # inferred from the link text
    referrer: str | None = None


@dataclass(frozen=True)
class Page:
    """A listing page or API answer, as the crawler fetched it."""

    url: str
    final_url: str
    text: str
    content_type: str = "text/html"


#: Fetches a listing page politely and records it; None when it failed (already recorded).
PageGetter = Callable[[str], Page | None]


class Adapter:
    """A kind of site. Subclasses set `kind`, their extra `options` and defaults."""

    kind: ClassVar[str] = ""
    #: Extra configuration keys of this kind: key -> (type, default).
    options: ClassVar[dict[str, tuple[type | tuple[type, ...], Any]]] = {}
    default_documents: ClassVar[tuple[str, ...]] = (r"\.pdf(?:$|\?)",)
    default_link_texts: ClassVar[tuple[str, ...]] = ()
    default_follow: ClassVar[tuple[str, ...]] = ()
    needs_start_urls: ClassVar[bool] = True

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @classmethod
    def default_start_urls(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        """Start URLs derived from the options, for kinds that need none configured."""
        return ()

    @classmethod
    def default_allowed_hosts(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        """Hosts allowed besides those of the start URLs."""
        return ()

    def links(self, get_page: PageGetter) -> Iterator[DocumentLink]:
        """Yield each document link of the source once."""
        raise NotImplementedError

    def link(self, url: str, text: str, *, meta=None, hints=None, referrer=None) -> DocumentLink:
        """A DocumentLink carrying the source's stated metadata under `meta`."""
        stated = {**self.config.meta, **(meta or {})}
        inferred = {k: v for k, v in (hints or {}).items() if k not in stated}
        return DocumentLink(url, self.config.name, text, stated, inferred, referrer)


def hints_from_text(text: str) -> dict[str, Any]:
    """doc_type, subject, year and title inferred from a link text (teammate's tagging)."""
    try:
        from ..tagging import metadata_from_link_text
    except ImportError:  # tagging's own imports are not all present yet; same function
        from ..metadata import metadata_from_link_text
    found = metadata_from_link_text(text) if text.strip() else {}
    return {k: v for k, v in found.items() if k in META_FIELDS and v not in (None, "")}


def parse_html(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def text_of(tag: Tag) -> str:
    """An element's visible text with whitespace collapsed."""
    return " ".join(tag.get_text(" ", strip=True).split())


_GENERIC = re.compile(
    r"^(?:download|view|open|pdf|here|click here|more|read more|link|report|full report"
    r"|read the (?:full |overview )?report"
    r"|download (?:the )?(?:full )?(?:report|pdf|file|document|briefing|summary))"
    r"(?:\s*\(pdf[^)]*\))?$",
    re.I,
)


def is_generic(text: str) -> bool:
    """Whether a link text says nothing about the document ("Download", "PDF", ...)."""
    return not re.search(r"[A-Za-z]{2}", text) or bool(_GENERIC.match(text.strip()))


_YEAR = re.compile(r"\b(19[89]\d|20\d\d)\b")


def year_in(text: str) -> int | None:
    """The first plausible year (1980-2099) in a text."""
    match = _YEAR.search(text)
    return int(match.group(1)) if match else None
