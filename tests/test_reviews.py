"""Reviews: copies of one review are grouped by text, never two different documents of the
real corpus; results and counts are per review; hand decisions and versions."""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from copymaker import prose, redacted, resaved, text_pdf, with_cover, without_last_page
from httpserver import LocalServer, board_source_toml, html_reply, pdf_reply
from scrsearch import reviews
from scrsearch.cli import main
from scrsearch.config import Home
from scrsearch.extract import extract_pdf
from scrsearch.store import Store, sha256_of

BLACKPOOL = (
    "ofsted-jtai/80431_blackpool/joint area child protection inspection - 31 january 2025.pdf"
)
BRADFORD_2018 = "ofsted-ilacs/80449_bradford/children's services inspection - 29 october 2018.pdf"


def cli(home: Home, *args: str):
    return CliRunner().invoke(main, ["--home", str(home.root), *args])


def ok(home: Home, *args: str) -> str:
    result = cli(home, *args)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def sha_of_file(store: Store, path: Path) -> str:
    return next(d.sha256 for d in store.documents() if d.added_from == str(path))


@pytest.fixture(scope="module")
def corpus_home(corpus_dir: Path, tmp_path_factory):
    """The real corpus indexed, then four copies of two of its reports added and indexed.

    Yields (home, {copy kind: (copy sha256, original sha256)}, figures before the copies).
    """
    home = Home(tmp_path_factory.mktemp("reviews") / "home").ensure()
    ok(home, "add", str(corpus_dir))
    ok(home, "index")
    before = {
        "stats": json.loads(ok(home, "stats", "--by", "year", "--format", "json")),
        "files": json.loads(ok(home, "stats", "--by", "year", "--format", "json", "--all-copies")),
        "search": json.loads(ok(home, "search", "Blackpool", "--format", "json")),
    }
    copies_dir = tmp_path_factory.mktemp("copies")
    blackpool, bradford = corpus_dir / BLACKPOOL, corpus_dir / BRADFORD_2018
    made = {
        "resaved": (resaved(blackpool), blackpool),
        "redacted": (redacted(list(extract_pdf(blackpool).pages)), blackpool),
        "cover": (
            with_cover(
                bradford,
                "Published by the Safeguarding Children Partnership. Reproduced with permission.",
            ),
            bradford,
        ),  # fmt: skip
        "last_page_dropped": (without_last_page(bradford), bradford),
    }
    for kind, (data, _original) in made.items():
        (copies_dir / f"{kind}.pdf").write_bytes(data)
    ok(home, "add", str(copies_dir))
    ok(home, "index")
    with Store(home) as store:
        pairs = {
            kind: (sha_of_file(store, copies_dir / f"{kind}.pdf"), sha_of_file(store, original))
            for kind, (_data, original) in made.items()
        }
    return home, pairs, before


#: Two scans in the corpus whose true text is one and the same (shared/corpus/SOURCES.md:
#: "linn.txt is the true text of skew.pdf and ccitt.pdf"): once OCR reads them, one review.
SAME_TEXT = ("skew.pdf", "ccitt.pdf")


