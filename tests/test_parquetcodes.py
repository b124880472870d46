"""A Parquet column's dictionary codes read from its pages give what Arrow reads, in every layout a
writer may choose, and a file outside the plain case is left to Arrow (None)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit import eventlog, parquetcodes
from socialcredit.parquetcodes import dictionary_codes, unpack_bits


def _ids(count: int) -> pa.Array:
    return pa.array([f"s{i:07d}" for i in range(count)], type=pa.string())


def _write(path: Path, codes: np.ndarray, ids: pa.Array, nullable: bool = True, **options) -> Path:
    """A log whose subject column is dictionary-encoded ids (every row group then carries the whole
    dictionary), as `benchmarks/score_events.py` writes it."""
    column = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), ids)
    schema = pa.schema([pa.field("subject", column.type, nullable=nullable), pa.field("time", pa.float64())])
    table = pa.table({"subject": column, "time": np.arange(codes.size, dtype=np.float64)}, schema=schema)
    options.setdefault("row_group_size", 1000)
    pq.write_table(table, path, **options)
    return path


def _as_arrow_reads_it(path: Path) -> list[str]:
    return pq.read_table(path, columns=["subject"]).column(0).cast(pa.string()).to_pylist()


def _decoded(path: Path) -> list[str]:
    read = dictionary_codes(path, "subject")
    assert read is not None, "the plain case was left to Arrow"
    codes, dictionary = read
    assert codes.dtype == np.int32
    return dictionary.take(pa.array(codes)).to_pylist()


@pytest.mark.parametrize("compression", ["snappy", "zstd", "gzip", "none", "brotli"])
@pytest.mark.parametrize("page_version", ["1.0", "2.0"])
def test_codes_are_the_ids_arrow_reads_in_every_codec_and_page_version(tmp_path, compression, page_version):
    codes = np.random.default_rng(1).integers(0, 5000, size=7000)
    path = _write(tmp_path / "log.parquet", codes, _ids(5000), compression=compression,
                  data_page_version=page_version, data_page_size=4096)
    assert _decoded(path) == _as_arrow_reads_it(path)


@pytest.mark.parametrize("subjects", [1, 2, 3, 255, 256, 70_000])
def test_codes_of_every_bit_width(tmp_path, subjects):
    codes = np.random.default_rng(subjects).integers(0, subjects, size=5000)
    path = _write(tmp_path / "log.parquet", codes, _ids(subjects))
    decoded = dictionary_codes(path, "subject")
    assert decoded is not None
    assert np.array_equal(decoded[0], codes)


def test_runs_of_one_subject_are_read_as_the_runs_they_are(tmp_path):
    """Sorted ids are written as RLE runs (one value repeated), between bit-packed groups."""
    codes = np.sort(np.random.default_rng(2).integers(0, 300, size=9000))
    codes[::7] = 299 - codes[::7]  # some bit-packed stretches between the runs
    path = _write(tmp_path / "log.parquet", codes, _ids(300))
    assert _decoded(path) == _as_arrow_reads_it(path)


def test_a_required_column_has_no_definition_levels_to_skip(tmp_path):
    codes = np.random.default_rng(3).integers(0, 900, size=4000)
    path = _write(tmp_path / "log.parquet", codes, _ids(900), nullable=False)
    assert pq.ParquetFile(path).schema.column(0).max_definition_level == 0
    assert _decoded(path) == _as_arrow_reads_it(path)


@settings(max_examples=25, deadline=None)
@given(subjects=st.integers(1, 3000), events=st.integers(1, 6000), row_group=st.integers(1, 2500),
       sorted_codes=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_any_layout_reads_as_arrow_reads_it(tmp_path_factory, subjects, events, row_group, sorted_codes, seed):
    codes = np.random.default_rng(seed).integers(0, subjects, size=events)
    if sorted_codes:
        codes.sort()
    path = _write(tmp_path_factory.mktemp("log") / "log.parquet", codes, _ids(subjects), row_group_size=row_group)
    read = dictionary_codes(path, "subject")
    if pq.ParquetFile(path).metadata.num_row_groups < 2:
        assert read is None  # one row group: Arrow hashes one dictionary, nothing to save
    else:
        assert read is not None and np.array_equal(read[0], codes)


def test_row_groups_with_their_own_dictionaries_are_left_to_arrow(tmp_path):
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"subject": [f"s{i % 37}" for i in range(3000)]}), path, row_group_size=1000)
    assert dictionary_codes(path, "subject") is None


def test_a_column_with_nulls_is_left_to_arrow(tmp_path):
    path = tmp_path / "log.parquet"
    column = pa.DictionaryArray.from_arrays(pa.array([0, None, 1] * 1000, type=pa.int32()), _ids(2))
    pq.write_table(pa.table({"subject": column}), path, row_group_size=1000)
    assert dictionary_codes(path, "subject") is None


def test_pages_that_fall_back_to_plain_encoding_are_left_to_arrow(tmp_path):
    """A writer given plain text starts a dictionary and, once its page is full, writes plain pages;
    here every row group starts with the same ids, so their dictionary pages are alike."""
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"subject": _ids(2000).to_pylist() * 4}), path, row_group_size=2000,
                   dictionary_pagesize_limit=1024)
    chunks = [pq.ParquetFile(path).metadata.row_group(group).column(0) for group in range(4)]
    assert all("PLAIN" in chunk.encodings and chunk.has_dictionary_page for chunk in chunks)
    assert dictionary_codes(path, "subject") is None


def test_lz4_whose_framing_the_metadata_does_not_tell_is_left_to_arrow(tmp_path):
    path = _write(tmp_path / "log.parquet", np.arange(3000) % 50, _ids(50), compression="lz4")
    assert dictionary_codes(path, "subject") is None
    assert _as_arrow_reads_it(path) == [f"s{i % 50:07d}" for i in range(3000)]


def test_a_column_of_numbers_or_a_missing_column_is_left_to_arrow(tmp_path):
    path = _write(tmp_path / "log.parquet", np.zeros(3000, dtype=np.int64), _ids(1))
    assert dictionary_codes(path, "time") is None
    assert dictionary_codes(path, "nothing") is None
    assert dictionary_codes(tmp_path / "absent.parquet", "subject") is None


def test_a_damaged_page_is_left_to_arrow(tmp_path):
    """A page header cut short, or indices past the dictionary, is not read here: Arrow reads the
    file (and says what is wrong with it, as a log's reading always has)."""
    path = _write(tmp_path / "log.parquet", np.random.default_rng(5).integers(0, 100, size=3000), _ids(100),
                  compression="none")
    data = bytearray(path.read_bytes())
    chunk = pq.ParquetFile(path).metadata.row_group(1).column(0)
    data[chunk.data_page_offset:chunk.data_page_offset + 8] = b"\xff" * 8  # the header's bytes
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(bytes(data))
    assert dictionary_codes(damaged, "subject") is None


def test_unpack_bits_reads_parquets_bit_packing():
    """Parquet's example (encodings.md, BIT_PACKED of the hybrid): 0..7 in 3 bits are the bytes
    10001000 11000110 11111010, least significant bit first."""
    packed = np.array([0b10001000, 0b11000110, 0b11111010], dtype=np.uint8)
    assert unpack_bits(packed, 3, 8).tolist() == [0, 1, 2, 3, 4, 5, 6, 7]


def test_a_log_is_scored_alike_with_its_codes_from_pages_or_from_arrow(tmp_path, monkeypatch):
    """The codes feed `check_events`: a log read either way gives the same subjects and events."""
    from socialcredit.scheme import load_scheme

    rng = np.random.default_rng(6)
    codes = rng.integers(0, 400, size=5000)
    ids = _ids(400)
    table = pa.table({"subject": pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), ids),
                      "kind": pa.array(rng.choice(["payment", "late_payment"], size=5000)),
                      "time": 19_000 + rng.random(5000) * 300})
    path = tmp_path / "log.parquet"
    pq.write_table(table, path, row_group_size=1200)
    scheme = load_scheme("lending")
    from_pages = eventlog.read_event_log(path, scheme)
    monkeypatch.setattr(eventlog, "dictionary_codes", lambda path, name: None)
    from_arrow = eventlog.read_event_log(path, scheme)
    assert from_pages.subject_ids.equals(from_arrow.subject_ids)
    for name in ("subject", "kind", "time", "value", "weight"):
        assert np.array_equal(getattr(from_pages.events, name), getattr(from_arrow.events, name))
    assert parquetcodes.dictionary_codes(path, "subject") is not None


