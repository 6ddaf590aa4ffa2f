"""Python frames over time: which frames were live across consecutive suspensions of each entry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jspiprof.analysis.tables import Tables


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


def _runs(columns: dict[str, np.ndarray], keys: list[str], reduce: dict[str, str]) -> dict[str, np.ndarray]:
    """Rows with the same `keys` whose time columns (from `column` to `last`) overlap or touch, as one row per run.

    `reduce` maps each output column to how its rows combine: "first" (the earliest start), "min", "max", "sum".
    Runs come out ordered by keys, then time.
    """
    order = np.lexsort([columns["start_us"], columns["column"], *(columns[key] for key in reversed(keys))])
    rows = {name: values[order] for name, values in columns.items()}
    same = np.zeros(len(order), dtype=bool)
    same[1:] = True
    for key in keys:
        same[1:] &= rows[key][1:] == rows[key][:-1]
    offset = np.cumsum(~same) * (int(rows["last"].max(initial=0)) + 2)  # per key: keeps the running maximum within its key
    reached = np.maximum.accumulate(rows["last"] + offset)  # the last column covered so far
    new = ~same
    new[1:] |= rows["column"][1:] + offset[1:] > reached[:-1] + 1
    starts = np.flatnonzero(new)
    ufuncs = {"min": np.minimum, "max": np.maximum, "sum": np.add}
    return {name: rows[name][starts] if how == "first" else ufuncs[how].reduceat(rows[name], starts) for name, how in reduce.items()}


def column_spans(t: Tables, column_us: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A level of detail for big traces: suspensions and frames as spans over the time columns they occupy.

    Time is cut into columns of `column_us`; a frame (or a suspension's stack and path) present in
    consecutive columns of an entry becomes one span. Returns (suspension spans: entry, stack_id, path,
    start_us, end_us, wait_us, depth, count; frame spans: entry, depth, frame, start_us, end_us, count).
    """
    s = t.suspensions
    pieces = (  # suspensions merged per entry, stack, path and column: a few per column, whatever the trace's size
        s[["entry", "stack_id", "path", "start_us", "end_us", "wait_us"]]
        .assign(column=((s["start_us"] - t.start_us) // column_us).astype("int64"))
        .groupby(["entry", "stack_id", "path", "column"], sort=False, observed=True)
        .agg(start_us=("start_us", "min"), end_us=("end_us", "max"), wait_us=("wait_us", "sum"), count=("start_us", "size"))
        .reset_index()
    )
    lengths = np.fromiter(map(len, t.stacks), dtype="int64", count=len(t.stacks))
    columns = {name: pieces[name].to_numpy() for name in ("entry", "stack_id", "column", "start_us", "end_us", "wait_us", "count")}
    columns["last"] = columns["column"]
    columns["path"] = pieces["path"].cat.codes.to_numpy()
    columns["depth"] = lengths[columns["stack_id"]]
    spans = _runs(columns, ["entry", "stack_id", "path"], {
        "entry": "first", "stack_id": "first", "path": "first", "start_us": "min", "end_us": "max", "wait_us": "sum", "depth": "first",
        "count": "sum", "column": "min", "last": "max"})
    suspensions = pd.DataFrame({name: spans[name] for name in ("entry", "stack_id", "path", "start_us", "end_us", "wait_us", "depth", "count")})
    suspensions["path"] = pd.Categorical.from_codes(spans["path"], categories=s["path"].cat.categories)

    # one row per frame of each span's stack (the prefixes of a stack are consecutive rows, outermost first):
    # a frame's spans are the runs of the columns its rows cover
    prefixes = _stack_prefixes(t)
    repeats = spans["depth"]
    span = np.repeat(np.arange(len(repeats)), repeats)
    row = (np.cumsum(lengths) - lengths)[spans["stack_id"]][span] + np.arange(len(span)) - (np.cumsum(repeats) - repeats)[span]
    cells = {name: spans[name][span] for name in ("entry", "column", "last", "start_us", "end_us", "count")}
    cells.update({name: prefixes[name].to_numpy()[row] for name in ("depth", "frame", "prefix")})
    frames = _runs(cells, ["entry", "depth", "prefix"], {
        "entry": "first", "depth": "first", "frame": "first", "start_us": "min", "end_us": "max", "count": "sum"})
    return suspensions, pd.DataFrame(frames)
