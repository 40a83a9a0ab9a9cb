"""Best match over the real corpus: natural questions, the field's vocabulary, partial and
empty answers, places and years among the words, stop words, and the strict mode."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.errors import QueryError
from scrsearch.pipeline import add_paths, run_index
from scrsearch.query import analyze
from scrsearch.search import SearchRequest, make_filters, matching_reports, search


@pytest.fixture(scope="module")
def home(tmp_path_factory, corpus_dir):
    """Inspections, joint inspection letters and statutory guidance, indexed once."""
    home = Home(tmp_path_factory.mktemp("best") / "home").ensure()
    add_paths(
        home, [corpus_dir / "ofsted-jtai", corpus_dir / "ofsted-ilacs", corpus_dir / "dfe-guidance"]
    )
    run_index(home)
    return home


def _words(text: str) -> str:
    return re.sub(r"[\s\-]+", " ", text).lower()


def test_a_natural_question_finds_reports_that_answer_it(home):
    question = "parents who misuse drugs and alcohol"
    best = search(home, SearchRequest(question, limit=5))
    strict = search(home, SearchRequest(question, limit=5, all_words=True))
    assert best["match"] == "best" and strict["match"] == "all"
    assert best["total"] > strict["total"], "best match finds what one passage cannot hold"
    assert {"who", "and"} <= set(best["ignored"])
    top = best["results"][0]
    assert not top["partial"] and top["missing"] == []
    text = " ".join(_words(p["text"]) for p in top["passages"])
    assert "alcohol" in text and "parent" in text


def test_an_acronym_finds_its_spelled_out_form_and_back(home):
    acronym = search(home, SearchRequest("CSE", limit=50))
    assert acronym["expanded"] == {"CSE": ["child sexual exploitation"]}
    spelled_only = [
        r
        for r in acronym["results"]
        if any("child sexual exploitation" in _words(p["text"]) for p in r["passages"])
    ]
    assert spelled_only, "passages that only spell it out are found"
    plain = search(home, SearchRequest("CSE", limit=0, expand=False))
    assert plain["expanded"] == {} and plain["total"] < acronym["total"]
    spelled = search(home, SearchRequest("child sexual exploitation", limit=0))
    assert "CSE" in spelled["expanded"]["child sexual exploitation"]


def test_an_acronym_that_is_an_ordinary_word_expands_only_in_capitals(home):
    assert search(home, SearchRequest("CIN plans", limit=0))["expanded"].get("CIN")
    assert "cin" not in search(home, SearchRequest("cin plans", limit=0))["expanded"]


def test_an_expansion_scores_below_the_form_typed():
    analyzed = analyze("LADO", lambda text: text.lower().split())
    typed, expansion = analyzed.concepts[0].forms
    assert typed.weight == 1.0 and expansion.weight < typed.weight


def test_a_word_nothing_holds_gives_partial_matches_and_says_so(home):
    payload = search(home, SearchRequest("xylophonist neglect", limit=3))
    assert payload["unknown"] == ["xylophonist"]
    assert payload["total"] == 0 and payload["partial"] is True
    assert payload["results"] and all(r["partial"] for r in payload["results"])
    assert all(r["missing"] == [] or "xylophonist" not in r["missing"] for r in payload["results"])
    result = CliRunner().invoke(main, ["--home", str(home.root), "search", "xylophonist neglect"])
    assert result.exit_code == 0
    assert "no passage holds 'xylophonist'" in result.output
    assert "partial matches follow" in result.output and "[partial]" in result.output


def test_a_misspelt_word_gets_suggestions_from_the_corpus(home):
    payload = search(home, SearchRequest("negelct", limit=0))
    assert payload["unknown"] == ["negelct"]
    assert "neglect" in payload["suggestions"]["negelct"]


def test_words_the_corpus_never_holds_answer_nothing(home):
    payload = search(home, SearchRequest("qwzxv vbnmkj", limit=10))
    assert payload["results"] == [] and payload["total"] == 0
    assert payload["unknown"] == ["qwzxv", "vbnmkj"]


def test_a_place_among_the_words_ranks_its_reports_first(home):
    payload = search(home, SearchRequest("neglect Bradford", limit=20))
    assert payload["understood"] == {"locality": "Bradford"}
    localities = [r["locality"] for r in payload["results"]]
    assert localities[0] == "Bradford"
    first_other = next(i for i, loc in enumerate(localities) if loc != "Bradford")
    assert "Bradford" not in localities[first_other:], "the place's reports come first"
    strict = search(home, SearchRequest("neglect", filters=make_filters(localities=["Bradford"])))
    assert payload["total"] > strict["total"], "a place word ranks; --locality filters"


def test_a_year_among_the_words_ranks_that_years_reports_first(home):
    payload = search(home, SearchRequest("neglect 2016", limit=3))
    assert payload["understood"] == {"year": 2016}
    assert payload["results"][0]["year"] == 2016


def test_stop_words_are_never_highlighted_and_the_phrase_ranks_first(home):
    payload = search(home, SearchRequest("voice of the child", limit=5))
    assert set(payload["ignored"]) == {"of", "the"}
    for result in payload["results"]:
        for passage in result["passages"]:
            marked = {m.lower() for m in re.findall(r"<mark>(.*?)</mark>", passage["highlighted"])}
            assert not marked & {"of", "the"}
    # The words as typed (stemmed, as the index holds them) rank first without quotes.
    assert re.search(r"voices? of the child", _words(payload["results"][0]["passages"][0]["text"]))


def test_a_plus_word_is_required(home):
    payload = search(home, SearchRequest("neglect +police", limit=20))
    assert payload["total"] > 0
    for result in payload["results"]:
        if not result["partial"]:
            assert "police" not in result["missing"]


def test_stats_watch_and_export_count_what_search_counts(home):
    request = SearchRequest("bruising babies", limit=0)
    assert len(matching_reports(home, request)) == search(home, request)["total"]


def test_explain_shows_the_score_parts(home):
    result = search(home, SearchRequest("domestic abuse", limit=1, explain=True))["results"][0]
    parts = result["score_parts"]
    assert {"best_passage", "further_passages", "coverage", "proximity", "title"} <= set(parts)
    assert parts["best_passage"] > 0


def test_a_query_may_start_with_a_minus_word(home):
    result = CliRunner().invoke(
        main, ["--home", str(home.root), "search", "-police neglect", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert '"total"' in result.output


def test_a_very_long_query_is_refused_with_a_message(home):
    with pytest.raises(QueryError, match="at most 2,000"):
        search(home, SearchRequest("neglect " * 400))


@pytest.mark.parametrize("bad", ["a*", "neglect a*", "year:[2015 TO", "?x"])
def test_wildcards_and_ranges_that_cannot_work_are_explained(home, bad):
    with pytest.raises(QueryError):
        search(home, SearchRequest(bad))


def test_a_spelled_out_expansion_counts_only_where_its_words_stand_together(home):
    """An expansion's words anywhere in a passage can rank it, but a report holds the
    concept (and counts) only where a form stands as written: CSE's total is exactly that
    of the strict `CSE OR "child sexual exploitation"`."""
    best = search(home, SearchRequest("CSE", limit=0))
    strict = search(home, SearchRequest('CSE OR "child sexual exploitation"', limit=0))
    assert strict["match"] == "all" and strict["total"] > 0
    assert best["total"] == strict["total"]


def test_an_or_of_a_word_and_a_phrase_counts_every_report_of_either(home):
    """Counting while ranking must not let Whoosh drop the weaker part of an OR: the total
    equals the set-based count stats uses, and is at least each part's."""
    both = SearchRequest('CSE OR "child sexual exploitation"', limit=0)
    total = search(home, both)["total"]
    assert total == len(matching_reports(home, both))
    for part in ("CSE", '"child sexual exploitation"'):
        assert total >= search(home, SearchRequest(part, limit=0, all_words=True))["total"]


