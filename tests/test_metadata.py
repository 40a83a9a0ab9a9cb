"""Metadata from link texts, file names and the first pages of real documents."""

from __future__ import annotations

import pytest

from scrsearch.metadata import clean_title, metadata_from_link_text


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