def test_no_two_documents_of_the_real_corpus_are_grouped(corpus_home):
    home, pairs, _before = corpus_home
    made = {copy for copy, _original in pairs.values()}
    with Store(home) as store:
        indexed = store.documents(["indexed"])
        same = [d for d in indexed if d.original_name in SAME_TEXT]
        if len(same) == 2:  # both OCR'd (Tesseract installed): copies of one review
            assert len({reviews.review_id_of(store, d.sha256) for d in same}) == 1
        docs = [d for d in indexed if d.sha256 not in made and d.original_name != SAME_TEXT[1]]
        texts = {  # every shingle, as the exact check after the LSH lookup compares them
            d.sha256: reviews.shingles_of(store.cached_text(d.sha256).pages, sample=1) for d in docs
        }
        review_ids = {d.sha256: reviews.review_id_of(store, d.sha256) for d in docs}
    assert len(docs) >= 70
    # The catalogue: every document of the corpus is a review of its own.
    assert len(set(review_ids.values())) == len(docs)
    # Every pair, compared exactly (not only the LSH candidates): none is a copy.
    similar = {
        (a, b): reviews.similarity(texts[a], texts[b]) for a, b in itertools.combinations(texts, 2)
    }
    assert not any(reviews.is_copy(*s) for s in similar.values())
    # The hard negatives (inspections and letters sharing templates, guidance) stay far below
    # the thresholds. The scans of hard-cases/ are OCR test pages, not reviews: one of them
    # (c02-22.pdf) is a page of another (multipage.pdf), contained whole but no copy.
    scans = {d.sha256 for d in docs if "hard-cases" in (d.added_from or "")}
    reviews_only = {pair: s for pair, s in similar.items() if not scans & set(pair)}
    containment, jaccard = max(reviews_only.values())
    print(f"closest non-copy pair: containment {containment:.3f}, Jaccard {jaccard:.3f}")
    assert containment < reviews.MIN_CONTAINMENT / 2
    assert max(j for _c, j in reviews_only.values()) < reviews.MIN_JACCARD / 2


def test_every_made_copy_is_grouped_with_its_original(corpus_home):
    home, pairs, _before = corpus_home
    lowest, lowest_containment = 1.0, 1.0
    with Store(home) as store:
        for kind, (copy, original) in pairs.items():
            member = reviews.member_of(store, copy)
            assert member is not None, kind
            assert member.review_id == reviews.review_id_of(store, original), kind
            assert member.how == "text" and member.similarity is not None, kind
            assert reviews.is_copy(member.similarity, member.jaccard), kind
            # The original came first from the same kind of source: it stays the primary.
            assert reviews.member_of(store, original).is_primary, kind
            lowest = min(lowest, member.jaccard)
            lowest_containment = min(lowest_containment, member.similarity)
    print(f"lowest copy similarity: containment {lowest_containment:.3f}, Jaccard {lowest:.3f}")
    assert lowest >= reviews.MIN_JACCARD


def test_stats_by_year_count_reviews_and_all_copies_counts_files(corpus_home):
    home, pairs, before = corpus_home
    after = json.loads(ok(home, "stats", "--by", "year", "--format", "json"))
    assert after == before["stats"]
    files = json.loads(ok(home, "stats", "--by", "year", "--format", "json", "--all-copies"))
    assert files["total"] == before["files"]["total"] + len(pairs)


