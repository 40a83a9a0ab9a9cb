"""Crawling a local board site end to end: what the server saw, and what the catalogue holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from httpserver import (
    BOARD_PAGE,
    BOARD_PAGE_2,
    FakeClock,
    LocalServer,
    Reply,
    board_item,
    html_reply,
    pdf_reply,
)
from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.crawl import CrawlSummary, crawl, not_pdf_reason, original_name
from scrsearch.errors import UsageError
from scrsearch.fetch import Fetcher, Response
from scrsearch.store import Store, sha256_of

UA = "scrsearch-test/1.0 (+https://example.org/scrsearch)"
CAP = 600_000


@pytest.fixture
def files(corpus_dir: Path) -> dict[str, bytes]:
    ilacs = corpus_dir / "ofsted-ilacs"

    def read(folder: str, name: str) -> bytes:
        return (ilacs / folder / f"children's services inspection - {name}.pdf").read_bytes()

    return {
        "a": read("80444_calderdale", "20 march 2015"),
        "d": read("80444_calderdale", "19 december 2018"),
        "d2": read("80444_calderdale", "15 may 2024"),
        "k": read("80449_bradford", "29 october 2018"),
        "m": read("80449_bradford", "31 january 2023"),
        "c": read("80460_derbyshire", "19 september 2019"),
        "html_as_pdf": read("80429_birmingham", "19 october 2012"),  # an HTML page named .pdf
        "html_as_pdf2": read("80543_rotherham", "10 august 2012"),
        "huge": read("80429_birmingham", "25 november 2016"),  # 812 KB, over CAP
    }


@pytest.fixture
def site(files):
    """A board site: good PDFs, pagination, robots, 429, 500, slow, HTML, redirect, huge."""
    with LocalServer() as server:
        foreign = f"http://localhost:{server.port}"
        items = "\n".join(
            [
                board_item("/reviews/child-a-executive-summary.pdf", "Child A: Executive summary"),
                board_item("/reviews/child-b-executive-summary.pdf", "Child B: Executive summary"),
                board_item("/private/child-d-briefing.pdf", "Child D: Briefing"),
                board_item("/reviews/child-d-overview-report.pdf", "Child D: Overview report"),
                board_item("/reviews/child-j-overview-report.pdf", "Child J: Overview report"),
                board_item("/reviews/child-j-briefing.pdf", "Child J: Briefing"),
                board_item("/reviews/child-k-board-response.pdf", "Child K: Board response"),
                board_item("/reviews/child-m-overview-report.pdf", "Child M: Overview report"),
                board_item("/reviews/child-m-briefing.pdf", "Child M: Briefing"),
                board_item("/reviews/child-p-briefing.pdf", "Child P: Briefing"),
            ]
        )
        server.html("/scr/", BOARD_PAGE.format(items=items, foreign=foreign))
        server.html(
            "/scr/?page=2",
            BOARD_PAGE_2.format(
                items=board_item(
                    "/reviews/child-c.pdf", "Child C: Executive summary", " (Published August 2024)"
                )
            ),
        )
        server.route("/robots.txt", Reply(200, "User-agent: *\nDisallow: /private/\n"))
        server.file("/reviews/child-a-executive-summary.pdf", files["a"])
        server.file("/reviews/child-b-executive-summary.pdf", files["huge"])
        server.file("/private/child-d-briefing.pdf", files["a"])
        server.file("/reviews/child-d-overview-report.pdf", files["d"])
        server.route(
            "/reviews/child-j-overview-report.pdf",
            Reply(200, files["html_as_pdf"], {"Content-Type": "text/html; charset=utf-8"}),
        )
        server.route("/reviews/child-j-briefing.pdf", pdf_reply(files["html_as_pdf2"]))
        server.route(
            "/reviews/child-k-board-response.pdf",
            Reply(429, "Too many requests", {"Retry-After": "5"}),
            pdf_reply(files["k"]),
        )
        server.route(
            "/reviews/child-m-overview-report.pdf",
            Reply(500, "Internal error"),
            pdf_reply(files["m"]),
        )
        server.route("/reviews/child-m-briefing.pdf", Reply(200, files["m"], delay=1.5))
        server.route(
            "/reviews/child-p-briefing.pdf",
            Reply(302, "", {"Location": f"{foreign}/elsewhere/child-p.pdf"}),
        )
        server.file("/reviews/child-c.pdf", files["c"])
        yield server


def write_sources(home: Home, server: LocalServer, extra: str = "") -> None:
    home.sources_path.write_text(
        f"""
