"""Page texts to paragraph-sized passages, never across a page boundary."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from . import config
from .models import Passage

# A sentence ends at . ! or ? (with any closing quotes or brackets) followed by white space.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+")


def split_passages(
    sha256: str,
    pages: Sequence[str],
    *,
    min_chars: int = config.PASSAGE_MIN_CHARS,
    max_chars: int = config.PASSAGE_MAX_CHARS,
) -> list[Passage]:
    """Cut each page's text into passages of about min_chars to max_chars, in reading order."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    passages: list[Passage] = []
    for number, page in enumerate(pages, 1):
        for text in _page_passages(page, min_chars, max_chars):
            passages.append(Passage(sha256, number, len(passages), text))
    return passages


def _page_passages(page: str, min_chars: int, max_chars: int) -> Iterator[str]:
    """Merge short paragraphs (a heading with what follows) and split long ones, up to max."""
    buffer = ""
    for piece in _pieces(page, max_chars):
        if buffer and len(buffer) < min_chars and len(buffer) + 2 + len(piece) <= max_chars:
            buffer = f"{buffer}\n\n{piece}"
            continue
        if buffer:
            yield buffer
        buffer = piece
    if buffer:
        yield buffer


def _pieces(page: str, max_chars: int) -> Iterator[str]:
    """The page's paragraphs, with any over max_chars cut at sentence ends."""
    for paragraph in page.split("\n\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            yield paragraph
        else:
            yield from _pack(_sentences(paragraph, max_chars), max_chars)


def _sentences(paragraph: str, max_chars: int) -> Iterator[str]:
    """The paragraph's sentences; any longer than max_chars is cut at spaces, else hard."""
    start = 0
    for match in _SENTENCE_BREAK.finditer(paragraph):
        yield from _hard_split(paragraph[start : match.end()].strip(), max_chars)
        start = match.end()
    yield from _hard_split(paragraph[start:].strip(), max_chars)


def _hard_split(text: str, max_chars: int) -> Iterator[str]:
    while len(text) > max_chars:
        cut = text.rfind(" ", 1, max_chars + 1)
        if cut <= 0:
            cut = max_chars
        yield text[:cut].strip()
        text = text[cut:].strip()
    if text:
        yield text


def _pack(sentences: Iterator[str], max_chars: int) -> Iterator[str]:
    """Join consecutive sentences with spaces into chunks of at most max_chars."""
    chunk = ""
    for sentence in sentences:
        if chunk and len(chunk) + 1 + len(sentence) <= max_chars:
            chunk = f"{chunk} {sentence}"
            continue
        if chunk:
            yield chunk
        chunk = sentence
    if chunk:
        yield chunk
