"""Source configuration and adapters, against real saved pages served by a local server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpserver import LocalServer, Reply, SeenRequest, html_reply, pdf_reply
from scrsearch.config import Home
from scrsearch.crawl import crawl
from scrsearch.errors import ConfigError
from scrsearch.fetch import Fetcher
from scrsearch.sources import (
    ADAPTERS,
    Page,
    adapter_for,
    builtin_sources,
    load_sources,
    parse_sources,
)
from scrsearch.sources.base import is_generic
from scrsearch.sources.design_system import page_url
from scrsearch.sources.nspcc import ENTRY
from scrsearch.store import Store, sha256_of

ASSETS = "https://assets.publishing.service.gov.uk"


def no_sleep(seconds: float) -> None:
    pass


def page_getter(fetcher: Fetcher, fetched: list[str] | None = None):
    """A get_page for adapters: the real fetcher, None on any failure."""

    def get_page(url: str) -> Page | None:
        if fetched is not None:
            fetched.append(url)
        try:
            response = fetcher.get(url)
        except Exception:
            return None
        return Page(url, response.final_url, response.text, response.content_type)

    return get_page


def config_for(toml: str, name: str = "test"):
    import tomllib

    return parse_sources(tomllib.loads(toml), "test.toml")[name]


# -- configuration ------------------------------------------------------------------------------


def test_builtin_sources_cover_the_boards_nspcc_and_the_panel():
    sources = builtin_sources()
    assert {
        "calderdale", "birmingham", "derbyshire", "bradford",
        "nspcc-case-reviews", "nspcc-briefings", "national-panel",
    } <= set(sources)  # fmt: skip
    assert sources["calderdale"].meta["locality"] == "Calderdale"
    assert "locality" not in sources["derbyshire"].meta  # Derby and Derbyshire: two areas
    assert sources["national-panel"].kind == "govuk"
    assert (
        sources["national-panel"]
        .start_urls[0]
        .startswith(
            "https://www.gov.uk/api/search.json?filter_organisations="
            "child-safeguarding-practice-review-panel"
        )
    )
    assert "ddscp.org.uk" in sources["derbyshire"].allowed_hosts
    for source in sources.values():
        assert source.kind in ADAPTERS and source.start_urls and source.origin == "built-in"


def test_user_file_adds_and_replaces_sources_by_name(home: Home):
    home.sources_path.write_text(
        """
[sources.calderdale]
title = "My Calderdale"
start_urls = ["http://127.0.0.1:9/scr"]

