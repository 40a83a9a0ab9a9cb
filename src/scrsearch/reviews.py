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
"""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import Home
from .errors import ConfigError, UsageError
from .models import REPORT_ID_LEN, Document
from .store import Store, connect_catalogue, utc_now

#: Words per shingle (5: template phrases shared by inspection letters stay rare as 5-grams).
SHINGLE_WORDS = 5
#: One shingle in this many is kept (chosen by its hash, so the same ones in every text):
#: hashing every shingle of a 100,000-page corpus into a MinHash would cost minutes.
SAMPLE_EVERY = 8
#: MinHash permutations; the seed is fixed so signatures are comparable across runs.
NUM_PERM = 128
SEED = 1
#: LSH bands find candidates down to about this Jaccard similarity: BANDS bands of ROWS values,
#: as datasketch chooses them (`datasketch.lsh._optimal_param(0.3, 128, 0.5, 0.5)`; a test
#: checks it). Stored band hashes depend on these: change them only with a rebuild of
#: `review_bands`.
CANDIDATE_JACCARD = 0.3
BANDS, ROWS = 37, 3
#: A candidate is a copy when both hold (measured: see the module docstring).
MIN_CONTAINMENT = 0.6
MIN_JACCARD = 0.35
#: Reports with fewer (sampled) shingles than this, about 100 words (a cover sheet, a failed
#: extraction), are never grouped by text: too little to tell a copy from a shared template.
MIN_SHINGLES = 12

#: A search ranks this many reports more than its page (at most: the copies in the catalogue)
#: so that copies folded away still leave a full page; more are ranked only when more copies
#: are among the hits.
FOLD_SLACK = 50

#: Authority of a source kind, highest first (PRIMARY RULE in the module docstring).
KIND_AUTHORITY = {"listing": 3, "results_library": 3, "govuk": 2, "nspcc": 1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_members (
    sha256 TEXT PRIMARY KEY,
    review_id TEXT NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    how TEXT NOT NULL,
    matched TEXT,
    similarity REAL,
    jaccard REAL,
    superseded_by TEXT,
    grouped_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_members_review ON review_members(review_id);
CREATE TABLE IF NOT EXISTS review_signatures (
    sha256 TEXT PRIMARY KEY,
    shingles INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS review_bands (
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (band, key, sha256)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS review_document_urls ON document_urls(sha256);
CREATE TABLE IF NOT EXISTS review_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    made_at TEXT NOT NULL
);
"""

_LETTERS = bytes(c if 97 <= c <= 122 else 32 for c in range(256))


def ensure_tables(store: Store) -> None:
    """Create the review tables in a store's catalogue if they are not there yet (once per
    open store: executescript would commit an open transaction)."""
    if getattr(store, "_review_tables", False):
        return
    store.db.executescript(_SCHEMA)
    store._review_tables = True  # type: ignore[attr-defined]


# -- similarity ------------------------------------------------------------------------------


#: Odd 64-bit multipliers: a shingle's hash from its words' hashes, then mixed (splitmix64).
_ROLL, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_WORD_IDS: dict[bytes, int] = {}


def _word_ids(words: Sequence[bytes]):
    """A stable 32-bit id of each word (crc32; Python's hash() changes between processes)."""
    import numpy as np

    ids = _WORD_IDS
    if len(ids) > 1_000_000:  # a bounded cache: stray tokens of a huge corpus
        ids.clear()
    for word in set(words).difference(ids):
        ids[word] = zlib.crc32(word)
    return np.fromiter(map(ids.__getitem__, words), dtype=np.uint64, count=len(words))


def shingles_of(pages: Iterable[str], sample: int = SAMPLE_EVERY):
    """A text's word shingles: SHINGLE_WORDS lower-cased words in a row (letters only), each
    hashed to 64 bits, keeping the 1 in `sample` whose hash says so (the same shingle is kept
    in every text, so set similarities stay unbiased); a sorted numpy array of their 32-bit
    values."""
    import numpy as np

    # Bytes, every one but a-z made a space, then split: 4x faster than a regex findall.
    words = " ".join(pages).lower().encode("ascii", "replace").translate(_LETTERS).split()
    n = len(words) - SHINGLE_WORDS + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    ids = _word_ids(words)
    with np.errstate(over="ignore"):
        h = ids[:n].copy()
        for k in range(1, SHINGLE_WORDS):
            h = h * np.uint64(_ROLL) + ids[k : k + n]
        h ^= h >> np.uint64(30)
        h *= np.uint64(_MIX1)
        h ^= h >> np.uint64(27)
        h *= np.uint64(_MIX2)
        h ^= h >> np.uint64(31)
    kept = (h[(h % np.uint64(sample)) == 0] if sample > 1 else h) >> np.uint64(32)
    return np.unique(kept)


