"""Numbers about suspensions: per site, per entry kind, per path, and where the run's time went.

Percentiles interpolate linearly between the sorted values (numpy's default), so the p50 of 10, 20, 30
and 40 is 25.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jspiprof.analysis.groups import Groups, rows_of
from jspiprof.analysis.tables import Columns, Tables

_QUANTILES = {"wait_p50_us": 0.5, "wait_p95_us": 0.95, "wait_p99_us": 0.99}
_ORDER = [
    "count",
    "wait_total_us",
    "wait_mean_us",
    "wait_p50_us",
    "wait_p95_us",
    "wait_p99_us",
    "wait_max_us",
    "resume_total_us",
    "resume_mean_us",
    "depth_mean",
    "depth_max",
    "stack_bytes_mean",
    "stack_bytes_max",
]


@dataclass(frozen=True)
class StatsTable:
    """Numbers per group (site, path, kind) as numpy columns and one label per row; `frame` makes the DataFrame
    (the report writes the columns: a DataFrame per table would cost more than the table)."""

    index: pd.Index
    columns: dict[str, np.ndarray]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns, index=self.index, copy=False)


def wait_table(suspensions: Columns, by: str) -> StatsTable:
    """`wait_stats` of the suspensions' columns, as a `StatsTable`."""
    groups, labels = Groups.by_column(suspensions[by], by)
    wait, resume = np.asarray(suspensions["wait_us"], np.float64), np.asarray(suspensions["resume_us"], np.float64)
    depth, stack_bytes = np.asarray(suspensions["depth"]), np.asarray(suspensions["stack_bytes"])
    count = groups.sizes
    columns = {"count": count, "wait_total_us": groups.sum(wait), "resume_total_us": groups.sum(resume)}
    columns.update(zip(_QUANTILES, groups.quantiles(wait, list(_QUANTILES.values()))))
    columns.update(
        wait_mean_us=columns["wait_total_us"] / count,
        wait_max_us=groups.max(wait),
        resume_mean_us=columns["resume_total_us"] / count,
        depth_mean=groups.mean(depth),
        depth_max=groups.max(depth),
        stack_bytes_mean=groups.mean(stack_bytes),
        stack_bytes_max=groups.max(stack_bytes),
    )
    by_appearance = np.argsort(groups.first_rows(), kind="stable")
    # largest total wait first, then most suspensions; lexsort is stable: ties stay in order of appearance
    order = by_appearance[np.lexsort((-count[by_appearance], -columns["wait_total_us"][by_appearance]))]
    return StatsTable(labels[order], {name: columns[name][order] for name in _ORDER})


def wait_stats(suspensions: pd.DataFrame, by: str) -> pd.DataFrame:
    """Suspensions grouped by the column `by`, largest total wait first (then most suspensions, then first seen).

    Columns: count, wait_total_us, wait_mean_us, wait_p50_us, wait_p95_us, wait_p99_us, wait_max_us,
    resume_total_us, resume_mean_us, depth_mean, depth_max, stack_bytes_mean, stack_bytes_max.
    """
    return wait_table({name: column.array for name, column in suspensions.items()}, by).frame()


def rounded_ms(us: float) -> float:
    """Microseconds as milliseconds, to the microsecond: what the JSON outputs give."""
    return round(float(us) / 1000, 3)


def site_table(tables: Tables) -> StatsTable:
    """`site_stats` as a `StatsTable`."""
    suspensions = tables.arrays.suspensions
    table = wait_table(suspensions, "site")
    site, path = suspensions["site"], suspensions["path"]
    paths = [str(name) for name in path.categories]
    known = (site.codes >= 0) & (path.codes >= 0)
    pair = site.codes[known].astype(np.int64) * len(paths) + path.codes[known]
    seen = np.bincount(pair, minlength=len(site.categories) * len(paths)).reshape(len(site.categories), len(paths))
    listed = []
    for code in table.index.codes:
        counts = seen[code]
        present = np.flatnonzero(counts)
        most_frequent_first = present[np.argsort(-counts[present], kind="stable")]  # ties in path order
        listed.append(", ".join(paths[number] for number in most_frequent_first.tolist()))
    return StatsTable(table.index, {**table.columns, "paths": np.array(listed, dtype=object)})


