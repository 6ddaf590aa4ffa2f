"""Python frames over time: which frames were live across consecutive suspensions of each entry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jspiprof.analysis.groups import sums_at
from jspiprof.analysis.tables import Tables


@dataclass(frozen=True)
class _Prefixes:
    """The frames of the distinct stacks, stack after stack, outermost first: for stack i, rows `offset[i]` to
    `offset[i] + length[i]`. `prefix` is an id shared by all stacks whose functions from the outermost frame down to
    this one are the same (lines may differ)."""

    frame: np.ndarray
    prefix: np.ndarray
    offset: np.ndarray
    length: np.ndarray
    rank: np.ndarray
    """For each prefix id, its place when prefixes are sorted by depth, then id."""

    @classmethod
    def of(cls, t: Tables) -> _Prefixes:
        f = t.frames
        functions = dict(zip(f["id"].tolist(), zip(f["file"].tolist(), f["function"].tolist())))
        prefix_ids: dict[tuple, int] = {}
        frames, prefixes = [], []
        for stack in t.stacks:
            names = tuple(functions.get(frame, (str(frame),)) for frame in stack)
            frames += stack
            prefixes += [prefix_ids.setdefault(names[:depth], len(prefix_ids)) for depth in range(1, len(stack) + 1)]
        length = np.fromiter(map(len, t.stacks), dtype=np.int64, count=len(t.stacks))
        depth_of = np.empty(len(prefix_ids), dtype=np.int64)
        depth_of[list(prefix_ids.values())] = list(map(len, prefix_ids))
        rank = np.empty(len(prefix_ids), dtype=np.int64)
        rank[np.lexsort((np.arange(len(prefix_ids)), depth_of))] = np.arange(len(prefix_ids))
        return cls(np.array(frames, dtype=np.int64), np.array(prefixes, dtype=np.int64), np.cumsum(length) - length, length, rank)

    def explode(self, stack_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pieces with these stacks: one row per frame of each (outermost first), as (piece, row into the prefixes)."""
        depths = self.length[stack_id]
        piece = np.repeat(np.arange(len(stack_id)), depths)
        return piece, self.offset[stack_id][piece] + np.arange(len(piece)) - (np.cumsum(depths) - depths)[piece]


_INT64_LIMIT = 2**63


def _changes(*keys: np.ndarray) -> np.ndarray:
    """Which rows begin a run of equal keys (the rows are sorted by them)."""
    new = np.zeros(len(keys[0]), dtype=bool)
    new[:1] = True
    for key in keys:
        new[1:] |= key[1:] != key[:-1]
    return new


def _reduced(values: np.ndarray, starts: np.ndarray, how: str) -> np.ndarray:
    if not len(starts):
        return values[:0]
    return values[starts] if how == "first" else {"min": np.minimum, "max": np.maximum, "sum": np.add}[how].reduceat(values, starts)


def frame_spans(t: Tables, pieces: pd.DataFrame) -> pd.DataFrame:
    """Spans of Python frames: a frame is live from the first to the last of the consecutive pieces of its
    entry whose stacks share the same functions from the outermost frame down to it (lines may differ).

    `pieces` are suspensions (or `merged_suspensions`) with entry, stack_id, start_us, end_us and count.
    Columns: entry, depth (1 = outermost), frame (id of its first frame), start_us, end_us, count. For
    single suspensions the spans of an entry nest: a deeper span lies within a shallower one.
    """
    prefixes = _Prefixes.of(t)
    entry, stack_id, start, end, count = (pieces[name].to_numpy() for name in ("entry", "stack_id", "start_us", "end_us", "count"))
    by_time = np.lexsort((start, entry))  # the pieces of each entry in time order: seq
    entry, stack_id, start, end, count = entry[by_time], stack_id[by_time], start[by_time], end[by_time], count[by_time]
    seq, row = prefixes.explode(stack_id)
    depth = row - prefixes.offset[stack_id][seq] + 1
    prefix = prefixes.prefix[row]
    # a frame goes on from the previous piece of the entry when that piece has the same prefix at this depth
    previous = np.maximum(seq - 1, 0)
    reaches = (seq > 0) & (entry[previous] == entry[seq]) & (depth <= prefixes.length[stack_id[previous]])
    before = prefixes.prefix[np.where(reaches, prefixes.offset[stack_id[previous]] + depth - 1, 0)] if len(row) else prefix
    continues = reaches & (before == prefix)
    order = np.argsort(_ranks(entry[seq]) * (int(depth.max(initial=0)) + 1) + depth, kind="stable")  # each entry's frames by depth, then time
    starts = np.flatnonzero(~continues[order])
    seq, row, depth = seq[order], row[order], depth[order]
    return pd.DataFrame({
        "entry": _reduced(entry[seq], starts, "first"), "depth": _reduced(depth, starts, "first"),
        "frame": _reduced(prefixes.frame[row], starts, "first"), "start_us": _reduced(start[seq], starts, "min"),
        "end_us": _reduced(end[seq], starts, "max"), "count": _reduced(count[seq], starts, "sum"),
    })