def similarity(a, b) -> tuple[float, float]:
    """(containment of the smaller set in the larger, Jaccard) of two shingle arrays."""
    import numpy as np

    if not len(a) or not len(b):
        return 0.0, 0.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / min(len(a), len(b)), shared / (len(a) + len(b) - shared)


def is_copy(containment: float, jaccard: float) -> bool:
    """Whether two texts this similar are copies of one review (the measured thresholds)."""
    return containment >= MIN_CONTAINMENT and jaccard >= MIN_JACCARD


def _minhash_class():
    """datasketch's MinHash, or a clear error when the package is missing."""
    try:
        from datasketch import MinHash
    except ImportError as exc:  # an install from before reviews.py, not upgraded
        raise ConfigError(
            "finding copies of reviews needs the datasketch package, which is not installed: "
            "run `pip install -e .` again (or `pip install datasketch`), then `scrsearch index`"
        ) from exc
    return MinHash


def signature_of(shingles):
    """The datasketch MinHash values (numpy uint64) of a shingle array."""
    import numpy as np

    # affine32 named, not left to the default, so stored signatures stay comparable.
    minhash = _minhash_class()(num_perm=NUM_PERM, seed=SEED, hashfunc=int, scheme="affine32")
    minhash.update_batch(shingles.tolist())
    return np.asarray(minhash.hashvalues, dtype=np.uint64)  # affine32 gives uint32: stored as 64


def band_keys(hashvalues) -> list[tuple[int, int]]:
    """(band, key) for each LSH band of a signature: a signed 64-bit hash of the band."""
    keys = []
    for band in range(BANDS):
        chunk = hashvalues[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        keys.append((band, int.from_bytes(digest, "big", signed=True)))
    return keys


# -- membership ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One report's place in its review."""

    sha256: str
    review_id: str
    is_primary: bool
    how: str  # alone, text, version, hand
    matched: str | None = None
    similarity: float | None = None
    jaccard: float | None = None
    superseded_by: str | None = None

    def to_json(self) -> dict:
        return {
            "review_id": self.review_id,
            "primary": self.is_primary,
            "how": self.how,
            "matched": self.matched[:REPORT_ID_LEN] if self.matched else None,
            "similarity": self.similarity,
            "jaccard": self.jaccard,
            "superseded_by": self.superseded_by[:REPORT_ID_LEN] if self.superseded_by else None,
        }


def _member(row: sqlite3.Row | tuple) -> Member:
    sha, review, primary, how, matched, sim, jac, newer = tuple(row)[:8]
    return Member(sha, review, bool(primary), how, matched, sim, jac, newer)


_MEMBER_COLUMNS = "sha256, review_id, is_primary, how, matched, similarity, jaccard, superseded_by"


def member_of(store: Store, sha256: str) -> Member | None:
    """A report's membership, or None when it has not been grouped (not indexed yet)."""
    ensure_tables(store)
    row = store.db.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM review_members WHERE sha256=?", (sha256,)
    ).fetchone()
    return _member(row) if row else None


def members_of(store: Store, review_id: str) -> list[Member]:
    """The reports of one review, primary first."""
    ensure_tables(store)
    rows = store.db.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM review_members WHERE review_id=? "
        "ORDER BY is_primary DESC, rowid",
        (review_id,),
    )
    return [_member(r) for r in rows]


def review_id_of(store: Store, sha256: str) -> str:
    """The review a report belongs to (its own report id when it stands alone)."""
    member = member_of(store, sha256)
    return member.review_id if member else sha256[:REPORT_ID_LEN]


