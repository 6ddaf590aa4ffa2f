"""Numbers about suspensions: per site, per entry kind, per path, and where the run's time went.

Percentiles interpolate linearly between the sorted values (numpy's default), so the p50 of 10, 20, 30
and 40 is 25.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jspiprof.analysis.tables import Tables

_QUANTILES = {"wait_p50_us": 0.5, "wait_p95_us": 0.95, "wait_p99_us": 0.99}


def wait_stats(suspensions: pd.DataFrame, by: str) -> pd.DataFrame:
    """Suspensions grouped by the column `by`, largest total wait first.

    Columns: count, wait_total_us, wait_mean_us, wait_p50_us, wait_p95_us, wait_p99_us, wait_max_us,
    resume_total_us, resume_mean_us, depth_mean, depth_max, stack_bytes_mean, stack_bytes_max.
    """
    groups = suspensions[[by, "wait_us", "resume_us", "depth", "stack_bytes"]].groupby(by, sort=False, observed=True)
    total, mean, largest = groups.sum(), groups.mean(), groups.max()  # all four columns at once: cheaper than one by one
    quantiles = groups["wait_us"].quantile(list(_QUANTILES.values())).unstack()
    table = pd.DataFrame({
        "count": groups.size(), "wait_total_us": total["wait_us"], "wait_mean_us": mean["wait_us"], "wait_max_us": largest["wait_us"],
        "resume_total_us": total["resume_us"], "resume_mean_us": mean["resume_us"], "depth_mean": mean["depth"], "depth_max": largest["depth"],
        "stack_bytes_mean": mean["stack_bytes"], "stack_bytes_max": largest["stack_bytes"],
    })
    for name, q in _QUANTILES.items():
        table[name] = quantiles[q] if len(table) else pd.Series(dtype="float64")
    order = ["count", "wait_total_us", "wait_mean_us", "wait_p50_us", "wait_p95_us", "wait_p99_us", "wait_max_us",
             "resume_total_us", "resume_mean_us", "depth_mean", "depth_max", "stack_bytes_mean", "stack_bytes_max"]
    return table[order].sort_values(["wait_total_us", "count"], ascending=False, kind="stable")


def site_stats(t: Tables) -> pd.DataFrame:
    """`wait_stats` per site, with `paths` (the paths seen there, most frequent first) and `function`."""
    table = wait_stats(t.suspensions, "site")
    if not len(table):
        return table.assign(paths=pd.Series(dtype=object))
    pairs = t.suspensions.groupby(["site", "path"], observed=True).size().rename("n").reset_index()
    pairs = pairs.sort_values(["site", "n"], ascending=[True, False], kind="stable")  # most frequent first, ties in path order
    paths = pd.Series({site: ", ".join(map(str, group)) for site, group in pairs.groupby("site", observed=True, sort=False)["path"]})
    return table.assign(paths=paths.reindex(table.index))


def kind_stats(t: Tables) -> pd.DataFrame:
    """Per entry kind: entries, their total duration, and `wait_stats` of the suspensions inside them."""
    entries = t.entries.groupby("kind").agg(entries=("id", "size"), entry_total_us=("duration_us", "sum"))
    waits = wait_stats(t.suspensions, "kind")
    table = entries.join(waits, how="left")
    table["count"] = table["count"].fillna(0).astype("int64")
    table["wait_total_us"] = table["wait_total_us"].fillna(0.0)
    return table.rename(columns={"count": "suspensions"}).sort_values(["wait_total_us", "entries"], ascending=False, kind="stable")


def path_stats(t: Tables) -> pd.DataFrame:
    """`wait_stats` per path (run_sync, time.sleep, urllib3, ...)."""
    return wait_stats(t.suspensions, "path")


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


def _own_running(t: Tables) -> tuple[np.ndarray, np.ndarray]:
    """Intervals where an entry runs Python itself: active, minus its child entries, minus its suspensions."""
    e, s = t.entries, t.suspensions
    children = e[e["parent"].notna()]
    owner = np.concatenate([e["id"], e["id"], children["parent"].astype("int64"), children["parent"].astype("int64"), s["entry"], s["entry"]])
    times = np.concatenate([e["start_us"], e["end_us"], children["start_us"], children["end_us"], s["start_us"], s["end_us"]])
    step = np.concatenate([np.ones(len(e)), -np.ones(len(e)), -np.ones(len(children)), np.ones(len(children)), -np.ones(len(s)), np.ones(len(s))])
    order = np.lexsort((times, owner))
    owner, times, step = owner[order], times[order].astype("float64"), step[order]
    total = np.cumsum(step)  # the running score of each owner: the cumulative sum since its first row
    first = np.flatnonzero(np.diff(owner, prepend=owner[:1] - 1))
    score = total - np.repeat(total[first] - step[first], np.diff(np.r_[first, len(step)]))
    running = (score[:-1] == 1) & (owner[:-1] == owner[1:])
    return times[:-1][running], times[1:][running]


def time_accounting(t: Tables) -> TimeAccounting:
    """Split the run's window into running Python, suspended and the rest (sweeps over entries and suspensions)."""
    run_starts, run_ends = _own_running(t)
    s = t.suspensions
    times = np.concatenate([run_starts, run_ends, s["start_us"], s["end_us"]]).astype("float64")
    running_step = np.concatenate([np.ones(len(run_starts)), -np.ones(len(run_ends)), np.zeros(2 * len(s))])
    suspended_step = np.concatenate([np.zeros(2 * len(run_starts)), np.ones(len(s)), -np.ones(len(s))])
    order = np.argsort(times, kind="stable")
    spans = np.diff(np.clip(times[order], t.start_us, t.end_us))
    running = np.cumsum(running_step[order])[:-1] > 0
    suspended = ~running & (np.cumsum(suspended_step[order])[:-1] > 0)
    running_us, suspended_us = float(spans[running].sum()), float(spans[suspended].sum())
    window = t.duration_us
    return TimeAccounting(window, running_us, suspended_us, window - running_us - suspended_us)


def running_before_switch(t: Tables) -> pd.Series:
    """For each suspension (same index), the time its entry ran Python since its previous switch (or since
    the entry began): the running time that led up to this switch."""
    s = t.suspensions[["entry", "start_us", "end_us"]].sort_values(["entry", "start_us"], kind="stable")
    previous_end = s.groupby("entry")["end_us"].shift()
    starts = s["entry"].map(t.entries.set_index("id")["start_us"])
    return (s["start_us"] - previous_end.fillna(starts)).clip(lower=0).reindex(t.suspensions.index)
