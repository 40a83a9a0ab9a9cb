"""Copies and versions of one review: near-duplicate detection, review groups, hand decisions.

A **review** is one case review however many files carry it. The same review reaches a corpus
several times: a board publishes it, the NSPCC holds a copy, a board re-publishes it redacted or
behind a new cover, a crawl finds a changed file at a URL it fetched before. Each file stays a
report (its own sha256, text and index entries); the catalogue records which review each report
belongs to, so results and counts can be per review.

How copies are found (`remember_text` as `pipeline` indexes each report, then `assign` for
each report not yet in a review, at the end of the index run):

1. Text, not bytes. A report's text becomes word shingles (SHINGLE_WORDS words in a row,
   lower-cased letters only, so page numbers, punctuation and re-flowed lines do not matter),
   each hashed to 64 bits in numpy. One in SAMPLE_EVERY, chosen by its hash (so the same
   shingles in every text), goes into a datasketch MinHash of NUM_PERM permutations, whose
   values are cut into LSH bands (chosen by datasketch for a Jaccard of CANDIDATE_JACCARD);
   the band hashes are rows of `review_bands`, so the reports sharing a band with a new one
   are found with one indexed SQLite lookup per band, never a scan. Each such candidate is
   then compared exactly, over every shingle of both texts: it is a copy when the share of
   the smaller set found in the larger (containment) is at least MIN_CONTAINMENT and the
   Jaccard similarity at least MIN_JACCARD. Containment keeps a copy with a cover page added
   or its last page or appendix dropped; the Jaccard floor keeps a short extract (an
   executive summary quoting a long report) from being called a copy of it. A new report
   joins the review of its best match.
2. Versions. A new report fetched (or added by manifest) from a URL that earlier gave other
   bytes is the next version of the review the older file belongs to, whatever its text; the
   older is kept, marked `superseded_by`, never primary and not searched by default.
3. Hand decisions (`scrsearch review merge A B`, `scrsearch review split A`) are kept in
   `review_decisions` and applied again after every index run, so they survive `--rebuild`;
   detection never groups two reports a split separated.

Thresholds, measured on ../shared/corpus (77 reports with text; every pair, 2,926 pairs; see
tests/test_reviews.py): the closest two different documents (two Ofsted inspections of one
council, years apart, sharing the template) have containment 0.155 and Jaccard 0.070. The
copies the tests make of two of its reports (re-saved by another program, a cover page added,
the last page dropped, re-typeset with 12 names redacted) have containment 0.950 and Jaccard
0.905 at the lowest (the redacted one). MIN_CONTAINMENT 0.6 and MIN_JACCARD 0.35 sit between,
far from both; the Jaccard floor still admits a copy missing up to about half its text.

The primary of a review, whose metadata results show, is chosen by PRIMARY RULE: never a
superseded version; then the most authoritative source (the board's own site, a `listing` or
`results_library` source > the national panel on GOV.UK, `govuk` > the NSPCC, `nspcc` > a
local file or unknown source); then the newest version (latest first seen at its URL); then the
report added first (in a local corpus, the original the copies were made from).

For the search layer (what `search.search`, `search.iter_passages`, `stats`, `export` and
`watch` call; `search` passes `all_copies` to skip all of it):

- `groups_of(home) -> Groups`, kept per home and reloaded only when the catalogue changed:
  `review_of(sha256)`, `primary_of(review_id)`, `copies_of(review_id)` (sha256s, primary
  first), `superseded` (old versions), `has_copies` (False: nothing to fold).
- `Groups.fold(hits)`: {sha256: matching passages} to one report per review (its primary when
  that matches, else its copy with the most passages; old versions dropped). Totals, facet
  counts, stats, watches and export iterate the folded dict, so they count reviews.
- `Groups.pager(offset, limit)`: a function from reports in rank order to the page of one
  report per review (each review's best-ranked report). `search` keeps the best
  `offset + limit + extra` reports (extra: min(`copies`, FOLD_SLACK), or the copies found
  among the hits, len(hits) - len(fold(hits)), when more) and lets the pager pick the page,
  so best passages are found for the page's reports only.
- `collapse_results(results, groups, documents, render)`: a ranked list of per-report results
  to one per review: its best score, the primary's fields, the best passages of its copies
  in the list (each with its `report_id`; after the pager, one copy a review), `review_id`
  and `copies`.

Tables (in the catalogue's SQLite file, created here):
`review_members` (sha256 -> review_id, is_primary, how it was grouped: alone, text, version,
hand; matched: the report it was found to copy; similarity and jaccard; superseded_by),
`review_signatures` (MinHash values and shingle count), `review_bands` (LSH band hashes),
`review_decisions` (merge and split by hand, in order).

The work is split by job: near_duplicates.py (shingles, similarity, MinHash and LSH bands),
review_members.py (the tables, memberships, the primary), review_groups.py (grouping as reports
are indexed), review_decisions.py (merge and split by hand), review_results.py (groups as
search, stats, export and watch read them). This module keeps every name it always had.
"""

from __future__ import annotations

from .near_duplicates import (
    BANDS,
    CANDIDATE_JACCARD,
    MIN_CONTAINMENT,
    MIN_JACCARD,
    MIN_SHINGLES,
    NUM_PERM,
    ROWS,
    SAMPLE_EVERY,
    SEED,
    SHINGLE_WORDS,
    band_keys,
    is_copy,
    shingles_of,
    signature_of,
    similarity,
)
from .review_decisions import apply_decisions, merge, split
from .review_groups import Match, assign, find_copies, forget_groups, group_ungrouped, remember_text
from .review_members import (
    KIND_AUTHORITY,
    Authority,
    Member,
    Ranks,
    ensure_tables,
    member_of,
    members_of,
    review_id_of,
    source_authority,
)
from .review_results import (
    FOLD_SLACK,
    Groups,
    collapse_results,
    copy_json,
    groups_of,
    load_groups,
    related_documents,
)

__all__ = [
    "BANDS",
    "CANDIDATE_JACCARD",
    "FOLD_SLACK",
    "KIND_AUTHORITY",
    "MIN_CONTAINMENT",
    "MIN_JACCARD",
    "MIN_SHINGLES",
    "NUM_PERM",
    "ROWS",
    "SAMPLE_EVERY",
    "SEED",
    "SHINGLE_WORDS",
    "Authority",
    "Groups",
    "Match",
    "Member",
    "Ranks",
    "apply_decisions",
    "assign",
    "band_keys",
    "collapse_results",
    "copy_json",
    "ensure_tables",
    "find_copies",
    "forget_groups",
    "group_ungrouped",
    "groups_of",
    "is_copy",
    "load_groups",
    "member_of",
    "members_of",
    "merge",
    "related_documents",
    "remember_text",
    "review_id_of",
    "shingles_of",
    "signature_of",
    "similarity",
    "source_authority",
    "split",
]