[sources.board]
title = "Test Safeguarding Children Board"
locality = "Calderdale"
start_urls = ["{server.url("/scr/")}"]
follow = ['[?&]page=\\d+$']
documents = ['\\.pdf$']
max_depth = 2
delay = 0
{extra}
""",
        encoding="utf-8",
    )


@pytest.fixture
def board_home(home: Home, site: LocalServer) -> Home:
    write_sources(home, site)
    return home


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def fetcher_for(clock: FakeClock, **kwargs) -> Fetcher:
    options = dict(
        user_agent=UA, delay=0.0, sleep=clock.sleep, clock=clock, timeout=(2.0, 0.5),
        max_bytes=CAP,
    )  # fmt: skip
    options.update(kwargs)
    return Fetcher(**options)


def run(home: Home, clock: FakeClock, **kwargs) -> CrawlSummary:
    with fetcher_for(clock) as fetcher:
        return crawl(home, ["board"], fetcher=fetcher, **kwargs)


def test_first_crawl_stores_good_pdfs_and_records_every_failure(board_home, site, files, clock):
    lines: list[str] = []
    summary = run(board_home, clock, progress=lines.append)

    assert (summary.new, summary.changed, summary.unchanged) == (5, 0, 0)
    assert summary.skipped_robots == 1
    failed = {f.url.rsplit("/", 1)[1]: f for f in summary.failures}
    assert set(failed) == {
        "child-b-executive-summary.pdf",  # over the size cap
        "child-j-overview-report.pdf",  # text/html
        "child-j-briefing.pdf",  # application/pdf, but HTML bytes
        "child-m-briefing.pdf",  # too slow
        "child-p-briefing.pdf",  # redirect to a foreign host
    }
    assert summary.failed == 5 and not summary.ok
    assert failed["child-j-overview-report.pdf"].outcome == "not_pdf"
    assert failed["child-j-briefing.pdf"].outcome == "not_pdf"
    assert "%PDF-" in failed["child-j-briefing.pdf"].reason
    assert "allowed_hosts" in failed["child-p-briefing.pdf"].reason
    assert "cap" in failed["child-b-executive-summary.pdf"].reason
    assert any(line.startswith("board:") and "5 new" in line for line in lines)

    expected = {sha256_of(files[k]) for k in ("a", "d", "k", "m", "c")}
    assert set(summary.new_sha256s) == expected
    with Store(board_home) as store:
        assert {d.sha256 for d in store.documents()} == expected


def test_the_server_saw_no_forbidden_request_and_our_user_agent(board_home, site, clock):
    run(board_home, clock)
    assert site.seen("/private/child-d-briefing.pdf") == []
    assert site.seen("/elsewhere/child-p.pdf") == []
    assert len(site.seen("/robots.txt")) == 1
    assert {r.headers.get("User-Agent") for r in site.requests} == {UA}
    # the 429 and the 500 were retried once each, after the Retry-After / a backoff
    assert len(site.seen("/reviews/child-k-board-response.pdf")) == 2
    assert len(site.seen("/reviews/child-m-overview-report.pdf")) == 2
    assert 5 in clock.sleeps
    assert [r.query for r in site.seen("/scr/")] == ["", "page=2"]  # each listing read once


def test_catalogue_holds_source_and_link_text_metadata(board_home, site, files, clock):
    run(board_home, clock)
    with Store(board_home) as store:
        doc_d = store.document(sha256_of(files["d"]))
        doc_c = store.document(sha256_of(files["c"]))
        fetches = store.fetches()
    assert doc_d.locality == "Calderdale" and doc_d.meta_origin["locality"] == "source"
    assert doc_d.title == "Child D: Overview report"
    assert doc_d.doc_type == "overview_report" and doc_d.meta_origin["doc_type"] == "link"
    assert doc_d.source == "board"
    assert doc_d.url == site.url("/reviews/child-d-overview-report.pdf")
    assert doc_d.original_name == "child-d-overview-report.pdf"
    assert doc_c.year == 2024  # from "(Published August 2024)" beside the link
    assert doc_c.doc_type == "executive_summary"

    by_outcome: dict[str, list] = {}
    for record in fetches:
        by_outcome.setdefault(record.outcome, []).append(record)
    assert {r.url for r in by_outcome["listing"]} == {site.url("/scr/"), site.url("/scr/?page=2")}
    robots = by_outcome["skipped_robots"][0]
    assert robots.url.endswith("/private/child-d-briefing.pdf") and "robots.txt" in robots.error
    not_pdf = {r.url.rsplit("/", 1)[1]: r for r in by_outcome["not_pdf"]}
    assert not_pdf["child-j-overview-report.pdf"].status == 200
    assert "text/html" in not_pdf["child-j-overview-report.pdf"].error
    new = {r.url.rsplit("/", 1)[1]: r for r in by_outcome["new"]}
    record_d = new["child-d-overview-report.pdf"]
    assert record_d.etag and record_d.last_modified and record_d.status == 200
    assert record_d.bytes == len(files["d"]) and record_d.sha256 == sha256_of(files["d"])
    assert all(r.error for r in by_outcome["failed"])


def test_second_crawl_sends_validators_and_costs_nothing(board_home, site, clock):
    run(board_home, clock)
    first = site.seen("/reviews/child-d-overview-report.pdf")[0].headers
    assert "If-None-Match" not in first
    summary = run(board_home, clock)
    again = site.seen("/reviews/child-d-overview-report.pdf")[-1].headers
    assert again["If-None-Match"].startswith('"')
    assert again["If-Modified-Since"] == "Wed, 01 May 2024 10:00:00 GMT"
    # A, D and C answer 304; K and M have no validators and come back with the same bytes
    assert (summary.new, summary.changed, summary.unchanged) == (0, 0, 5)
    assert summary.new_sha256s == []
    with Store(board_home) as store:
        outcomes = [
            r.outcome for r in store.fetches(site.url("/reviews/child-a-executive-summary.pdf"))
        ]
        assert outcomes == ["new", "not_modified"]
        assert store.last_fetch(site.url("/reviews/child-a-executive-summary.pdf")).sha256


def test_a_changed_document_is_a_new_version_and_the_old_is_kept(board_home, site, files, clock):
    run(board_home, clock)
    url = site.url("/reviews/child-d-overview-report.pdf")
    site.change_file(
        "/reviews/child-d-overview-report.pdf", files["d2"], "Mon, 01 Jul 2024 09:00:00 GMT"
    )
    summary = run(board_home, clock)
    assert summary.changed == 1 and summary.new_sha256s == [sha256_of(files["d2"])]
    with Store(board_home) as store:
        old, new = store.document(sha256_of(files["d"])), store.document(sha256_of(files["d2"]))
        assert old is not None and new is not None
        assert url in store.urls_of(old.sha256) and url in store.urls_of(new.sha256)
        assert store.original_path(old.sha256).exists()
        assert store.last_fetch(url).sha256 == new.sha256
        assert new.locality == "Calderdale" and new.title == "Child D: Overview report"


def test_max_documents_caps_each_source(board_home, site, clock):
    summary = run(board_home, clock, max_documents=2)
    assert summary.new == 1 and summary.failed == 1  # Child A, then Child B (too big)
    assert site.seen("/reviews/child-d-overview-report.pdf") == []


def test_dry_run_lists_without_fetching_or_writing(board_home, site, clock):
    summary = run(board_home, clock, dry_run=True)
    planned = [link.url.rsplit("/", 1)[1] for link in summary.planned]
    assert "child-a-executive-summary.pdf" in planned and "child-c.pdf" in planned
    assert "child-d-briefing.pdf" not in planned and summary.skipped_robots == 1
    assert [p for p in site.paths_seen() if p.startswith("/reviews/")] == []
    assert not board_home.catalogue_path.exists()


def test_unknown_source_is_a_usage_error_naming_the_known_ones(board_home):
    with pytest.raises(UsageError, match="known sources: .*board"):
        crawl(board_home, ["nope"], dry_run=True)


def test_octet_stream_pdf_with_content_disposition_is_accepted(files):
    response = Response(
        "http://x/download/123",
        "http://x/download/123",
        200,
        {"Content-Type": "application/octet-stream",
         "Content-Disposition": 'attachment; filename="Susan - DHR.pdf"'},
        files["a"],
    )  # fmt: skip
    assert not_pdf_reason(response) is None
    assert original_name(response) == "Susan - DHR.pdf"
    html = Response("http://x/a.pdf", "http://x/a.pdf", 200, {"Content-Type": "text/html"}, b"<")
    assert "text/html" in not_pdf_reason(html)


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def small_site(files):
    """A board site whose fetches need no sleeping: two PDFs, one forbidden, one HTML page."""
    with LocalServer() as server:
        items = "\n".join(
            [
                board_item("/reviews/a.pdf", "Child A: Executive summary"),
                board_item("/reviews/d.pdf", "Child D: Overview report"),
                board_item("/private/x.pdf", "Child X: Briefing"),
                board_item("/reviews/login.pdf", "Child J: Overview report"),
            ]
        )
        server.html("/scr/", BOARD_PAGE.format(items=items, foreign="http://localhost:1"))
        server.route("/robots.txt", Reply(200, "User-agent: *\nDisallow: /private/\n"))
        server.file("/reviews/a.pdf", files["a"])
        server.file("/reviews/d.pdf", files["d"])
        server.file("/private/x.pdf", files["a"])
        server.route("/reviews/login.pdf", html_reply("<form>Please log in</form>"))
        yield server


def invoke(home: Home, *args: str):
    return CliRunner().invoke(main, ["--home", str(home.root), *args])


def test_cli_crawl_reports_a_summary_and_exits_1_on_failures(home, small_site):
    write_sources(home, small_site)
    result = invoke(home, "crawl", "board", "--delay", "0", "--user-agent", UA)
    assert result.exit_code == 1, result.output
    assert "2 new" in result.stderr and "1 skipped by robots.txt" in result.stderr
    assert "1 failed" in result.stderr and "login.pdf" in result.stderr
    assert small_site.seen("/private/x.pdf") == []
    assert small_site.seen("/reviews/a.pdf")[0].headers["User-Agent"] == UA
    with Store(home) as store:
        assert len(store.documents()) == 2


def test_cli_crawl_exits_0_when_nothing_failed(home, small_site):
    write_sources(home, small_site, extra="documents = ['/reviews/[ad]\\.pdf$']")
    home.sources_path.write_text(
        home.sources_path.read_text().replace("documents = ['\\.pdf$']\n", ""), encoding="utf-8"
    )
    result = invoke(home, "crawl", "board", "--delay", "0")
    assert result.exit_code == 0, result.output
    assert "2 new, 0 changed" in result.stderr


def test_cli_crawl_dry_run_prints_what_would_be_fetched(home, small_site):
    write_sources(home, small_site)
    result = invoke(home, "crawl", "board", "--dry-run", "--delay", "0")
    assert result.exit_code == 0, result.output
    assert small_site.url("/reviews/a.pdf") in result.stdout
    assert small_site.url("/private/x.pdf") not in result.stdout
    assert small_site.seen("/reviews/a.pdf") == []


def test_cli_crawl_unknown_source_is_exit_2_listing_known_ones(home, small_site):
    write_sources(home, small_site)
    result = invoke(home, "crawl", "nope")
    assert result.exit_code == 2
    assert "nope" in result.stderr and "board" in result.stderr and "calderdale" in result.stderr


def test_cli_crawl_without_sources_or_all_is_a_usage_error(home):
    result = invoke(home, "crawl")
    assert result.exit_code == 2
    assert "--all" in result.stderr


def test_cli_sources_lists_builtin_and_user_sources(home, small_site):
    write_sources(home, small_site)
    text = invoke(home, "sources")
    assert text.exit_code == 0
    assert "calderdale" in text.stdout and "board" in text.stdout
    as_json = invoke(home, "sources", "--format", "json")
    rows = {row["name"]: row for row in json.loads(as_json.stdout)}
    assert rows["board"]["origin"] == str(home.sources_path)
    assert rows["national-panel"]["kind"] == "govuk"
    assert rows["board"]["start_urls"] == [small_site.url("/scr/")]


def test_cli_bad_sources_toml_names_file_source_and_key(home):
    home.sources_path.write_text(
        '[sources.mine]\nstart_urls = ["https://x.example/"]\nmax_dept = 2\n'
    )
    result = invoke(home, "sources")
    assert result.exit_code == 2  # the person's input, like a bad option
    assert str(home.sources_path) in result.stderr
    assert "'mine'" in result.stderr and "'max_dept'" in result.stderr


def test_cli_crawl_all_runs_every_enabled_source(home, small_site):
    write_sources(home, small_site)
    disabled = "".join(
        f'\n[sources.{name}]\nstart_urls = ["http://127.0.0.1:9/"]\nenabled = false\n'
        for name in ("calderdale", "birmingham", "derbyshire", "bradford", "nspcc-case-reviews",
                     "nspcc-briefings", "national-panel")
    )  # fmt: skip
    home.sources_path.write_text(home.sources_path.read_text() + disabled, encoding="utf-8")
    result = invoke(home, "crawl", "--all", "--dry-run", "--delay", "0")
    assert result.exit_code == 0, result.output
    assert "Would fetch 1 source(s)" in result.stderr
    assert small_site.url("/reviews/d.pdf") in result.stdout