def site_rows(tables: Tables) -> list[dict[str, Any]]:
    """`site_table` as JSON-ready rows (times in ms), largest total wait first."""
    table = site_table(tables)
    columns = table.columns
    return [
        {
            "site": str(site),
            "count": int(columns["count"][row]),
            "wait_ms_total": rounded_ms(columns["wait_total_us"][row]),
            "wait_ms_mean": rounded_ms(columns["wait_mean_us"][row]),
            "wait_ms_p50": rounded_ms(columns["wait_p50_us"][row]),
            "wait_ms_p95": rounded_ms(columns["wait_p95_us"][row]),
            "wait_ms_p99": rounded_ms(columns["wait_p99_us"][row]),
            "wait_ms_max": rounded_ms(columns["wait_max_us"][row]),
            "resume_ms_total": rounded_ms(columns["resume_total_us"][row]),
            "max_depth": int(columns["depth_max"][row]),
            "stack_bytes_max": int(columns["stack_bytes_max"][row]),
            "paths": columns["paths"][row].split(", "),
        }
        for row, site in enumerate(table.index)
    ]


def site_stats(tables: Tables) -> pd.DataFrame:
    """`wait_stats` per site, with `paths` (the paths seen there, most frequent first)."""
    return site_table(tables).frame()


def kind_table(tables: Tables) -> StatsTable:
    """`kind_stats` as a `StatsTable`."""
    entries = tables.arrays.entries
    groups, kinds = Groups.by_column(entries["kind"], "kind")
    columns = {"entries": groups.sizes, "entry_total_us": groups.sum(entries["duration_us"])}
    waits = wait_table(tables.arrays.suspensions, "kind")
    row_of_kind = {kind: row for row, kind in enumerate(waits.index.tolist())}
    row = np.array([row_of_kind.get(kind, -1) for kind in kinds], dtype=np.intp)
    suspended = row >= 0
    for name, values in waits.columns.items():
        if suspended.all():
            columns[name] = values[row]
        elif name in ("count", "wait_total_us"):  # no suspension: none, waited 0
            columns[name] = np.where(suspended, values[row] if len(values) else 0, 0).astype(values.dtype)
        else:
            columns[name] = np.where(suspended, values[row] if len(values) else np.nan, np.nan).astype(np.float64)
    columns["suspensions"] = columns.pop("count")
    order = np.lexsort((-columns["entries"], -columns["wait_total_us"]))  # stable: ties in kind order
    names = ["entries", "entry_total_us", "suspensions", *(name for name in waits.columns if name != "count")]
    return StatsTable(kinds[order], {name: columns[name][order] for name in names})


def kind_stats(tables: Tables) -> pd.DataFrame:
    """Per entry kind: entries, their total duration, and `wait_stats` of the suspensions inside them (largest total
    wait first, then most entries)."""
    return kind_table(tables).frame()


def path_stats(tables: Tables) -> pd.DataFrame:
    """`wait_stats` per path (run_sync, time.sleep, urllib3, ...)."""
    return wait_table(tables.arrays.suspensions, "path").frame()


@dataclass
class TimeAccounting:
    """Where the run's window went, in µs; the three parts add up to `window_us`.

    - `running_us`: Python was running: some entry was active, not suspended, and had no active child entry
      (a runPythonAsync entry whose body runs as webloop tasks is not itself running meanwhile).
    - `suspended_us`: no Python was running and a suspension was in progress (wait + resume delay).
    - `other_us`: the rest: JavaScript, idle, or the event loop between entries.
    """

    window_us: float
    running_us: float
    suspended_us: float
    other_us: float


