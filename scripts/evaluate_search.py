#!/usr/bin/env python3
"""Search quality: report-level nDCG@10 of scrsearch and of a naive FTS5 baseline.

Reads a judged query set (default `../shared/eval/queries.jsonl`: one JSON object a line with
`id`, `query`, `kind` and `relevant` [{file, grade, pages}], files relative to the corpus folder)
and answers every query twice over the same documents in the same run:

- scrsearch: `scrsearch.search.search` exactly as `scrsearch search --format json` calls it;
- the baseline: SQLite FTS5 (porter stemmer) over the same cached page texts, the query's words
  OR-ed, a report scored by its best page (bm25).

nDCG@10 is computed over distinct reports as the eval README defines it (gain 2**grade - 1),
per query, per kind and overall (the mean over queries with judged documents). Queries with no
relevant document (kind `empty`) are reported apart: how many results came back and whether
they were marked partial.

    python3 scripts/evaluate_search.py                 # builds a temp home over ../shared/corpus
    python3 scripts/evaluate_search.py --home H        # reuse a home that holds the corpus
    python3 scripts/evaluate_search.py --json          # machine-readable, on stdout
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUERIES = ROOT.parent / "shared" / "eval" / "queries.jsonl"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def ndcg10(ranked_files: list[str], relevant: list[dict]) -> float | None:
    """Report-level nDCG@10, as the eval set's README computes it."""
    grades = {r["file"]: r["grade"] for r in relevant}
    dcg = sum(
        (2 ** grades.get(f, 0) - 1) / math.log2(i + 2) for i, f in enumerate(ranked_files[:10])
    )
    ideal = sorted(grades.values(), reverse=True)[:10]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else None


def file_names(corpus: Path) -> dict[str, str]:
    """sha256 -> the file's path relative to the corpus folder."""
    names = {}
    for path in sorted(corpus.rglob("*")):
        if path.is_file():
            names[hashlib.sha256(path.read_bytes()).hexdigest()] = path.relative_to(
                corpus
            ).as_posix()
    return names


def build_home(corpus: Path, home: Path) -> None:
    """Add and index the corpus with the CLI, as a user would."""
    for args in (["add", str(corpus)], ["index"]):
        done = subprocess.run(
            [sys.executable, "-m", "scrsearch", "--home", str(home), *args],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode not in (0, 1):
            sys.exit(f"scrsearch {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")


class Baseline:
    """SQLite FTS5 BM25 over the pages of the indexed reports: words OR-ed, best page wins."""

    def __init__(self, home_dir: Path) -> None:
        from scrsearch.config import resolve_home
        from scrsearch.store import Store

        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE pages USING fts5("
            "text, sha UNINDEXED, tokenize='porter unicode61')"
        )
        with Store(resolve_home(home_dir)) as store:
            for doc in store.documents(["indexed"]):
                text = store.cached_text(doc.sha256)
                if text is not None:
                    self.db.executemany(
                        "INSERT INTO pages VALUES (?, ?)", [(p, doc.sha256) for p in text.pages]
                    )

    def ranked(self, query: str, limit: int = 10) -> list[str]:
        words = re.findall(r"\w+", query.lower())
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        best: dict[str, float] = {}
        for sha, rank in self.db.execute(
            "SELECT sha, rank FROM pages WHERE pages MATCH ?", (match,)
        ):
            best[sha] = min(rank, best.get(sha, rank))
        return sorted(best, key=best.__getitem__)[:limit]


def scrsearch_ranked(home_dir: Path, query: str) -> dict:
    """The search JSON for a query, exactly as `scrsearch search --format json` gets it."""
    from scrsearch.config import resolve_home
    from scrsearch.search import SearchRequest, search

    return search(resolve_home(home_dir), SearchRequest(query=query, limit=10, facets=False))


def evaluate(home_dir: Path, queries: list[dict], names: dict[str, str]) -> dict:
    baseline = Baseline(home_dir)
    rows = []
    for q in queries:
        started = time.perf_counter()
        payload = scrsearch_ranked(home_dir, q["query"])
        ms = (time.perf_counter() - started) * 1000
        ours = [names.get(r["sha256"], r["sha256"]) for r in payload["results"]]
        theirs = [names.get(s, s) for s in baseline.ranked(q["query"])]
        rows.append(
            {
                "id": q["id"],
                "kind": q["kind"],
                "query": q["query"],
                "scrsearch": ndcg10(ours, q["relevant"]),
                "baseline": ndcg10(theirs, q["relevant"]),
                "total": payload["total"],
                "match": payload.get("match"),
                "partial": bool(payload.get("partial")),
                "results": len(payload["results"]),
                "baseline_results": len(theirs),
                "ms": round(ms, 1),
            }
        )
    by_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for engine in ("scrsearch", "baseline"):
            if row[engine] is not None:
                by_kind[row["kind"]][engine].append(row[engine])
                by_kind["overall"][engine].append(row[engine])
    summary = {
        kind: {engine: round(sum(v) / len(v), 4) for engine, v in engines.items()}
        | {"queries": len(engines["scrsearch"])}
        for kind, engines in by_kind.items()
    }
    empties = [
        {"id": r["id"], "query": r["query"], "results": r["results"], "partial": r["partial"]}
        for r in rows
        if r["scrsearch"] is None
    ]
    zero = [r["id"] for r in rows if r["scrsearch"] is not None and r["results"] == 0]
    return {"summary": summary, "empty_queries": empties, "zero_result_queries": zero,
            "queries": rows}  # fmt: skip


def render(result: dict) -> str:
    lines = [f"{'id':4} {'kind':8} {'scrsearch':>9} {'baseline':>8} {'total':>5}  query"]
    for r in result["queries"]:
        ours = "-" if r["scrsearch"] is None else f"{r['scrsearch']:.3f}"
        theirs = "-" if r["baseline"] is None else f"{r['baseline']:.3f}"
        flag = " (partial)" if r["partial"] else ""
        lines.append(
            f"{r['id']:4} {r['kind']:8} {ours:>9} {theirs:>8} {r['total']:>5}  {r['query']}{flag}"
        )
    lines.append("")
    lines.append(f"{'kind':10} {'queries':>7} {'scrsearch':>9} {'baseline':>8}")
    for kind, s in sorted(result["summary"].items(), key=lambda kv: kv[0] == "overall"):
        lines.append(f"{kind:10} {s['queries']:>7} {s['scrsearch']:>9.3f} {s['baseline']:>8.3f}")
    for e in result["empty_queries"]:
        state = "nothing" if not e["results"] else f"{e['results']} result(s)"
        state += ", marked partial" if e["partial"] else ""
        lines.append(f"no relevant document: {e['id']} {e['query']!r}: {state}")
    if result["zero_result_queries"]:
        lines.append("queries with relevant documents but no results: "
                     + ", ".join(result["zero_result_queries"]))  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--home", type=Path, help="a home holding the corpus (else a temp one)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not args.queries.is_file() or not args.corpus.is_dir():
        parser.error(f"needs {args.queries} and {args.corpus} (the shared eval set and corpus)")
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    names = file_names(args.corpus)
    with tempfile.TemporaryDirectory(prefix="scrsearch-eval-") as tmp:
        home = args.home
        if home is None:
            home = Path(tmp) / "home"
            print(f"building a home over {args.corpus} ...", file=sys.stderr)
            build_home(args.corpus, home)
        result = evaluate(home, queries, names)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
