"""Metadata from link texts, file names and the first pages of real documents."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest

from scrsearch.metadata import clean_title, infer_metadata, metadata_from_link_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Child D: Overview report",
            {
                "title": "Child D: Overview report",
                "doc_type": "overview_report",
                "subject": "Child D",
            },
        ),
        (
            "Serious case review ADS14: Polly (PDF)",
            {
                "title": "Serious case review ADS14: Polly",
                "doc_type": "overview_report",
                "subject": "Polly",
            },
        ),
        (
            "BSCP2020-21-01 Report",
            {
                "title": "BSCP2020-21-01 Report",
                "doc_type": "overview_report",
                "subject": "BSCP2020-21-01",
            },
        ),
        ("(Published August 2024)", {"year": 2024}),
        (
            "Keanu Williams Learning from Birmingham",
            {
                "title": "Keanu Williams Learning from Birmingham",
                "doc_type": "briefing",
                "subject": "Keanu Williams",
            },
        ),
        (
            "Child FD17 executive summary (PDF, 1.2MB)",
            {
                "title": "Child FD17 executive summary",
                "doc_type": "executive_summary",
                "subject": "Child FD17",
            },
        ),
        (
            "Serious Case Review Summary Child Q",
            {
                "title": "Serious Case Review Summary Child Q",
                "doc_type": "executive_summary",
                "subject": "Child Q",
            },
        ),
        (
            "7 Minute Briefing Baby Z 2019",
            {
                "title": "7 Minute Briefing Baby Z 2019",
                "doc_type": "briefing",
                "subject": "Baby Z",
                "year": 2019,
            },
        ),
        (
            "LSCB response to Child A [pdf 340kb]",
            {
                "title": "LSCB response to Child A",
                "doc_type": "board_response",
                "subject": "Child A",
            },
        ),
    ],
)
def test_metadata_from_link_text(text: str, expected: dict[str, object]) -> None:
    assert metadata_from_link_text(text) == expected


def test_year_inside_a_review_code_is_not_a_publication_year() -> None:
    assert "year" not in metadata_from_link_text("BSCP2020-21-01 Report")


def test_published_line_beats_other_years() -> None:
    found = metadata_from_link_text("Child E review of events in 2016 (Published March 2019)")
    assert found["year"] == 2019
    assert found["title"] == "Child E review of events in 2016"


def test_clean_title_drops_file_noise() -> None:
    assert clean_title("Action plan (PDF, 340 KB) opens in new window") == "Action plan"


# ---------------------------------------------------------------------------- real documents


def _pages(path: Path, limit: int = 30) -> list[str]:
    """The text of the first pages (long guidance is slow to read whole with pypdf)."""
    return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages[:limit]]


JTAI = "ofsted-jtai"


def test_a_jtai_letter_gets_its_area_year_and_type(corpus_dir: Path) -> None:
    rel = f"{JTAI}/80449_bradford/joint area child protection inspection - 21 april 2017.pdf"
    found = infer_metadata(_pages(corpus_dir / rel), Path(rel).name)
    assert found["locality"] == ("Bradford", "text:title")
    assert found["region"][0] == "Yorkshire and The Humber"
    assert found["nation"][0] == "England"
    assert found["year"] == (2017, "text:p1")
    assert found["doc_type"][0] == "inspection_report"
    assert found["title"][0] == (
        "Joint targeted area inspection of the multi-agency response to abuse and neglect "
        "in Bradford Metropolitan District Council"
    )
    assert "subject" not in found


def test_derby_city_is_derby_not_derbyshire(corpus_dir: Path) -> None:
    # The letter also names Derbyshire Constabulary and Derbyshire health bodies.
    rel = f"{JTAI}/80459_derby/joint area child protection inspection - 08 may 2019.pdf"
    pages = _pages(corpus_dir / rel)
    assert "Derbyshire" in "".join(pages[:2])
    assert infer_metadata(pages, Path(rel).name)["locality"][0] == "Derby"


def test_the_letter_date_beats_the_file_name_date(corpus_dir: Path) -> None:
    # Letter dated 2 December 2016, file name 05 december 2016; a letter of 2 August 2016 in
    # Liverpool; both years agree, so check the origin says page 1.
    rel = f"{JTAI}/80484_lincolnshire/joint area child protection inspection - 05 december 2016.pdf"
    assert infer_metadata(_pages(corpus_dir / rel), Path(rel).name)["year"] == (2016, "text:p1")


def test_a_letter_without_its_area_in_the_heading_uses_the_body(corpus_dir: Path) -> None:
    rel = f"{JTAI}/80495_greenwich/joint area child protection inspection - 09 may 2018.pdf"
    found = infer_metadata(_pages(corpus_dir / rel), Path(rel).name)
    assert found["locality"] == ("Greenwich", "text")
    assert found["region"][0] == "London"


@pytest.mark.parametrize(
    "name",
    [
        "Keeping_children_safe_in_education_2025.pdf",
        "adoption_statutory_guidance_2013.pdf",
        "Understanding social worker recording (Essex).pdf",
        "ADCS_Safeguarding_Pressures_Phase9_FINAL.pdf",
    ],
)
def test_national_guidance_gets_no_locality(corpus_dir: Path, name: str) -> None:
    path = corpus_dir / "dfe-guidance" / name
    found = infer_metadata(_pages(path), name, path=f"dfe-guidance/{name}")
    assert "locality" not in found
    assert "region" not in found


def test_guidance_title_year_and_type(corpus_dir: Path) -> None:
    name = "Keeping_children_safe_in_education_2025.pdf"
    found = infer_metadata(_pages(corpus_dir / "dfe-guidance" / name), name)
    assert found["title"][0] == "Keeping children safe in education 2025"
    assert found["doc_type"][0] == "guidance"
    assert found["year"][0] == 2025


def test_the_folder_fills_a_locality_the_text_leaves_open() -> None:
    pages = ["Some notes\nwith no area named at all in them."]
    path = "ofsted-jtai/80546_windsor & maidenhead/notes - 04 july 2022.pdf"
    found = infer_metadata(pages, "notes - 04 july 2022.pdf", path=path)
    assert found["locality"] == ("Windsor and Maidenhead", "folder")
    assert found["year"] == (2022, "filename")


def test_a_pseudonym_in_the_title_is_the_subject() -> None:
    pages = ["Calderdale Safeguarding Children Partnership\nChild D: Overview report\nMay 2019\n"]
    found = infer_metadata(pages, "child-d.pdf")
    assert found["subject"][0] == "Child D"
    assert found["locality"][0] == "Calderdale"
    assert found["year"][0] == 2019
