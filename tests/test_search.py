"""Searching a real indexed corpus: ranking by report, pages, phrases, filters, facets, errors."""

from __future__ import annotations

import re

import pypdf
import pytest

from scrsearch.config import Home
from scrsearch.errors import QueryError, UsageError
from scrsearch.pipeline import add_paths, run_index
from scrsearch.search import SearchRequest, make_filters, parse_year_range, search


@pytest.fixture(scope="module")
def home(tmp_path_factory, corpus_dir):
    """The JTAI letters and the ILACS reports of the real corpus, indexed once."""
    home = Home(tmp_path_factory.mktemp("search") / "home").ensure()
    add_paths(home, [corpus_dir / "ofsted-jtai", corpus_dir / "ofsted-ilacs"])
    run_index(home)
    return home


def _page_text(home: Home, result: dict, page: int) -> str:
    """The page's text read straight from the stored original with pypdf, folded."""
    original = home.root / "corpus" / "originals" / result["sha256"][:2] / f"{result['sha256']}.pdf"
    text = pypdf.PdfReader(original).pages[page - 1].extract_text()
    return re.sub(r"[\s\-]+", " ", text).lower()


def _folded(text: str) -> str:
    return re.sub(r"[\s\-]+", " ", text).lower()


def test_top_result_page_holds_the_words(home):
    payload = search(home, SearchRequest("strategy meetings police attendance", limit=3))
    assert payload["total"] > 0 and payload["results"]
    top = payload["results"][0]
    assert top["passages"], "each result carries its best passages"
    for passage in top["passages"]:
        page_text = _page_text(home, top, passage["page"])
        for stem in ("strateg", "meeting", "police", "attend"):
            assert stem in _folded(passage["text"]) or stem in page_text
        # The passage really is on that page of the original.
        assert _folded(passage["text"])[:60].split(" ", 1)[-1][:30] in page_text


def test_phrase_keeps_stop_words(home):
    payload = search(home, SearchRequest('"voice of the child"', limit=20))
    assert payload["total"] > 0
    for result in payload["results"]:
        for passage in result["passages"]:
            assert "voice of the child" in _folded(passage["text"])
            assert "<mark>" in passage["highlighted"]


def test_results_are_reports_with_at_most_three_passages(home):
    payload = search(home, SearchRequest("neglect", limit=50))
    ids = [r["sha256"] for r in payload["results"]]
    assert len(ids) == len(set(ids))
    assert all(1 <= len(r["passages"]) <= 3 for r in payload["results"])
    scores = [r["score"] for r in payload["results"]]
    assert scores == sorted(scores, reverse=True)
    assert payload["passages_total"] >= payload["total"]


def test_not_and_minus_exclude_words(home):
    for query in ("neglect NOT police", "neglect -police"):
        payload = search(home, SearchRequest(query, limit=20))
        assert payload["total"] > 0
        for result in payload["results"]:
            for passage in result["passages"]:
                assert "police" not in passage["text"].lower()


def test_or_and_prefix(home):
    either = search(home, SearchRequest("radicalisation OR extremism", limit=0))
    one = search(home, SearchRequest("radicalisation", limit=0))
    assert either["total"] >= one["total"]
    prefix = search(home, SearchRequest("safeguard*", limit=0))
    exact = search(home, SearchRequest("safeguarding", limit=0))
    assert prefix["passages_total"] >= exact["passages_total"] > 0


def test_filters_hold_for_every_result_and_facets_count_reports(home):
    payload = search(
        home,
        SearchRequest("domestic abuse", make_filters(localities=["Bradford"]), limit=50),
    )
    assert payload["total"] == len(payload["results"]) > 0
    assert all(r["locality"] == "Bradford" for r in payload["results"])
    assert sum(v["count"] for v in payload["facets"]["locality"]) == payload["total"]
    years = search(home, SearchRequest("", make_filters(years=["2014-2018"]), limit=500))
    assert years["total"] > 0
    assert all(2014 <= r["year"] <= 2018 for r in years["results"])
    by_year = {v["value"]: v["count"] for v in years["facets"]["year"]}
    assert sum(by_year.values()) == years["total"]


def test_region_filter_with_an_alias(home):
    yorkshire = search(home, SearchRequest("", make_filters(regions=["Yorkshire"]), limit=500))
    assert yorkshire["total"] > 0
    assert {r["region"] for r in yorkshire["results"]} == {"Yorkshire and The Humber"}


def test_field_query_and_paging(home):
    first = search(home, SearchRequest("children", limit=2))
    second = search(home, SearchRequest("children", limit=2, offset=2))
    assert first["total"] == second["total"] > 4
    assert not {r["sha256"] for r in first["results"]} & {r["sha256"] for r in second["results"]}
    by_field = search(home, SearchRequest("locality:bradford", limit=50))
    assert by_field["total"] > 0 and all(r["locality"] == "Bradford" for r in by_field["results"])