def test_a_dictionary_page_that_repeats_an_id_gives_one_subject(tmp_path, monkeypatch):
    """A writer may store a dictionary with an id twice (Arrow's own writes such a row group's pages
    plain); `fixed_width_texts` keeps both entries, which the log makes one subject."""
    from socialcredit.scheme import load_scheme

    codes = np.tile(np.arange(4, dtype=np.int32), 600)
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"subject": pa.array([f"s{c}" for c in codes]), "kind": ["payment"] * codes.size,
                             "time": np.full(codes.size, 19_000.0)}), path)
    repeating = pa.array(["s0000001", "s0000002", "s0000001", "s0000003"])
    monkeypatch.setattr(eventlog, "dictionary_codes", lambda path, name: (codes, repeating))
    log = eventlog.read_event_log(path, load_scheme("lending"))
    assert log.subject_ids.to_pylist() == ["s0000001", "s0000002", "s0000003"]
    assert np.bincount(log.events.subject).tolist() == [1200, 600, 600]


def test_ids_that_are_not_utf8_are_left_to_arrow(tmp_path):
    path = tmp_path / "log.parquet"
    ids = pa.array([b"s\xff000001", b"s0000002"], type=pa.binary())
    column = pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(2, dtype=np.int32), 1000)), ids)
    pq.write_table(pa.table({"subject": column}), path, row_group_size=500)
    assert dictionary_codes(path, "subject") is None


