"""Document metadata from link texts, file names, folders and first pages.

Two entry points: `metadata_from_link_text` for crawlers (a link text or heading on a
listing page) and `infer_metadata` for a stored document (its page texts and where it
came from). Both return only what they found; a field they cannot tell is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .models import DOC_TYPES

_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

#: Earliest and latest years a document of this field can carry.
YEAR_MIN, YEAR_MAX = 1985, 2035

# Noise in link texts: "(PDF)", "PDF, 1.2MB", "[opens in new window]", "Download".
_NOISE_RE = re.compile(
    r"""\(\s*(?:pdf|docx?|word)?[\s,]*(?:\d+(?:\.\d+)?\s*[kmg]i?b)?\s*\)   # (PDF, 1.2MB)
      | \[\s*(?:pdf|docx?)?[\s,]*(?:\d+(?:\.\d+)?\s*[kmg]i?b)?\s*\]
      | \b\d+(?:\.\d+)?\s*[kmg]i?b\b                                    # 1.2MB, 340 KB
      | \bpdf\b | \bopens?\s+in\s+(?:a\s+)?new\s+(?:window|tab)\b
      | ^\s*download\b | \bdownload\s*$
    """,
    re.I | re.X,
)
_PUBLISHED_RE = re.compile(
    rf"\(?\s*(?:first\s+)?published:?\s*(?:on\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?"
    rf"(?:{_MONTH_RE}\s+)?((?:19|20)\d\d)\s*\)?",
    re.I,
)
_MONTH_YEAR_RE = re.compile(rf"\b{_MONTH_RE}\.?\s+((?:19|20)\d\d)\b", re.I)
# A bare year, but not one inside a code such as "BSCP2020-21-01" or a span "2020-21".
_BARE_YEAR_RE = re.compile(r"(?<![\w/-])((?:19|20)\d\d)(?![\w/]|-\d)")

# "Child D", "Baby Z", "Young Person F", "Child FD17", "Children A and B".
_PSEUDONYM_RE = re.compile(
    r"\b(?:(?:Child|Baby|Infant|Young\s+Person|YP|Family|Sibling|Adult|Children|Siblings)"
    r"\s+(?:[A-Z]{1,3}\d{0,2}|\d{1,2})(?:\s+and\s+[A-Z]{1,3}\d{0,2})?)(?![\w'’])"
)
# Area-coded review ids: "BDS12", "ADS14", "BSCP2020-21-01", "FD17".
_CODE_RE = re.compile(r"\b[A-Z]{2,6}\d{2,4}(?:[-/]\d{2,4}){0,2}\b")
_PSEUDONYM_NOTE_RE = re.compile(
    r"\b([A-Z][a-z]{2,})\s*\(\s*(?:a\s+)?pseudonym\s*\)|"
    r"\b([A-Z][a-z]{2,})\s*\(\s*not\s+(?:his|her|their)\s+real\s+name\s*\)"
)
_QUOTED_NAME_RE = re.compile(r"[\"“‘']([A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})?)[\"”’']")

# Words that start a title but are never part of a child's name.
_NOT_NAMES = frozenset(
    """
    serious case review reviews child children safeguarding practice learning lessons
    executive summary overview report final full brief briefing briefings local partnership
    board response action plan thematic national panel joint area inspection of the a an
    and in for from on to by with into about at published publication review's our multi
    agency agencies minute seven one page key findings findings: recommendations update
    annual appendix terms reference new domestic homicide adult adults safeguarding
    family families young person people baby infant infants death deaths sudden
    unexpected neglect abuse exploitation sexual criminal county city borough council
    metropolitan district royal london north south east west
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_DOC_TYPE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (doc_type, re.compile(pattern, re.I))
    for doc_type, pattern in (
        ("action_plan", r"\baction\s+plan\b|\bimprovement\s+plan\b"),
        (
            "board_response",
            r"\b(?:board|partnership|lscb|scb|panel'?s?|partners'?|agency|management)\s+"
            r"response\b|\bresponse\s+(?:from|of|to)\s+the\b|\bstatement\s+from\b",
        ),
        (
            "executive_summary",
            r"\bexecutive\s+summary\b|\bexec\.?\s+summary\b|\bsummary\s+report\b|"
            r"\breview\s+summary\b",
        ),
        (
            "briefing",
            r"\bbrief(?:ing)?s?\b|\b(?:7|seven|one)[\s-]+minute\b|\blearning\s+from\b|"
            r"\blearning\s+(?:summary|leaflet|points|note)\b|\bkey\s+learning\b|"
            r"\blessons\s+learn(?:ed|t)\b|\bfact\s*sheet\b",
        ),
        ("thematic_review", r"\bthematic\b"),
        (
            "national_review",
            r"\bnational\s+(?:child\s+safeguarding\s+practice\s+)?review\b|"
            r"\bchild\s+safeguarding\s+practice\s+review\s+panel\b|\btriennial\b|\bbiennial\b",
        ),
        (
            "inspection_report",
            r"\binspection\b|\bjoint\s+targeted\s+area\b|\bjtai\b|\bofsted\b",
        ),
        ("guidance", r"\bstatutory\s+guidance\b|\bguidance\b|\bworking\s+together\b"),
        (
            "overview_report",
            r"\boverview\s+report\b|\bfinal\s+report\b|\bfull\s+report\b|\breview\s+report\b|"
            r"\bserious\s+case\s+review\b|\bpractice\s+review\b|\bcase\s+review\b|"
            r"\blearning\s+review\b|\breport\b|\bscr\b|\bl?cspr\b",
        ),
    )
)
assert all(doc_type in DOC_TYPES for doc_type, _ in _DOC_TYPE_CUES)


