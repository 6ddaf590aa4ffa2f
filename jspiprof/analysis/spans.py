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


def frame_spans(t: Tables, pieces: pd.DataFrame) -> pd.DataFrame:
    """Spans of Python frames: a frame is live from the first to the last of the consecutive pieces of its
    entry whose stacks share the same functions from the outermost frame down to it (lines may differ).

    `pieces` are suspensions (or `merged_suspensions`) with entry, stack_id, start_us, end_us and count.
    Columns: entry, depth (1 = outermost), frame (id of its first frame), start_us, end_us, count. For
    single suspensions the spans of an entry nest: a deeper span lies within a shallower one.
    """
    functions = t.frames["file"].astype(str) + "\0" + t.frames["function"].astype(str)
    prefix_ids: dict[tuple[str, ...], int] = {}
    rows = []
    for stack_id, stack in enumerate(t.stacks):
        names = tuple(functions.get(frame, str(frame)) for frame in stack)
        for depth in range(1, len(stack) + 1):
            rows.append((stack_id, depth, stack[depth - 1], prefix_ids.setdefault(names[:depth], len(prefix_ids))))
    prefixes = pd.DataFrame(rows, columns=["stack_id", "depth", "frame", "prefix"])
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