def test_search_returns_each_review_once_and_all_copies_every_file(corpus_home):
    home, pairs, before = corpus_home
    payload = json.loads(ok(home, "search", "Blackpool", "--format", "json"))
    assert payload["total"] == before["search"]["total"]
    reviews_seen = [r["review_id"] for r in payload["results"]]
    assert len(reviews_seen) == len(set(reviews_seen))
    blackpool = pairs["resaved"][1]
    top = next(r for r in payload["results"] if r["sha256"] == blackpool)
    listed = {c["sha256"] for c in top["copies"]}
    assert {blackpool, pairs["resaved"][0], pairs["redacted"][0]} <= listed
    assert all({"report_id", "sha256", "source", "url", "pages"} <= set(c) for c in top["copies"])
    assert payload["facets"]["locality"] == before["search"]["facets"]["locality"]
    files = json.loads(ok(home, "search", "Blackpool", "--format", "json", "--all-copies"))
    # The redacted copy may have lost the word itself; the re-saved one has every word.
    assert files["total"] > before["search"]["total"]
    assert pairs["resaved"][0] in {r["sha256"] for r in files["results"]}
    counts_only = json.loads(ok(home, "search", "Blackpool", "--format", "json", "--limit", "0"))
    assert counts_only["results"] == [] and counts_only["total"] == payload["total"]
    # Paging over reviews: the second page continues the first, no review twice.
    first = json.loads(ok(home, "search", "children", "--format", "json", "--limit", "5"))
    second = json.loads(
        ok(home, "search", "children", "--format", "json", "--limit", "5", "--offset", "5")
    )
    ids = [r["review_id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 10


def test_export_rows_carry_the_review_and_one_copy_a_review(corpus_home):
    home, pairs, _before = corpus_home
    blackpool = pairs["resaved"][1]

    def rows(*extra: str) -> list[dict]:
        text = ok(home, "export", "Blackpool", "--locality", "Blackpool", *extra)
        return list(csv.DictReader(io.StringIO(text)))

    per_review = rows()
    assert {r["sha256"] for r in per_review} == {blackpool}
    assert {r["review_id"] for r in per_review} == {blackpool[:12]}
    per_file = rows("--all-copies")
    assert {blackpool, pairs["resaved"][0]} <= {r["sha256"] for r in per_file}
    assert len(per_file) > len(per_review)
    assert {r["review_id"] for r in per_file} == {blackpool[:12]}


def test_reports_and_show_name_the_review(corpus_home):
    home, pairs, _before = corpus_home
    copy, original = pairs["cover"]
    listed = {r["sha256"]: r for r in json.loads(ok(home, "reports", "--format", "json"))}
    assert listed[copy]["review_id"] == original[:12]
    assert listed[copy]["review_role"] == "copy"
    assert listed[original]["review_role"] == "primary"
    shown = json.loads(ok(home, "show", original[:12], "--format", "json"))
    assert shown["review_id"] == original[:12]
    assert {c["sha256"] for c in shown["review"]["copies"]} == {
        copy, pairs["last_page_dropped"][0]
    }  # fmt: skip
    text = ok(home, "show", copy[:12])
    assert f"review        {original[:12]}" in text and "containment" in text


# -- small generated corpora: hand decisions, versions, related documents, watches ----------


def write(folder: Path, name: str, seed: int, pages: int = 2) -> Path:
    path = folder / name
    path.write_bytes(text_pdf([prose(seed * 100 + p) for p in range(pages)]))
    return path


def ids(home: Home) -> dict[str, str]:
    with Store(home) as store:
        return {
            Path(d.added_from or "").name: reviews.review_id_of(store, d.sha256)
            for d in store.documents()
        }


def test_merge_and_split_by_hand_survive_a_rebuild(home, tmp_path):
    a = write(tmp_path, "a.pdf", 1)
    b = write(tmp_path, "b.pdf", 2)
    (tmp_path / "a-copy.pdf").write_bytes(resaved(a))
    ok(home, "add", str(a), str(b), str(tmp_path / "a-copy.pdf"))
    ok(home, "index")
    found = ids(home)
    assert found["a-copy.pdf"] == found["a.pdf"] != found["b.pdf"]
    with Store(home) as store:
        sha = {Path(d.added_from).name: d.report_id for d in store.documents()}
    assert cli(home, "review", "merge", sha["a.pdf"], sha["b.pdf"]).exit_code == 0
    assert cli(home, "review", "split", sha["a-copy.pdf"]).exit_code == 0
    expected = {"a.pdf": found["a.pdf"], "b.pdf": found["a.pdf"], "a-copy.pdf": sha["a-copy.pdf"]}
    assert ids(home) == expected
    ok(home, "index", "--rebuild")
    assert ids(home) == expected
    # The split copy is not put back with its original by detection.
    with Store(home) as store:
        copy = reviews.member_of(store, store.resolve(sha["a-copy.pdf"]).sha256)
    assert copy.how != "text" and copy.matched is None


def test_review_commands_explain_bad_ids(home, tmp_path):
    ok(home, "add", str(write(tmp_path, "a.pdf", 1)))
    result = cli(home, "review", "split", "zz")
    assert result.exit_code == 2 and "report id 'zz' is not valid" in result.output
    with Store(home) as store:
        report_id = store.documents()[0].report_id
    result = cli(home, "review", "merge", report_id, report_id)
    assert result.exit_code == 2 and "scrsearch index" in result.output  # not indexed yet
    ok(home, "index")
    result = cli(home, "review", "merge", report_id, report_id)
    assert result.exit_code == 2 and "same report" in result.output
    assert "Traceback" not in result.output


def test_a_changed_file_at_a_known_url_is_a_new_version(home, tmp_path):
    old = write(tmp_path, "old.pdf", 3)
    new = write(tmp_path, "new.pdf", 4)  # a different text: a version whatever its similarity
    url = "https://example.org/reviews/child-f.pdf"
    for name in ("old.pdf", "new.pdf"):
        manifest = tmp_path / f"{name}.csv"
        manifest.write_text(f"file,url\n{name},{url}\n")
        ok(home, "add", "--manifest", str(manifest))
        ok(home, "index")
    with Store(home) as store:
        old_sha, new_sha = sha_of_file(store, old), sha_of_file(store, new)
        old_member, new_member = (
            reviews.member_of(store, old_sha),
            reviews.member_of(store, new_sha),
        )
    assert new_member.review_id == old_member.review_id
    assert new_member.how == "version" and new_member.is_primary
    assert old_member.superseded_by == new_sha and not old_member.is_primary
    # The old version is not searched by default; --all-copies searches it.
    query = '"' + " ".join(prose(300).split()[:6]) + '"'  # a phrase of the old text only
    default = json.loads(ok(home, "search", query, "--format", "json"))
    assert default["total"] == 0
    every = json.loads(ok(home, "search", query, "--format", "json", "--all-copies"))
    assert old_sha in {r["sha256"] for r in every["results"]}
    shown = json.loads(ok(home, "show", new_sha[:12], "--format", "json"))
    assert [v["sha256"] for v in shown["review"]["versions"]] == [old_sha]
    ok(home, "index", "--rebuild")
    with Store(home) as store:
        assert reviews.member_of(store, old_sha).superseded_by == new_sha


def test_show_lists_related_documents_of_the_same_case(home, tmp_path):
    overview = write(tmp_path, "overview.pdf", 5, pages=3)
    summary = write(tmp_path, "summary.pdf", 6)
    other = write(tmp_path, "other.pdf", 7)
    ok(home, "add", str(overview), "--subject", "Child D", "--locality", "Calderdale",
       "--year", "2016", "--doc-type", "overview_report")  # fmt: skip
    ok(home, "add", str(summary), "--subject", "Child D", "--locality", "Calderdale",
       "--year", "2017", "--doc-type", "executive_summary")  # fmt: skip
    ok(home, "add", str(other), "--subject", "Child D", "--locality", "Bradford", "--year", "2016")
    ok(home, "index")
    with Store(home) as store:
        overview_id = store.document(sha_of_file(store, overview)).report_id
        summary_id = store.document(sha_of_file(store, summary)).report_id
    shown = json.loads(ok(home, "show", overview_id, "--format", "json"))
    assert [r["report_id"] for r in shown["related"]] == [summary_id]
    assert shown["review"]["copies"] == []  # related, not a copy
    assert "related" in ok(home, "show", overview_id)


def test_a_watch_does_not_report_a_copy_of_a_review_it_reported(home, tmp_path):
    a = write(tmp_path, "a.pdf", 8)
    ok(home, "add", str(a))
    ok(home, "index")
    ok(home, "watch", "add", "babies", "child", "--include-existing")
    first = json.loads(ok(home, "watch", "run", "babies", "--format", "json"))
    assert len(first["new"]) == 1
    (tmp_path / "copy.pdf").write_bytes(with_cover(a, "Reproduced by the NSPCC library."))
    ok(home, "add", str(tmp_path / "copy.pdf"))
    ok(home, "index")
    second = json.loads(ok(home, "watch", "run", "babies", "--format", "json"))
    assert second["new"] == []


# -- the folding the search layer calls --------------------------------------------------------


def test_fold_pager_and_collapse_give_one_report_per_review():
    # Review r1: a (primary), b (copy), o (an old version); r2: c alone; d not grouped.
    groups = reviews.Groups(
        review={"a": "r1", "b": "r1", "o": "r1", "c": "r2"},
        primary={"r1": "a", "r2": "c"},
        superseded=frozenset({"o"}),
        members={"r1": ["a", "b", "o"], "r2": ["c"]},
    )
    assert groups.copies == 2 and groups.has_copies
    # The primary stands for its review when it matches; else the copy with most passages.
    assert groups.fold({"a": 1, "b": 5, "c": 2, "d": 1}) == {"a": 1, "c": 2, "d": 1}
    assert groups.fold({"b": 5, "o": 9}) == {"b": 5}  # an old version is not searched
    order = ["o", "b", "c", "a", "d"]
    assert groups.pager(0, 2)(order) == ["b", "c"]
    assert groups.pager(2, 2)(order) == ["d"]
    assert groups.pager(0, 0)(order) == []  # --limit 0: counts only
    results = [
        {"sha256": s, "report_id": s, "score": score, "passages": [{"text": s, "score": score}]}
        for s, score in (("b", 3.0), ("c", 2.0), ("d", 1.0))
    ]
    folded = reviews.collapse_results(results, groups, {}, lambda doc: {})
    assert [r["review_id"] for r in folded] == ["r1", "r2", "d"]
    assert folded[0]["score"] == 3.0 and folded[0]["passages"][0]["report_id"] == "b"
    assert [c["sha256"] for c in folded[0]["copies"]] == ["a", "b", "o"]
    assert [c["primary"] for c in folded[0]["copies"]] == [True, False, False]
    assert folded[0]["copies"][2]["superseded"] is True


def test_a_crawl_that_finds_a_changed_file_makes_a_new_version(home, corpus_dir):
    letters = [p.read_bytes() for p in sorted((corpus_dir / "ofsted-jtai").rglob("*.pdf"))[:3]]
    listing = (
        '<html><body><ul><li><a href="/reviews/child-a.pdf">Child A overview report</a></li>'
        '<li><a href="/reviews/child-b.pdf">Child B overview report</a></li></ul></body></html>'
    )
    with LocalServer() as server:
        server.route("/scr/", html_reply(listing))
        server.route("/reviews/child-a.pdf", pdf_reply(letters[0]))
        server.route("/reviews/child-b.pdf", pdf_reply(letters[1]))
        home.sources_path.write_text(board_source_toml(server.url("/scr/")), encoding="utf-8")
        assert cli(home, "update", "board", "--delay", "0", "--quiet").exit_code == 0
        server.route("/reviews/child-a.pdf", pdf_reply(letters[2]))  # the board replaced it
        result = cli(home, "update", "board", "--delay", "0", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["documents"]["changed"] == 1
    with Store(home) as store:
        old, new = (store.document(s) for s in (sha256_of(letters[0]), sha256_of(letters[2])))
        member = reviews.member_of(store, new.sha256)
        assert member.how == "version" and member.is_primary
        assert member.review_id == reviews.review_id_of(store, old.sha256)
        assert reviews.member_of(store, old.sha256).superseded_by == new.sha256
    per_review = json.loads(ok(home, "search", "--format", "json"))
    per_file = json.loads(ok(home, "search", "--format", "json", "--all-copies"))
    assert (per_review["total"], per_file["total"]) == (2, 3)
    assert old.sha256 not in {r["sha256"] for r in per_review["results"]}


def test_the_lsh_bands_are_datasketchs_choice_for_the_candidate_threshold():
    from datasketch.lsh import _optimal_param

    assert _optimal_param(reviews.CANDIDATE_JACCARD, reviews.NUM_PERM, 0.5, 0.5) == (
        reviews.BANDS,
        reviews.ROWS,
    )
    assert reviews.BANDS * reviews.ROWS <= reviews.NUM_PERM


def test_index_without_datasketch_says_what_to_install(home, tmp_path, monkeypatch):
    import sys

    ok(home, "add", str(write(tmp_path, "a.pdf", 9)))
    monkeypatch.setitem(sys.modules, "datasketch", None)  # as if it were not installed
    result = cli(home, "index")
    assert result.exit_code == 1
    assert "needs the datasketch package" in result.output and "pip install" in result.output
    assert "Traceback" not in result.output