def _steps(*counts_and_steps: tuple[int, int]) -> np.ndarray:
    """`count` times `step`, for each pair, one after the other (as small integers: the sweeps sum millions of them)."""
    return np.concatenate([np.full(count, step, dtype=np.int8) for count, step in counts_and_steps])


def _own_running(tables: Tables) -> tuple[np.ndarray, np.ndarray]:
    """Intervals where an entry runs Python itself: active, minus its child entries, minus its suspensions."""
    suspensions, entries = tables.arrays.suspensions, tables.arrays.entries
    ids, starts, ends = entries["id"], entries["start_us"], entries["end_us"]
    child = ~entries["parent"].isna()
    parents = entries["parent"].to_numpy(np.int64, na_value=-1)[child]
    entry = suspensions["entry"]
    owner = np.concatenate([ids, ids, parents, parents, entry, entry])
    times = np.concatenate([starts, ends, starts[child], ends[child], suspensions["start_us"], suspensions["end_us"]])
    # +1 when an entry starts, -1 when one of its children starts or it suspends (and back at their ends)
    entry_count, child_count, suspension_count = len(ids), len(parents), len(entry)
    step = _steps(
        (entry_count, 1),
        (entry_count, -1),
        (child_count, -1),
        (child_count, 1),
        (suspension_count, -1),
        (suspension_count, 1),
    )
    order = np.lexsort((times, owner))
    owner, times, step = owner[order], times[order], step[order]
    total = np.cumsum(step, dtype=np.int32)  # the running score of each owner: the cumulative sum since its first row
    first = np.flatnonzero(np.diff(owner, prepend=owner[:1] - 1))
    score = total - np.repeat(total[first] - step[first], np.diff(first, append=len(step)))
    running = (score[:-1] == 1) & (owner[:-1] == owner[1:])
    return times[:-1][running], times[1:][running]


def time_accounting(tables: Tables) -> TimeAccounting:
    """Split the run's window into running Python, suspended and the rest (sweeps over entries and suspensions)."""
    run_starts, run_ends = _own_running(tables)
    suspension_starts, suspension_ends = tables.arrays.suspensions["start_us"], tables.arrays.suspensions["end_us"]
    times = np.concatenate([run_starts, run_ends, suspension_starts, suspension_ends])
    runs, suspensions = len(run_starts), len(suspension_starts)
    order = np.argsort(times, kind="stable")
    spans = np.diff(np.clip(times[order], tables.start_us, tables.end_us))
    running_steps = _steps((runs, 1), (runs, -1), (2 * suspensions, 0))[order]
    suspended_steps = _steps((2 * runs, 0), (suspensions, 1), (suspensions, -1))[order]
    running = np.cumsum(running_steps, dtype=np.int32)[:-1] > 0
    suspended = ~running & (np.cumsum(suspended_steps, dtype=np.int32)[:-1] > 0)
    running_us, suspended_us = float(spans[running].sum()), float(spans[suspended].sum())
    window = tables.duration_us
    return TimeAccounting(window, running_us, suspended_us, window - running_us - suspended_us)


def running_before_switch(tables: Tables) -> np.ndarray:
    """For each suspension (in the order of `Tables.suspensions`), the time its entry ran Python since its previous
    switch (or since the entry began): the running time that led up to this switch (NaN outside any entry)."""
    suspensions = tables.arrays.suspensions
    entry, start, end = suspensions["entry"], suspensions["start_us"], suspensions["end_us"]
    order = np.lexsort((start, entry))  # by entry, then time
    entry = entry[order]
    ids, entry_starts = tables.arrays.entries["id"], tables.arrays.entries["start_us"]
    row = rows_of(ids, entry)
    since = np.where(row >= 0, entry_starts[row] if len(ids) else np.nan, np.nan)  # the entry's start...
    follows = np.zeros(len(entry), dtype=bool)
    follows[1:] = entry[1:] == entry[:-1]
    since[follows] = end[order][:-1][follows[1:]]  # ...or the end of the entry's previous switch
    running = np.empty(len(order))
    running[order] = np.maximum(start[order] - since, 0)
    return running
