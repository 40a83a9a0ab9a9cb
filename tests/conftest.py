"""Shared fixtures: the real corpus in ../shared, and fresh homes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SCRSEARCH_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"


def _shared_or_skip(path: Path) -> Path:
    if path.exists():
        return path
    reason = (
        f"{path} is absent: these tests read the real corpus in ../shared "
        "(set SCRSEARCH_SHARED to point elsewhere)"
    )
    if os.environ.get("SCRSEARCH_REQUIRE_SHARED") == "1":
        pytest.fail(reason + "; SCRSEARCH_REQUIRE_SHARED=1 makes that a failure")
    pytest.skip(reason)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, or a skip (a failure under SCRSEARCH_REQUIRE_SHARED=1)."""
    return _shared_or_skip(SHARED)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus, or a skip (a failure under SCRSEARCH_REQUIRE_SHARED=1)."""
    return _shared_or_skip(CORPUS)


def missing_tesseract(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Point scrsearch at a tesseract that is not there (the real detection path then finds it
    absent), and forget what this process found before; undone with the monkeypatch."""
    from scrsearch import ocr

    monkeypatch.setattr(ocr, "_engine_problem", {})
    monkeypatch.setenv(ocr.ENGINE_ENV, str(folder / "no-such-folder" / "tesseract"))


@pytest.fixture
def without_ocr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OCR engine: scans stay needs_ocr, as on a machine without Tesseract."""
    missing_tesseract(monkeypatch, tmp_path)


@pytest.fixture
def home(tmp_path: Path):
    """A fresh, empty scrsearch home."""
    from scrsearch.config import Home

    return Home(tmp_path / "home").ensure()


@pytest.fixture(scope="session")
def web_home(tmp_path_factory, corpus_dir):
    """The JTAI letters of the real corpus and a hostile PDF (text holding <script> and
    <img onerror>), indexed once for the web page's tests."""
    from scrsearch.config import Home
    from scrsearch.pipeline import add_paths, run_index
    from webserver import hostile_pdf

    home = Home(tmp_path_factory.mktemp("web") / "home").ensure()
    hostile = hostile_pdf(tmp_path_factory.mktemp("hostile") / "hostile.pdf")
    add_paths(home, [corpus_dir / "ofsted-jtai"])
    add_paths(home, [hostile], meta={"locality": "Bradford", "year": 2019})
    run_index(home)
    return home
