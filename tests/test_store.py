"""The catalogue and content-addressed originals."""

from __future__ import annotations

import sqlite3

import pytest

from scrsearch.errors import UsageError
from scrsearch.store import Store, sha256_of, write_atomically


def test_same_bytes_twice_is_a_no_op(home, tmp_path):
    first = tmp_path / "a.pdf"
    second = tmp_path / "copy-of-a.pdf"
    first.write_bytes(b"%PDF-1.4 same bytes")
    second.write_bytes(b"%PDF-1.4 same bytes")
    with Store(home) as store:
        added = store.add_file(first)
        again = store.add_file(second)
        assert added.is_new and not again.is_new
        assert again.document.sha256 == added.document.sha256 == sha256_of(first.read_bytes())
        assert len(store.documents()) == 1
        stored = home.root / added.document.path
        assert stored.read_bytes() == first.read_bytes()
        assert added.document.sha256 in stored.name


def test_catalogue_is_wal_and_has_one_row_per_document(home, tmp_path):
    for n in range(3):
        (tmp_path / f"{n}.pdf").write_bytes(b"%PDF-1.4 " + bytes([n]))
    with Store(home) as store:
        for n in range(3):
            store.add_file(tmp_path / f"{n}.pdf", meta={"year": 2015 + n})
        assert [d.year for d in store.documents()] == [2015, 2016, 2017]
    db = sqlite3.connect(home.catalogue_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_given_metadata_wins_over_inference(home, tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 x")
    with Store(home) as store:
        doc = store.add_file(tmp_path / "x.pdf", meta={"locality": "Calderdale"}).document
        store.set_metadata(doc.sha256, {"locality": "Leeds", "year": 2019}, {"year": "text:p1"})
        after = store.document(doc.sha256)
    assert after.locality == "Calderdale" and after.meta_origin["locality"] == "given"
    assert after.year == 2019 and after.meta_origin["year"] == "text:p1"


def test_new_given_metadata_on_an_indexed_document_makes_it_pending(home, tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 x")
    with Store(home) as store:
        doc = store.add_file(tmp_path / "x.pdf").document
        store.mark_indexed([doc.sha256])
        store.add_file(tmp_path / "x.pdf", meta={"year": 2001})
        assert store.document(doc.sha256).status == "pending"
        assert store.document(doc.sha256).year == 2001


def test_resolve_report_ids(home, tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 x")
    with Store(home) as store:
        doc = store.add_file(tmp_path / "x.pdf").document
        assert store.resolve(doc.report_id).sha256 == doc.sha256
        assert store.resolve(doc.sha256[:6].upper()).sha256 == doc.sha256
        with pytest.raises(UsageError, match="no report"):
            store.resolve("000000000000" if not doc.sha256.startswith("0") else "ffffffffffff")
        with pytest.raises(UsageError, match="6 hex digits"):
            store.resolve("xyz")


def test_write_atomically_leaves_no_temp_file_on_failure(tmp_path):
    target = tmp_path / "f.bin"
    write_atomically(target, b"good")

    with pytest.raises(TypeError):
        write_atomically(target, object())  # type: ignore[arg-type]
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_link_text_metadata_wins_over_text_inference_but_not_over_given(home, tmp_path):
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 x")
    with Store(home) as store:
        doc = store.add_file(tmp_path / "x.pdf").document
        store.set_metadata(doc.sha256, {"doc_type": "overview_report"}, {"doc_type": "link"})
        store.set_metadata(doc.sha256, {"doc_type": "inspection_report"}, {"doc_type": "text:p1"})
        assert store.document(doc.sha256).doc_type == "overview_report"
        store.add_file(tmp_path / "x.pdf", meta={"doc_type": "briefing"})
        assert store.document(doc.sha256).doc_type == "briefing"
        assert store.document(doc.sha256).meta_origin["doc_type"] == "given"
