"""Reading real event logs and relations (CSV or Parquet) into the scoring core's arrays, and the
rules every event meets wherever it comes from (`check_events`: a log's rows here, a request's
events in the service, which builds its batch into the same table with `table_from_records`).

Every row is checked; a bad row is reported with its file, line (CSV) or row (Parquet), column
and problem. Nothing here knows the scoring rules beyond the scheme's event kinds.
"""

from __future__ import annotations

import datetime
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .arrowarrays import EMPTY_TEXT, FALSE, TRUE, from_numpy, scalar
from .arrowarrays import texts as arrow_texts
from .parallel import parallel_map
from .parquetcodes import dictionary_codes
from .scheme import Scheme
from .scheme.errors import suggest
from .scheme.models import LARGEST_VALUE
from .scoring import EventArrays, Relations, graph

if TYPE_CHECKING:
    import pandas as pd

EVENT_COLUMNS = ("subject", "kind", "time")
OPTIONAL_EVENT_COLUMNS = ("value", "weight", "source", "actor", "id")
RELATION_COLUMNS = ("subject", "other")
TIME_FIX = "use an ISO date (2024-01-31), an ISO datetime (2024-01-31T08:00:00) or a number of days since 1970-01-01"
_EPOCH_DATETIME = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# Times a record can have: from 1900 (no scoring record is older) to the moment of reading (a record
# of what has not happened yet is a typo or a placeholder such as 9999-12-31, which would move the
# default as-of to that year and make everyone look clean), unless the caller allows the future.
EARLIEST_TIME = float((datetime.date(1900, 1, 1) - datetime.date(1970, 1, 1)).days)
# Column types a log may use: anything else (booleans, lists, structs) is refused by name, never
# read as a number (a boolean time was read as day 1).
TEXT_COLUMNS = ("subject", "kind", "other", "source", "actor", "id")
# An event's names (subject, source, actor, id): at most this many characters, and text any database
# can store: no NUL character (PostgreSQL refuses it) and no lone UTF-16 surrogate (not UTF-8). The
# service's columns are this wide; PostgreSQL refuses longer text where SQLite would store a
# megabyte, so the rule is here, for `score` and `serve` alike, not left to the database.
TEXT_LIMIT = 200
NAMED_FIELDS = ("subject", "source", "actor", "id")
SHOWN_CHARACTERS = 60  # of a value quoted back in a message: a megabyte of input is not echoed whole


class InputError(Exception):
    """A user's input file cannot be used as given; the message says where and how to fix it."""


@dataclass
class BadRows:
    """Rows rejected while reading: positions in the table (or -1 for unparsable lines), with reasons."""

    path: str
    is_csv: bool
    rows: list[np.ndarray] = field(default_factory=list)       # row index in the table
    lines: list[np.ndarray] = field(default_factory=list)      # line in the file (CSV) or row (Parquet)
    columns: list[str] = field(default_factory=list)
    problems: list[np.ndarray] = field(default_factory=list)   # object arrays of messages
    raw: list[str] = field(default_factory=list)               # raw text of unparsable CSV lines
    line_of_row: np.ndarray | None = None  # CSV: the file line of each table row; Parquet: None (row + 1)

    def add(self, rows: np.ndarray, column: str, messages: np.ndarray, lines: np.ndarray | None = None) -> None:
        if rows.size:
            if lines is None:  # a Parquet row is counted from 1, as people count
                lines = self.line_of_row[rows] if self.line_of_row is not None else rows + 1
            self.rows.append(rows)
            self.lines.append(lines)
            self.columns.extend([column] * rows.size)
            self.problems.append(messages)

    @property
    def count(self) -> int:
        return len(self.columns)

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        if not self.count:
            return pd.DataFrame(columns=["line" if self.is_csv else "row", "column", "problem"])
        return pd.DataFrame({
            "line" if self.is_csv else "row": np.concatenate(self.lines),
            "column": self.columns,
            "problem": np.concatenate(self.problems),
        }).sort_values("line" if self.is_csv else "row", kind="stable")

    def describe(self, limit: int = 10) -> str:
        frame = self.frame()
        where = "line" if self.is_csv else "row"
        # a CSV line as editors number it (path:line); a Parquet row counted from 1, and said so
        text = [(f"{self.path}:{row[where]}" if self.is_csv else f"{self.path}: row {row[where]} (counting from 1)")
                + f": column '{row['column']}': {row['problem']}" for row in frame.head(limit).to_dict("records")]
        if len(frame) > limit:
            text.append(f"... and {len(frame) - limit} more problems")
        return "\n".join(text)


