"""Python frames over time: which frames were live across consecutive suspensions of each entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jspiprof.analysis.groups import Groups, rows_of, sums_at
from jspiprof.analysis.tables import Columns, Tables

CHAINS_WORTH = 0.75
"""Frames held by exactly the same stacks (chains: an outer frame whose only callee is always the same function) are
worked out once per chain when that needs at most this share of the cells one per frame would."""


@dataclass(frozen=True)
class _Prefixes:
    """The frames of the distinct stacks, stack after stack, outermost first: for stack i, rows `offset[i]` to
    `offset[i] + length[i]`. `prefix` is an id shared by all stacks whose functions from the outermost frame down to
    this one are the same (lines may differ)."""

    frame: np.ndarray
    prefix: np.ndarray
    depth: np.ndarray
    """The depth of each row (1 = outermost)."""
    offset: np.ndarray
    length: np.ndarray
    place: np.ndarray
    """For each row, the place of its prefix when prefixes are sorted by depth, then id."""
    chain: np.ndarray
    """For each row that ends a chain (rows whose prefixes are held by exactly the same stacks, and so live across the
    same suspensions), the rows of its chain, it and those just above it; 0 for the other rows."""
    ends: np.ndarray
    """The rows that end a chain, stack after stack: stack i's from `chain_offset[i]`, `chain_length[i]` of them."""
    chain_offset: np.ndarray
    chain_length: np.ndarray

    @classmethod
    def of(cls, tables: Tables) -> _Prefixes:
        frames_table = tables.arrays.frames
        functions = {
            frame: (file, function)
            for frame, file, function in zip(
                frames_table["id"].tolist(), frames_table["file"].tolist(), frames_table["function"].tolist()
            )
        }
        prefix_ids: dict[tuple, int] = {}
        frames, prefixes = [], []
        for stack in tables.stacks:
            names = tuple(functions.get(frame, (str(frame),)) for frame in stack)
            frames += stack
            prefixes += [prefix_ids.setdefault(names[:depth], len(prefix_ids)) for depth in range(1, len(stack) + 1)]
        length = np.array([len(stack) for stack in tables.stacks], dtype=np.int64)
        offset = np.cumsum(length) - length
        depth_of = np.empty(len(prefix_ids), dtype=np.int64)
        depth_of[list(prefix_ids.values())] = [len(names) for names in prefix_ids]
        rank = np.empty(len(prefix_ids), dtype=np.int64)
        rank[np.lexsort((np.arange(len(prefix_ids)), depth_of))] = np.arange(len(prefix_ids))
        prefix = np.array(prefixes, dtype=np.int64)
        depth = np.arange(len(prefix)) - np.repeat(offset, length) + 1
        # a row goes on in the next one when the next is in its stack and held by as many stacks: by the same ones
        held = np.bincount(prefix, minlength=len(prefix_ids))[prefix]
        goes_on = np.zeros(len(prefix), dtype=bool)
        goes_on[:-1] = (depth[1:] > 1) & (held[1:] == held[:-1])
        ends = np.flatnonzero(~goes_on)
        chain = np.zeros(len(prefix), dtype=np.int64)
        chain[ends] = np.diff(ends, prepend=-1)
        chain_length = np.bincount(np.repeat(np.arange(len(length)), length)[ends], minlength=len(length))
        return cls(
            np.array(frames, dtype=np.int64),
            prefix,
            depth,
            offset,
            length,
            rank[prefix],
            chain,
            ends,
            np.cumsum(chain_length) - chain_length,
            chain_length,
        )

    def explode(self, stack_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pieces with these stacks: one row per frame of each (outermost first), as (piece, row of prefixes)."""
        return _explode(self.offset, self.length, stack_id)

    def explode_chains(self, stack_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pieces with these stacks: one row per chain of each (outermost first), its last, as (piece, row)."""
        piece, at = _explode(self.chain_offset, self.chain_length, stack_id)
        return piece, self.ends[at]


def _explode(offset: np.ndarray, length: np.ndarray, stack_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pieces with these stacks: (piece, offset[stack] + i) for i in range(length[stack]), piece after piece."""
    lengths = length[stack_id]
    first = np.cumsum(lengths) - lengths
    piece = np.repeat(np.arange(len(stack_id)), lengths)
    row = np.repeat(offset[stack_id] - first, lengths) + np.arange(int(lengths.sum()))
    return piece, row


def _changes(*keys: np.ndarray) -> np.ndarray:
    """Which rows begin a run of equal keys (the rows are sorted by them)."""
    new = np.zeros(len(keys[0]), dtype=bool)
    new[:1] = True
    for key in keys:
        new[1:] |= key[1:] != key[:-1]
    return new


_REDUCTIONS = {"min": np.minimum, "max": np.maximum, "sum": np.add}


def _reduced(values: np.ndarray, starts: np.ndarray, how: str) -> np.ndarray:
    """Of each run of `values` beginning at `starts`: its first value, or its min, max or sum (`how`)."""
    if not len(starts):
        return values[:0]
    if how == "first":
        return values[starts]
    return _REDUCTIONS[how].reduceat(values, starts)


def single_pieces(tables: Tables) -> Columns:
    """The suspensions as pieces of one suspension each (`count` 1): entry, stack_id, start_us, end_us, wait_us,
    depth, path and count."""
    suspensions = tables.arrays.suspensions
    pieces = {
        name: suspensions[name] for name in ("entry", "stack_id", "start_us", "end_us", "wait_us", "depth", "path")
    }
    pieces["count"] = np.ones(len(suspensions["id"]), dtype=np.int64)
    return pieces


def frame_spans(tables: Tables, pieces: Mapping[str, Any]) -> Columns:
    """Spans of Python frames: a frame is live from the first to the last of the consecutive pieces of its
    entry whose stacks share the same functions from the outermost frame down to it (lines may differ).

    `pieces` are suspensions (`single_pieces`, or merged ones) with entry, stack_id, start_us, end_us and count.
    Columns: entry, depth (1 = outermost), frame (id of its first frame), first_line and last_line (the lowest and
    highest line of the function it was at: a span can cover calls from several lines), start_us, end_us, count. For
    single suspensions the spans of an entry nest: a deeper span lies within a shallower one.
    """
    prefixes = _Prefixes.of(tables)
    entry, stack_id, start, end, count = (
        np.asarray(pieces[name]) for name in ("entry", "stack_id", "start_us", "end_us", "count")
    )
    by_time = np.lexsort((start, entry))  # the pieces of each entry in time order: seq
    entry, stack_id, start, end, count = entry[by_time], stack_id[by_time], start[by_time], end[by_time], count[by_time]
    seq, row = prefixes.explode(stack_id)
    depth = prefixes.depth[row]
    prefix = prefixes.prefix[row]
    # a frame goes on from the previous piece of the entry when that piece has the same prefix at this depth
    previous = np.maximum(seq - 1, 0)
    reaches = (seq > 0) & (entry[previous] == entry[seq]) & (depth <= prefixes.length[stack_id[previous]])
    before = (
        prefixes.prefix[np.where(reaches, prefixes.offset[stack_id[previous]] + depth - 1, 0)] if len(row) else prefix
    )
    continues = reaches & (before == prefix)
    # each entry's frames by depth, then time
    order = np.argsort(_ranks(entry[seq]) * (int(depth.max(initial=0)) + 1) + depth, kind="stable")
    starts = np.flatnonzero(~continues[order])
    seq, row, depth = seq[order], row[order], depth[order]
    frames = tables.arrays.frames
    known = rows_of(frames["id"], prefixes.frame[row])
    lines = np.where(known >= 0, frames["line"][known] if len(known) else 0, 0)
    return {
        "entry": _reduced(entry[seq], starts, "first"),
        "depth": _reduced(depth, starts, "first"),
        "frame": _reduced(prefixes.frame[row], starts, "first"),
        "first_line": _reduced(lines, starts, "min"),
        "last_line": _reduced(lines, starts, "max"),
        "start_us": _reduced(start[seq], starts, "min"),
        "end_us": _reduced(end[seq], starts, "max"),
        "count": _reduced(count[seq], starts, "sum"),
    }


def _ranks(values: np.ndarray) -> np.ndarray:
    """1, 2, 3, ... for the successive values of a sorted array (equal values, equal ranks)."""
    return np.cumsum(_changes(values))


def _run_starts(column: np.ndarray, last: np.ndarray, new_key: np.ndarray) -> np.ndarray:
    """Where each run begins: rows of one key (`new_key` marks the first row of each) whose time columns, from
    `column` to `last`, overlap or touch. The rows are sorted by key, then column."""
    offset = np.cumsum(new_key) * (int(last.max(initial=0)) + 2)  # per key: keeps the running maximum within its key
    reached = np.maximum.accumulate(last + offset)  # the last column covered so far
    new = new_key.copy()
    new[1:] |= column[1:] + offset[1:] > reached[:-1] + 1
    return np.flatnonzero(new)


def column_spans(tables: Tables, column_us: float) -> tuple[Columns, Columns]:
    """A level of detail for big traces: suspensions and frames as spans over the time columns they occupy.

    Time is cut into columns of `column_us`; a frame (or a suspension's stack and path) present in
    consecutive columns of an entry becomes one span. Returns (suspension spans: entry, stack_id, path,
    start_us, end_us, wait_us, depth, count, and their first and last `column`; frame spans: entry, depth, frame,
    start_us, end_us, count).
    """
    suspensions = tables.arrays.suspensions
    path_of = suspensions["path"]
    entry, stack_id, path = suspensions["entry"], suspensions["stack_id"], path_of.codes
    start, end, wait = suspensions["start_us"], suspensions["end_us"], suspensions["wait_us"]
    column = ((start - tables.start_us) // column_us).astype(np.int64)
    # from 0: suspensions before the first entry have negative columns, which runs cannot tell apart
    column -= column.min(initial=0)
    # suspensions merged per entry, stack, path and column: a few per column, whatever the trace's size
    order = np.lexsort((column, path, stack_id, entry))
    starts = np.flatnonzero(_changes(entry[order], stack_id[order], path[order], column[order]))
    first = order[starts] if len(starts) else order
    pieces = {
        "entry": entry[first],
        "stack_id": stack_id[first],
        "path": path[first],
        "column": column[first],
        "start_us": _reduced(start[order], starts, "min"),
        "end_us": _reduced(end[order], starts, "max"),
        "wait_us": sums_at(wait[order], starts),
        "count": np.diff(starts, append=len(order)),
    }
    # the pieces are sorted by entry, stack and path, then column: a span is a run of them
    runs = _run_starts(
        pieces["column"], pieces["column"], _changes(pieces["entry"], pieces["stack_id"], pieces["path"])
    )
    spans = {
        name: _reduced(pieces[name], runs, how)
        for name, how in (
            ("entry", "first"),
            ("stack_id", "first"),
            ("path", "first"),
            ("start_us", "min"),
            ("end_us", "max"),
            ("wait_us", "sum"),
            ("count", "sum"),
            ("column", "first"),
        )
    }
    spans["last"] = _reduced(pieces["column"], runs, "max")
    prefixes = _Prefixes.of(tables)
    spans["depth"] = prefixes.length[spans["stack_id"]]
    spans["path"] = pd.Categorical.from_codes(spans["path"], dtype=path_of.dtype, validate=False)

    # one cell per frame (or chain of frames) of each span's stack, spans in time order; a frame's spans are the runs
    # of the columns its cells cover, per entry and prefix (the spans come by entry; a prefix's place stands for its
    # depth too)
    in_time = np.lexsort((spans["start_us"], spans["column"]))
    stacks = spans["stack_id"][in_time]
    chained = prefixes.chain_length[stacks].sum() <= CHAINS_WORTH * prefixes.length[stacks].sum()
    piece, row = (prefixes.explode_chains if chained else prefixes.explode)(stacks)
    span = in_time[piece]
    places = int(prefixes.place.max(initial=0)) + 1
    entry_key = _ranks(spans["entry"]) * places
    cells = Groups.by(entry_key[span] + prefixes.place[row])  # a stable sort: each key's cells stay in time order
    span, row = span[cells.order], row[cells.order]
    new_key = np.zeros(len(span), dtype=bool)
    new_key[cells.starts] = True
    runs = _run_starts(spans["column"][span], spans["last"][span], new_key)
    first, row = span[runs], row[runs]
    end, count = _reduced(spans["end_us"][span], runs, "max"), _reduced(spans["count"][span], runs, "sum")
    if chained:  # each run of a chain is a span of each frame of the chain (in the stack of the run's first cell)
        run, row = _explode(row - prefixes.chain[row] + 1, prefixes.chain[row], np.arange(len(runs)))
        order = Groups.by(entry_key[first[run]] + prefixes.place[row]).order  # by entry and prefix, then time
        run, row = run[order], row[order]
        first, end, count = first[run], end[run], count[run]
    frames = {
        "entry": spans["entry"][first],
        "depth": prefixes.depth[row],
        "frame": prefixes.frame[row],
        "start_us": spans["start_us"][first],  # the earliest of the run: cells in time order
        "end_us": end,
        "count": count,
    }
    return spans, frames
