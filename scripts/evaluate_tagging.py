#!/usr/bin/env python
"""Evaluate tagging and metadata inference on the real corpus in ../shared/corpus.

Figures printed:

* per labelled theme of the Ofsted JTAI letters (ofsted-jtai/labels.csv), how often the
  letter's stated focus theme is among the report's top-3 topic tags by evidence (topic
  tags = facets theme and risk_factor; practice issues describe how agencies worked, not
  what the letter is about, and are ranked separately); letters labelled `front_door`
  (no deep dive) are left out of that figure;
* the mean number of tags per report (all facets, and topic tags only);
* over every PDF with text in the corpus, locality and year accuracy against the labels,
  folder names and file names, and whether the national guidance got no locality.

Two modes share the scoring code: `direct` (default) extracts, splits and tags in this
process; `pipeline` adds the files to a temporary scrsearch home and reads the results back
from its catalogue. In `direct` mode the folder is NOT passed to infer_metadata unless
--with-folders is given, so the locality figure measures inference from the text and the
file name alone.

    python scripts/evaluate_tagging.py [--corpus ../shared/corpus] [--mode direct|pipeline]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scrsearch.errors import ExtractError
from scrsearch.models import ReportTag
from scrsearch.tagging import (
    infer_metadata,
    load_taxonomy,
    locality_record,
    report_tags,
    tag_passage,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
TOPIC_FACETS = ("theme", "risk_factor")
TOP_N = 3


@dataclass
class Result:
    """What indexing one document produced."""

    rel: str
    meta: dict[str, object]
    tags: list[ReportTag]
    passages: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Truth:
    """What a document should get, from labels, folders and file names."""

    locality: str | None = None  # None: a national document, no locality
    year: int | None = None
    themes: tuple[str, ...] = ()
    scored_locality: bool = True
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- running


def run_direct(corpus: Path, rels: list[str], with_folders: bool) -> Iterator[Result]:
    """Extract, infer, split and tag each PDF in this process."""
    from scrsearch.extract import extract_pdf
    from scrsearch.passages import split_passages

    for rel in rels:
        path = corpus / rel
        try:
            pages = extract_pdf(path).pages
        except ExtractError as exc:
            yield Result(rel, {}, [], error=type(exc).__name__)
            continue
        inferred = infer_metadata(pages, path.name, path=rel if with_folders else None)
        started = time.perf_counter()
        passages = split_passages("0" * 64, pages)
        passage_tags = [tag_passage(p.text) for p in passages]
        tags = report_tags(passage_tags, passages_total=len(passages))
        seconds = time.perf_counter() - started
        meta = {k: v for k, (v, _) in inferred.items()}
        yield Result(rel, meta, tags, len(passages), seconds)


def run_pipeline(corpus: Path, rels: list[str]) -> Iterator[Result]:
    """Add the PDFs to a temporary home, index it, and read back the catalogue."""
    from scrsearch import pipeline
    from scrsearch.config import Home
    from scrsearch.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "home").ensure()
        pipeline.add_paths(home, [corpus / rel for rel in rels])
        pipeline.run_index(home)
        with Store(home) as store:
            for doc in store.documents():
                origin = str(getattr(doc, "added_from", None) or doc.path or doc.original_name)
                rel = next((r for r in rels if origin.endswith(r)), doc.original_name)
                meta = {f: getattr(doc, f) for f in ("title", "locality", "year", "doc_type")}
                error = None if doc.status == "indexed" else doc.status
                yield Result(rel, meta, store.report_tags(doc.sha256), error=error)


# ---------------------------------------------------------------------------- truth


def jtai_labels(corpus: Path) -> dict[str, dict[str, str]]:
    """ofsted-jtai/labels.csv rows by relative path."""
    with open(corpus / "ofsted-jtai" / "labels.csv", newline="", encoding="utf-8") as handle:
        return {f"ofsted-jtai/{row['folder']}/{row['file']}": row for row in csv.DictReader(handle)}


def truth_for(rel: str, labels: dict[str, dict[str, str]]) -> Truth:
    """The expected locality, year and themes of one document."""
    parts = rel.split("/")
    name_year = re.search(r"(?<![A-Za-z0-9])((?:19|20)\d\d)(?!\d)", parts[-1])
    year = int(name_year.group(1)) if name_year else None
    if rel in labels:
        row = labels[rel]
        themes = tuple(t for t in row["themes"].split(";") if t)
        return Truth(row["la_canonical"], int(row["publication_year"]), themes)
    if parts[0] == "dfe-guidance":
        return Truth(None, year)
    if parts[0] == "west-sussex":
        return Truth("West Sussex", year)
    if parts[0] == "ofsted-ilacs":
        area = parts[1].split("_", 1)[1].title()
        return Truth(area, year)
    return Truth(None, year, scored_locality=False)


# ---------------------------------------------------------------------------- scoring


def topic_tags(tags: list[ReportTag]) -> list[str]:
    return [t.term_id for t in tags if t.facet in TOPIC_FACETS]


def print_theme_table(results: list[Result], labels: dict[str, dict[str, str]]) -> None:
    per_theme: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    letters = letters_hit = slots = slots_hit = 0
    misses: list[str] = []
    for result in results:
        row = labels.get(result.rel)
        if row is None or result.error:
            continue
        themes = [t for t in row["themes"].split(";") if t]
        if themes == ["front_door"]:
            continue
        top = topic_tags(result.tags)[:TOP_N]
        letters += 1
        letters_hit += any(t in top for t in themes)
        for theme in themes:
            per_theme[theme][0] += 1
            per_theme[theme][1] += theme in top
            slots += 1
            slots_hit += theme in top
        if not all(t in top for t in themes):
            misses.append(f"  {row['folder']}: focus {'+'.join(themes)}; top {top}")
    print(f"\nJTAI deep-dive letters: focus theme among the top-{TOP_N} topic tags")
    print(f"  {'theme':32} letters  in top {TOP_N}")
    for theme, (n, hit) in sorted(per_theme.items()):
        print(f"  {theme:32} {n:7d}  {hit:4d} ({100 * hit / n:5.1f}%)")
    print(
        f"  {'every focus theme (theme slots)':32} {slots:7d}  {slots_hit:4d} "
        f"({100 * slots_hit / max(slots, 1):5.1f}%)"
    )
    print(
        f"  {'letters with a focus theme in top':32} {letters:7d}  {letters_hit:4d} "
        f"({100 * letters_hit / max(letters, 1):5.1f}%)"
    )
    if misses:
        print("  letters where some focus theme is not in the top 3:")
        print("\n".join(misses))


def print_tag_counts(results: list[Result]) -> None:
    ok = [r for r in results if not r.error]
    if not ok:
        return
    all_tags = sum(len(r.tags) for r in ok) / len(ok)
    topics = sum(len(topic_tags(r.tags)) for r in ok) / len(ok)
    print(
        f"\nTags per report ({len(ok)} reports): mean {all_tags:.1f} over all facets, "
        f"{topics:.1f} topic tags (theme, risk_factor)"
    )
    by_folder: dict[str, list[int]] = defaultdict(list)
    for r in ok:
        by_folder[r.rel.split("/")[0]].append(len(r.tags))
    for folder, counts in sorted(by_folder.items()):
        print(f"  {folder:20} {len(counts):3d} reports, mean {sum(counts) / len(counts):5.1f} tags")


def print_metadata_accuracy(results: list[Result], labels: dict[str, dict[str, str]]) -> None:
    loc = Counter()
    year = Counter()
    wrong: list[str] = []
    for result in results:
        if result.error:
            continue
        truth = truth_for(result.rel, labels)
        got_locality = result.meta.get("locality")
        if truth.scored_locality:
            expected = locality_record(truth.locality).name if truth.locality else None
            kind = "one_area" if expected else "national"
            loc[kind] += 1
            if got_locality == expected:
                loc[kind + "_ok"] += 1
            else:
                wrong.append(f"  locality {result.rel}: got {got_locality!r}, want {expected!r}")
        if truth.year is not None:
            year["n"] += 1
            if result.meta.get("year") == truth.year:
                year["ok"] += 1
            else:
                wrong.append(
                    f"  year {result.rel}: got {result.meta.get('year')!r}, want {truth.year}"
                )
    print("\nMetadata")
    if loc["one_area"]:
        print(
            f"  locality correct, documents about one area: {loc['one_area_ok']}/"
            f"{loc['one_area']} ({100 * loc['one_area_ok'] / loc['one_area']:.1f}%)"
        )
    if loc["national"]:
        print(
            f"  no locality on national documents (dfe-guidance): {loc['national_ok']}/"
            f"{loc['national']}"
        )
    if year["n"]:
        print(
            f"  year correct (labels, else file name): {year['ok']}/{year['n']} "
            f"({100 * year['ok'] / year['n']:.1f}%)"
        )
    if wrong:
        print("  misses:")
        print("\n".join(wrong))


def print_speed(results: list[Result]) -> None:
    timed = [r for r in results if r.passages]
    passages = sum(r.passages for r in timed)
    seconds = sum(r.seconds for r in timed)
    if passages and seconds:
        print(
            f"\nSplit + tag speed: {passages} passages in {seconds:.2f}s = "
            f"{passages / seconds:.0f} passages/s (one process)"
        )


def evaluate(corpus: Path, folders: list[str], mode: str, with_folders: bool) -> None:
    labels = jtai_labels(corpus)
    for subset in folders:
        rels = (
            sorted(
                str(p.relative_to(corpus))
                for p in (corpus / subset).rglob("*")
                if p.suffix == ".pdf"
            )
            if subset != "."
            else sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*.pdf"))
        )
        load_taxonomy()
        if mode == "pipeline":
            results = list(run_pipeline(corpus, rels))
        else:
            results = list(run_direct(corpus, rels, with_folders))
        failed = [r for r in results if r.error]
        print(
            f"\n=== {subset if subset != '.' else 'all of the corpus'}: {len(results)} PDFs, "
            f"{len(failed)} without text ({', '.join(sorted({r.error for r in failed}))})"
        )
        print_theme_table(results, labels)
        print_tag_counts(results)
        print_metadata_accuracy(results, labels)
        print_speed(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--mode", choices=("direct", "pipeline"), default="direct")
    parser.add_argument(
        "--with-folders",
        action="store_true",
        help="direct mode: pass the folder path to infer_metadata (as the pipeline does)",
    )
    parser.add_argument("folders", nargs="*", default=["ofsted-jtai", "."])
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}; pass --corpus", file=sys.stderr)
        return 2
    evaluate(args.corpus, args.folders, args.mode, args.with_folders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