def _put(
    store: Store,
    sha: str,
    review_id: str,
    how: str,
    matched: str | None = None,
    sim: float | None = None,
    jac: float | None = None,
) -> None:
    store.db.execute(
        "INSERT INTO review_members(sha256, review_id, how, matched, similarity, jaccard, "
        "grouped_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
        "review_id=excluded.review_id, how=excluded.how, matched=excluded.matched, "
        "similarity=excluded.similarity, jaccard=excluded.jaccard, "
        "grouped_at=excluded.grouped_at",
        (sha, review_id, how, matched, _round(sim), _round(jac), utc_now()),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# -- the primary -----------------------------------------------------------------------------


def source_authority(home: Home) -> dict[str, int]:
    """Authority of each configured source name (PRIMARY RULE); unknown names and local are 0."""
    from .errors import ScrsearchError
    from .sources import builtin_sources, load_sources

    try:
        sources = load_sources(home)
    except ScrsearchError:  # a broken sources.toml is reported by crawl, not here
        sources = builtin_sources()
    return {name: KIND_AUTHORITY.get(config.kind, 0) for name, config in sources.items()}


class Authority:
    """Source authority read on first use: most reviews have one report and never need it
    (reading the sources imports the crawlers)."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._ranks: dict[str, int] | None = None

    def get(self, source: str, default: int = 0) -> int:
        if self._ranks is None:
            self._ranks = source_authority(self.home)
        return self._ranks.get(source, default)


#: Source authority as the functions below take it: lazily read, or a plain dict (tests).
Ranks = Authority | Mapping[str, int]


def _refresh_primary(store: Store, review_id: str, authority: Ranks) -> None:
    """Mark the review's primary by the PRIMARY RULE."""
    rows = store.db.execute(
        "SELECT m.sha256, m.superseded_by, d.source, d.rowid, "
        "(SELECT MAX(first_seen) FROM document_urls u WHERE u.sha256=m.sha256) "
        "FROM review_members m JOIN documents d ON d.sha256=m.sha256 WHERE m.review_id=?",
        (review_id,),
    ).fetchall()
    if not rows:
        return
    if len(rows) == 1:
        store.db.execute("UPDATE review_members SET is_primary=1 WHERE sha256=?", (rows[0][0],))
        return

    def rank(row) -> tuple:
        sha, newer, source, rowid, seen = row
        return (newer is None, authority.get(source, 0), seen or "", -rowid)

    primary = max(rows, key=rank)[0]
    store.db.execute(
        "UPDATE review_members SET is_primary=(sha256=?) WHERE review_id=?", (primary, review_id)
    )


# -- detection ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A report found to be a copy of another, with the evidence."""

    sha256: str
    containment: float
    jaccard: float


def _candidates(store: Store, sha: str, keys: Sequence[tuple[int, int]]) -> list[str]:
    found: Counter = Counter()
    for band, key in keys:
        rows = store.db.execute(
            "SELECT sha256 FROM review_bands WHERE band=? AND key=?", (band, key)
        )
        found.update(r[0] for r in rows if r[0] != sha)
    return [s for s, _ in found.most_common()]


def _apart(store: Store, sha: str) -> set[str]:
    """Reports a split by hand separated from this one."""
    rows = store.db.execute(
        "SELECT a, b FROM review_decisions WHERE kind='split' AND (a=? OR b=?)", (sha, sha)
    )
    return {b if a == sha else a for a, b in rows}


def _full_shingles(store: Store, sha: str):
    text = store.cached_text(sha)
    return shingles_of(text.pages, sample=1) if text is not None else None


def remember_text(store: Store, sha: str, pages: Sequence[str]) -> bool:
    """Record a report's MinHash signature and LSH bands, so later copies find it (`pipeline`
    calls this as it indexes each report). Returns False for too little text."""
    ensure_tables(store)
    _minhash_class()  # a missing datasketch is a clear error before any work
    shingles = shingles_of(pages)
    signature = signature_of(shingles)
    with store.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO review_signatures(sha256, shingles, signature) "
            "VALUES (?, ?, ?)",
            (sha, len(shingles), signature.tobytes()),
        )
        if len(shingles) >= MIN_SHINGLES:
            db.executemany(
                "INSERT OR IGNORE INTO review_bands(band, key, sha256) VALUES (?, ?, ?)",
                [(band, key, sha) for band, key in band_keys(signature)],
            )
    return len(shingles) >= MIN_SHINGLES


