"""A trace as pandas tables: one DataFrame per kind of event, with the columns the analysis needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from jspiprof.trace import Header, Trace

LIBRARY_SITE = "(library code)"
"""The site shown for suspensions whose stack holds only library frames (the trace's `site` is null)."""
NO_ENTRY = -1
"""The `entry` of suspensions recorded outside any entry (the trace's `entry` is null)."""

_SUSPENSION_FIELDS = ("id", "entry", "path", "start_us", "wait_us", "resume_us", "stack_bytes", "depth", "site", "awaitable", "outcome", "error")
_ENTRY_FIELDS = ("id", "kind", "promising", "name", "caller", "parent", "start_us", "end_us", "outcome", "error")
_FAILED_FIELDS = ("ts_us", "entry", "reason", "path", "depth", "site", "error")
_FRAME_FIELDS = ("id", "file", "line", "function", "library")


@dataclass
class Tables:
    """The trace's events as DataFrames (times in µs from the trace origin).

    - `suspensions`: one row per suspension, plus `end_us` (stack restored), `switch_us` (wait + resume),
      `site` (null replaced by `LIBRARY_SITE`), `entry` (null replaced by `NO_ENTRY`), `stack_id` (index into `stacks`) and the entry's `kind`.
      Its few-valued text columns (`path`, `site`, `awaitable`, `outcome`, `kind`) are categorical: grouping by them
      on millions of rows is then a matter of integer codes.
    - `entries`: one row per entry, `end_us` filled with the trace end for entries still running, plus
      `finished` and `duration_us`.
    - `failed_switches`, `frames`: one row per event.
    - `stacks`: the distinct Python stacks (frame ids, outermost first); `stack_id` indexes this list.
    - `start_us`, `end_us`: the run's window, from the first entry's start to the end of the trace.
    - `dropped`: events lost by the recorder; `finished`: the trace has its `end` line.
    """

    suspensions: pd.DataFrame
    entries: pd.DataFrame
    failed_switches: pd.DataFrame
    frames: pd.DataFrame
    stacks: list[tuple[int, ...]]
    start_us: float
    end_us: float
    dropped: int
    finished: bool
    header: Header

    @property
    def duration_us(self) -> float:
        """Length of the run's window."""
        return self.end_us - self.start_us


_CATEGORIES = ("path", "site", "awaitable", "outcome")
"""Text columns of suspensions with few distinct values, made categorical."""


def _frame(items: Sequence[Any], fields: tuple[str, ...]) -> pd.DataFrame:
    """A DataFrame with one row per item and one column per field (read as attributes)."""
    return pd.DataFrame.from_records(list(map(attrgetter(*fields), items)), columns=list(fields), nrows=len(items))


def _categorical(values: list[str | None], missing: str | None = None) -> pd.Categorical:
    """Text values as a categorical with sorted categories, coded by one dict lookup per value (in C).

    None becomes `missing` (always one of the categories), or stays missing when `missing` is None.
    """
    distinct = {*dict.fromkeys(values), missing} - {None}
    categories = sorted(distinct)
    codes: dict[str | None, int] = {value: number for number, value in enumerate(categories)}
    codes[None] = codes[missing] if missing is not None else -1
    return pd.Categorical.from_codes(np.fromiter(map(codes.__getitem__, values), dtype=np.int64, count=len(values)), categories=categories)


def _suspension_frame(items: Sequence[Any]) -> pd.DataFrame:
    """Like `_frame` for suspensions, with the `_CATEGORIES` columns categorical and the numbers read as float64/int64."""
    numbers = {"start_us": np.float64, "wait_us": np.float64, "resume_us": np.float64, "id": np.int64, "stack_bytes": np.int64, "depth": np.int64}
    columns: dict[str, Any] = {}
    for name in _SUSPENSION_FIELDS:
        if name in numbers:  # straight into the array, without a list in between
            columns[name] = np.fromiter(map(attrgetter(name), items), dtype=numbers[name], count=len(items))
            continue
        values = list(map(attrgetter(name), items))
        if name in _CATEGORIES:
            columns[name] = _categorical(values, LIBRARY_SITE if name == "site" else None)
        elif name == "entry":
            columns[name] = np.array([NO_ENTRY if value is None else value for value in values], dtype=np.int64)
        else:
            columns[name] = np.array(values, dtype=object)
    return pd.DataFrame(columns, columns=list(_SUSPENSION_FIELDS), index=pd.RangeIndex(len(items)))


def _intern_stacks(stacks: Iterable[Sequence[int]]) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Map each stack to a small integer id; returns (ids, distinct stacks)."""
    ids: dict[tuple[int, ...], int] = {}
    column = [ids.setdefault(tuple(stack), len(ids)) for stack in stacks]
    return np.asarray(column, dtype=np.int64), list(ids)


def tables(trace: Trace) -> Tables:
    """Turn a `jspiprof.trace.Trace` into `Tables`."""
    entry_list = list(trace.entries.values())
    frame_list = list(trace.frames.values())
    suspension_list = list(trace.suspensions)
    failed_list = list(trace.failed_switches)

    suspensions = _suspension_frame(suspension_list)
    suspensions["switch_us"] = suspensions["wait_us"] + suspensions["resume_us"]
    suspensions["end_us"] = suspensions["start_us"] + suspensions["switch_us"]
    suspensions["stack_id"], stacks = _intern_stacks(map(attrgetter("stack"), suspension_list))

    entries = _frame(entry_list, _ENTRY_FIELDS)
    entries["start_us"] = entries["start_us"].astype("float64")
    entries["end_us"] = entries["end_us"].astype("float64")
    entries["parent"] = entries["parent"].astype("Int64")

    failed = _frame(failed_list, _FAILED_FIELDS)
    failed["ts_us"] = failed["ts_us"].astype("float64")
    failed["entry"] = failed["entry"].astype("Int64")
    frames = _frame(frame_list, _FRAME_FIELDS).set_index("id", drop=False)

    if trace.end is not None:
        end_us = float(trace.end.ts_us)
    else:
        ends = [suspensions["end_us"].max(), entries["start_us"].max(), entries["end_us"].max(), failed["ts_us"].max()]
        end_us = float(max((value for value in ends if pd.notna(value)), default=0.0))
    start_us = float(entries["start_us"].min()) if len(entries) else 0.0

    entries["finished"] = entries["end_us"].notna()
    entries["end_us"] = entries["end_us"].fillna(end_us)
    entries["duration_us"] = entries["end_us"] - entries["start_us"]
    kinds = entries.set_index("id")["kind"]
    suspensions["kind"] = pd.Categorical(suspensions["entry"].map(kinds))
    dropped = trace.end.dropped if trace.end is not None else trace.dropped_count
    return Tables(suspensions, entries, failed, frames, stacks, start_us, end_us, dropped, trace.end is not None, trace.header)