def test_ids_of_several_lengths_take_the_dictionary_arrow_reads(tmp_path):
    ids = pa.array([f"subject-{i}" for i in range(1500)])  # 9 to 12 characters
    codes = np.random.default_rng(7).integers(0, 1500, size=4000)
    path = _write(tmp_path / "log.parquet", codes, ids)
    assert _decoded(path) == _as_arrow_reads_it(path)


def _first_chunk(path: Path) -> tuple[bytes, int]:
    """The raw bytes of the subject column's first column chunk, and its rows."""
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(0)
    start = min(chunk.dictionary_page_offset, chunk.data_page_offset)
    with open(path, "rb") as file:
        file.seek(start)
        return file.read(chunk.total_compressed_size), pq.ParquetFile(path).metadata.row_group(0).num_rows


def test_a_null_in_a_v1_page_is_left_to_arrow_whatever_the_statistics_say(tmp_path: Path) -> None:
    """A writer's statistics may say no nulls where a page holds one: the page's definition levels
    decide (read past them unchecked, every id after the null was shifted by one row)."""
    codes = np.arange(3000) % 500
    column = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=codes == 7), _ids(500))
    path = tmp_path / "null.parquet"
    pq.write_table(pa.table({"subject": column}), path, row_group_size=1000, data_page_version="1.0",
                   compression="none")
    raw, rows = _first_chunk(path)
    with pytest.raises(parquetcodes.NotPlain, match="a null"):
        parquetcodes._chunk_indices(raw, None, rows, has_definition_levels=True)


def test_a_page_header_without_its_fields_or_an_endless_run_is_left_to_arrow() -> None:
    """A damaged file: a data page header without its data page fields, or an RLE run of 2**40 values
    in a page of 10, gives no traceback and no huge allocation."""
    # Thrift compact: field 1 (type, i32) = 0 (a data page), fields 2 and 3 (sizes) = 4; no field 5
    header = bytes([0x15, 0x00, 0x15, 0x08, 0x15, 0x08, 0x00])
    with pytest.raises(parquetcodes.NotPlain, match="without its fields"):
        parquetcodes._chunk_indices(header + b"\x00" * 4, None, 10, has_definition_levels=False)
    run = (1 << 40) << 1  # an RLE run header (low bit 0) of 2**40 repeats, as a varint
    varint = bytearray()
    while True:
        byte, run = run & 0x7F, run >> 7
        varint.append(byte | (0x80 if run else 0))
        if not run:
            break
    assert parquetcodes.decode_hybrid(memoryview(bytes(varint) + b"\x01"), 8, 10).tolist() == [1] * 10