def _signature(store: Store, sha: str):
    """(sampled shingle count, MinHash values) of a remembered report, or None."""
    import numpy as np

    row = store.db.execute(
        "SELECT shingles, signature FROM review_signatures WHERE sha256=?", (sha,)
    ).fetchone()
    return (row[0], np.frombuffer(row[1], dtype=np.uint64)) if row else None


def find_copies(store: Store, sha: str) -> list[Match]:
    """The grouped reports whose text this one copies, best first: its LSH bands looked up,
    each candidate then compared exactly over every shingle of both texts."""
    remembered = _signature(store, sha)
    if remembered is None or remembered[0] < MIN_SHINGLES:
        return []
    keys = band_keys(remembered[1])
    apart = _apart(store, sha)
    mine = None
    matches = []
    for other in _candidates(store, sha, keys):
        if other in apart or member_of(store, other) is None:
            continue
        mine = mine if mine is not None else _full_shingles(store, sha)
        theirs = _full_shingles(store, other)
        if mine is None or theirs is None:
            continue
        containment, jaccard = similarity(mine, theirs)
        if is_copy(containment, jaccard):
            matches.append(Match(other, containment, jaccard))
    return sorted(matches, key=lambda m: (-m.containment, -m.jaccard, m.sha256))


def _older_versions(store: Store, sha: str) -> list[str]:
    """Grouped reports fetched earlier from a URL that now gives this report: older versions."""
    rows = store.db.execute(
        "SELECT DISTINCT old.sha256, old.first_seen, od.rowid FROM document_urls new "
        "JOIN document_urls old ON old.url=new.url AND old.sha256!=new.sha256 "
        "JOIN review_members m ON m.sha256=old.sha256 "
        "JOIN documents od ON od.sha256=old.sha256 JOIN documents nd ON nd.sha256=new.sha256 "
        "WHERE new.sha256=? AND (old.first_seen<new.first_seen "
        "OR (old.first_seen=new.first_seen AND od.rowid<nd.rowid)) "
        "ORDER BY old.first_seen, od.rowid",
        (sha,),
    )
    return [r[0] for r in rows]


def assign(store: Store, doc: Document, authority: Ranks | None = None) -> Member:
    """Put an indexed, remembered report in its review: a newer version, a copy found by
    text, or alone. A report already grouped keeps its place (its text cannot change)."""
    ensure_tables(store)
    sha = doc.sha256
    existing = member_of(store, sha)
    if existing is not None:
        return existing
    authority = authority if authority is not None else Authority(store.home)
    older = _older_versions(store, sha)
    if older:
        review = review_id_of(store, older[-1])
        _put(store, sha, review, "version", matched=older[-1])
        store.db.execute(
            f"UPDATE review_members SET superseded_by=? WHERE superseded_by IS NULL "
            f"AND sha256 IN ({', '.join('?' for _ in older)})",
            (sha, *older),
        )
    elif matches := find_copies(store, sha):
        best = matches[0]
        review = review_id_of(store, best.sha256)
        _put(store, sha, review, "text", best.sha256, best.containment, best.jaccard)
    else:
        review = sha[:REPORT_ID_LEN]
        _put(store, sha, review, "alone")
    _refresh_primary(store, review, authority)
    return member_of(store, sha)  # type: ignore[return-value]


def group_ungrouped(store: Store) -> int:
    """Put every indexed report that is in no review yet into one, oldest first (new reports
    of an index run; every report after a rebuild); then apply the hand decisions again.
    Returns how many of them joined another report's review (copies and versions)."""
    ensure_tables(store)
    forgotten = store.db.execute(
        "SELECT d.sha256 FROM documents d LEFT JOIN review_signatures s ON s.sha256=d.sha256 "
        "WHERE d.status='indexed' AND s.sha256 IS NULL ORDER BY d.rowid"
    ).fetchall()
    for (sha,) in forgotten:  # indexed before reviews.py, or by a killed run
        text = store.cached_text(sha)
        remember_text(store, sha, text.pages if text is not None else ())
    rows = store.db.execute(
        "SELECT d.sha256 FROM documents d LEFT JOIN review_members m ON m.sha256=d.sha256 "
        "WHERE d.status='indexed' AND m.sha256 IS NULL ORDER BY d.rowid"
    ).fetchall()
    if not rows:
        return 0
    authority = Authority(store.home)
    joined = 0
    for (sha,) in rows:
        doc = store.document(sha)
        if doc is not None:
            joined += assign(store, doc, authority).how != "alone"
    apply_decisions(store, authority)
    return joined


