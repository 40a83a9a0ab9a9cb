"""Raw page texts to clean ones: NFKC, joined hyphenation, paragraphs, no running headers."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
_LIST_ITEM = re.compile(
    r"^(•|[-–—*▪■►✓] |\(?\d{1,3}(\.\d{1,3})*[.)] |\d{1,3}(\.\d{1,3})+ |\([a-z]{1,3}\) )"
)
_PAGE_NUMBER = re.compile(
    r"^(page\s*)?[-–—]?\s*(\d{1,4}|[ivxlc]{1,6})\s*[-–—]?(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE
)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HEADER_ZONE = 3  # lines at the top and at the bottom of a page where running headers live


def normalise_pages(raw_pages: list[str]) -> list[str]:
    """Clean raw page texts: NFKC, joined hyphenation, paragraphs, no running headers."""
    pages = [_clean_lines(raw) for raw in raw_pages]
    _drop_running_headers(pages)
    words, compounds = _vocabulary(pages)
    width = _typical_width(pages)
    return [_join_lines(lines, width, words, compounds) for lines in pages]


def _clean_lines(raw: str) -> list[str]:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    # pdfium marks a hyphen at the end of a line with U+FFFE (old builds: U+0002) and drops
    # the line break: put both back so pypdf and pdfium text take the same road from here.
    text = re.sub("[\ufffe\x02]", "-\n", text)
    text = re.sub("\u00ad(?!\n)", "", text)  # soft hyphens only matter where a line breaks
    text = text.replace("\u00ad\n", "\u00ad-\n")
    text = unicodedata.normalize("NFKC", text)
    # Symbol-font bullets live in the private use area (U+F06E, U+F0A7, U+F0B7, ...).
    text = re.sub("[\uf000-\uf0ff]", "•", text)
    text = re.sub(r"[\t\v\f\u00a0\u2000-\u200b\u202f\u205f\u3000]", " ", text)
    text = re.sub(r"[\x00-\x08\x0e-\x1f\x7f]", "", text)
    lines = (re.sub(r" {2,}", " ", line).strip() for line in text.split("\n"))
    return [line for line in lines if line]


def _header_key(line: str) -> str:
    return re.sub(r"\d+", "#", line).lower()


def _drop_running_headers(pages: list[list[str]]) -> None:
    """Remove, in place, lines repeating at the top or bottom of many pages, and page numbers."""
    with_text = [lines for lines in pages if lines]
    top: Counter[str] = Counter()
    bottom: Counter[str] = Counter()
    for lines in with_text:
        top.update({_header_key(line) for line in lines[:_HEADER_ZONE]})
        bottom.update({_header_key(line) for line in lines[-_HEADER_ZONE:]})
    needed = max(3, (len(with_text) + 1) // 2)
    headers = {key for key, n in top.items() if n >= needed and re.search(r"[^\W\d_]", key)}
    footers = {key for key, n in bottom.items() if n >= needed and re.search(r"[^\W\d_]", key)}
    for lines in pages:
        last = len(lines)
        lines[:] = [
            line
            for index, line in enumerate(lines)
            if not _is_page_furniture(line, index, last, headers, footers)
        ]


def _is_page_furniture(line: str, index: int, count: int, headers: set, footers: set) -> bool:
    at_top, at_bottom = index < _HEADER_ZONE, index >= count - _HEADER_ZONE
    if not (at_top or at_bottom):
        return False
    key = _header_key(line)
    return bool(
        (at_top and key in headers) or (at_bottom and key in footers) or _PAGE_NUMBER.match(line)
    )


def _vocabulary(pages: list[list[str]]) -> tuple[set[str], set[str]]:
    """Words and hyphenated compounds seen whole in the document, to judge line-end hyphens."""
    words: set[str] = set()
    compounds: set[str] = set()
    for lines in pages:
        for line in lines:
            body = line[:-1] if line.endswith("-") else line
            for token in _WORD.findall(body.lower()):
                (compounds if "-" in token else words).add(token)
    return words, compounds


def _typical_width(pages: list[list[str]]) -> int:
    """The length of a full line of body text (the 80th percentile of line lengths)."""
    lengths = sorted(len(line) for lines in pages for line in lines if len(line) >= 10)
    if not lengths:
        return 80
    return max(20, lengths[int(len(lengths) * 0.8)])


def _join_lines(lines: list[str], width: int, words: set[str], compounds: set[str]) -> str:
    if not lines:
        return ""
    parts = [lines[0]]
    for before, after in zip(lines, lines[1:], strict=False):
        separator = _separator(before, after, width, words, compounds)
        if separator is None:  # a hyphen that only splits a word: drop it
            parts[-1] = parts[-1].removesuffix("-").removesuffix("\u00ad")
            separator = ""
        parts.append(separator)
        parts.append(after)
    text = "".join(parts).replace("\u00ad", "")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _separator(
    before: str, after: str, width: int, words: set[str], compounds: set[str]
) -> str | None:
    """What goes between two lines: " ", "\\n", "\\n\\n", "" (join), None (join, drop "-")."""
    starts_lower = after[0].islower()
    if before.endswith("-") and len(before) > 1 and starts_lower:
        if before.endswith("\u00ad-"):
            return None  # a soft hyphen: always a word split across lines
        if before[-2].isalpha():
            return None if _is_split_word(before, after, words, compounds) else ""
    if starts_lower or after[0] in ",;)]":
        return " "
    if _LIST_ITEM.match(after):
        return "\n\n"
    if _SENTENCE_END.search(before):
        return "\n\n" if len(before) < 0.8 * width else " "
    if len(before) < 0.6 * width:
        return "\n" if len(after) < 0.6 * width else "\n\n"
    return " "


def _is_split_word(before: str, after: str, words: set[str], compounds: set[str]) -> bool:
    """True for "safe-/guarding", false for "multi-/agency": the document decides.

    The hyphen stays unless the document uses the joined word elsewhere and never the
    hyphenated one: most reports are written in Word, which wraps lines only after real
    hyphens, and a wrongly kept hyphen still leaves both halves searchable.
    """
    head = _WORD.findall(before[:-1].lower())
    tail = _WORD.findall(after.lower())
    if not head or not tail:
        return False
    first, second = head[-1].split("-")[-1], tail[0].split("-")[0]
    return f"{first}-{second}" not in compounds and first + second in words
