"""`socialcredit score`: a real event log in, one row per subject out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .arrowarrays import from_numpy, texts
from .eventlog import EventLog, InputError, as_numpy, is_csv, read_event_log, read_members
from .scheme import Scheme
from .scoring import NO_REASON, Scores, score_events
from .scoring.core import LOAD_COMPILER_FROM, load_compiler_in_background


@dataclass
class ScoreRun:
    log: EventLog
    as_of: float
    scores: Scores
    table: pa.Table


def reason_column(scores: Scores) -> pa.Array:
    """Reason codes as `a;b;c` strings, built once per distinct combination rather than per subject."""
    codes = scores.reasons
    if codes.shape[1] == 0:
        return pa.DictionaryArray.from_arrays(from_numpy(np.zeros(scores.n_subjects, dtype=np.int32)), texts([""]))
    # Each row of codes as one integer (digits in base codes + 1), so np.unique works in 1-D.
    base = len(scores.reason_names) + 1
    key = np.zeros(codes.shape[0], dtype=np.int64)
    for column in range(codes.shape[1]):
        key = key * base + (codes[:, column].astype(np.int64) + 1)
    if base ** codes.shape[1] <= 1 << 22:  # few possible rows: count them rather than sort the keys
        present = np.flatnonzero(np.bincount(key, minlength=1))
        position = np.zeros(int(present[-1]) + 1 if present.size else 1, dtype=np.int32)
        position[present] = np.arange(present.size, dtype=np.int32)
        unique, inverse = present, position[key]
    else:
        unique, inverse = np.unique(key, return_inverse=True)
    names = scores.reason_names
    joined = []
    for value in unique.tolist():
        digits = []
        for _ in range(codes.shape[1]):
            value, digit = divmod(value, base)
            digits.append(digit - 1)
        joined.append(";".join(names[c] for c in reversed(digits) if c != NO_REASON))
    return pa.DictionaryArray.from_arrays(from_numpy(inverse.ravel().astype(np.int32)), texts(joined))


def name_column(codes: np.ndarray, names: Sequence[str]) -> pa.DictionaryArray:
    """A dictionary column of a few names (tiers, groups): one small dictionary, an index per row;
    code -1 is the empty name."""
    values = [*names, ""]
    indices = np.where(codes < 0, len(names), codes).astype(np.int32)
    return pa.DictionaryArray.from_arrays(from_numpy(indices), texts(values))


def tier_column(scores: Scores) -> pa.Array:
    """Tier names as a dictionary column."""
    return name_column(scores.tier, scores.scheme.tier_names)


def capped_by_column(scores: Scores) -> pa.Array:
    """The reason code of the tier cap that held each tier down, "" where none did."""
    return name_column(scores.tier_cap, scores.scheme.tier_cap_names)


def unscored_by_column(scores: Scores) -> pa.Array:
    """The reason codes of the unscored conditions that hold, `;`-separated, "" where scored."""
    assert scores.unscored is not None
    present, inverse = np.unique(scores.unscored, return_inverse=True)  # a few combinations of conditions
    names = scores.scheme.unscored_names
    joined = [";".join(code for bit, code in enumerate(names) if int(mask) >> bit & 1) for mask in present.tolist()]
    return pa.DictionaryArray.from_arrays(from_numpy(inverse.ravel().astype(np.int32)), texts(joined))


def withheld(values: np.ndarray, scores: Scores) -> pa.Array:
    """A score or pre column: null where the subject is unscored (or not enrolled)."""
    return from_numpy(values, mask=~scores.scored) if scores.withholds else from_numpy(values)


def scores_table(subject_ids: pa.Array | np.ndarray, scores: Scores) -> pa.Table:
    """One row per subject: subject, score, pre, tier, capped_by (where the scheme has tier caps),
    scored and unscored_by (where it has unscored conditions; score, pre and tier are then empty for
    the unscored), a column per list, input list and entitlement, reasons, then every feature and every
    component's points (for explanation and cross-checks). Tier, capped_by, unscored_by and reasons
    are dictionary columns (few distinct values)."""
    columns: dict[str, pa.Array] = {
        "subject": subject_ids if isinstance(subject_ids, pa.Array) else texts(list(subject_ids)),
        "score": withheld(scores.score, scores),
        "pre": withheld(scores.pre, scores),
        "tier": tier_column(scores),
    }
    if scores.scheme.tier_caps:
        columns["capped_by"] = capped_by_column(scores)
    if scores.unscored is not None:
        columns["scored"] = from_numpy(scores.scored)
        columns["unscored_by"] = unscored_by_column(scores)
    for name, member in scores.lists.items():
        columns[name] = from_numpy(member)
    for name, member in scores.inputs.items():  # another body's list, as given: what a denial may rest on
        columns[name] = from_numpy(member)
    for name, allowed in scores.entitlements.items():
        columns[name] = from_numpy(allowed)
    columns["reasons"] = reason_column(scores)
    for name, values in scores.features.items():
        columns[name] = from_numpy(values)
    for name, points in scores.components.items():
        columns[name] = from_numpy(points)
    return pa.table(columns)


def input_list_files(scheme: Scheme, given: dict[str, str | Path]) -> dict[str, Path]:
    """The membership file of each input list the scheme declares, checked: every declared list
    given (never taken as empty), none given that it does not declare."""
    problems = []
    for name in given:
        if name not in scheme.input_lists:
            declared = ", ".join(scheme.input_lists) or "none"
            problems.append(f"--list {name}=...: scheme '{scheme.id}' reads no input list '{name}' (it reads: "
                            f"{declared})\n    fix: name one of the scheme's input_lists, or drop this --list")
    for name, spec in scheme.input_lists.items():
        if name not in given:
            problems.append(f"scheme '{scheme.id}' reads input list '{name}' ({spec.category}), and no members were "
                            f"given\n    fix: pass --list {name}=FILE, a CSV or Parquet file with a 'subject' "
                            "column (one member a row; an empty file for nobody)")
    if problems:
        raise InputError("\n".join(problems))
    return {name: Path(given[name]) for name in scheme.input_lists}


def expected_events(path: str | Path) -> int:
    """About how many events a log holds, before reading it: a Parquet file's rows, a CSV file's bytes
    over 32 (an event's line is rarely shorter); 0 where it cannot be told (the reading says why)."""
    try:
        if is_csv(path):
            return Path(path).stat().st_size // 32
        return int(pq.read_metadata(path).num_rows)
    except (OSError, pa.ArrowException):
        return 0


def run_score(events: str | Path, scheme: Scheme, as_of: float | None = None,
              relations: str | Path | None = None, skip_bad_rows: bool = False,
              allow_future: bool = False, input_lists: dict[str, str | Path] | None = None) -> ScoreRun:
    """Score an event log once. `input_lists`: a membership file for each input list the scheme
    declares; its members are subjects too (on another body's list, with no records here)."""
    if expected_events(events) >= LOAD_COMPILER_FROM:  # its compiled passes load while the log is read
        load_compiler_in_background()
    members = {name: read_members(path, name) for name, path in
               input_list_files(scheme, dict(input_lists or {})).items()}
    log = read_event_log(events, scheme, relations, allow_future=allow_future or as_of is not None,
                         also_subjects=list(members.values()))
    if log.rejected and not skip_bad_rows:
        parts = [log.bad.describe()] if log.bad.count else []
        if log.relation_bad is not None and log.relation_bad.count:
            parts.append(log.relation_bad.describe())
        raise InputError("\n".join(parts) + f"\n{log.rejected} bad row{'s' * (log.rejected != 1)}; nothing was "
                         "scored. Fix them, or pass --skip-bad-rows to score the good rows and write the bad ones "
                         "to <out>.rejects.csv")
    if as_of is None:
        if not len(log.events):
            raise InputError(f"{events}: there are no events to score, so there is no latest time to score at\n"
                             "    fix: add events, or give --as-of")
        as_of = float(log.events.time.max())
    inputs = {name: as_numpy(pc.is_in(log.subject_ids, value_set=ids))
              for name, ids in members.items()}
    scores = score_events(scheme, log.events, as_of, log.relations, inputs=inputs)
    return ScoreRun(log, as_of, scores, scores_table(log.subject_ids, scores))


OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


def write_table(table: pa.Table, path: str | Path) -> None:
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True)
    # Write beside the target and rename, so a crash never leaves a half-written result.
    partial = path.with_name(path.name + ".partial")
    if path.suffix.lower() in (".parquet", ".pq"):
        # dictionary pages only where values repeat (tiers, reasons); numbers are written plain,
        # 64Ki values at a time rather than 1Ki: a faster write (benchmarks/RESULTS.md, `socialcredit score`)
        repeated = [name for name in ("tier", "capped_by", "unscored_by", "reasons") if name in table.column_names]
        pq.write_table(table, partial, use_dictionary=repeated, compression="lz4", write_batch_size=1 << 16)
    else:  # CSV holds plain text
        plain = [pc.cast(column, column.type.value_type) if pa.types.is_dictionary(column.type) else column
                 for column in table.columns]
        pacsv.write_csv(pa.table(plain, names=table.column_names), partial)
    partial.replace(path)


def write_rejects(run: ScoreRun, path: str | Path) -> int:
    frames = [run.log.bad.frame().assign(file=run.log.bad.path)]
    if run.log.relation_bad is not None:
        frames.append(run.log.relation_bad.frame().assign(file=run.log.relation_bad.path))
    import pandas as pd

    frame = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    frame.to_csv(path, index=False)
    return len(frame)