def forget_groups(store: Store) -> None:
    """Drop every grouping (signatures and hand decisions stay): after a rebuild, every report
    is grouped again."""
    ensure_tables(store)
    store.db.execute("DELETE FROM review_members")


# -- hand decisions ----------------------------------------------------------------------------


def _resolve_grouped(store: Store, report_id: str) -> Document:
    doc = store.resolve(report_id)
    if member_of(store, doc.sha256) is None:
        raise UsageError(
            f"report {doc.report_id} is not in a review yet ({doc.status}); run `scrsearch "
            "index` first (only indexed reports are grouped)"
        )
    return doc


def _merge(store: Store, a: str, b: str, authority: Ranks) -> str:
    """Move b's whole review into a's; returns the review id."""
    into, other = review_id_of(store, a), review_id_of(store, b)
    if into != other:
        moved = [m.sha256 for m in members_of(store, other)]
        store.db.execute(
            "UPDATE review_members SET review_id=?, how='hand', matched=? WHERE review_id=?",
            (into, a, other),
        )
        kept = [m.sha256 for m in members_of(store, into) if m.sha256 not in moved]
        # A merge undoes earlier splits between the two groups.
        for x in moved:
            for y in kept:
                store.db.execute(
                    "DELETE FROM review_decisions WHERE kind='split' AND "
                    "((a=? AND b=?) OR (a=? AND b=?))",
                    (x, y, y, x),
                )
    _refresh_primary(store, into, authority)
    return into


def _split(store: Store, sha: str, authority: Ranks) -> list[str]:
    """Take a report out of its review to stand alone; returns the others it left."""
    review = review_id_of(store, sha)
    others = [m.sha256 for m in members_of(store, review) if m.sha256 != sha]
    own = sha[:REPORT_ID_LEN]
    if others and review == own:  # the review was named after this report: rename the rest
        store.db.execute(
            "UPDATE review_members SET review_id=? WHERE review_id=? AND sha256!=?",
            (others[0][:REPORT_ID_LEN], review, sha),
        )
        review = others[0][:REPORT_ID_LEN]
    store.db.execute(
        "UPDATE review_members SET review_id=?, how='hand', matched=NULL, similarity=NULL, "
        "jaccard=NULL WHERE sha256=?",
        (own, sha),
    )
    _refresh_primary(store, own, authority)
    if others:
        _refresh_primary(store, review, authority)
    return others


def merge(home: Home, first: str, second: str) -> tuple[str, list[Document]]:
    """Merge two reports' reviews into one, by hand; kept across re-indexing."""
    with Store(home) as store:
        ensure_tables(store)
        a, b = _resolve_grouped(store, first), _resolve_grouped(store, second)
        if a.sha256 == b.sha256:
            raise UsageError(f"{first} and {second} are the same report: name two reports")
        authority = Authority(home)
        with store.transaction() as db:
            db.execute(
                "INSERT INTO review_decisions(kind, a, b, made_at) VALUES ('merge', ?, ?, ?)",
                (a.sha256, b.sha256, utc_now()),
            )
            review = _merge(store, a.sha256, b.sha256, authority)
        docs = [store.document(m.sha256) for m in members_of(store, review)]
    return review, [d for d in docs if d is not None]


def split(home: Home, report_id: str) -> tuple[Document, list[str]]:
    """Take a report out of its review, by hand; detection never puts it back with those."""
    with Store(home) as store:
        ensure_tables(store)
        doc = _resolve_grouped(store, report_id)
        authority = Authority(home)
        with store.transaction() as db:
            others = _split(store, doc.sha256, authority)
            now = utc_now()
            db.execute(
                "DELETE FROM review_decisions WHERE kind='merge' AND (a=? OR b=?)",
                (doc.sha256, doc.sha256),
            )
            db.executemany(
                "INSERT INTO review_decisions(kind, a, b, made_at) VALUES ('split', ?, ?, ?)",
                [(doc.sha256, other, now) for other in others],
            )
    return doc, others