def _ranks(values: np.ndarray) -> np.ndarray:
    """1, 2, 3, ... for the successive values of a sorted array (equal values, equal ranks)."""
    return np.cumsum(_changes(values))


def _runs(rows: dict[str, np.ndarray], key: np.ndarray, reduce: dict[str, str]) -> dict[str, np.ndarray]:
    """Rows with the same `key` whose time columns (from `column` to `last`) overlap or touch, as one row per run.

    The rows are sorted by key, then column, then start. `reduce` maps each output column to how its rows combine:
    "first" (the earliest start), "min", "max", "sum". Runs come out in the order of the rows.
    """
    same = np.zeros(len(key), dtype=bool)
    same[1:] = key[1:] == key[:-1]
    offset = np.cumsum(~same) * (int(rows["last"].max(initial=0)) + 2)  # per key: keeps the running maximum within its key
    reached = np.maximum.accumulate(rows["last"] + offset)  # the last column covered so far
    new = ~same
    new[1:] |= rows["column"][1:] + offset[1:] > reached[:-1] + 1
    starts = np.flatnonzero(new)
    return {name: _reduced(rows[name], starts, how) for name, how in reduce.items()}


def column_spans(t: Tables, column_us: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A level of detail for big traces: suspensions and frames as spans over the time columns they occupy.

    Time is cut into columns of `column_us`; a frame (or a suspension's stack and path) present in
    consecutive columns of an entry becomes one span. Returns (suspension spans: entry, stack_id, path,
    start_us, end_us, wait_us, depth, count; frame spans: entry, depth, frame, start_us, end_us, count).
    """
    s = t.suspensions
    path_of = s["path"].array
    entry, stack_id, path, start, end, wait = (
        s["entry"].to_numpy(), s["stack_id"].to_numpy(), path_of.codes, s["start_us"].to_numpy(), s["end_us"].to_numpy(), s["wait_us"].to_numpy())
    column = ((start - t.start_us) // column_us).astype(np.int64)
    # suspensions merged per entry, stack, path and column: a few per column, whatever the trace's size
    order = np.lexsort((column, path, stack_id, entry))
    starts = np.flatnonzero(_changes(entry[order], stack_id[order], path[order], column[order]))
    first = order[starts] if len(starts) else order
    columns = {
        "entry": entry[first], "stack_id": stack_id[first], "path": path[first], "column": column[first], "last": column[first],
        "start_us": _reduced(start[order], starts, "min"), "end_us": _reduced(end[order], starts, "max"),
        "wait_us": sums_at(wait[order], starts), "count": np.diff(np.r_[starts, len(order)]),
    }
    prefixes = _Prefixes.of(t)
    columns["depth"] = prefixes.length[columns["stack_id"]]
    # the pieces are sorted by entry, stack and path, then column
    spans = _runs(columns, np.cumsum(_changes(columns["entry"], columns["stack_id"], columns["path"])), {
        "entry": "first", "stack_id": "first", "path": "first", "start_us": "min", "end_us": "max", "wait_us": "sum", "depth": "first",
        "count": "sum", "column": "min", "last": "max"})
    suspensions = pd.DataFrame({name: spans[name] for name in ("entry", "stack_id", "path", "start_us", "end_us", "wait_us", "depth", "count")})
    suspensions["path"] = pd.Categorical.from_codes(spans["path"], dtype=path_of.dtype)

    # one row per frame of each span's stack: a frame's spans are the runs of the columns its rows cover, per entry
    # and prefix (the spans come by entry, so each entry's cells are together; a prefix id stands for its depth too),
    # sorted by column, then start: by the place of their span in that order
    span, row = prefixes.explode(spans["stack_id"])
    in_time = np.empty(len(spans["column"]), dtype=np.int64)
    in_time[np.lexsort((spans["start_us"], spans["column"]))] = np.arange(len(in_time))
    key = (_ranks(spans["entry"]) * max(len(prefixes.rank), 1))[span] + prefixes.rank[prefixes.prefix[row]]
    places = max(len(in_time), 1)
    if (int(key.max(initial=0)) + 1) * places < _INT64_LIMIT:  # one integer per cell (each is unique): a quicker sort
        order = np.argsort(key * places + in_time[span])
    else:
        order = np.lexsort((in_time[span], key))
    span, row, key = span[order], row[order], key[order]
    cells = {name: spans[name][span] for name in ("column", "last", "start_us", "end_us", "count")}
    cells.update(entry=spans["entry"][span], depth=row - prefixes.offset[spans["stack_id"]][span] + 1, frame=prefixes.frame[row])
    frames = _runs(cells, key, {"entry": "first", "depth": "first", "frame": "first", "start_us": "min", "end_us": "max", "count": "sum"})
    return suspensions, pd.DataFrame(frames)
