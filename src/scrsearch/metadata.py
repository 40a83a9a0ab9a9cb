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
    stem = re.sub(r"[_+]+|(?<!\d)-|-(?!\d)|%20", " ", stem)
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


# ---------------------------------------------------------------------------- documents

_REVIEW_DOC_TYPES = frozenset(
    {"overview_report", "executive_summary", "briefing", "board_response", "action_plan"}
)
_REVIEW_WORDS = re.compile(
    r"\b(?:serious\s+case\s+review|case\s+review|practice\s+review|learning\s+review|scr|cspr|"
    r"lcspr|briefing|learning\s+from|overview\s+report|executive\s+summary)\b",
    re.I,
)
_DATE_LINE = re.compile(
    rf"^(?:\w+day,?\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?{_MONTH_RE}\.?,?\s+((?:19|20)\d\d)\b",
    re.I,
)
_LABELLED_DATE = re.compile(
    rf"\b(?:published|publication\s+date|date\s+of\s+publication|report\s+date|issued)\s*:?\s*"
    rf"(?:on\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTH_RE}\.?\s+)?((?:19|20)\d\d)\b",
    re.I,
)
_FIELDWORK = re.compile(r"\b(?:inspection\s+dates?|fieldwork|between|took\s+place)\b", re.I)
_JOINERS = frozenset("of and in to the for on a an at by with from or under".split())  # noqa: SIM905
_HEADING_SKIP = re.compile(
    r"^(?:\d{1,3}|[ivx]{1,5}|contents|guidance|www\.\S+|\S+@\S+|©.*|crown\s+copyright.*|"
    r"page\s+\d+.*|official(?:\s*-\s*sensitive)?|draft)$",
    re.I,
)
_SALUTATION = re.compile(
    r"\bDear\s+.{0,120}?\b(?:partnership|partners|colleagues|board|sir|madam)\b[,:]?[ \t]*\n?",
    re.I,
)
_BODY_START = re.compile(
    r"(?<=[a-z0-9)’'])\.?\s+(?=(?:This|Between|From|During|We|Ofsted|It\s+is|"
    r"The\s+(?:inspection|JTAI|letter|purpose|overall))\b)|\.\s+(?=[A-Z])|"
    r"\s+(?=(?:Inspection\s+dates?|Report\s+published|Lead\s+inspector|Published)\s*:)"
)
_FOLDER_AREA = re.compile(r"^\d+_(.+)$")


def document_title(pages: Sequence[str]) -> str | None:
    """The document's own title, from the heading lines of its first page."""
    # A letter: the heading follows the salutation ("Dear local partnership").
    salutation = _SALUTATION.search(pages[0][:4000]) if pages else None
    if salutation:
        after = [line.strip() for line in pages[0][salutation.end() :].splitlines()]
        title = _join_heading([line for line in after if line][:8])
        return _trim_title(title) if title else None
    lines = first_lines(pages, 40)
    for start, line in enumerate(lines[:20]):
        letters = sum(ch.isalpha() for ch in line)
        if (
            letters >= 4
            and letters / max(len(line), 1) >= 0.5
            and not _HEADING_SKIP.match(line)
            and not _DATE_LINE.match(line)
        ):
            title = _join_heading(lines[start:])
            return _trim_title(title) if title else None
    return None


def _trim_title(title: str) -> str | None:
    """A heading cut where run-in body text starts ("... of Norfolk This letter ...")."""
    cut = _BODY_START.search(title)
    if cut and cut.start() >= 12:
        title = title[: cut.start()]
    return title.strip(" ,;:") or None


def _join_heading(lines: Sequence[str]) -> str | None:
    from .localities import locality_record

    if not lines:
        return None
    parts = [lines[0]]
    for line in lines[1:8]:
        previous = parts[-1]
        last_word = previous.split()[-1].lower() if previous.split() else ""
        joins = (
            line[:1].islower()
            or last_word in _JOINERS
            or previous.endswith("-")
            or re.fullmatch(r"(?:19|20)\d\d", line) is not None
            or re.match(r"(?:Borough|Council|County|District)\b", line) is not None
            or (len(parts) == 1 and locality_record(previous) is not None)
            or (len(parts) == 1 and locality_record(previous + " " + line) is not None)
            or (len(previous) <= 25 and len(line) <= 25 and not _DATE_LINE.match(line))
        )
        if not joins or _DATE_LINE.match(line) or len(" ".join(parts)) > 240:
            break
        parts.append(line)
    title = parts[0]
    for part in parts[1:]:
        if title.endswith("-"):
            title += part
        elif (
            title == parts[0]
            and part[:1].isupper()
            and not re.match(r"(?:Borough|Council|County|District)\b", part)
            and locality_record(title) is not None
        ):
            title += ": " + part  # "Birmingham City Council: Inspection of ..."
        else:
            title += " " + part
    title = re.sub(r"\s+", " ", title).strip(" ,;:")
    title = re.sub(r"(?<=[a-z])\d$", "", title)  # a footnote mark: "board1"
    return title or None