def apply_decisions(store: Store, authority: Ranks | None = None) -> int:
    """Apply every hand decision again, in the order made (after an index run); returns how
    many changed a grouping."""
    ensure_tables(store)
    authority = authority if authority is not None else Authority(store.home)
    changed = 0
    rows = store.db.execute("SELECT kind, a, b FROM review_decisions ORDER BY id").fetchall()
    for kind, a, b in rows:
        if member_of(store, a) is None or member_of(store, b) is None:
            continue  # one of them is not indexed (yet): applied when it is
        together = review_id_of(store, a) == review_id_of(store, b)
        with store.transaction():
            if kind == "merge" and not together:
                _merge(store, a, b, authority)
                changed += 1
            elif kind == "split" and together:
                _split(store, a, authority)
                changed += 1
    return changed


# -- reading groups, for search, stats, export and watch ---------------------------------------


@dataclass(frozen=True)
class Groups:
    """Every grouped report's review, primary and version state; what results fold by."""

    review: dict[str, str]  # sha256 -> review id
    primary: dict[str, str]  # review id -> primary sha256
    superseded: frozenset[str]
    members: dict[str, list[str]]  # review id -> sha256s, primary first

    @property
    def has_copies(self) -> bool:
        """Whether any review has more than one report."""
        return len(self.review) > len(self.members)

    @property
    def copies(self) -> int:
        """How many reports are not the only report of their review, less one a review: the
        most a ranked list can hold that folding drops."""
        return len(self.review) - len(self.members)

    def pager(self, offset: int, limit: int):
        """A function from reports in rank order to the page of one report per review (each
        review's best-ranked report, old versions left out) from `offset`, `limit` long."""

        def page(order: Sequence[str]) -> list[str]:
            seen: set[str] = set()
            kept: list[str] = []
            for sha in order:
                if len(kept) >= offset + limit:
                    break
                if sha in self.superseded:
                    continue
                review = self.review_of(sha)
                if review in seen:
                    continue
                seen.add(review)
                kept.append(sha)
            return kept[offset:]

        return page

    def review_of(self, sha: str) -> str:
        """A report's review id (its own report id when it stands alone or is not grouped)."""
        return self.review.get(sha) or sha[:REPORT_ID_LEN]

    def primary_of(self, review_id: str) -> str | None:
        """The sha256 of a review's primary report."""
        return self.primary.get(review_id)

    def copies_of(self, review_id: str) -> list[str]:
        """The sha256s of a review's reports, primary first."""
        return self.members.get(review_id, [])

    def fold(self, hits: Mapping[str, int]) -> dict[str, int]:
        """Report hits (sha256 -> matching passages) folded to one report per review.

        Superseded versions are not searched: they drop out. The report kept for a review is
        its primary when the primary matches, else its matching report with the most passages
        (ties: lowest sha256); its count is that report's.
        """
        best: dict[str, str] = {}
        for sha, n in hits.items():
            if sha in self.superseded:
                continue
            review = self.review_of(sha)
            held = best.get(review)
            if held is None or self._better(sha, n, held, hits[held], review):
                best[review] = sha
        return {sha: hits[sha] for sha in best.values()}

    def _better(self, sha: str, n: int, held: str, held_n: int, review: str) -> bool:
        primary = self.primary.get(review)
        if held == primary:
            return False
        if sha == primary:
            return True
        return (n, held) > (held_n, sha)


def load_groups(db: sqlite3.Connection) -> Groups:
    """Every review grouping from a catalogue connection."""
    db.executescript(_SCHEMA)
    review: dict[str, str] = {}
    primary: dict[str, str] = {}
    superseded = set()
    members: dict[str, list[str]] = {}
    rows = db.execute(
        "SELECT sha256, review_id, is_primary, superseded_by FROM review_members "
        "ORDER BY is_primary DESC, rowid"
    )
    for sha, review_id, is_primary, newer in rows:
        review[sha] = review_id
        members.setdefault(review_id, []).append(sha)
        if is_primary:
            primary[review_id] = sha
        if newer:
            superseded.add(sha)
    return Groups(review, primary, frozenset(superseded), members)


_GROUPS: dict[Path, tuple[sqlite3.Connection, int, Groups]] = {}


