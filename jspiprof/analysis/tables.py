"""A trace as pandas tables: one DataFrame per kind of event, with the columns the analysis needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from jspiprof.analysis.diagnoses import failed_switch_problems
from jspiprof.analysis.groups import rows_of
from jspiprof.in_pyodide.diagnose import Problem
from jspiprof.trace import Entry, Header, Instance, Trace
from jspiprof.trace.samples import SampleColumns

LIBRARY_SITE = "(library code)"
"""The site shown for suspensions whose stack holds only library frames (the trace's `site` is null)."""
NO_ENTRY = -1
"""The `entry` of suspensions recorded outside any entry (the trace's `entry` is null)."""

Columns = dict[str, Any]
"""A table as columns of one length (numpy arrays; a text column a `pd.Categorical`, a nullable integer column
pandas' Int64 array): the one shape every analysis, view and exporter reads (a DataFrame costs at every column read)."""


@dataclass(frozen=True)
class Arrays:
    """The columns the DataFrames of `Tables` are made of, by table."""

    suspensions: Columns
    entries: Columns
    frames: Columns
    failed_switches: Columns


@dataclass
class Tables:
    """The analysis pivot: a trace's events as tables (times in µs from the trace origin), what every analysis, view
    and exporter takes. Each table is held as columns (`arrays`, which they read) and given as a DataFrame made from
    them when first used (for notebooks).

    - `suspensions`: one row per suspension, plus `end_us` (stack restored), `switch_us` (wait + resume),
      `site` (null replaced by `LIBRARY_SITE`), `entry` (null replaced by `NO_ENTRY`), `stack_id` (index into
      `stacks`) and the entry's `kind`. Its few-valued text columns (`path`, `site`, `awaitable`, `outcome`, `error`,
      `kind`) are categorical: grouping by them on millions of rows is then a matter of integer codes.
    - `entries`: one row per entry, `end_us` filled with the trace end for entries still running, plus
      `finished`, `duration_us` and, for a callback JS code registered, its `registration_api`,
      `registration_event` and `registration_location` (None otherwise).
    - `failed_switches`, `frames`: one row per event.
    - `stacks`: the distinct Python stacks (frame ids, outermost first); `stack_id` indexes this list.
    - `start_us`, `end_us`: the run's window, from the first entry's start to the end of the trace.
    - `dropped`: events lost by the recorder; `finished`: the trace has its `end` line; `snapshot_us`: when the
      trace is a live export (a snapshot taken while the program ran), the time it was taken, else None.
    - `instances`: the Pyodide instances (a page, its workers, ...) the `instance` column of each table (entries,
      suspensions, failed switches, and `samples.instance`) numbers: one, 0, for a trace of one Pyodide.
    - `samples`: the CPU samples, as the trace holds them (`jspiprof.analysis.cpu` sums them up).
    - `failed_problems`: `jspiprof diagnose`'s problem for each row of `failed_switches` (for the insights on them).
    """

    arrays: Arrays
    stacks: list[tuple[int, ...]]
    start_us: float
    end_us: float
    dropped: int
    finished: bool
    header: Header
    samples: SampleColumns = field(default_factory=SampleColumns)
    failed_problems: list[Problem] = field(default_factory=list)
    """What `jspiprof diagnose` says of each failed switch (its class, message and fix), row by row."""
    snapshot_us: float | None = None
    instances: list[Instance] = field(default_factory=list)

    @cached_property
    def suspensions(self) -> pd.DataFrame:
        columns = self.arrays.suspensions
        return pd.DataFrame(columns, index=pd.RangeIndex(len(columns["id"])), copy=False)

    @cached_property
    def entries(self) -> pd.DataFrame:
        return pd.DataFrame(self.arrays.entries)

    @cached_property
    def frames(self) -> pd.DataFrame:
        return pd.DataFrame(self.arrays.frames).set_index("id", drop=False)

    @cached_property
    def failed_switches(self) -> pd.DataFrame:
        return pd.DataFrame(self.arrays.failed_switches)

    @property
    def duration_us(self) -> float:
        """Length of the run's window."""
        return self.end_us - self.start_us


_ENTRY_FIELDS = (
    "id",
    "kind",
    "promising",
    "name",
    "caller",
    "parent",
    "start_us",
    "end_us",
    "outcome",
    "error",
    "instance",
    "caller_sampled",
)
_FAILED_FIELDS = ("ts_us", "entry", "reason", "path", "depth", "site", "error", "instance")
_FRAME_FIELDS = ("id", "file", "line", "function", "library")


def _columns(items: Sequence[Any], fields: tuple[str, ...]) -> dict[str, list[Any]]:
    """One list per field (read as attributes) of the items."""
    return {name: [getattr(item, name) for item in items] for name in fields}


def _typed(columns: dict[str, Any], dtypes: dict[str, Any]) -> Columns:
    """`columns` with each list named in `dtypes` as a numpy array of that dtype (texts: objects, None if missing)."""
    return {
        name: np.array(values, dtype=dtypes[name]) if name in dtypes and isinstance(values, list) else values
        for name, values in columns.items()
    }


def _registrations(entries: Sequence[Entry]) -> dict[str, list[str | None]]:
    """The `registration_api`, `registration_event` and `registration_location` of each entry (None: none)."""
    registrations = [entry.registration for entry in entries]
    return {
        f"registration_{name}": [None if r is None else getattr(r, name) for r in registrations]
        for name in ("api", "event", "location")
    }


def _times(values: list[float | None]) -> np.ndarray:
    """Microseconds as float64, None as NaN."""
    return np.array(values, dtype=np.float64) if values else np.empty(0, dtype=np.float64)


def _categorical(values: list[str | None], codes: np.ndarray, missing: str | None = None) -> pd.Categorical:
    """Rows coded into `values` (code -1: no value) as a categorical with sorted categories.

    None becomes `missing` (always one of the categories), or stays missing when `missing` is None.
    """
    categories = sorted({*values, missing} - {None})
    position: dict[str | None, int] = {value: number for number, value in enumerate(categories)}
    position[None] = position[missing] if missing is not None else -1
    recode = np.array([position[value] for value in values] + [-1], dtype=np.int64)  # the last one recodes -1
    return pd.Categorical.from_codes(recode[codes], categories=categories, validate=False)


def _kinds(trace: Trace, entry: np.ndarray) -> pd.Categorical:
    """The kind of each suspension's entry (missing outside any entry)."""
    entries = list(trace.entries.values())
    row = rows_of(np.fromiter((e.id for e in entries), dtype=np.int64, count=len(entries)), entry)
    return _categorical([e.kind for e in entries], row)


def _suspension_columns(trace: Trace) -> tuple[Columns, list[tuple[int, ...]]]:
    """The suspensions' columns (`Tables.suspensions`), and the distinct stacks `stack_id` indexes."""
    read = trace.suspension_columns
    count = len(read)
    shape = np.frombuffer(read.shape, dtype=np.intc)
    stack_ids: dict[tuple[int, ...], int] = {}
    stack_of_shape = np.array([stack_ids.setdefault(s.stack, len(stack_ids)) for s in read.shapes], dtype=np.int64)
    depth_of_shape = np.array([len(s.stack) for s in read.shapes], dtype=np.int64)
    entry_ids = read.entry
    if None in entry_ids:
        entry_ids = [NO_ENTRY if number is None else number for number in entry_ids]
    entry = np.fromiter(entry_ids, dtype=np.int64, count=count)
    start = np.frombuffer(read.start_us, dtype=np.float64).copy()
    wait = np.frombuffer(read.wait_us, dtype=np.float64).copy()
    resume = np.frombuffer(read.resume_us, dtype=np.float64).copy()
    texts = {
        name: [getattr(s, name) for s in read.shapes] for name in ("path", "site", "awaitable", "outcome", "error")
    }
    columns = {
        "id": np.fromiter(read.id, dtype=np.int64, count=count),
        "entry": entry,
        "path": _categorical(texts["path"], shape),
        "start_us": start,
        "wait_us": wait,
        "resume_us": resume,
        "stack_bytes": np.fromiter(read.stack_bytes, dtype=np.int64, count=count),
        "depth": depth_of_shape[shape],
        "site": _categorical(texts["site"], shape, LIBRARY_SITE),
        "awaitable": _categorical(texts["awaitable"], shape),
        "outcome": _categorical(texts["outcome"], shape),
        "error": _categorical(texts["error"], shape),
        "switch_us": wait + resume,
        "end_us": start + (wait + resume),
        "stack_id": stack_of_shape[shape],
        "kind": _kinds(trace, entry),
        "instance": np.frombuffer(read.instance, dtype=np.int64).copy(),
    }
    return columns, list(stack_ids)


def _end_us(
    trace: Trace, suspension_ends: np.ndarray, entry_starts: np.ndarray, entry_ends: np.ndarray, failed: np.ndarray
) -> float:
    """When the trace ends: its last time (a snapshot's time at least), or its end line when that is later (an end
    line earlier than the events it ends is wrong: the events are taken at their word)."""
    ends = [
        array.max()
        for array in (suspension_ends, entry_starts, entry_ends[~np.isnan(entry_ends)], failed)
        if len(array)
    ]
    last = float(max([*ends, trace.snapshot_us or 0.0]))
    return last if trace.end is None else max(float(trace.end.ts_us), last)


_ENTRY_DTYPES = {
    "id": np.int64,
    "kind": object,
    "promising": bool,
    "name": object,
    "caller": object,
    "caller_sampled": bool,
    "registration_api": object,
    "registration_event": object,
    "registration_location": object,
    "outcome": object,
    "error": object,
    "instance": np.int64,
}
_FAILED_DTYPES = {
    "reason": object,
    "path": object,
    "depth": np.int64,
    "site": object,
    "error": object,
    "instance": np.int64,
}
_FRAME_DTYPES = {"id": np.int64, "file": object, "line": np.int64, "function": object, "library": bool}


def tables(trace: Trace) -> Tables:
    """Turn a `jspiprof.trace.Trace` into `Tables`."""
    suspensions, stacks = _suspension_columns(trace)
    entry_list = list(trace.entries.values())
    entries = {**_columns(entry_list, _ENTRY_FIELDS), **_registrations(entry_list)}
    failed = _columns(trace.failed_switches, _FAILED_FIELDS)
    starts, ends, failed_at = _times(entries["start_us"]), _times(entries["end_us"]), _times(failed["ts_us"])
    end_us = _end_us(trace, suspensions["end_us"], starts, ends, failed_at)
    finished = ~np.isnan(ends)
    ends[~finished] = end_us
    entries.update(
        start_us=starts,
        end_us=ends,
        parent=pd.array(entries["parent"], dtype="Int64"),
        finished=finished,
        duration_us=ends - starts,
    )
    failed.update(ts_us=failed_at, entry=pd.array(failed["entry"], dtype="Int64"))
    entries, failed = _typed(entries, _ENTRY_DTYPES), _typed(failed, _FAILED_DTYPES)
    frames = _typed(_columns(list(trace.frames.values()), _FRAME_FIELDS), _FRAME_DTYPES)
    start_us = float(starts.min()) if len(starts) else 0.0
    dropped = trace.end.dropped if trace.end is not None else trace.dropped_count
    return Tables(
        Arrays(suspensions, entries, frames, failed),
        stacks,
        start_us,
        end_us,
        dropped,
        trace.end is not None,
        trace.header,
        trace.samples,
        failed_switch_problems(trace) if trace.failed_switches else [],
        trace.snapshot_us,
        trace.instance_list,
    )
