"""Near-duplicate texts: word shingles, their similarity, MinHash signatures and LSH bands."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Sequence

from .errors import ConfigError

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
#: A candidate is a copy when both hold (measured: see the docstring of reviews.py).
MIN_CONTAINMENT = 0.6
MIN_JACCARD = 0.35
#: Reports with fewer (sampled) shingles than this, about 100 words (a cover sheet, a failed
#: extraction), are never grouped by text: too little to tell a copy from a shared template.
MIN_SHINGLES = 12

_LETTERS = bytes(c if 97 <= c <= 122 else 32 for c in range(256))

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
