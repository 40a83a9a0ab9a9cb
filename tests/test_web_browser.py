"""`scrsearch serve` in a real browser: headless Chromium from the distribution's packages,
driven by Selenium through /usr/bin/chromedriver (nothing downloads a browser).

Skipped with the reason when Chromium, chromedriver or selenium is absent; a failure under
SCRSEARCH_REQUIRE_SHARED=1 (CI), where `.ci/run` installs them. The README's screenshot of the
search page is made here: SCRSEARCH_WRITE_SCREENSHOT=1 writes it to docs/web-search.png.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")

from scrsearch.export import COLUMNS  # noqa: E402
from scrsearch.web import create_app  # noqa: E402
from webserver import (  # noqa: E402
    HOSTILE_TITLE,
    IMG_TEXT,
    SCRIPT_TEXT,
    LiveServer,
    _require_or_skip,
    axe_source,
    chromium,
    close_chromium,
)

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "web-search.png"


@pytest.fixture(scope="module")
def server(web_home):
    with LiveServer(create_app(web_home)) as live:
        yield live


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    driver = chromium(downloads)
    yield driver
    close_chromium(driver)


@pytest.fixture
def clean(browser):
    """The browser with its console log emptied, and a check after the test that no page
    logged an error (a CSP violation, a failed script, a missing file)."""
    browser.get_log("browser")
    yield browser
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def by_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def all_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait_for(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def no_alert(driver) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert  # noqa: B018 - reading it raises when there is none
    except NoAlertPresentException:
        return True
    return False


def test_type_a_query_and_see_results(clean, server):
    from selenium.webdriver.common.keys import Keys

    clean.get(server.url + "/")
    assert by_css(clean, "h1").text == "Search case reviews"
    box = by_css(clean, "#q")
    box.send_keys("strategy meetings", Keys.ENTER)
    wait_for(lambda: "q=strategy+meetings" in clean.current_url)
    heading = by_css(clean, "#results-heading").text
    assert heading.endswith("match strategy meetings") and int(heading.split()[0]) > 0
    results = all_css(clean, "li.result")
    assert len(results) == 10
    assert all_css(results[0], "mark"), "no highlighted words in the first result"
    assert by_css(results[0], "a.page-link").text.startswith("open page ")
    png = clean.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG")
    if os.environ.get("SCRSEARCH_WRITE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(png)
    # Progressive enhancement: "/" brings the focus back to the query box.
    by_css(clean, "body").send_keys("/")
    assert clean.switch_to.active_element.get_attribute("id") == "q"


def test_click_a_facet_and_the_counts_and_url_change(clean, server):
    clean.get(server.url + "/?q=strategy+meetings")
    total_before = int(by_css(clean, "#results-heading").text.split()[0])
    link = by_css(clean, 'ul[data-facet="theme"] a')
    value = link.get_attribute("data-value")
    count = int(by_css(link, ".count").text)
    link.click()
    wait_for(lambda: "theme=" in clean.current_url)
    state = parse_qs(urlsplit(clean.current_url).query)
    assert state == {"q": ["strategy meetings"], "theme": [value]}
    assert int(by_css(clean, "#results-heading").text.split()[0]) == count <= total_before
    chosen = by_css(clean, 'ul[data-facet="theme"] a[aria-current]')
    assert chosen.get_attribute("data-value") == value
    # The link reopens the same search; the chip removes the filter again.
    clean.get(clean.current_url)
    assert int(by_css(clean, "#results-heading").text.split()[0]) == count
    by_css(clean, ".chips a").click()
    wait_for(lambda: "theme=" not in clean.current_url)
    assert int(by_css(clean, "#results-heading").text.split()[0]) == total_before


def test_open_a_report_and_its_page_in_the_original(clean, server):
    clean.get(server.url + "/?q=strategy+meetings")
    title_link = by_css(clean, "li.result h3 a")
    title = title_link.text
    title_link.click()
    wait_for(lambda: "/reports/" in clean.current_url)
    assert by_css(clean, "h1").text == title
    assert all_css(clean, ".passage mark"), "the query is not highlighted on the report page"
    page_link = by_css(clean, ".passage a.page-link")
    href = page_link.get_attribute("href")
    number = page_link.text.removeprefix("open page ")
    assert href.endswith(f"/original#page={number}")
    # What the link serves: the stored PDF (checked from the page, as the browser fetches it).
    served = clean.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done("
        "[r.headers.get('content-type'), String.fromCharCode(...new Uint8Array(b.slice(0, 5)))]"
        ")));",
        href,
    )
    assert served == ["application/pdf", "%PDF-"]
    page_link.click()
    wait_for(lambda: "/original" in clean.current_url)
    assert clean.current_url == href
    assert urlsplit(clean.current_url).fragment == f"page={number}"


def test_download_an_export_and_parse_it(clean, server, downloads):
    for old in downloads.iterdir():
        old.unlink()
    clean.get(server.url + "/?q=strategy+meetings&theme=neglect")
    by_css(clean, 'a[href^="/export.csv"]').click()
    done = wait_for(lambda: [p for p in downloads.glob("*.csv") if p.stat().st_size])
    rows = list(csv.DictReader(done[0].open(encoding="utf-8", newline="")))
    heading = int(by_css(clean, "#results-heading").text.split()[0])
    assert rows and list(rows[0]) == list(COLUMNS)
    assert len({r["report_id"] for r in rows}) == heading
    assert all("neglect" in r["report_tags"] for r in rows)
    by_css(clean, 'a[href^="/export.jsonl"]').click()
    lines = wait_for(
        lambda: [
            p.read_text(encoding="utf-8").splitlines()
            for p in downloads.glob("*.jsonl")
            if p.stat().st_size
        ]
    )[0]
    assert json.loads(lines[0])["type"] == "meta" and len(lines) == len(rows) + 1


def test_crafted_pdf_text_shows_as_text_and_no_script_runs(clean, server):
    for url in (server.url + "/?q=pwned",):
        clean.get(url)
        result = wait_for(lambda: all_css(clean, "li.result"))[0]
        text = result.text
        assert SCRIPT_TEXT in text and IMG_TEXT in text
        assert HOSTILE_TITLE.split(" neglect")[0] in by_css(result, "h3").text
        assert no_alert(clean)
        assert clean.execute_script("return [window.pwned, window.pwned2]") == [None, None]
        assert not all_css(clean, "main script, main img")
        by_css(result, "h3 a").click()
        wait_for(lambda: "/reports/" in clean.current_url)
        assert SCRIPT_TEXT in by_css(clean, "main").text
        assert no_alert(clean)
        assert clean.execute_script("return [window.pwned, window.pwned2]") == [None, None]
        assert not all_css(clean, "main script, main img")


@pytest.mark.parametrize(
    "path",
    ["/", "/?q=strategy+meetings&theme=neglect", "/?q=%22unclosed", "/help",
     "/counts?by=year&by=theme", "/counts?by=region", "REPORT"],
)  # fmt: skip
def test_pages_pass_the_axe_core_accessibility_check(clean, server, path):
    source = axe_source()
    if source is None:
        _require_or_skip(
            "axe-core is not installed: npm install --prefix ~/.cache/scrsearch-axe axe-core "
            "(or set SCRSEARCH_AXE_JS to its axe.min.js)"
        )
    if path == "REPORT":
        clean.get(server.url + "/?q=strategy+meetings")
        path = by_css(clean, "li.result h3 a").get_attribute("href").removeprefix(server.url)
    clean.get(server.url + path)
    if "unclosed" in path:  # the friendly error page is a 400, which the console notes
        assert [e["message"] for e in clean.get_log("browser")] == [
            f"{server.url}{path} - Failed to load resource: the server responded with a status "
            "of 400 (Bad Request)"
        ]
    # Injected through the driver, not the page: the page's CSP allows no inline script.
    clean.execute_script(source)
    found = clean.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length,"
        " v.nodes.slice(0, 3).map(n => n.target.join(' '))])));"
    )
    assert found == [], found


def test_screenshot_in_the_readme_exists():
    assert SCREENSHOT.is_file(), (
        f"{SCREENSHOT} is missing: SCRSEARCH_WRITE_SCREENSHOT=1 pytest {__file__} makes it"
    )
    assert SCREENSHOT.read_bytes().startswith(b"\x89PNG")
    assert f"]({SCREENSHOT.relative_to(REPO)})" in (REPO / "README.md").read_text()