def clean_title(text: str) -> str:
    """A link text or heading without file-type and size noise, with spaces collapsed."""
    text = _PUBLISHED_RE.sub(" ", text)
    text = _NOISE_RE.sub(" ", text)
    text = re.sub(r"\(\s*\)|\[\s*\]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" -–—:|,;")


def doc_type_from_text(text: str) -> str | None:
    """The document type a title or file name names, or None."""
    for doc_type, pattern in _DOC_TYPE_CUES:
        if pattern.search(text):
            return doc_type
    return None


def year_from_text(text: str) -> int | None:
    """The publication year a title or link text states, or None.

    A "published" year beats a "Month YYYY" date, which beats a bare year; years inside
    review codes ("BSCP2020-21-01") and spans ("2020-21") are not publication years.
    """
    for pattern in (_PUBLISHED_RE, _MONTH_YEAR_RE, _BARE_YEAR_RE):
        years = [int(m.group(1)) for m in pattern.finditer(text)]
        years = [y for y in years if YEAR_MIN <= y <= YEAR_MAX]
        if years:
            return years[-1] if pattern is _BARE_YEAR_RE else years[0]
    return None


def subject_from_title(title: str) -> str | None:
    """The child's pseudonym, code or name that a title names, or None."""
    match = _PSEUDONYM_RE.search(title)
    if match:
        return re.sub(r"\s+", " ", match.group(0))
    match = _PSEUDONYM_NOTE_RE.search(title)
    if match:
        return match.group(1) or match.group(2)
    match = _QUOTED_NAME_RE.search(title)
    if match and match.group(1).lower() not in _NOT_NAMES:
        return match.group(1)
    # "Serious case review ADS14: Polly" - a single name after a review code and a colon.
    match = re.search(r"(?:\b[A-Z]{2,6}\d{2,4}\b|\breview\b)\s*[:–—-]\s*([A-Z][a-z]{2,})\b", title)
    if match and match.group(1).lower() not in _NOT_NAMES:
        return match.group(1)
    name = _leading_name(title)
    if name:
        return name
    match = _CODE_RE.search(title)
    if match and not re.fullmatch(r"(?:19|20)\d\d", match.group(0)):
        return match.group(0)
    return None


def _leading_name(title: str) -> str | None:
    """A real name ("Keanu Williams") opening a title: two or three capitalised words."""
    word = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
    match = re.match(rf"\s*((?:{word}\s+){{1,2}}{word})\b", title)
    if not match:
        return None
    words = match.group(1).split()
    # Stop at the first word that is title vocabulary: "Keanu Williams Learning ..." -> 2 words.
    kept: list[str] = []
    for word in words:
        if word.lower() in _NOT_NAMES:
            break
        kept.append(word)
    if len(kept) >= 2:
        return " ".join(kept)
    return None


def metadata_from_link_text(text: str) -> dict[str, object]:
    """Infer doc_type, subject, year and title from a link text or heading on a listing page."""
    found: dict[str, object] = {}
    year = year_from_text(text)
    if year is not None:
        found["year"] = year
    title = clean_title(text)
    if not re.search(r"[A-Za-z]{2}", title):
        return found
    found["title"] = title
    doc_type = doc_type_from_text(title)
    if doc_type is not None:
        found["doc_type"] = doc_type
    subject = subject_from_title(title)
    if subject is not None:
        found["subject"] = subject
    return found


def metadata_from_name(name: str) -> dict[str, object]:
    """Infer doc_type, subject and year from a file name (extension and separators dropped)."""
    stem = re.sub(r"\.(?:pdf|docx?|html?)$", "", name, flags=re.I)
    stem = re.sub(r"[_+]+|(?<=[a-z])-(?=[A-Za-z])|%20", " ", stem)
    return {
        key: value
        for key, value in (
            ("year", year_from_text(stem)),
            ("doc_type", doc_type_from_text(stem)),
            ("subject", subject_from_title(stem)),
        )
        if value is not None
    }


def first_lines(pages: Sequence[str], limit: int = 40) -> list[str]:
    """The first non-empty lines of a document, stripped."""
    lines: list[str] = []
    for page in pages[:3]:
        for line in page.splitlines():
            line = line.strip()
            if line:
                lines.append(line)
                if len(lines) >= limit:
                    return lines
    return lines
