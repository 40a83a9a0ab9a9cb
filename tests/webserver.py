"""Helpers for the web page's tests: a real uvicorn server in a thread, a headless Chromium
from the distribution's packages, and a PDF whose text tries to inject markup."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SCRSEARCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SCRSEARCH_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Flags that work as root in a container, and keep the browser off the network.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1000",
)  # fmt: skip

SCRIPT_TEXT = '<script>window.pwned = 1; alert("pwned")</script>'
IMG_TEXT = "<img src=x onerror=window.pwned2=1>"
HOSTILE_TITLE = "Hostile <b>review</b> of <script>x</script> neglect"


def hostile_pdf(path: Path) -> Path:
    """A real PDF whose text holds a script tag and an <img onerror> among ordinary words."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pages = [
        [HOSTILE_TITLE, "", "Child safeguarding practice review: neglect and home conditions."],
        [
            "The pwned marker starts here.",
            SCRIPT_TEXT,
            IMG_TEXT,
            "Professionals did not recognise the chronic neglect of the children.",
        ],
    ]
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(w=0, text=line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_title(HOSTILE_TITLE)
    pdf.output(str(path))
    return path


def _require_or_skip(reason: str) -> None:
    if os.environ.get("SCRSEARCH_REQUIRE_SHARED") == "1":
        pytest.fail(reason + "; CI (SCRSEARCH_REQUIRE_SHARED=1) needs it: .ci/run installs it")
    pytest.skip(reason)


class LiveServer:
    """`scrsearch serve`'s app under a real uvicorn on 127.0.0.1 and a free port, in a thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def chromium(download_dir: Path):
    """A headless Chromium driven by Selenium through the distribution's chromedriver (nothing
    is downloaded), or a skip saying what to install."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        _require_or_skip(
            f"{CHROMIUM} or {CHROMEDRIVER} is absent: apt-get install chromium chromium-driver "
            "to run the browser tests"
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _require_or_skip("selenium is not installed: pip install -e '.[test]'")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="scrsearch-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.scrsearch_profile = profile
    return driver


def close_chromium(driver) -> None:
    profile = getattr(driver, "scrsearch_profile", None)
    driver.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)


def axe_source() -> str | None:
    """axe-core's axe.min.js, from SCRSEARCH_AXE_JS or a node_modules that .ci/run fills."""
    candidates = [os.environ.get("SCRSEARCH_AXE_JS", "")]
    candidates += [
        str(Path.home() / ".cache/scrsearch-axe/node_modules/axe-core/axe.min.js"),
        "/usr/lib/node_modules/axe-core/axe.min.js",
        "/usr/local/lib/node_modules/axe-core/axe.min.js",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text(encoding="utf-8")
    return None
