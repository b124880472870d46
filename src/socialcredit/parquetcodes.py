"""A Parquet text column's dictionary codes read straight from its pages, for a log whose row groups
all carry the same dictionary (a writer given dictionary-encoded ids writes the whole dictionary into
every row group: `benchmarks/score_events.py`'s log, 1M ids in each of 10 row groups).

Arrow reads such a column as a dictionary array a row group at a time and hashes each row group's
dictionary again (0.2 s of CPU for a dictionary of 1M ids): 2 of the 6 CPU seconds of `score` on the
10M-event benchmark (benchmarks/RESULTS.md, "Side by side with DuckDB and Polars"). Here every row
group's codes are its data pages' indices, decoded with NumPy, once each dictionary page is found to
hold the first one's bytes; the dictionary is that page's ids (`fixed_width_texts`), or the first
row group's dictionary as Arrow reads it where the ids differ in length.

Only the plain case is taken: a flat column with no nulls (by its statistics), every data page
dictionary-encoded, a codec Arrow decompresses, no encryption. Anything else returns None and the
caller reads the column with Arrow, so a file this cannot read is read as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .parallel import parallel_map

# Parquet's enums (parquet.thrift): page types, encodings, codecs as Arrow names them.
DATA_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 2, 3
PLAIN, PLAIN_DICTIONARY, RLE, RLE_DICTIONARY = 0, 2, 3, 8
# Arrow's metadata names both of Parquet's LZ4 codecs (Hadoop's framing, and none) "LZ4": left to Arrow.
CODECS = {"UNCOMPRESSED": None, "SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "BROTLI": "brotli"}


class NotPlain(Exception):
    """The column is not the plain case: read it with Arrow."""


# --- Thrift's compact protocol, as far as a page header needs it ---------------------------------------------------

class _Reader:
    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def byte(self) -> int:
        if self.position >= len(self.data):
            raise NotPlain("page header past the column chunk's end")
        value = self.data[self.position]
        self.position += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise NotPlain("a varint longer than 64 bits")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def skip(self, kind: int) -> None:
        if kind in (1, 2):  # booleans: held in the field header
            return
        if kind == 3:
            self.position += 1
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.position += 8
        elif kind == 8:
            length = self.varint()  # read before the position it moves (`+=` would read the old one first)
            self.position += length
        elif kind in (9, 10):
            header = self.byte()
            size = header >> 4 if header >> 4 != 15 else self.varint()
            element = header & 0x0F
            for _ in range(size):
                self.skip(element)
        elif kind == 11:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4)
                    self.skip(types & 0x0F)
        elif kind == 12:
            self.struct({})
        else:
            raise NotPlain(f"thrift type {kind}")

    def struct(self, wanted: dict[int, Callable[[_Reader, int], object]]) -> dict[int, object]:
        """The fields of a struct that `wanted` names (field id -> how to read it, given its type);
        the others skipped."""
        found: dict[int, object] = {}
        field = 0
        while True:
            header = self.byte()
            kind = header & 0x0F
            if kind == 0:
                return found
            delta = header >> 4
            field = field + delta if delta else self.zigzag()
            if field in wanted:
                found[field] = wanted[field](self, kind)
            else:
                self.skip(kind)


def _integer(reader: _Reader, kind: int) -> int:
    if kind not in (3, 4, 5, 6):
        raise NotPlain(f"an integer field of thrift type {kind}")
    return reader.byte() if kind == 3 else reader.zigzag()


def _boolean(reader: _Reader, kind: int) -> bool:
    if kind not in (1, 2):
        raise NotPlain(f"a boolean field of thrift type {kind}")
    return kind == 1


def _fields(**readers: Callable[[_Reader, int], object]) -> Callable[[_Reader, int], dict[int, object]]:
    by_id = {int(name.removeprefix("f")): read for name, read in readers.items()}

    def read(reader: _Reader, kind: int) -> dict[int, object]:
        if kind != 12:
            raise NotPlain(f"a struct field of thrift type {kind}")
        return reader.struct(by_id)
    return read


# PageHeader: 1 type, 2 uncompressed size, 3 compressed size; 5 data page (1 values, 2 encoding,
# 3 definition levels' encoding);
# 7 dictionary page (1 values, 2 encoding); 8 data page v2 (1 values, 2 nulls, 4 encoding,
# 5 definition levels' bytes, 6 repetition levels' bytes, 7 is_compressed)
_PAGE_HEADER = {
    1: _integer, 2: _integer, 3: _integer,
    5: _fields(f1=_integer, f2=_integer, f3=_integer),
    7: _fields(f1=_integer, f2=_integer),
    8: _fields(f1=_integer, f2=_integer, f4=_integer, f5=_integer, f6=_integer, f7=_boolean),
}


# --- the RLE / bit-packed hybrid of the indices -------------------------------------------------------------------

def unpack_bits(packed: np.ndarray, width: int, count: int) -> np.ndarray:
    """`count` values of `width` bits packed little-endian, 8 values in `width` bytes (Parquet's
    bit-packing): each of the 8 places in a group is read from the bytes it spans, for all groups
    at once."""
    groups = packed.size // width
    block = packed[:groups * width].reshape(groups, width)
    values = np.empty((groups, 8), dtype=np.uint32)
    mask = np.uint64((1 << width) - 1)
    for place in range(8):
        first_bit = place * width
        first, shift = divmod(first_bit, 8)
        spans = (shift + width + 7) // 8
        word = block[:, first].astype(np.uint64)
        for extra in range(1, spans):
            word |= block[:, first + extra].astype(np.uint64) << np.uint64(8 * extra)
        values[:, place] = (word >> np.uint64(shift)) & mask
    return values.ravel()[:count]


def decode_hybrid(data: memoryview, width: int, count: int) -> np.ndarray:
    """`count` values of the RLE / bit-packed hybrid (Parquet's encoding of dictionary indices)."""
    if width == 0:
        return np.zeros(count, dtype=np.int32)
    if width > 32:
        raise NotPlain(f"indices of {width} bits")
    reader = _Reader(bytes(data))
    value_bytes = (width + 7) // 8
    runs: list[tuple[bool, int, int, int]] = []  # (packed, values, start byte or value, bytes)
    made = 0
    raw = np.frombuffer(reader.data, dtype=np.uint8)
    header = reader.data[0] if reader.data else 0
    if header & 1 and header < 0x80:  # a one-byte header of bit-packed groups: a writer repeats it
        # (Arrow: 63 groups, 504 values, a run) to the page's end; those runs are found at once
        groups = header >> 1
        stride = 1 + groups * width
        whole = min(len(raw) // stride, -(-count // (groups * 8)))
        repeated = raw[:whole * stride:stride] == header
        same = whole if repeated.all() else int(np.argmin(repeated))
        if same:
            runs.append((True, same * groups * 8, -1, same * stride))  # start -1: the stride's layout
            reader.position = same * stride
            made = same * groups * 8
    while made < count:
        header = reader.varint()
        if header & 1:
            groups = header >> 1
            size = groups * width
            runs.append((True, groups * 8, reader.position, size))
            reader.position += size
            made += groups * 8
        else:
            repeats = min(header >> 1, count - made)  # a run past the values asked for is cut, not allocated
            value = int.from_bytes(reader.data[reader.position:reader.position + value_bytes], "little")
            reader.position += value_bytes
            runs.append((False, repeats, value, 0))
            made += repeats
        if reader.position > len(reader.data):
            raise NotPlain("indices past the page's end")

    def packed_bytes(start: int, size: int) -> np.ndarray:
        if start >= 0:
            return raw[start:start + size]
        return raw[:size].reshape(-1, stride)[:, 1:].ravel()  # the repeated runs without their headers

    if all(packed for packed, *_ in runs):  # the usual case for ids: one stream of bit-packed groups
        joined = np.concatenate([packed_bytes(start, size) for _, _, start, size in runs])
        return unpack_bits(joined, width, count).astype(np.int32)
    out = np.empty(made, dtype=np.int32)
    at = 0
    for packed, values, start, size in runs:
        if packed:
            out[at:at + values] = unpack_bits(packed_bytes(start, size), width, values)
        else:
            out[at:at + values] = start
        at += values
    return out[:count]


def fixed_width_texts(page: memoryview, entries: int) -> pa.Array | None:
    """A dictionary page's PLAIN byte arrays (each a 4-byte length, then its bytes) as a string
    array, where every entry has one length, as ids often have (s0000123): where each starts follows
    from that, with no walk through the page. None where the lengths differ. Its entries may repeat
    one another (Arrow's reading keeps one of each): `eventlog.read_event_log` merges them."""
    if entries <= 0 or len(page) < 4:
        return None
    width = int.from_bytes(page[:4], "little")
    if len(page) != entries * (4 + width) or entries * width >= 1 << 31:
        return None
    rows = np.frombuffer(page, dtype=np.uint8).reshape(entries, 4 + width)
    if not (np.ascontiguousarray(rows[:, :4]).view("<u4").ravel() == width).all():
        return None
    offsets = np.arange(entries + 1, dtype=np.int32) * np.int32(width)
    texts = pa.Array.from_buffers(pa.string(), entries, [None, pa.py_buffer(offsets),
                                                         pa.py_buffer(np.ascontiguousarray(rows[:, 4:]))])
    texts.validate(full=True)  # UTF-8, as Arrow's reading checks it: raises ArrowInvalid where not
    return texts


# --- a column chunk -----------------------------------------------------------------------------------------------

def _decompress(data: memoryview, codec: str | None, size: int) -> memoryview:
    if codec is None:
        return data
    return memoryview(pa.decompress(data, decompressed_size=size, codec=codec, asbytes=False))


class Chunk(NamedTuple):
    """A column chunk read: its dictionary page as stored (and its size decompressed, its number of
    entries), and the indices of its rows into that dictionary."""

    dictionary_page: bytes
    dictionary_size: int
    entries: int
    indices: np.ndarray


def _data_page(header: dict[int, object], field: int, rows_left: int) -> tuple[dict[int, object], int]:
    """A data page header's own fields (header field `field`: 5 for v1, 8 for v2) and its values, which
    a damaged file may leave out or make more than the row group has rows left."""
    fields = header.get(field)
    if not isinstance(fields, dict):
        raise NotPlain("a data page header without its fields")
    values = fields.get(1)
    if not isinstance(values, int) or not 0 <= values <= rows_left:
        raise NotPlain("a data page of more values than its row group has rows left")
    return fields, values


def _chunk_indices(raw: bytes, codec: str | None, rows: int, has_definition_levels: bool) -> Chunk:
    """One column chunk's dictionary page and indices."""
    reader = _Reader(raw)
    dictionary_page = b""
    entries = dictionary_size = 0
    parts: list[np.ndarray] = []
    made = 0
    while made < rows:
        header = reader.struct(_PAGE_HEADER)
        page_type, size, stored = header.get(1), header.get(2), header.get(3)
        if not isinstance(page_type, int) or not isinstance(size, int) or not isinstance(stored, int):
            raise NotPlain("a page header without its type or sizes")
        body = memoryview(raw)[reader.position:reader.position + stored]
        reader.position += stored
        if len(body) != stored:
            raise NotPlain("a page past the column chunk's end")
        if page_type == DICTIONARY_PAGE:
            if dictionary_page or parts:
                raise NotPlain("a second dictionary page")
            dictionary_page = bytes(body)
            fields = header.get(7)
            if not isinstance(fields, dict) or fields.get(2) not in (PLAIN, PLAIN_DICTIONARY):
                raise NotPlain("a dictionary page not plain-encoded")
            entries = int(fields.get(1, -1))  # type: ignore[call-overload]
            dictionary_size = size
            continue
        if page_type == DATA_PAGE:
            fields, values = _data_page(header, 5, rows - made)
            encoding = fields.get(2)
            page = _decompress(body, codec, size)
            if has_definition_levels:  # each must say "defined": the statistics' null count is not trusted
                if fields.get(3) != RLE:
                    raise NotPlain("definition levels not RLE-encoded")
                levels = int.from_bytes(page[:4], "little")
                if not decode_hybrid(page[4:4 + levels], 1, values).all():
                    raise NotPlain("a null in a data page")
                page = page[4 + levels:]
        elif page_type == DATA_PAGE_V2:
            fields, values = _data_page(header, 8, rows - made)
            encoding = fields.get(4)
            if fields.get(2, 0) or fields.get(6, 0):
                raise NotPlain("nulls or repetition levels in a data page")
            levels = fields.get(5, 0)
            if not isinstance(levels, int) or not 0 <= levels <= size:
                raise NotPlain("definition levels' size outside the page")
            compressed = fields.get(7, True)
            page = _decompress(body[levels:], codec if compressed else None, size - levels)
        else:
            raise NotPlain(f"a page of type {page_type}")
        if encoding not in (PLAIN_DICTIONARY, RLE_DICTIONARY) or not isinstance(values, int) or not dictionary_page:
            raise NotPlain("a data page not dictionary-encoded")
        parts.append(decode_hybrid(page[1:], page[0], values))
        made += values
    if made != rows:
        raise NotPlain("pages hold more values than the row group's rows")
    return Chunk(dictionary_page, dictionary_size, entries, np.concatenate(parts) if len(parts) != 1 else parts[0])


def dictionary_codes(path: Path, name: str) -> tuple[np.ndarray, pa.Array] | None:
    """(int32 codes, the dictionary they index) of column `name` of every row of a Parquet file, where
    its row groups all carry one dictionary and the column is the plain case (module docstring);
    None where it is not, and Arrow is to read it."""
    try:
        handle = pq.ParquetFile(path, read_dictionary=[name])
        metadata = handle.metadata
        column = handle.schema_arrow.get_field_index(name)
        leaf = handle.schema.column(column)
        if (column < 0 or metadata.num_row_groups < 2 or leaf.max_repetition_level or leaf.max_definition_level > 1
                or leaf.physical_type != "BYTE_ARRAY" or len(handle.schema_arrow) != metadata.num_columns):
            return None
        chunks = []
        for group in range(metadata.num_row_groups):
            chunk = metadata.row_group(group).column(column)
            statistics = chunk.statistics
            if (not chunk.has_dictionary_page or chunk.compression not in CODECS or statistics is None
                    or not statistics.has_null_count or statistics.null_count):
                return None
            start = min(chunk.dictionary_page_offset, chunk.data_page_offset)
            chunks.append((start, chunk.total_compressed_size, metadata.row_group(group).num_rows,
                           CODECS[chunk.compression]))

        def indices(place: tuple[int, int, int, str | None]) -> Chunk:
            start, size, rows, codec = place
            with open(path, "rb") as file:
                file.seek(start)
                raw = file.read(size)
            return _chunk_indices(raw, codec, rows, leaf.max_definition_level == 1)

        decoded = parallel_map(indices, chunks)
        first = decoded[0]
        if any(chunk.dictionary_page != first.dictionary_page for chunk in decoded[1:]):
            return None
        dictionary = fixed_width_texts(_decompress(memoryview(first.dictionary_page), chunks[0][3],
                                                   first.dictionary_size), first.entries)
        if dictionary is None:  # ids of several lengths: the first row group's dictionary as Arrow reads it
            read = handle.read_row_group(0, columns=[name]).column(0)
            if read.num_chunks != 1 or not pa.types.is_dictionary(read.type):
                return None
            dictionary = read.chunk(0).dictionary
        codes = np.concatenate([chunk.indices for chunk in decoded])
        # Arrow keeps one entry of a dictionary that repeats one (and the indices would then differ)
        if len(dictionary) != first.entries or (codes.size and (int(codes.max()) >= first.entries
                                                                 or int(codes.min()) < 0)):
            return None
        return codes, dictionary
    except (NotPlain, pa.ArrowException, OSError, ValueError, IndexError, KeyError, MemoryError):
        return None
