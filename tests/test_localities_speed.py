"""locality_mentions gates its alias alternation by first word: same results as the whole one.

The reference below is the original implementation: every alias in one alternation, each with
its lookbehind, tried at every position of the text, then the same filters.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scrsearch import localities
from scrsearch.extract import extract_pdf
from scrsearch.localities import Locality, locality_mentions

# A few real reports with many mentions: an ILACS report, a JTAI report and a county needs
# assessment full of district names.
PDFS = (
    "ofsted-ilacs/80444_calderdale/children's services inspection - 20 march 2015.pdf",
    "ofsted-jtai/80538_plymouth/joint area child protection inspection - 08 january 2020.pdf",
    "west-sussex/needs_assessment_of_vulnerable_and_looked_after_children___full_report.pdf",
)

# Boundary, case, hyphen, ampersand, apostrophe and case-folding corners.
TRICKY = [
    "Stoke-on-Trent, Stoke on Trent, stoke-on trent and Stoke\non-Trent; pre-Derby, Derby-based",
    "Brighton & Hove, BRIGHTON AND HOVE, brighton  and\nhove, Brighton&Hove, K & C, H&F, B and NES",
    "Reading. reading the report. Reading is fine. Reading and Bath. Bath time. Sutton Coldfield",
    "Bury St Edmunds, Hull, Kingston upon Hull, City of, Royal Tunbridge Wells, New York, Derby",
    "Derbyshire and Derby City Council; North Lincolnshire; Lincoln; Richmond (London) and more",
    "St. Helens, St Helens, Bristol, City of; Ynys Môn, ynys mÔn; Tri-borough; NYSCP; CWAC",
    "\u212aent, \u017fefton, K\u0130RKLEES, L\u0131verpool; Kent\u00e9; caf\u00e9 Derby",
    "Derby\u2019s, Derby's, King\u2019s Lynn, St Helen's; Hammersmith & Fulham's",
    "\u212aensington & Chelsea, \u017fouth Tyneside, M\u0130LTON KEYNES, M\u0131lton Keynes",
    "Bournemouth, Christchurch and Poole; Bournemouth Christchurch and Poole; Cheshire West & "
    "Chester; cheshire west and chester; Telford & Wrekin Council; Redcar and Cleveland UA",
    "",
    "-Derby Derby- _Derby Derby_ 1Derby Derby1 (Derby) 'Derby' “Derby” Derby.",
]


def reference_mentions(text: str) -> list[tuple[Locality, int, int]]:
    """The original locality_mentions: one alternation of every alias, lookbehinds and all."""
    gazetteer = localities._gazetteer()
    scan = _reference_scan()
    found = []
    for match in scan.finditer(text):
        mention = match.group()
        if mention in localities._AMBIGUOUS_WORDS and not localities._plausible(
            text, match.start(), match.end()
        ):
            continue
        before = text[max(0, match.start() - 30) : match.start()]
        if localities._NOT_AFTER.match(text, match.end()) or localities._NOT_BEFORE.search(before):
            continue
        name = gazetteer.by_mention.get(localities._mention_fold(mention))
        if name is None:
            name = gazetteer.by_key.get(localities.name_key(mention))
        if name is not None:
            found.append((gazetteer.records[name], match.start(), match.end()))
    return found


_SCAN: list[re.Pattern[str]] = []


def _reference_scan() -> re.Pattern[str]:
    if not _SCAN:
        aliases = localities._gazetteer().mentions
        assert aliases == tuple(sorted(aliases, key=len, reverse=True))
        _SCAN.append(
            re.compile(
                "|".join(rf"(?<![\w-]){localities._mention_pattern(a)}(?![\w-])" for a in aliases)
            )
        )
    return _SCAN[0]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_text_matches_reference(text: str) -> None:
    assert list(locality_mentions(text)) == reference_mentions(text)


def test_tricky_text_finds_what_it_should() -> None:
    names = [r.name for r, _, _ in locality_mentions(TRICKY[0])]
    assert names.count("Stoke-on-Trent") == 4
    # `re` folds these letters to k, s and i when it ignores case, so the gate must too (only
    # the first is then a known mention: the others fold to no alias).
    scanned = [m.group() for m in localities._scan(localities._gazetteer(), TRICKY[8])]
    assert scanned == TRICKY[8].split(", ")


@pytest.mark.parametrize("relative", PDFS)
def test_real_reports_match_reference(corpus_dir: Path, relative: str) -> None:
    pages = extract_pdf(corpus_dir / relative).pages
    assert pages
    total = 0
    for number, text in enumerate(pages, 1):
        got = list(locality_mentions(text))
        assert got == reference_mentions(text), f"{relative} page {number}"
        total += len(got)
    assert total > 0


def test_full_scan_fallback_matches_reference() -> None:
    """If a mention ever began with no plain word, the whole alternation is used instead."""
    text = "\n".join(TRICKY)
    matches = list(localities._full_scan().finditer(text))
    gated = list(localities._scan(localities._gazetteer(), text))
    assert [m.span() for m in gated] == [m.span() for m in matches]
    assert [m.span() for m in matches] == [m.span() for m in _reference_scan().finditer(text)]