[sources.mine]
start_urls = ["https://board.example/reviews/"]
enabled = false
""",
        encoding="utf-8",
    )
    sources = load_sources(home)
    assert sources["calderdale"].title == "My Calderdale"
    assert sources["calderdale"].meta == {}  # replaced wholesale, not merged
    assert sources["calderdale"].origin == str(home.sources_path)
    assert sources["mine"].allowed_hosts == ("board.example",)  # default: start URL hosts
    assert sources["mine"].enabled is False
    assert sources["bradford"].origin == "built-in"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('[sources.x]\nstart_urls = ["https://a.example/"]\nmax_dept = 2\n', ["'x'", "'max_dept'"]),
        ('[sources.x]\nstart_urls = "https://a.example/"\n', ["'x'", "'start_urls'", "list"]),
        ('[sources.x]\nstart_urls = ["https://a.example/"]\nfollow = ["("]\n', ["'follow'"]),
        ('[sources.x]\nkind = "wiki"\nstart_urls = ["https://a.example/"]\n', ["'kind'"]),
        ("[sources.x]\ntitle = 'no start'\n", ["'x'", "'start_urls'"]),
        ('[sources.x]\nstart_urls = ["ftp://a.example/"]\n', ["'start_urls'", "ftp"]),
        ('[sources.x]\nstart_urls = ["https://a.example/"]\ndelay = -1\n', ["'delay'"]),
        ('[sources.x]\nstart_urls = ["https://a.example/"]\nmax_depth = true\n', ["'max_depth'"]),
        (
            '[sources.x]\nkind = "results_library"\nstart_urls = ["https://a.example/"]\n'
            'fields = { CSP = "council" }\n',
            ["'fields'", "council"],
        ),
        ("[sources.x\n", ["not valid TOML"]),
        ("[other]\nx = 1\n", ["'other'"]),
    ],
)
def test_bad_sources_toml_names_the_file_the_source_and_the_key(home: Home, body, words):
    home.sources_path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(home)
    message = str(info.value)
    assert str(home.sources_path) in message
    for word in words:
        assert word in message


@given(
    st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=10_000),
)
def test_page_url_sets_only_the_page_parameter(other: str, number: int):
    url = page_url(
        f"https://lib.example/?q={other}&pagination%5BpageNumber%5D=7",
        "pagination[pageNumber]",
        number,
    )
    params = parse_qs(urlsplit(url).query)
    assert params["pagination[pageNumber]"] == [str(number)]
    assert params["q"] == [other]


@given(
    st.integers(min_value=1990, max_value=2099),
    st.sampled_from(["Anonymous", "Birmingham", "Cambridgeshire and Peterborough"]),
    st.sampled_from(["Child AB", "Baby A", "Charlie and Sam", "Gabriel"]),
    st.sampled_from([" – ", " - ", " — "]),
)
def test_nspcc_entry_headings_parse(year: int, board: str, name: str, dash: str):
    match = ENTRY.match(f"{year}{dash}{board}{dash}{name}")
    assert match is not None
    assert (int(match.group(1)), match.group(2), match.group(3)) == (year, board, name)


def test_generic_link_texts():
    assert is_generic("Download") and is_generic("PDF") and is_generic("Read the overview report")
    assert not is_generic("Child D: Overview report")


# -- the listing adapter ------------------------------------------------------------------------


def test_listing_takes_titles_from_link_text_or_nearby_heading():
    with LocalServer() as server:
        server.html(
            "/reviews",
            """<h2>Child Safeguarding Practice Review Concerning Zac (ZDS22)</h2>
            <p><a href="/media/zac.pdf">Download</a> (Published August 2024)</p>
            <ul><li><a href="/media/polly.PDF">Serious case review ADS14: Polly (PDF)</a></li>
            <li><a href="https://elsewhere.example/x.pdf">Elsewhere</a></li>
            <li><a href="/about">About us</a></li></ul>""",
        )
        config = config_for(
            f'[sources.test]\nstart_urls = ["{server.url("/reviews")}"]\nregion = "East Midlands"\n'
        )
        with Fetcher(delay=0, sleep=no_sleep) as fetcher:
            links = list(adapter_for(config).links(page_getter(fetcher)))
    by_name = {link.url.rsplit("/", 1)[1]: link for link in links}
    assert set(by_name) == {"zac.pdf", "polly.PDF"}  # other hosts and non-documents left out
    zac = by_name["zac.pdf"]
    assert zac.text.startswith("Child Safeguarding Practice Review Concerning Zac")
    assert zac.hints["year"] == 2024 and zac.hints["doc_type"] == "overview_report"
    assert zac.meta == {"region": "East Midlands"}
    polly = by_name["polly.PDF"]
    assert polly.hints["subject"] == "Polly" and polly.hints["title"].endswith("Polly")
    assert polly.referrer == server.url("/reviews")


def test_listing_follows_pagination_to_max_depth_only():
    with LocalServer() as server:
        for n in range(1, 5):
            server.html(
                f"/list?page={n}",
                f'<a href="/doc{n}.pdf">Child {n}: Briefing</a>'
                f'<a href="/list?page={n + 1}">Next</a>',
            )
        config = config_for(
            f'[sources.test]\nstart_urls = ["{server.url("/list?page=1")}"]\n'
            "follow = ['page=\\d+']\nmax_depth = 2\n"
        )
        with Fetcher(delay=0, sleep=no_sleep) as fetcher:
            links = list(adapter_for(config).links(page_getter(fetcher)))
        assert [link.url.rsplit("/", 1)[1] for link in links] == [
            "doc1.pdf",
            "doc2.pdf",
            "doc3.pdf",
        ]
        assert [r.query for r in server.seen("/list")] == ["page=1", "page=2", "page=3"]


# -- GOV.UK -------------------------------------------------------------------------------------


@pytest.fixture
def govuk(shared_dir: Path):
    """GOV.UK's Search and Content APIs from the saved Content API fixtures."""
    items = {}
    for path in sorted((shared_dir / "fixtures" / "govuk-content-api").rglob("*.json")):
        item = json.loads(path.read_text(encoding="utf-8"))
        items[item["base_path"]] = path.read_text(encoding="utf-8")
    with LocalServer() as server:
        for base_path, text in items.items():
            server.route(
                "/api/content" + base_path,
                Reply(200, text.replace(ASSETS, server.base), {"Content-Type": "application/json"}),
            )
        order = list(items)

        def search(request: SeenRequest) -> str:
            start, count = int(request.params["start"][0]), int(request.params["count"][0])
            results = []
            for base_path in order[start : start + count]:
                item = json.loads(items[base_path])
                results.append(
                    {
                        "link": base_path,
                        "title": item["title"],
                        "content_store_document_type": item["document_type"],
                    }
                )
            return json.dumps({"results": results, "total": len(order), "start": start})

        server.route("/api/search.json", Reply(200, search, {"Content-Type": "application/json"}))
        yield server