def infer_metadata(
    pages: Sequence[str], original_name: str, *, path: str | None = None
) -> dict[str, tuple[object, str]]:
    """Infer title, subject, locality, region, nation, year and doc_type, with their origins.

    The text comes first (title lines, then page 1, then pages 2-3); the file name and
    the folders of `path` only fill what the text leaves open. A document that names
    many areas and none dominantly (national guidance) gets no locality.
    """
    found: dict[str, tuple[object, str]] = {}
    from_name = metadata_from_name(original_name)
    folders = _folders(path)
    title = document_title(pages)
    if title:
        found["title"] = (title, "text:p1")

    year = _text_year(pages)
    if year is not None:
        found["year"] = year
    elif "year" in from_name:
        found["year"] = (from_name["year"], "filename")
    else:
        for folder in reversed(folders):
            folder_year = year_from_text(folder)
            if folder_year is not None:
                found["year"] = (folder_year, "folder")
                break

    doc_type = _doc_type(title, pages)
    if doc_type is not None:
        found["doc_type"] = (doc_type, "text:p1")
    elif "doc_type" in from_name and from_name["doc_type"] != "overview_report":
        found["doc_type"] = (from_name["doc_type"], "filename")

    subject = _subject(title, found.get("doc_type", (None,))[0])
    if subject is not None:
        found["subject"] = (subject, "text:p1")
    elif "subject" in from_name and _PSEUDONYM_RE.search(original_name):
        found["subject"] = (from_name["subject"], "filename")

    locality = _locality(pages, title, folders)
    if locality is not None:
        record, origin = locality
        found["locality"] = (record.name, origin)
        if record.region:
            found["region"] = (record.region, origin)
        if record.nation:
            found["nation"] = (record.nation, origin)
    return found


def _folders(path: str | None) -> list[str]:
    if not path:
        return []
    return [part for part in re.split(r"[\\/]+", path)[:-1] if part and part not in (".", "..")]


def _text_year(pages: Sequence[str]) -> tuple[int, str] | None:
    """A publication year stated in the first pages: labelled, then a date line on page 1."""
    for number, page in enumerate(pages[:3], start=1):
        for match in _LABELLED_DATE.finditer(page):
            year = int(match.group(1))
            if YEAR_MIN <= year <= YEAR_MAX:
                return year, f"text:p{number}"
    lines = [line.strip() for line in (pages[0] if pages else "").splitlines() if line.strip()]
    for line in lines[:30]:
        if _FIELDWORK.search(line):
            continue
        match = _DATE_LINE.match(line)
        if match and YEAR_MIN <= int(match.group(1)) <= YEAR_MAX:
            return int(match.group(1)), "text:p1"
    return None


def _doc_type(title: str | None, pages: Sequence[str]) -> str | None:
    head = " ".join(first_lines(pages, 30))
    if re.search(r"\bjoint\s+targeted\s+area\s+inspection\b|\binspection\s+of\b", head, re.I):
        return "inspection_report"
    if re.search(r"\bstatutory\s+guidance\b", head, re.I) or (
        title and re.search(r"\bguid(?:anc)?e\b", title, re.I)
    ):
        return "guidance"
    if not title:
        return None
    doc_type = doc_type_from_text(title)
    if doc_type == "overview_report" and not _REVIEW_WORDS.search(title):
        return None  # "Final Report" of a research project is not a case review
    return doc_type


def _subject(title: str | None, doc_type: object) -> str | None:
    if not title:
        return None
    if _PSEUDONYM_RE.search(title) or _PSEUDONYM_NOTE_RE.search(title):
        return subject_from_title(title)
    if doc_type in _REVIEW_DOC_TYPES or _REVIEW_WORDS.search(title):
        return subject_from_title(title)
    return None


#: Weights of a locality mention by where it is.
_W_TITLE, _W_PAGE1, _W_EARLY, _W_BODY = 6.0, 2.0, 1.0, 0.25
#: A locality needs this score, and this lead over the next, to be chosen from the text.
_MIN_SCORE, _MIN_LEAD = 4.0, 2.0


def locality_scores(pages: Sequence[str], title: str | None = None) -> dict[str, float]:
    """Weighted mentions of each area: the title most, then page 1, pages 2-3, the rest."""
    from .localities import locality_mentions

    scores: dict[str, float] = {}

    def add(text: str, weight: float, cap: int) -> None:
        counts: dict[str, int] = {}
        for record, _, _ in locality_mentions(text):
            if record.kind == "nation":
                continue
            counts[record.name] = counts.get(record.name, 0) + 1
        for name, count in counts.items():
            scores[name] = scores.get(name, 0.0) + weight * min(count, cap)

    if title:
        add(title, _W_TITLE, 1)
    if pages:
        add(pages[0], _W_PAGE1, 4)
    for page in pages[1:3]:
        add(page, _W_EARLY, 6)
    for page in pages[3:]:
        add(page, _W_BODY, 20)
    return scores


_NATIONAL = re.compile(
    r"\bDfE\b|\bDepartment\s+for\s+Education\b|\bHM\s+Government\b|\bstatutory\s+guidance\b|"
    r"\bDepartment\s+of\s+Health\b|\bADCS\b|\bChild\s+Safeguarding\s+Practice\s+Review\s+Panel\b",
    re.I,
)


def _locality(pages: Sequence[str], title: str | None, folders: Sequence[str]):
    from .localities import locality_mentions, locality_record

    if title:
        named = {r.name: r for r, _, _ in locality_mentions(title) if r.kind != "nation"}
        if len(named) == 1:
            return next(iter(named.values())), "text:title"
    head = (title or "") + "\n" + (pages[0][:400] if pages else "")
    national = _NATIONAL.search(head) is not None
    scores = locality_scores(pages, title)
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if ranked and not national:
        best, score = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if score >= _MIN_SCORE and score >= _MIN_LEAD * second:
            return locality_record(best), "text"
    for folder in reversed(folders):
        match = _FOLDER_AREA.match(folder)
        name = match.group(1) if match else folder
        record = locality_record(name.replace("_", " "))
        if record is not None and record.kind != "nation":
            return record, "folder"
    return None
