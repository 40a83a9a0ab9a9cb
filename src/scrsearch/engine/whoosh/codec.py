"""Posting blocks that are cheap to read: a Whoosh codec and positions format of our own.

Whoosh 2.7 writes each block of 128 postings as one zlib-compressed pickle of (ids, weights,
values), and each posting's positions as a pickled list. Reading any of a block (even only
its ids, to skip through it) costs a decompression and an unpickling of the whole block:
at 100,000 pages that was most of a search's time (a common word's blocks are read by every
query that touches it; a phrase with "the" in it reads all of them).

Here a block is a fixed header and three flat arrays, written and read with `array` in C:

- the header: block length, first id, last id, posting count, maximum weight, minimum and
  maximum length bytes, and how the ids, weights and values are stored;
- the ids as deltas from the first one, in the smallest of B/H/I that holds them;
- the weights: none when all are 1.0, one float when all are equal, bytes when all are
  whole numbers under 256, otherwise float32 (what Whoosh keeps);
- the values: each posting's bytes, found through an array of offsets, sliced only for the
  postings asked for.

`CompactPositions` stores a posting's positions as a typecode byte and an array of deltas
(Whoosh's `Positions` format pickles a list). Everything else (the term index, stored fields,
length columns, segment files) is Whoosh's own.

Nothing is compressed: the postings take about twice the bytes of Whoosh's and are read much
faster (see the closing note of issue 6 and README "Performance"). A change to this layout
must bump index.SCHEMA_VERSION, which rebuilds old indexes.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left
from itertools import accumulate, pairwise

from whoosh.codec.whoosh3 import (
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3LeafMatcher,
    W3PostingsWriter,
)
from whoosh.formats import Positions
from whoosh.matching import ReadTooFar
from whoosh.util.numeric import byte_to_length, length_to_byte

#: data length, 1 for a term's last block (else 0), first id, last id, posting count,
#: maximum weight, minimum and maximum length bytes, id typecode, weights kind, values kind.
_HEADER = struct.Struct("<IBIIHdBBBBB")

_BIG_ENDIAN = sys.byteorder == "big"

# How a block's weights are stored.
_WEIGHTS_ONE, _WEIGHTS_SAME, _WEIGHTS_BYTES, _WEIGHTS_FLOATS = range(4)
# How a block's values are stored.
_VALUES_NONE, _VALUES_FIXED, _VALUES_SHORT, _VALUES_LONG = range(4)


#: An id typecode -> its numpy dtype (blocks are stored little-endian).
_NUMPY_IDS = {"B": "<u1", "H": "<u2", "I": "<u4"}

#: A typecode's byte -> the typecode.
_TYPECODES = {ord(code): code for code in "BHI"}


def _smallest_typecode(biggest: int) -> str:
    if biggest < 1 << 8:
        return "B"
    if biggest < 1 << 16:
        return "H"
    return "I"


def _pack(typecode: str, values) -> bytes:
    packed = array(typecode, values)
    if _BIG_ENDIAN:
        packed.byteswap()
    return packed.tobytes()


def _unpack(typecode: str, data) -> array:
    unpacked = array(typecode)
    unpacked.frombytes(data)
    if _BIG_ENDIAN:
        unpacked.byteswap()
    return unpacked


class CompactPositions(Positions):
    """Whoosh's Positions format with a posting's positions kept as a typecode byte and the
    deltas in the smallest array type (B, H or I) that holds them, instead of a pickle."""

    def encode(self, poslist):
        deltas = [b - a for a, b in pairwise([0, *poslist])]
        typecode = _smallest_typecode(max(deltas, default=0))
        return typecode.encode() + _pack(typecode, deltas)

    def decode_positions(self, valuestring):
        if len(valuestring) == 2:  # one position under 256, the commonest posting
            return [valuestring[1]]
        if _BIG_ENDIAN:
            return list(accumulate(_unpack(chr(valuestring[0]), valuestring[1:])))
        return list(accumulate(array(_TYPECODES[valuestring[0]], valuestring[1:])))

    def decode_frequency(self, valuestring):
        return (len(valuestring) - 1) // array(chr(valuestring[0])).itemsize


class FlatCodec(W3Codec):
    """Whoosh's W3 codec with flat posting blocks (see the module's docstring)."""

    def postings_writer(self, dbfile, byteids=False):
        if byteids:  # term vectors, which the schema does not use
            return super().postings_writer(dbfile, byteids=True)
        return FlatPostingsWriter(
            dbfile, blocklimit=self._blocklimit, compression=0, inlinelimit=self._inlinelimit
        )

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return FlatLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class FlatPostingsWriter(W3PostingsWriter):
    """W3PostingsWriter writing flat blocks (only `_write_block` differs)."""

    def _write_block(self, last=False):
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        ids, weights, values = self._ids, self._weights, self._values
        count = len(ids)
        deltas = [b - a for a, b in pairwise(ids)]
        id_code = _smallest_typecode(max(deltas, default=0))
        parts = [_pack(id_code, deltas)]

        if all(w == 1.0 for w in weights):
            weights_kind = _WEIGHTS_ONE
        elif all(w == weights[0] for w in weights):
            weights_kind = _WEIGHTS_SAME
            parts.append(_pack("f", weights[:1]))
        elif all(w.is_integer() and 0 <= w < 256 for w in weights):
            weights_kind = _WEIGHTS_BYTES
            parts.append(_pack("B", [int(w) for w in weights]))
        else:
            weights_kind = _WEIGHTS_FLOATS
            parts.append(_pack("f", weights))

        fixedsize = self._format.fixed_value_size()
        if fixedsize == 0 or not values:
            values_kind = _VALUES_NONE
        elif fixedsize is not None and fixedsize > 0:
            values_kind = _VALUES_FIXED
            parts.append(b"".join(values))
        else:
            if len(values) != count:
                raise ValueError(f"a block of {count} postings has {len(values)} values")
            ends = list(accumulate(len(v) for v in values))
            values_kind = _VALUES_SHORT if ends[-1] < 1 << 16 else _VALUES_LONG
            parts.append(_pack("H" if values_kind == _VALUES_SHORT else "I", ends))
            parts.extend(values)

        data = b"".join(parts)  # empty for one posting without weights or values
        header = _HEADER.pack(
            len(data), int(last), ids[0], ids[-1], count, self._maxweight,
            length_to_byte(self._minlength), length_to_byte(self._maxlength),
            ord(id_code), weights_kind, values_kind,
        )  # fmt: skip
        self._postfile.write(header)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()


class _Values:
    """A block's variable-size values, each sliced from the block's bytes when asked for."""

    __slots__ = ("data", "ends", "start")

    def __init__(self, data: bytes, ends: array, start: int) -> None:
        self.data, self.ends, self.start = data, ends, start

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> bytes:
        if i < 0:
            i += len(self.ends)
        begin = self.start + (self.ends[i - 1] if i else 0)
        return self.data[begin : self.start + self.ends[i]]


class FlatLeafMatcher(W3LeafMatcher):
    """W3LeafMatcher reading flat blocks: the header is unpacked with one struct call, the
    ids and weights are arrays read in C, and a value is sliced only when asked for."""

    def skip_to(self, targetid):
        """W3LeafMatcher.skip_to with a binary search inside the block.

        Whoosh steps through a block one posting at a time (`while id() < target: next()`),
        two Python calls a posting; a phrase or an AND with a common word skips through most
        of that word's postings this way (half the time of a phrase search). Blocks are
        skipped as before.
        """
        if not self.is_active():
            raise ReadTooFar
        if targetid <= self.id():
            return
        if targetid > self._maxid:
            self._skip_to_block(lambda: targetid > self._maxid)
            if not self.is_active():
                return
        if self._ids is None:
            self._read_ids()
        # The block's last id is its maxid >= targetid, so the position is inside this block.
        self._i = bisect_left(self._ids, targetid, self._i)

    def _goto(self, position):
        self._position = position  # where this block starts (block_arrays' callers jump back)
        self._data = None
        self._ids = None
        self._weights = None
        self._values = None
        self._i = 0
        (
            length, last, self._first_id, self._maxid, self._blocklength, self._maxweight,
            minlength, maxlength, id_code, self._weights_kind, self._values_kind,
        ) = _HEADER.unpack(self._postfile.get(position, _HEADER.size))  # fmt: skip
        self._lastblock = bool(last)
        self._dataoffset = position + _HEADER.size
        self._nextoffset = self._dataoffset + length
        self._compression = 0
        self._minlength = byte_to_length(minlength)
        self._maxlength = byte_to_length(maxlength)
        self._id_code = chr(id_code)

    def _read_data(self):
        self._data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)

    def _ids_end(self) -> int:
        return (self._blocklength - 1) * array(self._id_code).itemsize

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        deltas = _unpack(self._id_code, self._data[: self._ids_end()])
        self._ids = tuple(accumulate(deltas, initial=self._first_id))

    def _weights_end(self) -> int:
        start, count, kind = self._ids_end(), self._blocklength, self._weights_kind
        if kind == _WEIGHTS_ONE:
            return start
        if kind == _WEIGHTS_SAME:
            return start + 4
        return start + count * (1 if kind == _WEIGHTS_BYTES else 4)

    def _read_weights(self):
        if self._data is None:
            self._read_data()
        start, count, kind = self._ids_end(), self._blocklength, self._weights_kind
        if kind == _WEIGHTS_ONE:
            self._weights = array("f", [1.0]) * count
        elif kind == _WEIGHTS_SAME:
            self._weights = _unpack("f", self._data[start : start + 4]) * count
        elif kind == _WEIGHTS_BYTES:
            self._weights = array("f", list(self._data[start : start + count]))
        else:
            self._weights = _unpack("f", self._data[start : start + 4 * count])

    def block_arrays(self):
        """This block's ids (int64) and weights (float32) as numpy arrays, decoded in C."""
        import numpy as np

        if self._data is None:
            self._read_data()
        data, count, kind = self._data, self._blocklength, self._weights_kind
        ids = np.empty(count, dtype=np.int64)
        ids[0] = self._first_id
        if count > 1:
            deltas = np.frombuffer(data, dtype=_NUMPY_IDS[self._id_code], count=count - 1)
            np.cumsum(deltas, out=ids[1:])
            ids[1:] += self._first_id
        start = self._ids_end()
        if kind == _WEIGHTS_ONE:
            weights = np.ones(count, dtype=np.float32)
        elif kind == _WEIGHTS_SAME:
            weights = np.full(count, struct.unpack_from("<f", data, start)[0], dtype=np.float32)
        elif kind == _WEIGHTS_BYTES:
            weights = np.frombuffer(data, dtype=np.uint8, count=count, offset=start)
            weights = weights.astype(np.float32)
        else:
            weights = np.frombuffer(data, dtype="<f4", count=count, offset=start)
        return ids, weights

    def _read_values(self):
        if self._data is None:
            self._read_data()
        count, kind = self._blocklength, self._values_kind
        if kind == _VALUES_NONE:
            self._values = (None,) * count
            return
        start = self._weights_end()
        data = self._data
        if kind == _VALUES_FIXED:
            size = self._fixedsize
            stops = range(start, start + count * size, size)
            self._values = tuple(data[i : i + size] for i in stops)
            return
        typecode = "H" if kind == _VALUES_SHORT else "I"
        ends_end = start + count * array(typecode).itemsize
        self._values = _Values(data, _unpack(typecode, data[start:ends_end]), ends_end)


# An index's table of contents pickles its codec and formats by their module path; indexes
# written before the engine had its own package name them `scrsearch.postings.*`. The old
# path stays an alias of this module so they open without a rebuild.
sys.modules.setdefault("scrsearch.postings", sys.modules[__name__])