def govuk_config(server: LocalServer, extra: str = ""):
    return config_for(
        f"""[sources.test]
kind = "govuk"
base_url = "{server.base}"
organisation = "child-safeguarding-practice-review-panel"
page_size = 4
allowed_hosts = ["127.0.0.1"]
nation = "England"
{extra}
"""
    )


def test_govuk_lists_pdf_attachments_of_both_shapes(govuk):
    config = govuk_config(govuk)
    with Fetcher(delay=0, sleep=no_sleep) as fetcher:
        links = list(adapter_for(config).links(page_getter(fetcher)))
    urls = {link.url: link for link in links}
    # details.documents HTML, with a relative href resolved against the base URL
    cse = govuk.url(
        "/government/uploads/system/uploads/attachment_data/file/310392/Child_sexual_exploitation.pdf"
    )
    assert urls[cse].meta["title"].startswith("Health working group report")
    assert urls[cse].meta["year"] == 2014 and urls[cse].meta["nation"] == "England"
    # details.attachments[] with an absolute assets URL (served here)
    featured = govuk.url(
        "/government/uploads/system/uploads/attachment_data/file/315163/PUBLIC_1392629965.pdf"
    )
    assert urls[featured].meta["title"] == "Number of ex-regular service personnel now part of FR20"
    # spreadsheets and HTML attachments are not documents; withdrawn publications are skipped
    assert all(url.lower().endswith(".pdf") for url in urls)
    assert not any("pig-keepers" in url for url in urls)
    assert len(urls) == 13
    # the search API was paged: 9 items, 4 a page
    assert [r.params["start"] for r in govuk.seen("/api/search.json")] == [["0"], ["4"], ["8"]]
    # the HTML publication was never asked for; the collection's documents were (404 here)
    assert not any("tr4-8ee" in r.path for r in govuk.requests)
    assert govuk.seen(
        "/api/content/government/publications/car-and-light-van-driver-competence-framework"
    )


def test_govuk_withdrawn_publications_when_asked_for(govuk):
    config = govuk_config(govuk, "include_withdrawn = true")
    with Fetcher(delay=0, sleep=no_sleep) as fetcher:
        links = list(adapter_for(config).links(page_getter(fetcher)))
    assert any("pb13647-new-pig-keepers-guide.pdf" in link.url for link in links)


