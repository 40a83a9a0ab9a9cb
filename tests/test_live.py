"""Smoke tests against the real built-in sources. They need the internet, so they are skipped
unless asked for: `pytest -m live tests/test_live.py`.

Each lists one source in a dry run (listing pages only, politely, robots.txt obeyed) and
expects at least one document link; a failure means the site moved or changed its layout,
and its entry in src/scrsearch/data/sources.toml needs updating.
"""

from __future__ import annotations

import pytest

from scrsearch.config import Home
from scrsearch.crawl import crawl
from scrsearch.fetch import Fetcher
from scrsearch.sources import builtin_sources

pytestmark = pytest.mark.live


@pytest.mark.parametrize("name", sorted(builtin_sources()))
def test_builtin_source_lists_at_least_one_document(name: str, tmp_path):
    home = Home(tmp_path / "home")
    with Fetcher(timeout=(15.0, 60.0)) as fetcher:
        summary = crawl(home, [name], dry_run=True, max_documents=5, fetcher=fetcher)
    reasons = "; ".join(f.reason for f in summary.failures)
    assert summary.planned, f"{name}: no document links found ({reasons or 'no failures'})"
    assert all(link.url.startswith(("http://", "https://")) for link in summary.planned)


def test_national_panel_first_document_is_a_pdf(tmp_path):
    home = Home(tmp_path / "home")
    with Fetcher(timeout=(15.0, 120.0)) as fetcher:
        summary = crawl(home, ["national-panel"], max_documents=1, fetcher=fetcher)
    assert summary.new + summary.unchanged == 1, summary.failures
