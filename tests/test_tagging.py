"""Taxonomy matching: cues, negation, false friends, acronyms, weak cues, page shapes, reports."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest

from scrsearch.localities import all_regions, locality_mentions
from scrsearch.models import PassageTag
from scrsearch.tagging import (
    FACETS,
    is_non_prose,
    load_taxonomy,
    locality_record,
    region_name,
    report_tags,
    tag_passage,
)

REQUIRED = {
    "theme": """neglect physical_abuse abusive_head_trauma sexual_abuse child_sexual_exploitation
        child_criminal_exploitation emotional_abuse fabricated_induced_illness online_abuse
        radicalisation female_genital_mutilation missing_children serious_youth_violence sudi
        suicide_self_harm infants teenagers disabled_children looked_after_children
        children_mental_health""",
    "risk_factor": """domestic_abuse parental_mental_health parental_substance_misuse toxic_trio
        unseen_men young_parents housing_instability""",
    "practice_issue": """information_sharing professional_curiosity voice_of_child
        disguised_compliance escalation_challenge thresholds multi_agency_working
        supervision_management_oversight record_keeping was_not_brought""",
}


def term_ids(text: str) -> set[str]:
    return {tag.term_id for tag in tag_passage(text)}


# ---------------------------------------------------------------------------- taxonomy


def test_taxonomy_has_the_required_terms_in_their_facets() -> None:
    taxonomy = load_taxonomy()
    assert taxonomy.facets == FACETS == ("theme", "risk_factor", "practice_issue")
    for facet, ids in REQUIRED.items():
        for term_id in ids.split():
            term = taxonomy.terms[term_id]
            assert term.facet == facet, term_id
            assert term.label and term.definition, term_id
            assert term.cues or term.derived, term_id


def test_taxonomy_is_cached_and_serialisable() -> None:
    assert load_taxonomy() is load_taxonomy()
    data = load_taxonomy().to_json()
    assert data["facets"] == list(FACETS)
    ids = [t["id"] for t in data["terms"]]
    assert len(ids) == len(set(ids)) >= 40
    neglect = next(t for t in data["terms"] if t["id"] == "neglect")
    assert "self[- ]?neglect*" in neglect["false_friends"]


# ---------------------------------------------------------------------------- cues and spans


def test_a_cue_is_tagged_with_its_span() -> None:
    text = "The children were living with domestic abuse and the mother misused cocaine."
    tags = tag_passage(text)
    by_term = {t.term_id: t for t in tags}
    assert by_term["domestic_abuse"] == PassageTag(
        "domestic_abuse", "risk_factor", "domestic abuse", 30, 44
    )
    assert (
        text[by_term["parental_substance_misuse"].start : by_term["parental_substance_misuse"].end]
        == "cocaine"
    )


def test_one_cue_can_evidence_two_terms() -> None:
    # "non-mobile" is a cue of both physical abuse (bruising) and infants.
    assert {"physical_abuse", "infants"} <= term_ids(
        "Bruising in a non-mobile baby must be explained."
    )


# ---------------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    "text",
    [
        "There was no evidence of domestic abuse in the household.",
        "There were no concerns about neglect at any point.",
        "The mother had no history of substance misuse.",
        "Sexual abuse was ruled out by the paediatrician.",
    ],
)
def test_denied_risks_are_not_tags(text: str) -> None:
    tagged = term_ids(text)
    assert not tagged & {"domestic_abuse", "neglect", "parental_substance_misuse", "sexual_abuse"}


def test_negation_ends_at_the_clause_and_does_not_reach_findings() -> None:
    assert "domestic_abuse" in term_ids(
        "Professionals did not always recognise the impact of domestic abuse on children."
    )
    assert "neglect" in term_ids("No referral was made. The neglect continued for years.")


def test_negation_does_not_cancel_a_practice_finding() -> None:
    assert "information_sharing" in term_ids("Information was not shared with the school.")
    assert "was_not_brought" in term_ids("The child was not brought to three appointments.")


# ---------------------------------------------------------------------------- false friends


@pytest.mark.parametrize(
    ("text", "term_id"),
    [
        ("She worked in a dog grooming business before the birth.", "sexual_abuse"),
        ("Adult services were concerned about his self-neglect.", "neglect"),
        ("The social worker neglected to record the visit.", "neglect"),
        (
            "The inspection was conducted under section 20 of the Children Act 2004.",
            "looked_after_children",
        ),
        (
            "The court heard he had fabricated an account of the evening.",
            "fabricated_induced_illness",
        ),
        ("Teams were plugging the gaps in the rota.", "child_criminal_exploitation"),
        ("A supervision order was made in 2015.", "supervision_management_oversight"),
        ("He had a criminal record for theft.", "record_keeping"),
        ("Her mother had passed CSE examinations at school.", "child_sexual_exploitation"),
    ],
)
def test_false_friends_are_not_evidence(text: str, term_id: str) -> None:
    assert term_id not in term_ids(text)


def test_a_true_cue_next_to_a_false_friend_still_counts() -> None:
    text = "Self-neglect was noted in the father; the children also suffered chronic neglect."
    tags = [t for t in tag_passage(text) if t.term_id == "neglect"]
    assert [t.cue for t in tags] == ["chronic neglect"]


# ---------------------------------------------------------------------------- acronyms


def test_acronyms_match_case_sensitively() -> None:
    assert "child_sexual_exploitation" in term_ids("She was referred to the CSE panel.")
    assert "child_sexual_exploitation" not in term_ids("the cse panel met")
    assert "female_genital_mutilation" in term_ids("Risk of FGM was discussed.")
    assert "female_genital_mutilation" not in term_ids("fgm")
    assert "sudi" in term_ids("The SUDI protocol was followed.")
    assert "domestic_abuse" in term_ids("Police attended a DA incident.")
    assert "domestic_abuse" not in term_ids("Da was the name of the dog.")


def test_acronyms_match_whole_words_only() -> None:
    # "CSE" inside a longer token, and "NAI" inside "NAIL", are not acronym hits.
    assert "child_sexual_exploitation" not in term_ids("The CSEC2 dataset and MACSE fields.")
    assert "physical_abuse" not in term_ids("The NAIL salon was closed.")


def test_long_forms_match_in_any_case() -> None:
    assert "child_sexual_exploitation" in term_ids("CHILD SEXUAL EXPLOITATION")
    assert "female_genital_mutilation" in term_ids("Female Genital Mutilation")


# ---------------------------------------------------------------------------- weak cues


def test_a_weak_cue_alone_is_not_a_tag() -> None:
    assert "online_abuse" not in term_ids("She used Instagram and Snapchat every evening.")


def test_a_weak_cue_counts_beside_a_strong_cue_of_the_same_term() -> None:
    tags = tag_passage("He was subjected to online grooming through Snapchat.")
    cues = {t.cue for t in tags if t.term_id == "online_abuse"}
    assert cues == {"online grooming", "Snapchat"}


# ---------------------------------------------------------------------------- page shapes

TOC = """Contents
Foreword .................................................. 3
1 Domestic abuse and neglect ............................... 5
2 Child sexual exploitation ................................ 9
3 Parental mental health ................................... 14
"""

REFERENCES = """Brandon, M. et al. (2020) Complexity and challenge: a triennial analysis of SCRs.
London: DfE. Available at: https://www.gov.uk/government/publications/x
Sidebotham, P. et al. (2016) Pathways to harm, pathways to protection. London: DfE.
Ofsted (2011) Ages of concern: learning lessons from serious case reviews. Manchester.
Cafcass (2017) Learning from 97 serious case reviews: neglect and domestic abuse.
"""

GLOSSARY = """Glossary
CSE Child sexual exploitation
FGM Female genital mutilation
MARAC Multi-agency risk assessment conference
SUDI Sudden unexpected death in infancy
"""


@pytest.mark.parametrize("text", [TOC, REFERENCES, GLOSSARY])
def test_contents_references_and_glossaries_give_no_tags(text: str) -> None:
    assert is_non_prose(text)
    assert tag_passage(text) == []


def test_prose_with_a_date_or_two_is_still_prose() -> None:
    text = (
        "Between 27 February and 3 March 2017 inspectors looked at the response to children "
        "living with domestic abuse. In 2016 the partnership had reviewed its domestic abuse "
        "strategy and the MARAC was well attended."
    )
    assert not is_non_prose(text)
    assert "domestic_abuse" in term_ids(text)


# ---------------------------------------------------------------------------- reports


def _tags(term_id: str, facet: str = "theme") -> list[PassageTag]:
    return [PassageTag(term_id, facet, "cue", 0, 3)]


def test_a_single_passing_mention_does_not_tag_a_report() -> None:
    passages = [_tags("neglect"), _tags("sudi"), _tags("neglect"), [], []]
    tags = report_tags(passages)
    assert [t.term_id for t in tags] == ["neglect"]
    assert tags[0].passages == 2
    assert tags[0].label == "Neglect"


def test_long_reports_need_proportionally_more_evidence() -> None:
    passages = [_tags("neglect")] * 3 + [[]] * 497
    assert report_tags(passages) == []
    assert [t.term_id for t in report_tags(passages, passages_total=100)] == ["neglect"]


def test_report_tags_are_strongest_first_and_derive_the_toxic_trio() -> None:
    passages = (
        [_tags("domestic_abuse", "risk_factor")] * 5
        + [_tags("parental_mental_health", "risk_factor")] * 3
        + [_tags("neglect")] * 4
    )
    tags = report_tags(passages)
    assert [t.term_id for t in tags] == [
        "domestic_abuse",
        "neglect",
        "parental_mental_health",
        "toxic_trio",
    ]
    trio = tags[-1]
    assert trio.facet == "risk_factor" and trio.passages == 3  # the smaller member's count


def test_no_toxic_trio_with_one_member() -> None:
    passages = [_tags("domestic_abuse", "risk_factor")] * 5
    assert "toxic_trio" not in {t.term_id for t in report_tags(passages)}


# ---------------------------------------------------------------------------- localities


@pytest.mark.parametrize(
    ("name", "canonical", "region"),
    [
        ("Bradford Metropolitan District Council", "Bradford", "Yorkshire and The Humber"),
        ("Derby City", "Derby", "East Midlands"),
        ("Derby City Council", "Derby", "East Midlands"),
        ("Derbyshire County Council", "Derbyshire", "East Midlands"),
        ("Durham", "County Durham", "North East"),
        ("Calderdale Safeguarding Children Partnership", "Calderdale", "Yorkshire and The Humber"),
        ("Royal Borough of Windsor and Maidenhead", "Windsor and Maidenhead", "South East"),
        ("windsor & maidenhead", "Windsor and Maidenhead", "South East"),
        ("London Borough of Sutton", "Sutton", "London"),
        ("Kingston upon Hull", "Kingston upon Hull", "Yorkshire and The Humber"),
        ("Kingston upon Thames", "Kingston upon Thames", "London"),
    ],
)
def test_locality_record_resolves_aliases_and_council_names(
    name: str, canonical: str, region: str
) -> None:
    record = locality_record(name)
    assert record is not None
    assert (record.name, record.region, record.nation) == (canonical, region, "England")


def test_joint_boards_resolve_to_their_members() -> None:
    record = locality_record("Leicestershire and Rutland LSCB")
    assert record is not None and record.kind == "joint"
    assert set(record.members) == {"Leicestershire", "Rutland"}
    assert record.region == "East Midlands"
    hackney = locality_record("City and Hackney Safeguarding Children Board")
    assert hackney is not None and set(hackney.members) == {"City of London", "Hackney"}


def test_unknown_names_are_not_localities() -> None:
    assert locality_record("Atlantis County Council") is None


def test_mentions_prefer_the_longest_name_and_skip_other_places() -> None:
    text = (
        "Derbyshire Constabulary and Derby City Council met in Sutton Coldfield; "
        "North Lincolnshire sent apologies."
    )
    names = [record.name for record, _, _ in locality_mentions(text)]
    assert names == ["Derbyshire", "Derby", "North Lincolnshire"]


def test_region_names() -> None:
    assert region_name("Yorkshire") == "Yorkshire and The Humber"
    assert region_name("yorkshire and the humber") == "Yorkshire and The Humber"
    assert region_name("London") == "London"
    assert region_name("Greater London") == "London"
    assert region_name("East Anglia") == "East of England"
    assert region_name("Narnia") is None
    assert all_regions()[:2] == ["North East", "North West"]
    assert len(all_regions()) == 13


# ---------------------------------------------------------------------------- real text


def _passages(path: Path) -> list[str]:
    reader = pypdf.PdfReader(path)
    chunks: list[str] = []
    for page in reader.pages:
        chunks.extend(p for p in (page.extract_text() or "").split("\n \n") if p.strip())
    return chunks


def test_a_domestic_abuse_jtai_letter_is_tagged_domestic_abuse(corpus_dir: Path) -> None:
    letter = (
        corpus_dir
        / "ofsted-jtai"
        / "80449_bradford"
        / "joint area child protection inspection - 21 april 2017.pdf"
    )
    tags = report_tags([tag_passage(p) for p in _passages(letter)])
    topics = [t.term_id for t in tags if t.facet != "practice_issue"]
    assert topics[0] == "domestic_abuse"
    assert "multi_agency_working" in {t.term_id for t in tags}


def test_a_guidance_contents_page_gives_no_tags(corpus_dir: Path) -> None:
    reader = pypdf.PdfReader(
        corpus_dir / "dfe-guidance" / "Info_sharing_advice_content_May_2024.pdf"
    )
    contents = reader.pages[1].extract_text()
    assert "Contents" in contents and "information sharing" in contents
    assert tag_passage(contents) == []
    # The same lines as prose (no heading, no page numbers) are evidence.
    lines = [line.rstrip(" 0123456789") for line in contents.splitlines()[4:]]
    assert "information_sharing" in term_ids(". ".join(lines))