def test_an_acronym_typed_outranks_its_spelled_out_words(home):
    """Every form of a concept is weighed as specific as the typed one: the three words of
    "child sexual exploitation" no longer add up to more than the acronym typed, so the
    passages that say CSE come first (they once came after passages with the three words
    scattered)."""
    payload = search(home, SearchRequest("CSE", limit=3))
    for result in payload["results"]:
        assert re.search(r"\bCSE\b", result["passages"][0]["text"]), result["title"]


def test_holding_a_concept_earns_no_phrase_bonus(home):
    """The bonus for words standing as written is the query's own phrase: a passage holding
    the acronym typed scores its BM25 (as the strict search scores it), not twice that."""
    best = search(home, SearchRequest("LADO", limit=5))
    strict = search(home, SearchRequest("LADO", limit=20, all_words=True))
    scored = {
        (r["sha256"], p["page"], p["text"]): p["score"]
        for r in strict["results"]
        for p in r["passages"]
    }
    compared = 0
    for result in best["results"]:
        for passage in result["passages"]:
            key = (result["sha256"], passage["page"], passage["text"])
            if key in scored and "designated officer" not in _words(passage["text"]):
                assert passage["score"] == pytest.approx(scored[key], rel=1e-3)
                compared += 1
    assert compared >= 3


def test_a_word_of_a_reports_subject_counts_as_one_of_its_title(tmp_path, corpus_dir):
    """The subject (the child a review is about: "Child Q", a name) is matched like the
    title: of two letters that both hold the query's word, the one whose subject is that word
    gets the title bonus, and the other none."""
    letters = [
        next((corpus_dir / "ofsted-jtai").glob(f"*_{area}/*.pdf"))
        for area in ("norfolk", "barnsley")
    ]
    home = Home(tmp_path / "home").ensure()
    runner = CliRunner()
    for letter, subject in zip(letters, ([], ["--subject", "Neglect"]), strict=True):
        done = runner.invoke(main, ["--home", str(home.root), "add", str(letter), *subject])
        assert done.exit_code == 0, done.output
    run_index(home)
    payload = search(home, SearchRequest("neglect", limit=2, explain=True))
    by_subject = {r["subject"]: r["score_parts"]["title"] for r in payload["results"]}
    assert by_subject == {"Neglect": 1.0, None: 0.0}
