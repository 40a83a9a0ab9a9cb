"""Copy detection at scale: the cost of grouping one more report among N (default 10,000).

    python scripts/bench_reviews.py                 # 10,000 reports of 3,000 words
    python scripts/bench_reviews.py --reports 2000 --json

Builds a catalogue of N generated reports (random words from a few hundred, so none is a
copy of another; their texts cached as `index` leaves them), records each one's MinHash and
LSH bands and groups them (`reviews.remember_text`, `reviews.assign`, as `index` does), then
times adding one report more, once a new text and once a copy of a report already there: the
lookup is by LSH band, so its cost does not grow with N. Nothing here is a test assertion:
figures are printed.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from scrsearch import reviews
from scrsearch.config import Home
from scrsearch.models import ExtractedText
from scrsearch.store import Store


def word(i: int) -> str:
    """The i-th made-up word: letters only, as the shingler keeps them."""
    letters = ""
    i += 26 * 26
    while i:
        letters += chr(97 + i % 26)
        i //= 26
    return letters


VOCABULARY = [word(i) for i in range(600)]


def text_of(seed: int, words: int) -> list[str]:
    """A report's pages (500 words a page) of random words: no two seeds share 5 in a row."""
    rng = random.Random(seed)
    chosen = rng.choices(VOCABULARY, k=words)
    return [" ".join(chosen[i : i + 500]) for i in range(0, len(chosen), 500)]


def add_report(store: Store, seed: int, pages: list[str], name: str) -> str:
    result = store.add_bytes(f"%PDF-1.4 {name}".encode(), original_name=name, source="local")
    sha = result.document.sha256
    store.cache_text(sha, ExtractedText(pages=tuple(pages), extractor="generated"))
    store.set_status(sha, "indexed")
    return sha


def group_one(store: Store, sha: str, pages: list[str]) -> tuple[float, reviews.Member]:
    started = time.perf_counter()
    reviews.remember_text(store, sha, pages)
    member = reviews.assign(store, store.document(sha), {})
    return (time.perf_counter() - started) * 1000, member


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=3_000, help="words a report")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, Store(Home(Path(tmp) / "home")) as store:
        reviews.ensure_tables(store)
        build_s = 0.0  # the grouping only: storing the generated reports is not counted
        for i in range(args.reports):
            pages = text_of(i, args.words)
            sha = add_report(store, i, pages, f"r{i}.pdf")
            build_s += group_one(store, sha, pages)[0] / 1000
        fresh = text_of(10**9, args.words)  # (random.Random(-n) is Random(n): no negative seeds)
        new_ms, new = group_one(store, add_report(store, 10**9, fresh, "new.pdf"), fresh)
        copy_pages = text_of(7, args.words)
        copy_pages[0] = "a cover page added by a partnership " + copy_pages[0]
        copy_ms, copy = group_one(store, add_report(store, 7, copy_pages, "copy.pdf"), copy_pages)
        reviews_n = store.db.execute(
            "SELECT COUNT(DISTINCT review_id) FROM review_members"
        ).fetchone()[0]
    result = {
        "reports": args.reports,
        "words": args.words,
        "build_s": round(build_s, 1),
        "per_report_ms": round(build_s * 1000 / args.reports, 2),
        "add_new_ms": round(new_ms, 2),
        "add_copy_ms": round(copy_ms, 2),
        "new_grouped_as": new.how,
        "copy_grouped_as": copy.how,
        "reviews": reviews_n,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.reports:,} reports of {args.words:,} words: {build_s:.1f}s of copy detection "
            f"({result['per_report_ms']} ms each, {reviews_n:,} reviews); one more: a new text "
            f"{new_ms:.1f} ms ({new.how}), a copy {copy_ms:.1f} ms ({copy.how})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