def test_govuk_crawl_stores_an_attachment(govuk, home: Home, corpus_dir: Path):
    pdf = next((corpus_dir / "dfe-guidance").glob("CA1989*.pdf")).read_bytes()
    govuk.route(
        "/government/uploads/system/uploads/attachment_data/file/315163/PUBLIC_1392629965.pdf",
        pdf_reply(pdf),
    )
    home.sources_path.write_text(
        f"""[sources.panel]
kind = "govuk"
base_url = "{govuk.base}"
page_size = 100
allowed_hosts = ["127.0.0.1"]
nation = "England"
delay = 0
""",
        encoding="utf-8",
    )
    with Fetcher(delay=0, sleep=no_sleep) as fetcher:
        summary = crawl(home, ["panel"], fetcher=fetcher)
    assert summary.new == 1 and summary.failed >= 12  # the other attachments are 404 here
    with Store(home) as store:
        doc = store.document(sha256_of(pdf))
    assert doc.title == "Number of ex-regular service personnel now part of FR20"
    assert doc.meta_origin["title"] == "source" and doc.nation == "England"
    assert doc.year == 2014


# -- a design-system results library (the Home Office DHR library) -------------------------------


@pytest.fixture
def dhr_library(shared_dir: Path):
    page0 = (shared_dir / "fixtures" / "dhr-library" / "home_office_library.html").read_text(
        encoding="utf-8"
    )
    page1 = page0.replace('href="/download/', 'href="/download/p1-')
    empty = "<html><body><main><p>No DHRs match your search.</p></main></body></html>"
    with LocalServer() as server:

        def results(request: SeenRequest) -> str:
            number = request.params.get("pagination[pageNumber]", ["0"])[0]
            return {"0": page0, "1": page1}.get(number, empty)

        server.route("/", Reply(200, results, {"Content-Type": "text/html; charset=utf-8"}))
        yield server


def dhr_config(server: LocalServer):
    return config_for(
        f"""[sources.test]
kind = "results_library"
start_urls = ["{server.url("/")}"]
fields = {{ "CSP" = "locality", "CSP Region" = "region", "Uploaded on" = "year" }}
delay = 0
"""
    )


def test_results_library_reads_cards_and_pages_until_empty(dhr_library):
    config = dhr_config(dhr_library)
    with Fetcher(delay=0, sleep=no_sleep) as fetcher:
        links = list(adapter_for(config).links(page_getter(fetcher)))
    assert len(links) == 100  # 50 cards a page, two pages, each card's two buttons one link
    first = links[0]
    assert first.url == dhr_library.url("/download/699496a0c7f5132b09d6c679")
    assert first.meta == {
        "locality": "Lincoln",
        "region": "East Midlands",
        "year": 2026,
        "title": "Susan - Lincoln - 2018/a - DHR",
    }
    assert first.hints.get("subject") == "Susan"
    assert links[50].url.startswith(dhr_library.url("/download/p1-"))
    pages = [r.params.get("pagination[pageNumber]") for r in dhr_library.seen("/")]
    assert pages == [["0"], ["1"], ["2"]]  # 0-based; stops at the first page without cards


def test_results_library_crawl_stores_octet_stream_downloads(dhr_library, home, corpus_dir):
    pdf = next((corpus_dir / "west-sussex").glob("*.pdf")).read_bytes()
    dhr_library.route(
        "/download/699496a0c7f5132b09d6c679",
        Reply(200, pdf, {"Content-Type": "application/octet-stream",
                         "Content-Disposition": 'attachment; filename="Susan DHR.pdf"'}),
    )  # fmt: skip
    home.sources_path.write_text(
        dhr_config(dhr_library).start_urls[0].join(
            ['[sources.dhr]\nkind = "results_library"\nstart_urls = ["', '"]\ndelay = 0\n'
             'fields = { "CSP" = "locality", "CSP Region" = "region" }\n']
        ),
        encoding="utf-8",
    )  # fmt: skip
    with Fetcher(delay=0, sleep=no_sleep) as fetcher:
        summary = crawl(home, ["dhr"], fetcher=fetcher, max_documents=2)
    assert summary.new == 1 and summary.failed == 1  # the second card's download is a 404 here
    with Store(home) as store:
        doc = store.document(sha256_of(pdf))
    assert doc.locality == "Lincoln" and doc.meta_origin["locality"] == "source"
    assert doc.region == "East Midlands" and doc.original_name == "Susan DHR.pdf"


# -- NSPCC --------------------------------------------------------------------------------------

