"""Where running Python's time went, from the CPU samples: self and total time per function and per line.

Each sample stands for one sampling interval of Python running with that stack. A gap longer than
`LONG_GAP_INTERVALS` intervals between two samples of one entry, with no suspension of that entry between them, is
time Python did not pass its eval loop's checks: a long C call (or JS code Python called), or the machine running
something else. The two are told apart by where the gaps end: a line that makes long calls ends gaps at least as
often as it is sampled without one, while a busy machine stops Python on any line, in proportion to the time the
line runs. The gaps that end on lines of the first kind, in stacks that hold user code (not jspiprof's or Pyodide's
own start-up), are added (beyond their one interval) to the sample that ends them: to the frame on top when Python
checked again, the frame that made the call, and its line. How much time came that way, and how much was left out,
is `long_gaps`. A gap across a suspension or between entries is no Python time and is not a long gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jspiprof.analysis.stats import rounded_ms
from jspiprof.analysis.tables import NO_ENTRY, Tables

LONG_GAP_INTERVALS = 10
"""A gap between two samples longer than this many intervals is a long gap."""


@dataclass(frozen=True)
class LongGaps:
    """Gaps between samples longer than `LONG_GAP_INTERVALS` intervals while Python ran: how many were long calls,
    their time beyond one interval each (added to the samples that end them), the longest and the top frame
    ("function at file:line") that ended it (None when there is none); and how many gaps, of how much time, were left
    out (ended on lines that mostly run without gaps: the machine was busy)."""

    count: int
    total_us: float
    longest_us: float
    longest_at: str | None
    left_out_count: int
    left_out_us: float


@dataclass(frozen=True)
class CpuProfile:
    """The samples of a trace, weighed and summed.

    - `samples`, `interval_us`: how many samples, each standing for `interval_us` (0: the trace has none).
    - `python_us`: the running-Python time the samples account for: samples x interval, plus the long gaps.
    - `functions`: one row per function (`function`, `file`): `self_us` (on top of the stack) and `total_us`
      (anywhere in it, once per sample however often it recurses), largest `self_us` first, and `library`.
    - `lines`: one row per line on top of the stack (`site` "file:line", `function`, `self_us`), largest first.
    - `stacks`: one row per distinct sampled stack (`frames`, frame ids outermost first) with its `weight_us`, for
      flame graphs.
    - `long_gaps`: the long gaps, whose time is added to the samples that end them (in every number above).
    """

    samples: int
    interval_us: int
    python_us: float
    functions: pd.DataFrame
    lines: pd.DataFrame
    stacks: pd.DataFrame
    long_gaps: LongGaps


@dataclass(frozen=True)
class FrameDetails:
    """What the trace says of one frame."""

    function: str
    file: str
    line: int
    library: bool


def frame_details(tables: Tables) -> dict[int, FrameDetails]:
    """Each frame id's function, file, line and whether it is library code (from the tables' arrays)."""
    frames = tables.arrays.frames
    return {
        frame: FrameDetails(function, file, line, library)
        for frame, function, file, line, library in zip(
            frames["id"].tolist(),
            frames["function"].tolist(),
            frames["file"].tolist(),
            frames["line"].tolist(),
            frames["library"].tolist(),
        )
    }


def long_gaps(tables: Tables) -> np.ndarray:
    """For each sample, the long gap it ends in µs beyond one interval (0 for most; see the module's docstring)."""
    samples = tables.samples
    times = np.frombuffer(samples.time_us, dtype=np.float64) if len(samples) else np.zeros(0)
    ending = np.zeros(len(times))
    if len(times) < 2:
        return ending
    entries = np.array([NO_ENTRY if entry is None else entry for entry in samples.entry], dtype=np.int64)
    gaps = np.diff(times)
    candidates = np.flatnonzero((gaps > LONG_GAP_INTERVALS * samples.interval_us) & (entries[1:] == entries[:-1])) + 1
    suspensions = tables.arrays.suspensions
    order = np.argsort(suspensions["start_us"], kind="stable")
    starts, owners = suspensions["start_us"][order], suspensions["entry"][order]
    for i in candidates:
        first, last = np.searchsorted(starts, [times[i - 1], times[i]])
        if not np.any(owners[first:last] == entries[i]):
            ending[i] = gaps[i - 1] - samples.interval_us
    return ending


def call_gaps(tables: Tables, gaps: np.ndarray) -> np.ndarray:
    """Of the long gaps (`gaps`, from `long_gaps`), those that end on a line that ends gaps at least as often as it is
    sampled without one, in a stack that holds user code: long C or JS calls the program made, not a busy machine
    (see the module's docstring) nor jspiprof's or Pyodide's own start-up; the others are 0."""
    samples = tables.samples
    if not len(samples):
        return gaps
    top_of_stack = {stack_id: frames[-1] if frames else -1 for stack_id, frames in samples.stacks.items()}
    tops = np.array([top_of_stack[stack_id] for stack_id in samples.stack], dtype=np.int64)
    library = {frame: details.library for frame, details in frame_details(tables).items()}
    users = {stack_id: not all(library[frame] for frame in frames) for stack_id, frames in samples.stacks.items()}
    in_user_code = np.array([users[stack_id] for stack_id in samples.stack], dtype=bool)
    ended = gaps > 0
    ending = pd.Series(ended).groupby(tops).transform("sum").to_numpy()
    regular = pd.Series(~ended).groupby(tops).transform("sum").to_numpy()
    return np.where(ended & (ending >= regular) & in_user_code, gaps, 0.0)


def cpu_profile(tables: Tables) -> CpuProfile:
    """The trace's CPU samples summed by function, by line and by stack."""
    samples = tables.samples
    every_gap = long_gaps(tables)
    gaps = call_gaps(tables, every_gap)
    left_out = every_gap - gaps
    per_stack = _weight_per_stack(tables, gaps)
    frames = frame_details(tables)
    self_us: dict[tuple[str, str], float] = {}
    total_us: dict[tuple[str, str], float] = {}
    line_us: dict[tuple[str, str], float] = {}
    library = {(details.function, details.file): details.library for details in frames.values()}
    for stack_id, weight in per_stack.items():
        stack = samples.stacks[int(stack_id)]
        functions = [(frames[frame].function, frames[frame].file) for frame in stack]
        for function in dict.fromkeys(functions):  # each once, in stack order (a set's order varies by run)
            total_us[function] = total_us.get(function, 0.0) + weight
        top = stack[-1]
        self_us[functions[-1]] = self_us.get(functions[-1], 0.0) + weight
        site = (f"{frames[top].file}:{frames[top].line}", functions[-1][0])
        line_us[site] = line_us.get(site, 0.0) + weight
    function_rows = pd.DataFrame(
        [
            (name, file, self_us.get((name, file), 0.0), total, library[name, file])
            for (name, file), total in total_us.items()
        ],
        columns=["function", "file", "self_us", "total_us", "library"],
    )
    line_rows = pd.DataFrame(
        [(site, name, us) for (site, name), us in line_us.items()], columns=["site", "function", "self_us"]
    )
    stack_rows = pd.DataFrame(
        {"frames": [samples.stacks[int(i)] for i in per_stack.index], "weight_us": per_stack.to_numpy(dtype=float)}
    )
    longest = int(np.argmax(gaps)) if len(gaps) else 0
    longest_at = None
    if len(gaps) and gaps[longest] > 0:
        top = samples.stacks[samples.stack[longest]][-1]
        longest_at = f"{frames[top].function} at {frames[top].file}:{frames[top].line}"
    return CpuProfile(
        samples=len(samples),
        interval_us=samples.interval_us,
        python_us=float(len(samples) * samples.interval_us + gaps.sum()),
        functions=function_rows.sort_values(
            ["self_us", "total_us", "function", "file"], ascending=[False, False, True, True], ignore_index=True
        ),
        lines=line_rows.sort_values(["self_us", "site"], ascending=[False, True], ignore_index=True),
        stacks=stack_rows,
        long_gaps=LongGaps(
            int((gaps > 0).sum()),
            float(gaps.sum()),
            float(gaps.max(initial=0)),
            longest_at,
            int((left_out > 0).sum()),
            float(left_out.sum()),
        ),
    )


def _weight_per_stack(tables: Tables, gaps: np.ndarray) -> pd.Series:
    """The time the samples stand for (µs), by sample stack id: an interval each, plus the long gap each ends
    (`gaps`, from `long_gaps`)."""
    samples = tables.samples
    if not len(samples):
        return pd.Series(dtype=float)
    stack_ids = np.frombuffer(samples.stack, dtype=np.int32)
    present = np.unique(stack_ids)
    weights = np.bincount(stack_ids) * float(samples.interval_us) + np.bincount(stack_ids, weights=gaps)
    return pd.Series(weights[present], index=present)


def callers_of(tables: Tables, function: str, file: str) -> pd.DataFrame:
    """For samples with `function` on top, the functions that called it (`caller`, `file`) and the time (`self_us`)
    each accounts for, largest first: who to look at when a helper is hot because it is called from many places."""
    samples = tables.samples
    frames = frame_details(tables)
    by_caller: dict[tuple[str, str], float] = {}
    for stack_id, weight in _weight_per_stack(tables, call_gaps(tables, long_gaps(tables))).items():
        stack = samples.stacks[int(stack_id)]
        top = stack[-1]
        if (frames[top].function, frames[top].file) != (function, file) or len(stack) < 2:
            continue
        caller = (frames[stack[-2]].function, frames[stack[-2]].file)
        by_caller[caller] = by_caller.get(caller, 0.0) + weight
    rows = pd.DataFrame(
        [(name, path, us) for (name, path), us in by_caller.items()], columns=["caller", "file", "self_us"]
    )
    return rows.sort_values(["self_us", "caller", "file"], ascending=[False, True, True], ignore_index=True)


def cpu_summary(tables: Tables, running_us: float) -> dict[str, Any]:
    """The `cpu` object of `jspiprof stats --json` (times in ms): samples, interval_ms, python_ms (samples x interval
    plus the long gaps), explained (the share of running Python the samples account for), functions (function, file,
    self_ms, total_ms; largest self first), lines (site, function, self_ms), and long_gaps (count, ms: the time of
    long calls added to the frames that ended them, longest_ms, longest_at, left_out_count, left_out_ms: gaps of a
    busy machine). Every function and line is listed: a caller's share is its total, even when its self time is 0."""
    profile = cpu_profile(tables)
    return {
        "samples": profile.samples,
        "interval_ms": profile.interval_us / 1000,
        "python_ms": rounded_ms(profile.python_us),
        "explained": round(profile.python_us / running_us, 3) if running_us > 0 else None,
        "functions": [
            {
                "function": row.function,
                "file": row.file,
                "self_ms": rounded_ms(row.self_us),
                "total_ms": rounded_ms(row.total_us),
            }
            for row in profile.functions.itertuples()
        ],
        "lines": [
            {"site": row.site, "function": row.function, "self_ms": rounded_ms(row.self_us)}
            for row in profile.lines.itertuples()
        ],
        "long_gaps": {
            "count": profile.long_gaps.count,
            "ms": rounded_ms(profile.long_gaps.total_us),
            "longest_ms": rounded_ms(profile.long_gaps.longest_us),
            "longest_at": profile.long_gaps.longest_at,
            "left_out_count": profile.long_gaps.left_out_count,
            "left_out_ms": rounded_ms(profile.long_gaps.left_out_us),
        },
    }


def sampled_spans(tables: Tables) -> pd.DataFrame:
    """The sampled Python frames as spans over time, per entry: one row per run of consecutive samples of one entry
    with the same frame at one depth (and the same frames above it), from its first sample to one interval after its
    last. A run ends where the entry switched (a suspension started) or the samples stop for a long gap. Columns:
    `entry` (`NO_ENTRY` outside any), `depth` (0 outermost), `frame`, `start_us`, `end_us`, `samples`; children nest
    within their parents."""
    samples = tables.samples
    rows: list[tuple[int, int, int, float, float, int]] = []
    if not len(samples):
        return pd.DataFrame(rows, columns=["entry", "depth", "frame", "start_us", "end_us", "samples"])
    interval = float(samples.interval_us)
    times = np.frombuffer(samples.time_us, dtype=np.float64)
    entries = np.array([NO_ENTRY if entry is None else entry for entry in samples.entry], dtype=np.int64)
    suspensions = tables.arrays.suspensions
    for entry in np.unique(entries):
        rows_of_entry = np.flatnonzero(entries == entry)
        own = np.sort(suspensions["start_us"][suspensions["entry"] == entry])
        switched = np.searchsorted(own, times[rows_of_entry])  # suspensions started before each sample
        stacks = [samples.stacks[samples.stack[row]] for row in rows_of_entry]
        rows += _entry_spans(int(entry), times[rows_of_entry], stacks, switched, interval)
    return pd.DataFrame(rows, columns=["entry", "depth", "frame", "start_us", "end_us", "samples"])


def _entry_spans(
    entry: int, times: np.ndarray, stacks: list[tuple[int, ...]], switched: np.ndarray, interval: float
) -> list[tuple[int, int, int, float, float, int]]:
    """`sampled_spans` of one entry's samples (`switched`: how many of its suspensions started before each)."""
    spans: list[tuple[int, int, int, float, float, int]] = []
    opened: list[list[Any]] = []  # per depth: [frame, start, samples]

    def close(depth: int, at: float) -> None:
        while len(opened) > depth:
            frame, start, count = opened.pop()
            spans.append((entry, len(opened), int(frame), start, at, count))

    previous_time, previous_switched = -np.inf, -1
    for time, frames, switches in zip(times.tolist(), stacks, switched.tolist()):
        ended = min(previous_time + interval, time)  # samples can come closer than the interval: no overlap
        if switches != previous_switched or time - previous_time > LONG_GAP_INTERVALS * interval:
            close(0, ended)
        same = 0
        while same < min(len(opened), len(frames)) and opened[same][0] == frames[same]:
            opened[same][2] += 1
            same += 1
        close(same, ended)
        opened.extend([frame, time, 1] for frame in frames[same:])
        previous_time, previous_switched = time, switches
    close(0, previous_time + interval)
    return spans
