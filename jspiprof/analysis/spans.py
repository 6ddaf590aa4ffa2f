"""Python frames over time: which frames were live across consecutive suspensions of each entry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jspiprof.analysis.tables import Tables


def merged_suspensions(t: Tables, column_us: float) -> pd.DataFrame:
    """Suspensions merged per entry, stack, path and time column of width `column_us` (a level of detail).

    Columns: entry, stack_id, path, start_us, end_us, wait_us (sum), depth, count.
    """
    s = t.suspensions
    column = ((s["start_us"] - t.start_us) // column_us).astype("int64")
    return (
        s.assign(column=column)
        .groupby(["entry", "stack_id", "path", "column"], sort=False)
        .agg(start_us=("start_us", "min"), end_us=("end_us", "max"), wait_us=("wait_us", "sum"), depth=("depth", "first"), count=("wait_us", "size"))
        .reset_index()
    )


def _stack_prefixes(t: Tables) -> pd.DataFrame:
    """One row per frame of each distinct stack: stack_id, depth, frame, and `prefix`, an id shared by all
    stacks whose functions from the outermost frame down to this depth are the same (lines may differ)."""
    functions = t.frames["file"].astype(str) + "\0" + t.frames["function"].astype(str)
    prefix_ids: dict[tuple[str, ...], int] = {}
    rows = []
    for stack_id, stack in enumerate(t.stacks):
        names = tuple(functions.get(frame, str(frame)) for frame in stack)
        for depth in range(1, len(stack) + 1):
            rows.append((stack_id, depth, stack[depth - 1], prefix_ids.setdefault(names[:depth], len(prefix_ids))))
    return pd.DataFrame(rows, columns=["stack_id", "depth", "frame", "prefix"])


def frame_spans(t: Tables, pieces: pd.DataFrame) -> pd.DataFrame:
    """Spans of Python frames: a frame is live from the first to the last of the consecutive pieces of its
    entry whose stacks share the same functions from the outermost frame down to it (lines may differ).

    `pieces` are suspensions (or `merged_suspensions`) with entry, stack_id, start_us, end_us and count.
    Columns: entry, depth (1 = outermost), frame (id of its first frame), start_us, end_us, count. For
    single suspensions the spans of an entry nest: a deeper span lies within a shallower one.
    """
    prefixes = _stack_prefixes(t)
    ordered = pieces[["entry", "stack_id", "start_us", "end_us", "count"]].sort_values(["entry", "start_us"], kind="stable")
    ordered = ordered.assign(seq=np.arange(len(ordered)), same_entry_as_previous=(ordered["entry"] == ordered["entry"].shift()).to_numpy())
    exploded = ordered.merge(prefixes, on="stack_id").sort_values(["entry", "depth", "seq"], kind="stable")
    here = pd.MultiIndex.from_arrays([exploded["seq"], exploded["depth"], exploded["prefix"]])
    previous = pd.MultiIndex.from_arrays([exploded["seq"] - 1, exploded["depth"], exploded["prefix"]])
    continues = previous.isin(here) & exploded["same_entry_as_previous"].to_numpy()
    return (
        exploded.assign(span=np.cumsum(~continues))
        .groupby("span", sort=False)
        .agg(entry=("entry", "first"), depth=("depth", "first"), frame=("frame", "first"), start_us=("start_us", "min"),
             end_us=("end_us", "max"), count=("count", "sum"))
        .reset_index(drop=True)
    )


def _runs_of_columns(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Group number of each row: rows with the same keys in consecutive columns share a group."""
    frame = frame.sort_values([*keys, "column"], kind="stable")
    same = np.logical_and.reduce([frame[k].to_numpy() == frame[k].shift().to_numpy() for k in keys])
    new = ~(same & (frame["column"].to_numpy() == frame["column"].shift().to_numpy() + 1))
    return pd.Series(np.cumsum(new), index=frame.index)


def column_spans(t: Tables, column_us: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A level of detail for big traces: suspensions and frames as spans over the time columns they occupy.

    Time is cut into columns of `column_us`; a frame (or a suspension's stack and path) present in
    consecutive columns of an entry becomes one span. Returns (suspension spans: entry, stack_id, path,
    start_us, end_us, wait_us, depth, count; frame spans: entry, depth, frame, start_us, end_us, count).
    """
    pieces = merged_suspensions(t, column_us)
    group = _runs_of_columns(pieces, ["entry", "stack_id", "path"])
    suspensions = pieces.groupby(group.reindex(pieces.index), sort=False).agg(
        entry=("entry", "first"), stack_id=("stack_id", "first"), path=("path", "first"), start_us=("start_us", "min"),
        end_us=("end_us", "max"), wait_us=("wait_us", "sum"), depth=("depth", "first"), count=("count", "sum"))
    prefixes = _stack_prefixes(t)
    cells = (
        pieces[["entry", "stack_id", "column", "start_us", "end_us", "count"]].merge(prefixes, on="stack_id")
        .groupby(["entry", "depth", "prefix", "column"], sort=False)
        .agg(frame=("frame", "first"), start_us=("start_us", "min"), end_us=("end_us", "max"), count=("count", "sum"))
        .reset_index()
    )
    group = _runs_of_columns(cells, ["entry", "depth", "prefix"])
    frames = cells.groupby(group.reindex(cells.index), sort=False).agg(
        entry=("entry", "first"), depth=("depth", "first"), frame=("frame", "first"), start_us=("start_us", "min"),
        end_us=("end_us", "max"), count=("count", "sum"))
    return suspensions.reset_index(drop=True), frames.reset_index(drop=True)