NSPCC_LIST = """<main><h1>Case reviews published in 2017</h1>
<h3>2017 – Bradford – Jack</h3>
<p>Death of a 2-year-old boy in July 2016 from a head injury.</p>
<p><strong>Keywords:</strong> neglect, head injuries</p>
<p><a href="/HeritageScripts/Hapi.dll/filetwo?filename=Jack.pdf">Read the overview report</a></p>
<h3>2017 – Anonymous - Child AB</h3>
<p>Sexual abuse of a 14-year-old girl.</p>
<p><a href="/HeritageScripts/Hapi.dll/filetwo?filename=AB.pdf">Read the overview report</a></p>
<p><a href="/case-reviews/2018/">Case reviews published in 2018</a></p>
</main>"""

NSPCC_BRIEFING = """<main><h1>Police: learning from case reviews</h1>
<p>Summary of risk factors and learning for improved practice for police.</p>
<p><a href="/media/1345/learning-from-case-reviews-police.pdf">Download the briefing</a></p>
<nav><a href="/research-resources/learning-from-case-reviews/neglect">Neglect</a></nav>
</main>"""


def test_nspcc_entries_state_year_and_lscb():
    with LocalServer() as server:
        server.html("/case-reviews/2017/", NSPCC_LIST)
        server.html("/case-reviews/2018/", "<p>nothing yet</p>")
        config = config_for(
            f"""[sources.test]
kind = "nspcc"
start_urls = ["{server.url("/case-reviews/2017/")}"]
follow = ['/case-reviews/\\d{{4}}/$']
"""
        )
        with Fetcher(delay=0, sleep=no_sleep) as fetcher:
            links = list(adapter_for(config).links(page_getter(fetcher)))
        assert server.seen("/case-reviews/2018/")  # followed the year list
    jack, ab = links
    assert jack.meta["year"] == 2017 and jack.meta["locality"] == "Bradford"
    assert jack.meta["title"] == "Jack (Bradford, 2017)"
    assert jack.hints.get("doc_type") == "overview_report"
    assert "locality" not in ab.meta and ab.meta["year"] == 2017


def test_nspcc_briefings_follow_topics_and_state_doc_type():
    with LocalServer() as server:
        server.html("/research-resources/learning-from-case-reviews/police", NSPCC_BRIEFING)
        server.html(
            "/research-resources/learning-from-case-reviews/neglect",
            NSPCC_BRIEFING.replace("Police", "Neglect").replace("police.pdf", "neglect.pdf"),
        )
        config = builtin_sources()["nspcc-briefings"]
        local = config_for(
            f"""[sources.test]
kind = "nspcc"
doc_type = "briefing"
start_urls = ["{server.url("/research-resources/learning-from-case-reviews/police")}"]
follow = {json.dumps([p.pattern for p in config.follow])}
max_depth = 1
"""
        )
        with Fetcher(delay=0, sleep=no_sleep) as fetcher:
            links = list(adapter_for(local).links(page_getter(fetcher)))
    assert [re.sub(r".*/", "", link.url) for link in links] == [
        "learning-from-case-reviews-police.pdf",
        "learning-from-case-reviews-neglect.pdf",
    ]
    assert links[0].meta == {"doc_type": "briefing"}
    assert links[0].text == "Police: learning from case reviews: Download the briefing"


def test_nspcc_download_of_an_html_page_is_not_stored(home, corpus_dir):
    with LocalServer() as server:
        server.html("/case-reviews/2017/", NSPCC_LIST)
        server.route("/HeritageScripts/Hapi.dll/filetwo", html_reply("<h1>Record not found</h1>"))
        home.sources_path.write_text(
            f'[sources.n]\nkind = "nspcc"\nstart_urls = ["{server.url("/case-reviews/2017/")}"]\n',
            encoding="utf-8",
        )
        with Fetcher(delay=0, sleep=no_sleep) as fetcher:
            summary = crawl(home, ["n"], fetcher=fetcher)
    assert summary.failed == 2 and {f.outcome for f in summary.failures} == {"not_pdf"}
    with Store(home) as store:
        assert store.documents() == []