def groups_of(home: Home) -> Groups:
    """The home's review groups, reloaded only when the catalogue changed since last asked."""
    cached = _GROUPS.get(home.root)
    if cached is None:
        Store(home).close()  # creates the catalogue if it is not there yet
        db = connect_catalogue(home, any_thread=True)  # read-only when the home is
        cached = (db, -1, Groups({}, {}, frozenset(), {}))
    db, version, groups = cached
    now = db.execute("PRAGMA data_version").fetchone()[0]
    if now != version:
        groups = load_groups(db)
        db.commit()
        _GROUPS[home.root] = (db, now, groups)
    return groups


def copy_json(doc: Document, member: Member | None, urls: Sequence[str] = ()) -> dict:
    """One report of a review as results list it: {report_id, sha256, source, url, pages}."""
    return {
        "report_id": doc.report_id,
        "sha256": doc.sha256,
        "source": doc.source,
        "url": doc.url or (urls[0] if urls else None),
        "pages": doc.pages,
        "primary": bool(member and member.is_primary),
        "how": member.how if member else "alone",
        "similarity": member.similarity if member else None,
        "superseded_by": (
            member.superseded_by[:REPORT_ID_LEN] if member and member.superseded_by else None
        ),
    }


def collapse_results(
    results: Sequence[dict],
    groups: Groups,
    documents: Mapping[str, Document],
    render,
    passages_per_result: int = 3,
) -> list[dict]:
    """Per-report results (best first) folded into one result per review, best first.

    Each result takes its review's best score, the primary's metadata (`render(doc)` gives
    the report fields, as `search.report_json`), the best passages of any of its copies (each
    passage names its `report_id`), and `"copies"`: every report of the review, primary
    first. A review's place is that of its best-ranked report. Superseded versions are not
    searched: their results are dropped.
    """
    order: list[str] = []
    found: dict[str, list[dict]] = {}
    for entry in results:
        if entry["sha256"] in groups.superseded:
            continue
        review = groups.review_of(entry["sha256"])
        if review not in found:
            order.append(review)
            found[review] = []
        found[review].append(entry)
    folded = []
    for review in order:
        current = found[review]
        primary = groups.primary_of(review)
        head_sha = primary if primary in documents else current[0]["sha256"]
        head = render(documents[head_sha]) if head_sha in documents else dict(current[0])
        head["score"] = max(e["score"] for e in current)
        passages, seen = [], set()
        for entry in sorted(current, key=lambda e: -e["score"]):
            for passage in entry["passages"]:
                if passage["text"] in seen:
                    continue
                seen.add(passage["text"])
                passages.append({**passage, "report_id": entry["report_id"]})
        passages.sort(key=lambda p: -p.get("score", 0.0))
        head["passages"] = passages[:passages_per_result]
        if "explain" in current[0]:
            head["explain"] = current[0]["explain"]
        head["review_id"] = review
        head["copies"] = [
            _copy_entry(documents.get(sha), sha, groups)
            for sha in (groups.copies_of(review) or [head_sha])
        ]
        folded.append(head)
    return folded


def _copy_entry(doc: Document | None, sha: str, groups: Groups) -> dict:
    review = groups.review_of(sha)
    return {
        "report_id": sha[:REPORT_ID_LEN],
        "sha256": sha,
        "source": doc.source if doc else None,
        "url": doc.url if doc else None,
        "pages": doc.pages if doc else None,
        "primary": groups.primary_of(review) == sha,
        "superseded": sha in groups.superseded,
    }


# -- related documents -------------------------------------------------------------------------


def related_documents(store: Store, doc: Document) -> list[Document]:
    """Other reviews' documents of the same case: the same subject and locality, and years
    within one of each other (an overview, its summary, the board's response, a briefing)."""
    if not (doc.subject and doc.locality):
        return []
    rows = store.db.execute(
        "SELECT sha256 FROM documents WHERE sha256!=? AND lower(subject)=lower(?) "
        "AND locality=? ORDER BY year, rowid",
        (doc.sha256, doc.subject, doc.locality),
    )
    own_review = review_id_of(store, doc.sha256)
    related = []
    for (sha,) in rows:
        other = store.document(sha)
        if other is None or review_id_of(store, sha) == own_review:
            continue
        if doc.year and other.year and abs(doc.year - other.year) > 1:
            continue
        related.append(other)
    return related
