"""The polite fetcher against a real local HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from httpserver import FakeClock, LocalServer, Reply, html_reply, pdf_reply
from scrsearch.errors import FetchError, RobotsDisallowed
from scrsearch.fetch import (
    Fetcher,
    HTTPStatusError,
    Response,
    TooLargeError,
    host_allowed,
    parse_retry_after,
)

PDF = b"%PDF-1.4\n" + b"x" * 2000 + b"\n%%EOF\n"


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_fetcher(clock: FakeClock, **kwargs) -> Fetcher:
    options = {"delay": 0.0, "sleep": clock.sleep, "clock": clock, "user_agent": "scrsearch-test"}
    options.update(kwargs)
    return Fetcher(**options)


def test_user_agent_names_the_project_and_a_contact_url(server, clock):
    server.route("/a.pdf", pdf_reply(PDF))
    with Fetcher(sleep=clock.sleep, clock=clock, delay=0) as fetcher:
        response = fetcher.get(server.url("/a.pdf"))
    assert response.content == PDF
    agent = server.seen("/a.pdf")[0].headers["User-Agent"]
    assert agent.startswith("scrsearch/") and "https://" in agent
    assert "{version}" not in agent
    assert server.seen("/robots.txt")[0].headers["User-Agent"] == agent


def test_custom_user_agent_is_sent(server, clock):
    server.route("/a.pdf", pdf_reply(PDF))
    with make_fetcher(clock, user_agent="my-study/1.0 (+mailto:me@example.org)") as fetcher:
        fetcher.get(server.url("/a.pdf"))
    assert server.seen("/a.pdf")[0].headers["User-Agent"] == "my-study/1.0 (+mailto:me@example.org)"


def test_robots_forbidden_path_is_never_requested(server, clock):
    server.route("/robots.txt", Reply(200, "User-agent: *\nDisallow: /private/\n"))
    server.route("/private/a.pdf", pdf_reply(PDF))
    server.route("/public/b.pdf", pdf_reply(PDF))
    fetcher = make_fetcher(clock)
    with fetcher, pytest.raises(RobotsDisallowed, match="robots.txt"):
        fetcher.get(server.url("/private/a.pdf"))
        assert fetcher.get(server.url("/public/b.pdf")).status == 200
        fetcher.get(server.url("/public/b.pdf"))
    assert server.seen("/private/a.pdf") == []
    assert len(server.seen("/robots.txt")) == 1  # once per host per run


def test_robots_group_for_our_agent_wins_over_star(server, clock):
    server.route(
        "/robots.txt",
        Reply(200, "User-agent: *\nDisallow: /\n\nUser-agent: scrsearch\nAllow: /\n"),
    )
    server.route("/a.pdf", pdf_reply(PDF))
    with make_fetcher(clock, user_agent="scrsearch/0.1 (+https://example.org)") as fetcher:
        assert fetcher.get(server.url("/a.pdf")).content == PDF


def test_robots_404_allows_all_and_5xx_disallows_all(clock):
    with LocalServer() as open_site, LocalServer() as broken_site:
        open_site.route("/a.pdf", pdf_reply(PDF))  # /robots.txt is a 404
        broken_site.route("/robots.txt", Reply(503, "down"))
        broken_site.route("/a.pdf", pdf_reply(PDF))
        with make_fetcher(clock, retries=0) as fetcher:
            assert fetcher.get(open_site.url("/a.pdf")).status == 200
            with pytest.raises(RobotsDisallowed, match="503"):
                fetcher.get(broken_site.url("/a.pdf"))
        assert broken_site.seen("/a.pdf") == []


def test_conditional_get_sends_validators_and_returns_304(server, clock):
    server.file("/a.pdf", PDF)
    with make_fetcher(clock) as fetcher:
        first = fetcher.get(server.url("/a.pdf"))
        assert first.etag and first.last_modified
        second = fetcher.get(
            server.url("/a.pdf"), etag=first.etag, last_modified=first.last_modified
        )
    assert second.not_modified and second.content == b""
    sent = server.seen("/a.pdf")[1].headers
    assert sent["If-None-Match"] == first.etag
    assert sent["If-Modified-Since"] == first.last_modified


def test_429_is_retried_after_the_retry_after_it_names(server, clock):
    server.route("/busy.pdf", Reply(429, "slow down", {"Retry-After": "7"}), pdf_reply(PDF))
    with make_fetcher(clock) as fetcher:
        assert fetcher.get(server.url("/busy.pdf")).content == PDF
    assert 7 in clock.sleeps
    assert len(server.seen("/busy.pdf")) == 2


def test_retry_after_is_capped(server, clock):
    server.route("/busy.pdf", Reply(503, "", {"Retry-After": "86400"}), pdf_reply(PDF))
    with make_fetcher(clock, max_retry_after=30) as fetcher:
        fetcher.get(server.url("/busy.pdf"))
    assert max(clock.sleeps) == 30


def test_500_then_success_backs_off_and_succeeds(server, clock):
    server.route("/flaky.pdf", Reply(500, "oops"), Reply(502, "oops"), pdf_reply(PDF))
    with make_fetcher(clock, backoff=1.5) as fetcher:
        assert fetcher.get(server.url("/flaky.pdf")).content == PDF
    assert clock.sleeps == [1.5, 3.0]


def test_persistent_500_fails_with_the_status(server, clock):
    server.route("/dead.pdf", Reply(500, "oops"))
    with make_fetcher(clock, retries=2) as fetcher, pytest.raises(HTTPStatusError) as info:
        fetcher.get(server.url("/dead.pdf"))
    assert info.value.status == 500
    assert len(server.seen("/dead.pdf")) == 3


def test_404_is_not_retried(server, clock):
    with make_fetcher(clock) as fetcher, pytest.raises(HTTPStatusError, match="404"):
        fetcher.get(server.url("/missing.pdf"))
    assert len(server.seen("/missing.pdf")) == 1


def test_slow_response_times_out(server, clock):
    server.route("/slow.pdf", Reply(200, PDF, delay=2.0))
    fetcher = make_fetcher(clock, timeout=(2.0, 0.3))
    with fetcher, pytest.raises(FetchError, match="timed out"):
        fetcher.get(server.url("/slow.pdf"))


def test_connection_refused_is_retried_then_fails(clock):
    with LocalServer() as gone:
        url = gone.url("/a.pdf")
    fetcher = make_fetcher(clock, retries=2, backoff=1.0)
    with fetcher, pytest.raises(FetchError, match="cannot connect"):
        fetcher.get(url)
    assert clock.sleeps[-2:] == [1.0, 2.0]


def test_an_unreachable_host_fails_once_per_run_and_is_not_a_robots_refusal(clock):
    with LocalServer() as gone:
        urls = [gone.url("/a.pdf"), gone.url("/b.pdf")]
    fetcher = make_fetcher(clock, retries=1, backoff=1.0)
    with fetcher:
        for url in urls:
            with pytest.raises(FetchError, match="unreachable") as info:
                fetcher.get(url)
            assert not isinstance(info.value, RobotsDisallowed)
        assert fetcher.allowed_by_robots(urls[0])
    assert clock.sleeps == [1.0]  # robots.txt was tried (and retried) once, not per URL


def test_size_cap_by_content_length(server, clock):
    server.route("/huge.pdf", pdf_reply(PDF * 100))
    fetcher = make_fetcher(clock, max_bytes=10_000)
    with fetcher, pytest.raises(TooLargeError, match="cap"):
        fetcher.get(server.url("/huge.pdf"))


def test_size_cap_while_streaming_without_content_length(server, clock):
    server.route(
        "/huge.pdf",
        Reply(200, PDF * 200, {"Content-Type": "application/pdf"}, send_length=False),
    )
    fetcher = make_fetcher(clock, max_bytes=50_000)
    with fetcher, pytest.raises(TooLargeError, match="stopped"):
        fetcher.get(server.url("/huge.pdf"))


def test_redirect_within_allowed_hosts_is_followed(server, clock):
    server.route("/old.pdf", Reply(301, "", {"Location": "/new.pdf"}))
    server.route("/new.pdf", pdf_reply(PDF))
    with make_fetcher(clock) as fetcher:
        response = fetcher.get(server.url("/old.pdf"), allowed_hosts=["127.0.0.1"])
    assert response.final_url == server.url("/new.pdf")
    assert response.url == server.url("/old.pdf")


def test_redirect_to_a_foreign_host_is_refused(server, clock):
    foreign = f"http://localhost:{server.port}/elsewhere.pdf"
    server.route("/away.pdf", Reply(302, "", {"Location": foreign}))
    server.route("/elsewhere.pdf", pdf_reply(PDF))
    with make_fetcher(clock) as fetcher, pytest.raises(FetchError, match="allowed_hosts"):
        fetcher.get(server.url("/away.pdf"), allowed_hosts=["127.0.0.1"])
    assert server.seen("/elsewhere.pdf") == []


def test_redirect_loop_stops(server, clock):
    server.route("/loop", Reply(302, "", {"Location": "/loop"}))
    with make_fetcher(clock) as fetcher, pytest.raises(FetchError, match="redirected more"):
        fetcher.get(server.url("/loop"))
    assert len(server.seen("/loop")) == 6


def test_redirect_into_a_robots_forbidden_path_is_refused(server, clock):
    server.route("/robots.txt", Reply(200, "User-agent: *\nDisallow: /private/\n"))
    server.route("/go.pdf", Reply(302, "", {"Location": "/private/a.pdf"}))
    with make_fetcher(clock) as fetcher, pytest.raises(RobotsDisallowed):
        fetcher.get(server.url("/go.pdf"))
    assert server.seen("/private/a.pdf") == []


def test_per_host_delay_between_requests(server, clock):
    server.route("/a.pdf", pdf_reply(PDF))
    with make_fetcher(clock, delay=1.0) as fetcher:
        fetcher.get(server.url("/a.pdf"))
        fetcher.get(server.url("/a.pdf"))
        fetcher.get(server.url("/a.pdf"))
    # robots.txt, then three documents: each request after the first waits a full second
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_crawl_delay_wins_when_longer(server, clock):
    server.route("/robots.txt", Reply(200, "User-agent: *\nCrawl-delay: 4\n"))
    server.route("/a.pdf", pdf_reply(PDF))
    with make_fetcher(clock, delay=1.0) as fetcher:
        fetcher.get(server.url("/a.pdf"))
        fetcher.get(server.url("/a.pdf"))
    assert clock.sleeps[-1] == 4.0


def test_source_delay_wins_when_longer(server, clock):
    server.route("/a.pdf", pdf_reply(PDF))
    with make_fetcher(clock, delay=1.0) as fetcher:
        fetcher.get(server.url("/a.pdf"), delay=2.5)
        fetcher.get(server.url("/a.pdf"), delay=2.5)
    assert clock.sleeps[-1] == 2.5


def test_html_page_text_is_decoded(server, clock):
    server.route("/page", html_reply("<p>Child D: résumé</p>"))
    with make_fetcher(clock) as fetcher:
        response = fetcher.get(server.url("/page"))
    assert response.content_type == "text/html"
    assert "résumé" in response.text


def test_response_headers_are_read_whatever_their_case():
    response = Response("u", "u", 200, {"etag": '"x"', "content-type": "Application/PDF; q=1"})
    assert response.etag == '"x"' and response.content_type == "application/pdf"
    assert response.last_modified is None


def test_parse_retry_after_accepts_seconds_and_dates():
    now = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 01 May 2024 10:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_host_allowed_treats_www_and_bare_host_as_one():
    assert host_allowed("https://www.ddscp.org.uk/x.pdf", ["ddscp.org.uk"])
    assert host_allowed("https://ddscp.org.uk/x.pdf", ["www.ddscp.org.uk"])
    assert not host_allowed("https://evil.example/x.pdf", ["ddscp.org.uk"])
    assert host_allowed("https://evil.example/x.pdf", None)


def test_a_host_that_does_not_resolve_fails_at_once_without_retries(clock):
    # .invalid never resolves (RFC 2606): a failed name look-up is not worth backing off for.
    fetcher = make_fetcher(clock)
    with fetcher, pytest.raises(FetchError, match="cannot resolve the host") as caught:
        fetcher.get("http://no-such-board.invalid/reviews.pdf")
    assert "no-such-board.invalid" in str(caught.value)
    assert clock.sleeps == [], "no backoff sleeps for a name that does not resolve"
