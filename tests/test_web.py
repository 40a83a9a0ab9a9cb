"""`scrsearch serve` over plain HTTP: the API is the CLI's JSON, ids and paths are checked,
bad input is a friendly page, nothing changes the home, and document text is escaped."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")

from click.testing import CliRunner  # noqa: E402

from scrsearch.cli import main  # noqa: E402
from scrsearch.config import Home  # noqa: E402
from scrsearch.export import COLUMNS  # noqa: E402
from scrsearch.web import create_app  # noqa: E402
from scrsearch.web.markup import marks  # noqa: E402
from scrsearch.web.state import MAX_QUERY_CHARS, SearchState  # noqa: E402
from webserver import IMG_TEXT, SCRIPT_TEXT, LiveServer  # noqa: E402


@pytest.fixture(scope="module")
def client(web_home):
    """An HTTP client of the app under a real uvicorn on 127.0.0.1 and a free port."""
    import httpx

    with (
        LiveServer(create_app(web_home)) as live,
        httpx.Client(base_url=live.url, timeout=60) as http,
    ):
        yield http


def cli(home: Home, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home.root), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def cli_error(home: Home, *args: str) -> str:
    result = CliRunner().invoke(main, ["--home", str(home.root), *args])
    assert result.exit_code == 2, result.output
    return result.stderr.strip()


def page_text(response) -> str:
    """The visible text of a page, roughly: tags dropped (marks without a trace), entities
    decoded."""
    unmarked = re.sub(r"</?mark>", "", response.text)
    return html.unescape(re.sub(r"<[^>]+>", " ", unmarked))


# -- the API is the CLI's JSON ---------------------------------------------------------------


SEARCHES = [
    ("", []),
    ("q=neglect", ["neglect"]),
    ("q=%22strategy+meetings%22&theme=neglect", ['"strategy meetings"', "--theme", "neglect"]),
    ("q=police+-housing&year=2015-2019&limit=3&offset=2",
     ["police -housing", "--year", "2015-2019", "--limit", "3", "--offset", "2"]),
    ("region=North+West&issue=voice_of_child&risk=domestic_abuse",
     ["--region", "North West", "--issue", "voice_of_child", "--risk", "domestic_abuse"]),
    ("q=neglect&explain=1&limit=2", ["neglect", "--explain", "--limit", "2"]),
    ("q=missing&from=2016&to=2019&doc_type=inspection_report&limit=0",
     ["missing", "--year", "2016-2019", "--doc-type", "inspection_report", "--limit", "0"]),
]  # fmt: skip


@pytest.mark.parametrize(("params", "args"), SEARCHES, ids=[s[0] or "browse" for s in SEARCHES])
def test_api_search_is_the_cli_json(client, web_home, params, args):
    from_api = client.get(f"/api/search?{params}")
    assert from_api.status_code == 200, from_api.text
    from_cli = json.loads(cli(web_home, "search", *args, "--format", "json"))
    assert from_api.json() == from_cli
    assert from_cli["total"] > 0 or "limit=0" in params


def test_api_report_is_the_cli_show_json(client, web_home):
    report_id = json.loads(cli(web_home, "search", "neglect", "--format", "json"))["results"][0][
        "report_id"
    ]
    assert client.get(f"/api/reports/{report_id}").json() == json.loads(
        cli(web_home, "show", report_id, "--format", "json")
    )
    with_page = client.get(f"/api/reports/{report_id}?page=2").json()
    assert with_page == json.loads(
        cli(web_home, "show", report_id, "--page", "2", "--format", "json")
    )
    assert with_page["page"] == 2 and with_page["text"]


def test_api_errors_are_the_cli_messages(client, web_home):
    response = client.get("/api/search", params={"q": '"unclosed'})
    assert response.status_code == 400
    assert "Error: " + response.json()["error"] == cli_error(web_home, "search", '"unclosed')
    response = client.get("/api/reports/zz")
    assert response.status_code == 400 and "at least 6 hex digits" in response.json()["error"]
    response = client.get("/api/reports/000000")
    assert response.status_code == 404 and "no report has the id" in response.json()["error"]


# -- pages: search, facets, state in the URL ---------------------------------------------------


def test_search_page_lists_results_passages_and_facets(client, web_home):
    payload = json.loads(cli(web_home, "search", "strategy meetings", "--format", "json"))
    response = client.get("/?q=strategy+meetings")
    assert response.status_code == 200
    text = page_text(response)
    assert f"{payload['total']} reports match strategy meetings" in " ".join(text.split())
    first = payload["results"][0]
    assert first["title"] in text
    page = first["passages"][0]["page"]
    assert f'href="/reports/{first["report_id"]}/original#page={page}"' in response.text
    assert "<mark>" in response.text  # the query's words are highlighted
    assert 'name="q"' in response.text and '<label for="q">' in response.text


def test_facet_link_adds_a_filter_and_its_count_is_the_new_total(client):
    response = client.get("/?q=strategy+meetings")
    found = re.search(
        r'<ul data-facet="theme">\s*<li><a href="([^"]+)" data-value="([^"]+)">[^<]*'
        r'<span class="count">(\d+)</span>',
        response.text,
    )
    assert found, "no theme facet link on the page"
    url, value, count = html.unescape(found.group(1)), found.group(2), int(found.group(3))
    assert parse_qs(urlsplit(url).query) == {"q": ["strategy meetings"], "theme": [value]}
    narrowed = client.get(url)
    assert client.get("/api/search?" + urlsplit(url).query).json()["total"] == count
    assert re.search(rf"{count} reports?\s+match", narrowed.text)
    # The chosen value is shown and removable: its link leads back to the first search.
    removal = re.search(r'<a href="([^"]+)" aria-label="Remove filter Theme: ', narrowed.text)
    assert removal and html.unescape(removal.group(1)) == "/?q=strategy+meetings"


def test_state_round_trips_through_the_url():
    params = {
        "q": ['"voice of the child" neglect'], "theme": ["neglect", "infants"],
        "locality": ["Bradford"], "from": ["2014"], "to": ["2019"], "page": ["3"],
        "per_page": ["20"],
    }  # fmt: skip
    state = SearchState.from_params(params)
    again = SearchState.from_params(parse_qs(urlsplit(state.url()).query))
    assert again == state and state.offset == 40 and state.limit == 20
    assert state.request().filters.years == ((2014, 2019),)
    assert state.request().filters.themes == ("neglect", "infants")


def test_paging_links_reach_the_next_page(client):
    first = client.get("/?q=neglect")
    link = re.search(r'<a href="([^"]+)" aria-label="Page 2">', first.text)
    assert link, "no link to page 2"
    second = client.get(html.unescape(link.group(1)))
    api = client.get("/api/search?q=neglect&offset=10").json()
    assert api["results"][0]["title"] in page_text(second)
    assert "showing 11–" in page_text(second)


def test_bad_query_is_a_friendly_page_with_the_cli_error(client, web_home):
    for query in ('"unclosed', "foo:bar", "*ing", "neglect OR"):
        response = client.get("/", params={"q": query})
        assert response.status_code == 400, query
        assert cli_error(web_home, "search", query) in page_text(response)
        assert "That search could not run" in response.text
    response = client.get("/?theme=not_a_theme")
    assert response.status_code == 400
    assert cli_error(web_home, "search", "--theme", "not_a_theme") in page_text(response)


def test_long_query_and_bad_numbers_are_refused_politely(client):
    response = client.get("/", params={"q": "neglect " * (MAX_QUERY_CHARS // 4)})
    assert response.status_code == 400 and f"the limit is {MAX_QUERY_CHARS}" in response.text
    for bad in ("page=0", "page=x", "per_page=1000", "from=20x"):
        response = client.get(f"/?q=neglect&{bad}")
        assert response.status_code == 400 and "Error: " in response.text, bad


def test_a_home_without_an_index_says_what_to_do(home):
    import httpx

    with LiveServer(create_app(home)) as live:
        response = httpx.get(live.url + "/?q=neglect", timeout=60)
    assert response.status_code == 503
    assert "scrsearch index" in page_text(response)


# -- reports, originals, ids -------------------------------------------------------------------


def test_report_page_has_metadata_origins_tags_evidence_and_passages(client, web_home):
    found = json.loads(cli(web_home, "search", "strategy meetings", "--format", "json"))
    report_id = found["results"][0]["report_id"]
    shown = json.loads(cli(web_home, "show", report_id, "--format", "json"))
    response = client.get(f"/reports/{report_id}?q=strategy+meetings")
    assert response.status_code == 200
    text = " ".join(page_text(response).split())
    assert shown["title"] in text
    origin = next(iter(shown["meta_origin"].values()))
    assert f"(from {origin})" in text  # where a value came from
    for tag in shown["tags"]:
        assert tag["label"] in text
    assert "Passages with words of “strategy meetings”" in text
    assert re.search(r"\d+ of \d+ passages have a word of the query", text)
    pages = [int(p) for p in re.findall(r"original#page=(\d+)\">open page", response.text)]
    assert pages and all(1 <= p <= shown["pages"] for p in pages)
    listed = response.text.split('id="passages"', 1)[1]
    in_order = [int(p) for p in re.findall(r"original#page=(\d+)", listed)]
    assert in_order == sorted(in_order)  # passages in page order
    assert "<mark>" in listed


def test_original_is_the_stored_pdf_and_ids_are_checked(client, web_home):
    report_id = json.loads(cli(web_home, "search", "neglect", "--format", "json"))["results"][0][
        "report_id"
    ]
    shown = json.loads(cli(web_home, "show", report_id, "--format", "json"))
    response = client.get(f"/reports/{report_id}/original")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline")
    assert hashlib.sha256(response.content).hexdigest() == shown["sha256"]
    for path, status in [
        ("/reports/zzzzzz/original", 400),  # not hex: refused before the catalogue is read
        ("/reports/abc/original", 400),  # too short
        ("/reports/000000000000/original", 404),  # hex but not in the catalogue
        ("/reports/..%2F..%2Fcatalogue.sqlite/original", 404),
        ("/reports/%2e%2e/original", 400),
        ("/static/../catalogue.sqlite", 404),
        ("/static/%2e%2e/%2e%2e/%2e%2e/config.py", 404),
    ]:
        response = client.get(path)
        assert response.status_code == status, path
        assert b"%PDF" not in response.content[:10] and b"SQLite" not in response.content[:20]


def test_every_route_is_read_only(client, web_home):
    def snapshot():
        return {
            p.relative_to(web_home.root): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in web_home.root.rglob("*")
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))
        }

    before = snapshot()
    report_id = client.get("/api/search?q=neglect").json()["results"][0]["report_id"]
    routes = ["/", "/?q=neglect&theme=neglect", "/help", "/counts?by=year&by=theme",
              f"/reports/{report_id}", f"/reports/{report_id}/original", "/export.csv?q=neglect",
              "/export.jsonl?q=neglect", "/export.meta.json?q=neglect", "/api/search?q=neglect",
              f"/api/reports/{report_id}"]  # fmt: skip
    for route in routes:
        assert client.get(route).status_code == 200, route
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert client.request(method, route).status_code == 405, (method, route)
    assert snapshot() == before


# -- safety: escaping and headers --------------------------------------------------------------


def test_document_text_is_escaped_and_inline_script_forbidden(client):
    response = client.get("/?q=pwned")
    assert response.status_code == 200
    assert html.escape(SCRIPT_TEXT, quote=False)[:20] in response.text
    assert "<script>window.pwned" not in response.text and "<img src=x" not in response.text
    assert SCRIPT_TEXT in page_text(response) and IMG_TEXT in page_text(response)
    # The title, from the PDF's text, is escaped too.
    assert "<b>review</b>" not in response.text and "&lt;b&gt;review&lt;/b&gt;" in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    # The only script element on any page is the static file.
    assert re.findall(r"<script[^>]*>", response.text) == ['<script src="/static/app.js" defer>']
    report_id = client.get("/api/search?q=pwned").json()["results"][0]["report_id"]
    report = client.get(f"/reports/{report_id}")
    assert "<script>window.pwned" not in report.text and SCRIPT_TEXT in page_text(report)


def test_marks_filter_escapes_everything_but_balanced_marks():
    out = str(marks("a <mark>b</mark> <script>x</script> </mark> <mark>c"))
    assert out == "a <mark>b</mark> &lt;script&gt;x&lt;/script&gt; &lt;/mark&gt; <mark>c</mark>"


# -- export and counts -------------------------------------------------------------------------


def test_export_download_is_the_cli_export(client, web_home):
    response = client.get("/export.csv?q=strategy+meetings&theme=neglect")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="scrsearch-export.csv"'
    result = CliRunner().invoke(
        main, ["--home", str(web_home.root), "export", "strategy meetings", "--theme", "neglect"]
    )
    assert result.exit_code == 0
    assert response.content == result.stdout_bytes  # byte for byte, CRLF rows included
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and list(rows[0]) == list(COLUMNS)
    jsonl = client.get("/export.jsonl?q=strategy+meetings&theme=neglect").text.splitlines()
    from_cli = cli(web_home, "export", "strategy meetings", "--theme", "neglect",
                   "--format", "jsonl").splitlines()  # fmt: skip
    meta = json.loads(jsonl[0])
    assert meta["type"] == "meta" and meta["filters"] == {"themes": ["neglect"]}
    assert jsonl[1:] == from_cli[1:] and len(jsonl) == len(rows) + 1
    side = client.get("/export.meta.json?q=strategy+meetings&theme=neglect").json()
    assert side["query"] == "strategy meetings" and side["columns"] == list(COLUMNS)


def test_counts_page_shows_the_stats_table_and_a_chart(client, web_home):
    table = json.loads(cli(web_home, "stats", "neglect", "--by", "region", "--format", "json"))
    response = client.get("/counts?q=neglect&by=region")
    assert response.status_code == 200
    shown = {
        html.unescape(re.sub(r"<[^>]+>", "", name)): int(n)
        for name, n in re.findall(
            r'<tr><th scope="row">(.*?)</th><td class="n">(\d+)</td></tr>', response.text
        )
    }
    assert shown == {(r["region"] or "(none)"): r["count"] for r in table["rows"]}
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in response.text
    cross = json.loads(cli(web_home, "stats", "--by", "year", "--by", "theme", "--format", "json"))
    response = client.get("/counts?by=year&by=theme")
    cells = [int(n) for n in re.findall(r'<td class="n">(\d+)</td>', response.text)]
    assert cells == [r["count"] for r in cross["rows"]]
    bad = client.get("/counts?by=colour")
    assert bad.status_code == 400 and "--by 'colour' is not one of" in page_text(bad)


# -- the command -----------------------------------------------------------------------------


def _serve(home: Home, *args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scrsearch",
            "--home",
            str(home.root),
            "serve",
            "--port",
            "0",
            *args,
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if line.startswith("Serving") or not line:
            break
    return process, "".join(lines)


def test_serve_command_listens_on_this_computer_only_by_default(web_home):
    import httpx

    process, said = _serve(web_home)
    try:
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", said)
        assert url, said
        assert "Warning" not in said
        assert httpx.get(url.group(1) + "?q=neglect", timeout=30).status_code == 200
    finally:
        process.terminate()
        process.wait(10)


def test_serve_on_another_host_warns_there_is_no_login(web_home):
    process, said = _serve(web_home, "--host", "0.0.0.0")
    try:
        assert "Warning: --host 0.0.0.0" in said and "no login" in said
        assert "Serving" in said
    finally:
        process.terminate()
        process.wait(10)


def test_report_passages_listed_for_a_query_are_those_the_highlighter_marks(web_home):
    from scrsearch.engine import strict_highlighter
    from scrsearch.report_detail import passage_stems, report_passages, show_report
    from scrsearch.web.markup import matching_passages

    report_id = json.loads(cli(web_home, "search", "strategy meetings", "--format", "json"))[
        "results"
    ][0]["report_id"]
    shown = show_report(web_home, report_id)
    passages = report_passages(shown.text, shown.doc.sha256)
    stems = passage_stems(passages)
    queries = ("child", "safeguard*", '"strategy meetings"', "police OR housing",
               "meetings -police", '"voice of the child" neglect', "title:inspection")  # fmt: skip
    for query in queries:
        highlighter = strict_highlighter(query)
        every = [i for i, p in enumerate(passages) if highlighter.spans(p.text)]
        assert matching_passages(highlighter, passages, stems) == every, query
        assert every or query == "title:inspection", query
    # A query of report fields only marks no words: the page lists every passage.
    only_fields = strict_highlighter("theme:neglect")
    assert matching_passages(only_fields, passages, stems) == list(range(len(passages)))


def test_search_page_shows_how_search_read_the_query_when_it_says(web_home):
    """Fields a search may add (best match's notes, partial results) are shown when there;
    words from the query are escaped there too."""
    web = create_app(web_home).state.web
    payload = json.loads(cli(web_home, "search", "neglect", "--limit", "2", "--format", "json"))
    payload.update(
        understood={"locality": "Bradford", "year": 2019},
        expanded={"cse": ["sexual exploitation"]},
        ignored=["the"],
        unknown=["<b>zzz</b>"],
        suggestions={"<b>zzz</b>": ["buzz"]},
        partial=True,
    )
    payload["results"][0].update(partial=True, missing=["housing"])
    html_text = web.env.get_template("search.html").render(
        state=SearchState(query="neglect"), payload=payload, facets=[], chosen=[], pages=[],
        per_page_choices=(10,), error=None,
    )  # fmt: skip
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_text)).split())
    assert "Understood: locality Bradford, year 2019" in text
    assert "Also searched for cse: sexual exploitation" in text
    assert "Ignored: the" in text and "partial matches follow" in text
    assert "No passage holds “<b>zzz</b>”; did you mean buzz?" in text
    assert "<b>zzz</b>" not in html_text
    assert "(partial match)" in text and "Lacks: housing" in text


def test_match_options_ride_in_the_url():
    state = SearchState.from_params({"q": ["cse"], "all_words": ["1"], "no_expand": ["1"]})
    assert (state.all_words, state.no_expand) == (True, True)
    assert "all_words=1" in state.url() and "no_expand=1" in state.adding("theme", "neglect")