def test_phrases_either_side_of_an_operator(home):
    either = search(home, SearchRequest('"early help" OR "looked after children"', limit=50))
    early = search(home, SearchRequest('"early help"', limit=50))
    looked = search(home, SearchRequest('"looked after children"', limit=50))
    assert early["total"] and looked["total"]
    assert either["total"] >= max(early["total"], looked["total"])
    assert (
        search(home, SearchRequest('"early help" -"looked after children"'))["total"]
        <= (early["total"])
    )


@pytest.mark.parametrize(
    "bad",
    ['"voice of the child', "(neglect OR abuse", "foo:bar", "neglect AND", "*abuse",
     '"early help" OR', 'OR "early help"'],
)  # fmt: skip
def test_malformed_queries_explain_themselves(home, bad):
    with pytest.raises(QueryError):
        search(home, SearchRequest(bad))


def test_bad_filters_are_usage_errors():
    with pytest.raises(UsageError, match="--year"):
        parse_year_range("twenty")
    assert parse_year_range("2014-2018") == (2014, 2018)
    assert parse_year_range("2015") == (2015, 2015)
    with pytest.raises(UsageError, match="--locality"):
        make_filters(localities=["Atlantis"])
    with pytest.raises(UsageError, match="--theme"):
        make_filters(themes=["not_a_theme"])


def test_json_contract(home):
    payload = search(home, SearchRequest("neglect", limit=2))
    assert {"query", "total", "passages_total", "facets", "results"} <= set(payload)
    result = payload["results"][0]
    for key in ("report_id", "sha256", "title", "original_name", "locality", "region", "nation",
                "year", "doc_type", "source", "url", "score", "passages", "tags"):  # fmt: skip
        assert key in result
    passage = result["passages"][0]
    assert {"page", "text", "highlighted", "score", "tags"} <= set(passage)
    assert isinstance(passage["page"], int) and passage["page"] >= 1


def test_a_long_lived_process_sees_new_reports_and_deletions(tmp_path, corpus_dir):
    """Searches in one process keep their index open; commits elsewhere must still show."""
    from scrsearch.engine import open_engine

    fresh = Home(tmp_path / "home").ensure()
    letters = sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:3]
    add_paths(fresh, letters[:2])
    run_index(fresh)
    before = search(fresh, SearchRequest("children", limit=0))["total"]
    add_paths(fresh, letters[2:])
    run_index(fresh)
    after = search(fresh, SearchRequest("children", limit=0))
    assert after["total"] == before + 1
    gone = search(fresh, SearchRequest("children", limit=1))["results"][0]["sha256"]
    with open_engine(fresh).batch() as batch:  # written by another engine object: no cache
        batch.drop_report(gone)
    counted = search(fresh, SearchRequest("children", limit=10))
    assert gone not in {r["sha256"] for r in counted["results"]}
    assert counted["total"] == before


def _exhaustive(home: Home, text: str, filters=None):
    """Reports ranked by scoring every matching passage (no skipping), best first, with counts:
    what the one-pass ranking of `search` must agree with."""
    from collections import Counter

    from scrsearch.engine.whoosh.generations import open_for_reading
    from scrsearch.engine.whoosh.translate import parse_query
    from scrsearch.report_catalogue import ReportCatalogue

    ix = open_for_reading(home)
    catalogue = ReportCatalogue.load(home)
    allowed = catalogue.allowed(filters or make_filters())
    best: dict[str, float] = {}
    counts: Counter = Counter()
    with ix.searcher() as searcher:
        for hit in searcher.search(parse_query(text, ix.schema), limit=None):
            sha = hit["sha256"]
            if sha in allowed:
                counts[sha] += 1
                best[sha] = max(best.get(sha, 0.0), hit.score)
    order = sorted(best, key=lambda sha: (-best[sha], int(sha[:15], 16)))
    return order, best, counts