def is_csv(path: str | Path) -> bool:
    """CSV unless it is named or looks like Parquet (files start with the magic bytes PAR1)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(4) != b"PAR1"
    except OSError:
        return True


class ParquetColumns:
    """The columns of a Parquet file, each read when first asked for (its row groups two at a time,
    on the slice threads) and the last one kept, as `pa.Table.column` gives them (a chunk per row
    group; `read_dictionary` columns as dictionaries): a log is never held whole in Arrow's memory,
    only one column beside the arrays made from those before (benchmarks/RESULTS.md, "Side by side
    with DuckDB and Polars"). Arrow decodes one column on one thread: two row groups at a time
    halve the time of a log's subject ids."""

    def __init__(self, path: Path, column_names: list[str], read_dictionary: list[str]) -> None:
        self.path = path
        self.column_names = column_names
        self.read_dictionary = read_dictionary
        metadata = pq.read_metadata(path)
        self.num_rows = metadata.num_rows
        self.row_groups = metadata.num_row_groups
        self.group_starts = np.cumsum([0] + [metadata.row_group(i).num_rows for i in range(self.row_groups)])
        self.schema = metadata.schema.to_arrow_schema()
        self._kept: tuple[str, pa.ChunkedArray] | None = None

    def column(self, name: str) -> pa.ChunkedArray:
        if name not in self.column_names:
            raise KeyError(name)
        if self._kept is None or self._kept[0] != name:
            self._kept = None  # the previous column is let go before the next one is read
            self._kept = (name, self._read(name))
        return self._kept[1]

    def float64s(self, name: str) -> np.ndarray | None:
        """A column of numbers as float64 (`pc.cast`'s), each row group copied into one NumPy array as
        soon as it is read, on the slice threads: no copy that joins the whole column after it, and
        never the whole column in Arrow's memory beside the array. None where the column holds
        nulls or is not numbers, and `column` is to read it."""
        if name not in self.column_names:
            return None
        kind = self.schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return None
        out = np.empty(self.num_rows, dtype=np.float64)

        def row_group(index: int) -> bool:
            read = pq.ParquetFile(self.path).read_row_group(index, columns=[name]).column(0)
            if read.null_count:
                return False
            at = int(self.group_starts[index])
            for chunk in (pc.cast(read, pa.float64()) if read.type != pa.float64() else read).chunks:
                out[at:at + len(chunk)] = as_numpy(chunk)
                at += len(chunk)
            return True

        try:
            complete = parallel_map(row_group, range(self.row_groups))
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(_unreadable(self.path, error)) from None
        return out if all(complete) else None

    def dictionary_codes(self, name: str) -> tuple[np.ndarray, pa.Array] | None:
        """(int32 codes, dictionary) of a text column whose row groups all carry one dictionary, read
        from its pages rather than hashed again a row group at a time (`parquetcodes`); None where
        the column is not such a one, and `column` is to read it."""
        if name not in self.read_dictionary:
            return None
        return dictionary_codes(self.path, name)

    def _read(self, name: str) -> pa.ChunkedArray:
        as_dictionary = [name] if name in self.read_dictionary else None

        def row_group(index: int) -> pa.ChunkedArray:
            # a reader each: one ParquetFile is not shared between threads
            reader = pq.ParquetFile(self.path, read_dictionary=as_dictionary)
            return reader.read_row_group(index, columns=[name]).column(0)

        try:
            if self.row_groups < 2:
                return pq.ParquetFile(self.path, read_dictionary=as_dictionary).read(columns=[name]).column(0)
            parts = parallel_map(row_group, range(self.row_groups))
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(_unreadable(self.path, error)) from None
        return pa.chunked_array([chunk for part in parts for chunk in part.chunks], type=parts[0].type)


def read_table(path: str | Path, required: tuple[str, ...], optional: tuple[str, ...],
               bad: BadRows) -> pa.Table | ParquetColumns:
    """Read the columns we know (a Parquet file's when each is asked for); `bad` learns each row's line
    (CSV) and collects unparsable lines."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        if is_csv(path):
            header = _csv_header(path)
            wanted = [c for c in (*required, *optional) if c in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise InputError(_missing_message(path, missing, header, required))
            text_types = {c: pa.string() for c in wanted if c not in ("value", "weight")}
            invalid: list[tuple[int | None, str, int, int]] = []

            def handler(row: pacsv.InvalidRow) -> str:
                invalid.append((row.number, row.text, row.expected_columns, row.actual_columns))
                return "skip"

            def read(threads: bool) -> pa.Table:
                return pacsv.read_csv(
                    path,
                    read_options=pacsv.ReadOptions(use_threads=threads),
                    parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
                    # only an empty field is missing: "NaN", "NA" or "null" are what they say (a NaN
                    # value is refused, not read as the default 1; a subject may be called "NA")
                    convert_options=pacsv.ConvertOptions(column_types=text_types, include_columns=wanted,
                                                         strings_can_be_null=True, null_values=[""],
                                                         quoted_strings_can_be_null=False),
                )
            table = read(True)
            skipped: list[int] = []
            if invalid:
                invalid.clear()  # line numbers are only known when reading on one thread
                table = read(False)
                for number, text, expected, actual in invalid:
                    line = int(number) if number is not None else -1
                    skipped.append(line)
                    bad.raw.append(text)
                    message = f"expected {expected} fields, found {actual}: {text[:80]!r}"
                    bad.add(np.array([-1]), "*", np.array([message], dtype=object), lines=np.array([line]))
            # Line of each kept row: header is line 1, and skipped lines shift the rows after them.
            lines = np.arange(table.num_rows, dtype=np.int64) + 2
            if skipped:
                skipped_sorted = np.sort(np.array(skipped))
                # The k-th kept row sits at the k-th line number not taken by a skipped line.
                for line in skipped_sorted:
                    lines[lines >= line] += 1
            bad.line_of_row = lines
            return table
        schema = pq.read_schema(path)
        missing = [c for c in required if c not in schema.names]
        if missing:
            raise InputError(_missing_message(path, missing, schema.names, required))
        wanted = [c for c in (*required, *optional) if c in schema.names]
        for name in wanted:
            _check_column_type(path, name, schema.field(name).type)
        dictionary = [c for c in ("subject", "kind", "other", "source", "actor") if c in wanted]
        return ParquetColumns(path, wanted, dictionary)
    except InputError:
        raise
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(_unreadable(path, error)) from None


def _check_column_type(path: Path, name: str, kind: pa.DataType) -> None:
    """Refuse a Parquet column whose type cannot hold what the column means, naming it."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    textual = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if name == "time":
        fits = numeric or textual or pa.types.is_timestamp(kind) or pa.types.is_date(kind)
        expected = "a date, a timestamp, text (ISO dates) or a number of days since 1970-01-01"
    elif name in ("value", "weight"):
        fits = numeric or textual or pa.types.is_null(kind)
        expected = "numbers"
    else:
        fits = textual or pa.types.is_integer(kind) or pa.types.is_null(kind)
        expected = "text or whole numbers (ids)"
    if not fits:
        raise InputError(f"{path}: column '{name}' holds {kind}, not {expected}\n    fix: write the column as "
                         f"{expected}")


def _unreadable(path: Path, error: Exception) -> str:
    """What is wrong with a file Arrow cannot read, with its line where it can be found."""
    text = str(error)
    if is_csv(path) and "invalid UTF8" in text:
        line, byte = _first_invalid_utf8(path)
        return (f"{path}:{line}: not UTF-8 text (byte 0x{byte:02x} cannot be read)\n    fix: save the file as "
                "UTF-8 (Latin-1 and Windows-1252 files can be converted with iconv)")
    if is_csv(path) and "straddling" in text:
        line, length = _longest_line(path)
        return (f"{path}:{line}: a line of {length:,} bytes: longer than any event record can be\n    fix: check "
                "the file is a CSV event log with one event a line (an unclosed quote makes the rest of the file "
                "one field)")
    kind = "CSV" if is_csv(path) else "Parquet"
    return f"{path}: cannot read it as {kind}: {text}"


def _first_invalid_utf8(path: Path) -> tuple[int, int]:
    """(line, byte) of the first byte that is not UTF-8, reading the file a line at a time."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                return number, raw[error.start]
    return 0, 0


def _longest_line(path: Path) -> tuple[int, int]:
    """(line, length) of the longest line, in blocks so that a huge line is never held whole."""
    longest = (0, 0)
    number, length = 1, 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            parts = block.split(b"\n")
            for index, part in enumerate(parts):
                length += len(part)
                if index < len(parts) - 1:
                    if length > longest[1]:
                        longest = (number, length)
                    number, length = number + 1, 0
    if length > longest[1]:
        longest = (number, length)
    return longest


def _csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    return pacsv.read_csv(pa.py_buffer(first.encode()), read_options=pacsv.ReadOptions()).schema.names


def _missing_message(path: Path, missing: list[str], found: list[str], required: tuple[str, ...]) -> str:
    return (f"{path}: missing column{'s' * (len(missing) > 1)} {', '.join(repr(m) for m in missing)} "
            f"(found: {', '.join(found) or 'none'})\n    fix: name the columns {','.join(required)} "
            f"(in the first line of a CSV file)")


def as_numpy(data: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow array of fixed-width numbers or of booleans as NumPy's, as `to_numpy(zero_copy_only=False)`
    gives it (a chunked array joined into a new array), read from its buffers: pyarrow's conversion
    loads pandas on its first call (a quarter to half a second), which a `score` of a Parquet log
    never needs otherwise. An array with nulls takes pyarrow's conversion."""
    if isinstance(data, pa.ChunkedArray):
        if not data.num_chunks:
            return np.zeros(0, dtype=data.type.to_pandas_dtype())
        return np.concatenate([as_numpy(chunk) for chunk in data.chunks])
    if data.null_count or not (pa.types.is_boolean(data.type) or pa.types.is_integer(data.type)
                               or pa.types.is_floating(data.type)):
        return np.asarray(data.to_numpy(zero_copy_only=False))
    if len(data) == 0:
        return np.zeros(0, dtype=data.type.to_pandas_dtype())
    if pa.types.is_boolean(data.type):  # one bit a value, from the array's offset
        bits = np.frombuffer(data.buffers()[1], dtype=np.uint8)
        return np.unpackbits(bits, count=data.offset + len(data), bitorder="little")[data.offset:].astype(bool)
    dtype = np.dtype(data.type.to_pandas_dtype())
    return np.frombuffer(data.buffers()[1], dtype=dtype, count=len(data), offset=data.offset * dtype.itemsize)


GATHER_ROWS = 1 << 20  # rows a thread looks up at a time: a slice's positions stay in the CPU's cache


def gather(positions: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """positions[codes] (int32 positions; a code of -1 takes the last one) as int64, the events' subject
    index, a slice of rows at a time on the slice threads: a look-up table of 4 bytes a subject
    rather than 8 stays in cache, and two threads halve the time of the 10M events of a large log."""
    out = np.empty(codes.size, dtype=np.int64)

    def look_up(start: int) -> None:
        out[start:start + GATHER_ROWS] = np.take(positions, codes[start:start + GATHER_ROWS])

    parallel_map(look_up, range(0, codes.size, GATHER_ROWS))
    return out


def encode(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dictionary-encode a column: (int32 codes with -1 for null, dictionary of distinct values).

    A Parquet column read as dictionaries comes in many chunks that share a few dictionaries (one
    per row group): only the distinct ones are merged, never one hash pass per chunk."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    chunks = column.chunks
    if not chunks:
        return np.zeros(0, dtype=np.int32), arrow_texts([])
    distinct: list[pa.Array] = []
    which: list[int] = []
    seen: dict[tuple, int] = {}
    for chunk in chunks:
        dictionary = chunk.dictionary
        # chunks of one row group share the dictionary's buffers: recognise them by address
        key = (tuple(b.address if b is not None else 0 for b in dictionary.buffers()), dictionary.offset,
               len(dictionary))
        if key not in seen:
            match = next((i for i, other in enumerate(distinct) if other.equals(dictionary)), None)
            if match is None:
                match = len(distinct)
                distinct.append(dictionary)
            seen[key] = match
        which.append(seen[key])
    maps: list[np.ndarray] | None = None
    if len(distinct) == 1:
        merged = distinct[0]
    else:  # one hash pass over the distinct dictionaries, then a remap of each chunk's codes
        joined = pc.dictionary_encode(pa.chunked_array(distinct))
        merged = joined.chunk(0).dictionary
        maps = [np.append(as_numpy(c.indices), -1).astype(np.int32) for c in joined.chunks]
    codes = np.empty(len(column), dtype=np.int32)  # Arrow's own index type: a copy, not a conversion
    start = 0
    for chunk, index in zip(chunks, which, strict=True):
        indices = chunk.indices.fill_null(-1) if chunk.indices.null_count else chunk.indices
        local = as_numpy(indices)
        codes[start:start + local.size] = local if maps is None else maps[index][local]
        start += local.size
    return codes, merged


def parse_times(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Days since 1970-01-01 (UTC) as float64; NaN where the value is missing or not a time."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return np.asarray(as_numpy(pc.cast(column, pa.float64())), dtype=np.float64)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        if pa.types.is_date(kind):
            column = pc.cast(column, pa.timestamp("s"))
        nanos = pc.cast(pc.cast(column, pa.timestamp("ns", tz=getattr(column.type, "tz", None))), pa.int64())
        values = as_numpy(nanos)
        return np.asarray(values, dtype=np.float64) / 86_400e9
    import pandas as pd  # only for text: a Parquet log of numbers or timestamps never loads it

    text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
    days = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    todo = np.isnan(days) & text.notna().to_numpy()
    if todo.any():
        stamps = pd.to_datetime(text[todo], format="ISO8601", errors="coerce", utc=True)
        since = stamps - pd.Timestamp("1970-01-01", tz="UTC")
        days[todo] = (since / pd.Timedelta(days=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    days[~np.isfinite(days)] = np.nan
    return days


def parse_time_text(text: str) -> float:
    """One time given on the command line (for --as-of)."""
    days = parse_times(pa.array([text], type=pa.string()))[0]
    if np.isnan(days):
        raise InputError(f"cannot read {text!r} as a time\n    fix: {TIME_FIX}")
    return float(days)


def days_to_text(days: float) -> str:
    """Days since 1970-01-01 as an ISO date (or a UTC datetime when not midnight)."""
    stamp = _EPOCH_DATETIME + datetime.timedelta(days=float(days))
    if stamp.hour == stamp.minute == stamp.second == stamp.microsecond == 0:
        return stamp.date().isoformat()
    return stamp.isoformat().replace("+00:00", "Z")


def _numbers(table: pa.Table | ParquetColumns, name: str, bad: BadRows, default: float = 1.0) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, default)
    read = table.float64s(name) if isinstance(table, ParquetColumns) else None
    column = table.column(name) if read is None else None
    if column is None:
        assert read is not None
        values, raw = read, None
    elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        if column.null_count:
            column = column.fill_null(default)
        if column.type != pa.float64():
            column = pc.cast(column, pa.float64())
        values = as_numpy(column)  # one copy that joins the chunks; no second one
        raw = None
    else:
        import pandas as pd

        raw = pd.Series(pc.cast(column, pa.string()).to_numpy(zero_copy_only=False), dtype=object)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        empty = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
        values[empty] = default
    wrong = np.flatnonzero(~np.isfinite(values))
    if wrong.size:
        shown = raw.to_numpy()[wrong] if raw is not None else values[wrong]
        bad.add(wrong, name, np.array([not_a_number(name, v) for v in shown], dtype=object))
    return values


def not_a_number(name: str, value: object) -> str:
    return f"{name} {_plain(value)} is not a number; fix: write a plain number like 1 or 2.5"


def _plain(value: object) -> str:
    """A value as the user wrote it: text quoted (a lone surrogate or a NUL escaped), numbers plain
    (never NumPy's np.float64(inf)); past `SHOWN_CHARACTERS`, its start and its length."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (float, np.floating)):
        text = str(float(value))
    else:
        text = str(value)
    if len(text) > SHOWN_CHARACTERS:
        text = f"{text[:SHOWN_CHARACTERS - 20]}... ({len(value) if isinstance(value, str) else len(text):,} characters)"
    return text


def text_problem(name: str, text: str, in_a_path: bool = False, limit: int = TEXT_LIMIT) -> str | None:
    """What keeps `text` from being an event's subject, source, actor or id (or any text the service
    stores, of at most `limit` characters), said as `check_events` says it; None when it can be one.
    `in_a_path`: a subject the service stores, which a URL path must name (/v1/subjects/{subject}),
    so without '/'."""
    if not _utf8(text):
        return (f"{name} {_plain(text)} is not UTF-8 text (it holds a lone surrogate); fix: send the {name} as "
                "UTF-8 text")
    if "\x00" in text:
        return f"{name} {_plain(text)} holds a NUL character; fix: remove it"
    if len(text) > limit:
        return f"{name} of {len(text):,} characters is longer than {limit:,}; fix: use at most {limit:,} characters"
    if in_a_path and "/" in text:
        return (f"{name} {_plain(text)} holds a '/', and no URL path could name it (/v1/subjects/{{{name}}}); fix: "
                "write the '/' as another character")
    if in_a_path:
        return look_alike_problem(name, text)
    return None


# Characters that show as nothing and are neither controls nor format characters (Unicode's
# Default_Ignorable_Code_Point beyond Cc and Cf: variation selectors, the combining grapheme joiner,
# Hangul and Mongolian fillers; and the blank braille pattern): 'bob' with one after it shows as 'bob'.
INVISIBLE = ("\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\uffa0"
             "\ufff0-\ufff8\U000e0000-\U000e0fff")
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
# what `text_problem` refuses in an id that names a path, as one RE2 pattern for a whole column
_NOT_IN_A_PATH = r"/|[\p{Cc}\p{Cf}" + INVISIBLE + r"]|^[\s\p{Z}]|[\s\p{Z}]$"


def look_alike_problem(name: str, text: str) -> str | None:
    """What makes a subject id look like another one it is not, or hide what it is: white space at
    either end, a control or invisible format character (a right-to-left override shows
    'bob\u202eecila' as 'bobalice'), or characters whose compatibility form (NFKC) differs
    (full-width 'ｂｏｂ' is 'bob', the ligature 'ﬁ' is 'fi'). Ingest, input lists, keys and paths
    refuse such an id alike, so a list cannot name a subject that events name otherwise."""
    if text != text.strip():
        return (f"{name} {_plain(text)} begins or ends with white space, and would be another id than "
                f"{_plain(text.strip())}; fix: remove the white space")
    for character in text:
        category = unicodedata.category(character)
        if category in ("Cc", "Cf"):
            kind = "control" if category == "Cc" else "invisible format"
            called = unicodedata.name(character, "")
            return (f"{name} {_plain(text)} holds the {kind} character U+{ord(character):04X}"
                    f"{f' ({called})' if called else ''}, which hides how the id reads; fix: remove it")
    hidden = _INVISIBLE.search(text)
    if hidden is not None:
        character = hidden.group()
        called = unicodedata.name(character, "")
        return (f"{name} {_plain(text)} holds the invisible character U+{ord(character):04X}"
                f"{f' ({called})' if called else ''}, which shows as nothing; fix: remove it")
    compatible = unicodedata.normalize("NFKC", text)
    if compatible != text:
        return (f"{name} {_plain(text)} has look-alike characters: its NFKC form (Unicode compatibility "
                f"normalisation) is {_plain(compatible)}, another id that looks the same; fix: send "
                f"{_plain(compatible)}")
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class EventLog:
    """An event log read for a scheme: events over subjects 0..n-1 named by `subject_ids`."""

    subject_ids: pa.Array          # string ids, sorted
    events: EventArrays
    relations: Relations | None
    bad: BadRows
    relation_bad: BadRows | None

    duplicates: int = 0            # events dropped because their id repeats an earlier event's

    @property
    def rejected(self) -> int:
        return self.bad.count + (self.relation_bad.count if self.relation_bad else 0)


# --- the rules every event meets, in `score` (a log's rows) and `serve` (a request's events) alike ----------------

# The order in which an event's fields are checked: the service names an event's first problem in it.
EVENT_FIELDS = ("subject", "kind", "time", "value", "weight", "source", "actor", "id")
DATE_FIX = "correct the date"


@dataclass
class CheckedEvents:
    """A table of events checked against a scheme: each row's subject (a code into `subject_dictionary`,
    -1 for none), kind (a code in the scheme's order, -1 for unknown), time, value and weight, and
    which rows broke no rule (`good`); the others are in the `BadRows` the check was given. The
    dictionary's ids are distinct, but for a Parquet log's whose dictionary page repeats one."""

    subject_codes: np.ndarray
    subject_dictionary: pa.Array
    kinds: np.ndarray
    times: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    good: np.ndarray


def check_events(table: pa.Table | ParquetColumns, scheme: Scheme, bad: BadRows, latest: float,
                 future_fix: str = DATE_FIX, for_service: bool = False) -> CheckedEvents:
    """Check every row of an event table (columns subject, kind and time; value and weight optional,
    1 where missing; source, actor and id optional): a subject, a kind of the scheme, a time from
    1900 to `latest`, a value the kind may carry, a weight from 0 to `LARGEST_VALUE`, and names
    (subject, source, actor, id) of at most `TEXT_LIMIT` characters without NUL. `for_service` adds
    what the service needs besides: an id (its ingest keeps an event once by id) and a subject a URL
    path can name (no '/'). Each problem goes to `bad` with the same words whichever job reads the
    events; only the way out of a date in the future is the job's own (`future_fix`)."""
    n = table.num_rows
    read = table.dictionary_codes("subject") if isinstance(table, ParquetColumns) else None
    if read is not None:  # a Parquet log's ids as its pages index them: no nulls, no second hashing
        subject_codes, subject_dictionary = read
        any_null = False
    else:
        column = table.column("subject")
        subject_codes, subject_dictionary = encode(column if pa.types.is_dictionary(column.type)
                                                   else pc.cast(column, pa.string()))
        any_null = column.null_count > 0
        del column
    subject_dictionary = pc.cast(subject_dictionary, pa.string())
    blank = as_numpy(pc.equal(pc.utf8_trim_whitespace(subject_dictionary), EMPTY_TEXT).fill_null(TRUE))
    if blank.any() or any_null:  # else no row can lack a subject: no pass
        rows = np.flatnonzero(np.append(blank, True)[subject_codes])  # a null's code -1 picks the True
        bad.add(rows, "subject", np.full(rows.size, "missing subject; fix: give every event a subject id",
                                         dtype=object))
    _check_names("subject", subject_dictionary, bad, subject_codes, in_a_path=for_service)

    kind_codes, kind_dictionary = encode(table.column("kind"))
    names = pc.cast(kind_dictionary, pa.string()).to_pylist()
    known = {name: code for code, name in enumerate(scheme.events)}
    lookup = np.array([known.get(name, -1) for name in names] + [-1], dtype=np.int16)
    kinds = lookup[kind_codes]  # a null code (-1) picks the trailing -1
    rows = np.flatnonzero(kinds < 0)
    if rows.size:
        messages = []
        for code in kind_codes[rows]:
            if code < 0:
                messages.append("missing kind; fix: give every event a kind")
            else:
                messages.append(f"unknown event kind {_plain(names[code])} for scheme '{scheme.id}'; fix: "
                                + suggest(names[code], scheme.events))
        bad.add(rows, "kind", np.array(messages, dtype=object))

    read = table.float64s("time") if isinstance(table, ParquetColumns) else None
    times = parse_times(table.column("time")) if read is None else read
    rows = np.flatnonzero(np.isnan(times))
    if rows.size:
        raw = pc.cast(table.column("time"), pa.string()).to_numpy(zero_copy_only=False)[rows]
        bad.add(rows, "time", np.array(
            [("missing time" if v is None else f"cannot read {_plain(v)} as a time") + f"; fix: {TIME_FIX}"
             for v in raw],
            dtype=object))
    outside = np.flatnonzero((times < EARLIEST_TIME) | (times > latest))
    if outside.size:
        raw = pc.cast(table.column("time"), pa.string()).to_numpy(zero_copy_only=False)[outside]
        bad.add(outside, "time", np.array(
            [f"{_plain(v)} is " + (f"before 1900; fix: {DATE_FIX}" if t < EARLIEST_TIME
                             else f"in the future; fix: {future_fix}")
             for v, t in zip(raw, times[outside], strict=True)], dtype=object))
    values = _numbers(table, "value", bad)
    # a value outside what the kind accepts (days late of -1e308; 1e300 of a kind without a range,
    # whose sum has no finite score) is a bad row; an unknown kind's (-1) bounds refuse nothing
    kinds_bounds = np.array([event.bounds for event in scheme.events.values()] + [(-np.inf, np.inf)])
    lowest, highest = kinds_bounds[:, 0], kinds_bounds[:, 1]
    # Only a value below the highest lower bound or above the lowest upper bound can be outside its
    # kind's: those few are held against their own kind's bounds (each row's bounds gathered for
    # every row were two passes of 8 bytes an event, the larger part of the checks)
    maybe = np.flatnonzero((values < lowest.max()) | (values > highest.min()))
    candidates, their_kinds = values[maybe], kinds[maybe]
    wrong = (candidates < lowest[their_kinds]) | (candidates > highest[their_kinds])
    wrong &= np.isfinite(candidates)
    outside = maybe[wrong]
    if outside.size:
        events, names = list(scheme.events.values()), list(scheme.events)
        # the range given is the fix: no second sentence to say "correct the value"
        bad.add(outside, "value", np.array([f"{_plain(values[row])} is outside what a '{names[kinds[row]]}' may carry "
                                            f"({events[kinds[row]].range_text()})" for row in outside], dtype=object))
    weights = _numbers(table, "weight", bad)
    negative = np.flatnonzero(weights < 0)
    bad.add(negative, "weight",
            np.full(negative.size, "weight must not be negative; fix: use 0 or more", dtype=object))
    heavy = np.flatnonzero(weights > LARGEST_VALUE)
    bad.add(heavy, "weight", np.array([f"weight {_plain(w)} is more than {LARGEST_VALUE:g}; fix: use a weight from 0 "
                                       f"to {LARGEST_VALUE:g}" for w in weights[heavy]], dtype=object))
    for name in NAMED_FIELDS[1:]:
        if name in table.column_names:
            _check_names(name, table.column(name), bad)
    if for_service:
        _require_ids(table, bad)
    good = np.ones(n, dtype=bool)
    for rows in bad.rows:
        good[rows[rows >= 0]] = False
    return CheckedEvents(subject_codes, subject_dictionary, kinds, times, values, weights, good)


def _check_names(name: str, texts: pa.ChunkedArray | pa.Array, bad: BadRows, codes: np.ndarray | None = None,
                 in_a_path: bool = False) -> None:
    """Refuse the rows whose `name` `text_problem` refuses. `texts` is the column itself (ids are
    mostly distinct: no hashing them into a dictionary), or, with `codes` (each row's code, -1 for
    none), the dictionary of the distinct values. (Arrow holds no lone surrogate:
    `table_from_records` refuses those before.)"""
    if codes is None and pa.types.is_dictionary(texts.type):  # a Parquet column read as dictionaries
        codes, texts = encode(texts)
    texts = pc.cast(texts, pa.string())  # a Parquet column of whole-number ids, as its digits
    wrong = pc.or_(pc.greater(pc.utf8_length(texts), scalar(np.int32(TEXT_LIMIT))),
                   pc.match_substring(texts, "\x00"))
    if in_a_path:  # '/', and the look-alikes `look_alike_problem` describes, found for the whole column at once
        wrong = pc.or_(wrong, pc.match_substring_regex(texts, _NOT_IN_A_PATH))
        wrong = pc.or_(wrong, pc.not_equal(pc.utf8_normalize(texts, "NFKC"), texts))
    found = as_numpy(wrong.fill_null(FALSE))
    if not found.any():
        return
    if codes is None:
        rows = np.flatnonzero(found)
        values = texts.take(from_numpy(rows)).to_pylist()
    else:
        rows = np.flatnonzero(np.append(found, False)[codes])  # a null's code -1 picks the False
        values = texts.take(from_numpy(codes[rows])).to_pylist()
    problems = np.array([text_problem(name, text, in_a_path) for text in values], dtype=object)
    refused = np.array([p is not None for p in problems], dtype=bool)  # an id past ASCII may be quite right
    bad.add(rows[refused], name, problems[refused])


def _require_ids(table: pa.Table | ParquetColumns, bad: BadRows) -> None:
    """Refuse the rows without an id: an ingest keeps an event once by its id, so that a batch sent
    again (after a time-out, say) is not stored twice."""
    if "id" in table.column_names:
        codes, dictionary = encode(pc.cast(table.column("id"), pa.string()))
        trimmed = pc.utf8_trim_whitespace(pc.cast(dictionary, pa.string()))
        blank = as_numpy(pc.equal(trimmed, EMPTY_TEXT).fill_null(TRUE))
        rows = np.flatnonzero(np.append(blank, True)[codes])  # a null's code -1 picks the True
    else:
        rows = np.arange(table.num_rows)
    bad.add(rows, "id", np.full(rows.size, "missing id; fix: give every event the id it has in your records, so "
                                           "that a batch sent again is stored once", dtype=object))


def repeated_ids(ids: pa.ChunkedArray | pa.Array, good: np.ndarray) -> np.ndarray:
    """The good rows whose id repeats an earlier good row's: an event is kept once, the first time
    its id comes. A missing or blank id is no id (the event is its own)."""
    ids = pc.cast(ids, pa.string())
    id_codes, dictionary = encode(ids if isinstance(ids, pa.ChunkedArray) else pa.chunked_array([ids]))
    blank = as_numpy(pc.equal(pc.utf8_trim_whitespace(pc.cast(dictionary, pa.string())), EMPTY_TEXT).fill_null(TRUE))
    named = np.flatnonzero(good & ~np.append(blank, True)[id_codes])  # a null's code -1 picks the True
    _, first = np.unique(id_codes[named], return_index=True)
    if first.size == named.size:
        return np.zeros(0, dtype=np.int64)
    return np.setdiff1d(named, named[first], assume_unique=True)


def _id_text(value: object) -> str | None:
    """A name given in a request as a log's column holds it (text, or a whole number read as its
    digits); None for none given."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(value)


def _number(value: object) -> float | None:
    """A value or weight given in a request as a log's number column holds it; None for none given.
    TypeError for what is not a number, OverflowError for a whole number past any double."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


_NONE = type(None)


def table_from_records(records: Sequence[Mapping[str, Any]], bad: BadRows) -> pa.Table:
    """A batch of events given as records (a request's JSON objects) as the table `check_events`
    checks, with the types a log's columns may hold: names (subject, kind, source, actor, id) as text
    or whole numbers, times as numbers or text, values and weights as numbers (JSON has numbers: text
    there is not one). A field of another type, or text that is not UTF-8 (a lone surrogate, which
    JSON can carry and no table or database can), is a bad row here, as a column of that type is a
    bad file in `read_table`.

    A column at a time: one of the plain types a well-formed batch sends (text, floats, nothing) is
    taken as it is, after one check of the whole column; any other is read value by value."""
    given = {name: [record.get(name) for record in records] for name in EVENT_FIELDS}
    columns: dict[str, list[Any]] = {}
    wrong: dict[str, tuple[list[int], list[str]]] = {}
    for name in EVENT_FIELDS:
        if name == "time":
            columns[name], wrong[name] = _time_column(given[name])
        elif name in ("value", "weight"):
            columns[name], wrong[name] = _number_column(name, given[name])
        else:
            columns[name], wrong[name] = _name_column(name, given[name])
    times = columns["time"]
    if set(map(type, times)) <= {float, _NONE}:
        time_column = pa.array(times, type=pa.float64())
    elif all(t is None or (isinstance(t, int | float) and not isinstance(t, bool)) for t in times):
        time_column = pa.array([None if t is None else float(t) for t in times], type=pa.float64())
    else:  # text, as a CSV log's: numbers among it are read as days, as there
        time_column = pa.array([None if t is None else str(t) for t in times], type=pa.string())
    for name, (rows, messages) in wrong.items():
        bad.add(np.array(rows, dtype=np.int64), name, np.array(messages, dtype=object))
    return pa.table({"subject": pa.array(columns["subject"], type=pa.string()),
                     "kind": pa.array(columns["kind"], type=pa.string()), "time": time_column,
                     "value": pa.array(columns["value"], type=pa.float64()),
                     "weight": pa.array(columns["weight"], type=pa.float64()),
                     **{name: pa.array(columns[name], type=pa.string()) for name in ("source", "actor", "id")}})


def _name_column(name: str, given: list[Any]) -> tuple[list[Any], tuple[list[int], list[str]]]:
    """A name column of a request's records (`table_from_records`), and its refused rows and problems."""
    if set(map(type, given)) <= {str, _NONE} and _utf8("".join([text for text in given if text is not None])):
        return given, ([], [])  # a lone surrogate anywhere would make the joined text no UTF-8
    column: list[Any] = []
    rows: list[int] = []
    problems: list[str] = []
    for row, value in enumerate(given):
        try:
            text = _id_text(value)
        except TypeError:
            problem = f"{name} {_plain(value)} is not text or a whole number; fix: send the {name} as text"
        else:
            if not (isinstance(value, str) and not _utf8(value)):
                column.append(text)
                continue
            problem = str(text_problem(name, value))
        column.append(None)
        rows.append(row)
        problems.append(problem)
    return column, (rows, problems)


def _time_column(given: list[Any]) -> tuple[list[Any], tuple[list[int], list[str]]]:
    """The time column of a request's records: numbers, or text (`table_from_records`)."""
    kinds = set(map(type, given))
    if kinds <= {float, _NONE} or (kinds <= {str, _NONE} and _utf8("".join([t for t in given if t is not None]))):
        return given, ([], [])
    column: list[Any] = []
    rows: list[int] = []
    problems: list[str] = []
    for row, value in enumerate(given):
        if isinstance(value, str) and not _utf8(value):
            column.append(None)
            rows.append(row)
            problems.append(f"cannot read {_plain(value)} as a time; fix: {TIME_FIX}")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300:
            column.append(str(value))  # as a log's text: no double holds it, it is read as no time
        else:
            column.append(value)
    return column, (rows, problems)


def _number_column(name: str, given: list[Any]) -> tuple[list[Any], tuple[list[int], list[str]]]:
    """A value or weight column of a request's records (`table_from_records`)."""
    if set(map(type, given)) <= {float, _NONE}:
        return given, ([], [])
    column: list[Any] = []
    rows: list[int] = []
    problems: list[str] = []
    for row, value in enumerate(given):
        try:
            column.append(_number(value))
        except (TypeError, OverflowError):
            column.append(None)
            rows.append(row)
            problems.append(not_a_number(name, value))
    return column, (rows, problems)


ARROW_DECAY_MS = 10_000


def keep_arrow_memory() -> None:
    """Have Arrow allocate from jemalloc, keeping freed memory 10 s (Arrow's default: 1 s) before
    giving it back to the system, unless the user chose an allocator (ARROW_DEFAULT_MEMORY_POOL).

    Reading a large log in a fresh process spends about twice the system time with Arrow's
    default mimalloc, and a second read within 10 s (a service rescoring, the benchmark's
    repeats) reuses the pages rather than faulting fresh ones in (figures in
    benchmarks/RESULTS.md, `socialcredit score`). Process-wide, as Arrow's allocator is; nothing
    where pyarrow was built without jemalloc."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:
        return
    if pa.default_memory_pool().backend_name != "jemalloc":
        pa.set_memory_pool(pool)
    pa.jemalloc_set_decay_ms(ARROW_DECAY_MS)


def today_days() -> float:
    """Now, in days since 1970-01-01 (UTC)."""
    return (datetime.datetime.now(datetime.UTC) - _EPOCH_DATETIME).total_seconds() / 86_400


def read_members(path: str | Path, name: str) -> pa.Array:
    """The members of an input list from a file: CSV or Parquet with a `subject` column, one member
    a row (repeats are one member). A row without a subject, or with one no event could name, stops
    the reading with its line: a list is never taken in part."""
    bad = BadRows(str(path), is_csv(path))
    table = read_table(path, ("subject",), (), bad)
    if bad.count:
        raise InputError(f"input list '{name}': {bad.describe()}")
    column = table.column("subject").combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary.take(column.indices)
    subjects = pc.cast(column, pa.string())
    for row, subject in enumerate(subjects.to_pylist()):
        problem = "subject is missing" if subject is None or not subject.strip() else text_problem("subject", subject)
        if problem:
            where = f"line {row + 2}" if is_csv(path) else f"row {row + 1}"
            raise InputError(f"{path}: {where}: {problem}\n    fix: give one subject a row in the 'subject' column "
                             f"of input list '{name}'")
    return pc.unique(subjects)


def read_event_log(path: str | Path, scheme: Scheme, relations_path: str | Path | None = None,
                   allow_future: bool = False, also_subjects: Sequence[pa.Array] = ()) -> EventLog:
    """Read and check an event log (and relations); bad rows are collected in `.bad`, not scored.
    Events dated after today (a day's grace, for time zones) are bad rows unless `allow_future`;
    an event whose id repeats an earlier event's is dropped and counted (`.duplicates`), as the
    service does with a repeated ingest. `also_subjects`: more subjects to score, named elsewhere
    (the members of input lists), as string arrays."""
    keep_arrow_memory()
    bad = BadRows(str(path), is_csv(path))
    table = read_table(path, EVENT_COLUMNS, OPTIONAL_EVENT_COLUMNS, bad)
    latest = float("inf") if allow_future else today_days() + 1
    checked = check_events(table, scheme, bad, latest, future_fix=f"{DATE_FIX}, or pass --allow-future to score "
                                                                 "records dated ahead of today")
    subject_codes, subject_dictionary, kinds, times, values, weights, good = (
        checked.subject_codes, checked.subject_dictionary, checked.kinds, checked.times, checked.values,
        checked.weights, checked.good)
    duplicates = 0
    if "id" in table.column_names:
        repeated = repeated_ids(table.column("id"), good)
        duplicates = int(repeated.size)
        good[repeated] = False

    # Subjects: those named by good events and by relations, sorted by id.
    all_good = bool(good.all())
    used = np.zeros(len(subject_dictionary), dtype=bool)
    used[subject_codes if all_good else subject_codes[good]] = True
    id_sets = [subject_dictionary.filter(from_numpy(used))]
    relation_bad = None
    pairs: list[tuple[np.ndarray, pa.Array]] = []
    if relations_path is not None:
        relation_bad = BadRows(str(relations_path), is_csv(relations_path))
        rel_table = read_table(relations_path, RELATION_COLUMNS, (), relation_bad)
        rel_good = np.ones(rel_table.num_rows, dtype=bool)
        for name in RELATION_COLUMNS:
            codes, dictionary = encode(pc.cast(rel_table.column(name), pa.string()))
            dictionary = pc.cast(dictionary, pa.string())
            blank = as_numpy(pc.equal(pc.utf8_trim_whitespace(dictionary), EMPTY_TEXT).fill_null(TRUE))
            missing = (codes < 0) | (blank[codes] if blank.size else False)
            rows = np.flatnonzero(missing)
            relation_bad.add(rows, name,
                             np.full(rows.size, f"missing {name}; fix: every tie names two subjects", dtype=object))
            rel_good &= ~missing
            pairs.append((codes, dictionary))
        for index, (codes, dictionary) in enumerate(pairs):
            codes = np.where(rel_good, codes, -1)
            pairs[index] = (codes, dictionary)
            present = np.zeros(len(dictionary), dtype=bool)
            present[codes[codes >= 0]] = True
            id_sets.append(dictionary.filter(from_numpy(present)))
    id_sets.extend(pc.cast(ids, pa.string()) for ids in also_subjects if len(ids))
    if len(id_sets) == 1:
        # Events only: the used part of the subject dictionary, sorted once; distinct but where a
        # Parquet log's dictionary page repeats an id (`parquetcodes`): those are one subject.
        used_ids = id_sets[0]
        sorting = pc.sort_indices(used_ids)
        order = as_numpy(sorting)
        all_ids = used_ids.take(sorting)  # Arrow's indices, not NumPy's: no conversion (`arrowarrays`)
        rank = np.empty(order.size, dtype=np.int64)
        first = np.ones(order.size, dtype=bool)  # the first of its id in sorted order
        if order.size > 1:
            first[1:] = as_numpy(pc.not_equal(all_ids.slice(1), all_ids.slice(0, order.size - 1)))
        if first.all():
            rank[order] = np.arange(order.size)
        else:
            rank[order] = np.cumsum(first) - 1
            all_ids = all_ids.filter(from_numpy(first))
        subject_positions = np.full(len(subject_dictionary) + 1, -1, dtype=np.int32)  # last slot: null
        subject_positions[np.flatnonzero(used)] = rank
    else:
        all_ids = pc.unique(pa.chunked_array(id_sets, type=pa.string()).combine_chunks())
        all_ids = all_ids.take(pc.sort_indices(all_ids))
    n = len(all_ids)

    def to_index(codes: np.ndarray, dictionary: pa.Array) -> np.ndarray:
        if len(id_sets) == 1:
            return gather(subject_positions, codes)
        position = as_numpy(pc.index_in(dictionary, value_set=all_ids).fill_null(scalar(np.int32(-1))))
        return gather(np.append(position.astype(np.int32), np.int32(-1)), codes)

    if not all_good:
        subject_codes, kinds, times, values, weights = (a[good] for a in (subject_codes, kinds, times, values, weights))
    events = EventArrays.build(to_index(subject_codes, subject_dictionary), kinds, times, values, weights,
                               n_subjects=n)
    relations = None
    if relations_path is not None:
        (a_codes, a_dict), (b_codes, b_dict) = pairs
        keep = (a_codes >= 0) & (b_codes >= 0)
        relations = Relations.from_pairs(to_index(a_codes[keep], a_dict), to_index(b_codes[keep], b_dict), n)
        if scheme.network is not None and relations.most_ties > graph.MAX_TIES:
            hub = int(np.argmax(relations.degree))
            raise InputError(f"{relations_path}: subject '{all_ids[hub].as_py()}' has {relations.most_ties:,} "
                             f"ties; the network term is added up exactly for at most {graph.MAX_TIES:,} ties a "
                             "subject\n    fix: check the relations for a subject tied to everyone (a placeholder "
                             "id such as 'unknown'), or score without --relations")
    # What Arrow holds now is the ids; the columns read are let go and their memory given back at
    # once rather than kept for a next read (`keep_arrow_memory`): the scoring's arrays come next.
    del table
    pa.default_memory_pool().release_unused()
    return EventLog(pc.cast(all_ids, pa.string()), events, relations, bad, relation_bad, duplicates)