@pytest.mark.parametrize(
    ("text", "filter_args"),
    [
        ("children", {}),
        ("neglect", {"years": ["2015-2019"]}),
        ("health visitor", {}),
        ("school OR police", {"regions": ["London"]}),
        ('"voice of the child"', {}),
        ("assess* -police", {}),
    ],
)
@pytest.mark.parametrize("path", ["ranking pass", "scored one by one"])
def test_ranking_and_counts_match_scoring_every_passage(home, text, filter_args, path, monkeypatch):
    """The strict ranking (`--all-words`: every word in one passage, the best passage's
    BM25F) agrees with Whoosh scoring every passage."""
    from scrsearch.engine.whoosh import strict as search_module

    if path == "ranking pass":  # the block-skipping _TopReports, whatever the match count
        monkeypatch.setattr(search_module, "SCORE_EACH_LIMIT", 0)
        monkeypatch.setattr(search_module, "SCORE_EACH_RATIO", 10**9)
    else:
        monkeypatch.setattr(search_module, "SCORE_EACH_LIMIT", 10**9)
    filters = make_filters(**filter_args)
    order, best, counts = _exhaustive(home, text, filters)
    assert order, f"{text!r} should match something in the corpus"
    strict = {"filters": filters, "all_words": True}
    payload = search(home, SearchRequest(text, limit=len(order) + 5, **strict))
    assert [r["sha256"] for r in payload["results"]] == order
    for result in payload["results"]:
        assert result["score"] == pytest.approx(best[result["sha256"]], abs=1e-4)
        assert result["passages"][0]["score"] == pytest.approx(result["score"], abs=1e-4)
    assert payload["total"] == len(counts) and payload["passages_total"] == sum(counts.values())
    # Page by page (each page ranked in its own pass) gives the same order.
    paged = []
    for offset in range(0, len(order), 3):
        page = search(home, SearchRequest(text, limit=3, offset=offset, **strict))
        paged += [r["sha256"] for r in page["results"]]
    assert paged == order


@pytest.mark.parametrize(
    ("query_part", "filter_args"),
    [
        ("locality:bradford", {"localities": ["Bradford"]}),
        ("region:london", {"regions": ["London"]}),
        ("year:[2015 TO 2018]", {"years": ["2015-2018"]}),
        ("theme:neglect", {"themes": ["neglect"]}),
        ("type:inspection_report", {"doc_types": ["inspection_report"]}),
    ],
)
def test_report_fields_in_a_query_are_the_filters(home, query_part, filter_args):
    """Report fields are not indexed per passage: `theme:neglect` in a query is bound to the
    reports the catalogue has, and so matches exactly what the --theme filter does."""
    in_query = search(home, SearchRequest(f"children {query_part}", limit=100))
    as_filter = search(
        home, SearchRequest("children", filters=make_filters(**filter_args), limit=100)
    )
    assert as_filter["total"] > 0, f"the corpus should have reports for {filter_args}"
    assert in_query["total"] == as_filter["total"]
    assert in_query["passages_total"] == as_filter["passages_total"]
    assert {r["sha256"] for r in in_query["results"]} == {r["sha256"] for r in as_filter["results"]}
    everything = search(home, SearchRequest("children", limit=0))["total"]
    without = search(home, SearchRequest(f"children -{query_part}", limit=0))["total"]
    assert without == everything - as_filter["total"] or without < everything


def test_report_field_patterns_and_alternatives(home):
    bradford = search(home, SearchRequest("locality:bradford", limit=0))["total"]
    assert bradford > 0
    assert search(home, SearchRequest("locality:brad*", limit=0))["total"] >= bradford
    both = search(home, SearchRequest("locality:bradford OR locality:derby", limit=0))["total"]
    derby = search(home, SearchRequest("locality:derby", limit=0))["total"]
    assert both == bradford + derby
    with pytest.raises(QueryError, match="theme: takes a value"):
        search(home, SearchRequest("theme:[a TO c]"))


@pytest.mark.parametrize(
    "tags",
    [
        {"themes": ["neglect"]},
        {"risks": ["domestic_abuse"]},
        {"themes": ["neglect"], "issues": ["voice_of_child"]},
    ],
)
def test_browsing_shows_each_reports_first_tagged_passages(home, tags):
    """Browsing by tag shows, for each report, its first passages (in page order) that carry
    a requested tag: checked against Whoosh asked directly for the report's tagged passages."""
    from whoosh import query as wq

    from scrsearch.engine.whoosh.generations import open_for_reading

    filters = make_filters(**tags)
    payload = search(home, SearchRequest("", filters=filters, limit=8))
    assert payload["results"], f"the corpus should have reports tagged {tags}"
    wanted = sorted(filters.tag_ids)
    ix = open_for_reading(home)
    with ix.searcher() as searcher:
        for result in payload["results"]:
            q = wq.And([wq.Term("sha256", result["sha256"]),
                        wq.Or([wq.Term("tags", t) for t in wanted])])  # fmt: skip
            hits = sorted(searcher.search(q, limit=None), key=lambda h: h["ordinal"])[:3]
            assert [p["text"] for p in result["passages"]] == [h["text"] for h in hits]
            assert all(set(p["tags"]) & set(wanted) for p in result["passages"])
