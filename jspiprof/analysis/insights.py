"""Insights: patterns in a trace that cost time, with their evidence, the time at stake and what to do.

Each detector looks for one pattern and returns nothing when the trace does not show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jspiprof.analysis.failure_insights import busy_waits, failed_switches
from jspiprof.analysis.groups import Groups
from jspiprof.analysis.hot_spot import cpu_hot_spot
from jspiprof.analysis.insight import Insight, in_ms, worth_it
from jspiprof.analysis.stats import time_accounting
from jspiprof.analysis.tables import Columns, Tables

HOT_LOOP_MIN_COUNT = 100
"""A site needs at least this many suspensions to be a hot loop..."""
HOT_LOOP_MAX_P75_WAIT_US = 500.0
"""...and three quarters of them waiting less than this (a quantile, so machine pauses do not hide the loop):
a few JS event-loop turns, what a switch costs by itself (`time.sleep(0)` waits ~100 µs under Node 26), so the
switching is the cost."""
SEQUENTIAL_MIN_COUNT = 4
"""Waits at one site, one after another in one entry, need at least this many suspensions, and an insight must
put at least 10 ms and 2% of the run's window at stake (`worth_it`)."""
POLLING_MIN_COUNT = 3
"""`time.sleep` at one site, in one entry, at least this many times is polling."""
DEEP_MIN_STACK_BYTES = 256 * 1024
DEEP_MIN_COUNT = 10
"""A site switches with a deep stack when its median C-stack bytes reach this, 10 times or more. Python depth
alone is not enough: since Python 3.11 a Python-to-Python call uses no C stack (measured under Node 26: 200
`time.sleep(0)` 300 frames deep resume as fast as 4 frames deep); C stack grows only through C calls
(C extensions, callbacks, `__init__` via type calls, JS->Python re-entry)."""


def _on_path(suspensions: Columns, path: str) -> np.ndarray:
    """Which suspensions were asked for by `path`."""
    paths = suspensions["path"].categories
    return suspensions["path"].codes == (paths.get_loc(path) if path in paths else -2)


def _not_hot(suspensions: Columns, hot_sites: list[HotSite]) -> np.ndarray:
    """For each site code, whether the site is not one of `hot_sites`."""
    return ~suspensions["site"].categories.isin([hot.site for hot in hot_sites])


@dataclass(frozen=True)
class HotSite:
    """A site that switches often for tiny waits (what `hot_loops` reports on)."""

    site: str
    count: int
    wait_p50_us: float
    wait_p75_us: float
    switch_total_us: float
    resume_p50_us: float
    first_us: float
    last_us: float


def _runs(suspensions: Columns) -> dict[str, np.ndarray]:
    """Per entry, the waits at each site between two of its `time.sleep` calls, one after another (one stack).

    Other sites may come in between (a loop that fetches a page, then reads its body); a sleep may not: it marks
    steps that depend on time passing (polling), not independent ones. One array per column: entry, site and path
    (codes), count, wait_total_us, wait_max_us, start_us, end_us, and `first` (the run's first suspension).
    """
    entry, start, site_code = suspensions["entry"], suspensions["start_us"], suspensions["site"].codes
    by_time = np.lexsort((start, entry))  # by entry, then time
    entry_by_time = entry[by_time]
    new_entry = np.ones(len(entry_by_time), dtype=bool)
    new_entry[1:] = entry_by_time[1:] != entry_by_time[:-1]
    # a new stretch per entry and at each sleep
    stretch = np.cumsum(new_entry | _on_path(suspensions, "time.sleep")[by_time])
    site = site_code[by_time]
    site_count = len(suspensions["site"].categories)
    grouped = np.argsort(stretch * site_count + site, kind="stable")  # by stretch, then site, then time
    order = by_time[grouped]
    stretch, site = stretch[grouped], site[grouped]
    new_run = np.ones(len(order), dtype=bool)
    new_run[1:] = (site[1:] != site[:-1]) | (stretch[1:] != stretch[:-1])
    starts = np.flatnonzero(new_run)
    first = order[starts]
    wait = suspensions["wait_us"][order]
    return {
        "first": first,
        "entry": entry[first],
        "site": site_code[first],
        "path": suspensions["path"].codes[first],
        "count": np.diff(starts, append=len(order)),
        "wait_total_us": np.add.reduceat(wait, starts) if len(starts) else wait,
        "wait_max_us": np.maximum.reduceat(wait, starts) if len(starts) else wait,
        "start_us": start[first],
        "end_us": np.maximum.reduceat(suspensions["end_us"][order], starts) if len(starts) else wait,
    }


def _hot_sites(suspensions: Columns) -> list[HotSite]:
    """The sites that switch often for tiny waits, with their count, wait_p50_us, wait_p75_us, switch_total_us,
    resume_p50_us, first_us and last_us. Computed once by `insights` and shared by the detectors that need it."""
    site_code, sites, wait = suspensions["site"].codes, suspensions["site"].categories, suspensions["wait_us"]
    count = np.bincount(site_code, minlength=len(sites))
    under = np.bincount(site_code[wait < HOT_LOOP_MAX_P75_WAIT_US], minlength=len(sites))
    # a p75 below the limit needs the wait at its lower rank below it: only such sites have their quantiles computed
    possible = (count >= HOT_LOOP_MIN_COUNT) & (under >= np.floor(0.75 * (count - 1)) + 1)
    if not possible.any():
        return []
    groups = Groups.by(np.where(possible[site_code], site_code, -1))
    p50, p75 = groups.quantiles(wait, [0.5, 0.75])
    (resume_p50,) = groups.quantiles(suspensions["resume_us"], [0.5])
    switch_total = groups.sum(suspensions["switch_us"])
    first, last = groups.min(suspensions["start_us"]), groups.max(suspensions["end_us"])
    hot_sites = []
    for number, key in enumerate(groups.keys.tolist()):
        if p75[number] < HOT_LOOP_MAX_P75_WAIT_US:
            hot_sites.append(
                HotSite(
                    site=str(sites[key]),
                    count=int(groups.sizes[number]),
                    wait_p50_us=float(p50[number]),
                    wait_p75_us=float(p75[number]),
                    switch_total_us=float(switch_total[number]),
                    resume_p50_us=float(resume_p50[number]),
                    first_us=float(first[number]),
                    last_us=float(last[number]),
                )
            )
    return hot_sites


def hot_loops(tables: Tables, hot_sites: list[HotSite]) -> list[Insight]:
    """A site that switches very often for very short waits (`hot_sites`): the switches themselves are the cost."""
    found = []
    for hot in hot_sites:
        if not worth_it(tables, hot.switch_total_us):
            continue
        found.append(
            Insight(
                kind="hot-loop",
                title=f"{hot.count:,} tiny stack switches at {hot.site}",
                site=hot.site,
                evidence=[
                    f"{hot.count:,} suspensions between {in_ms(hot.first_us - tables.start_us)} and "
                    f"{in_ms(hot.last_us - tables.start_us)} into the run",
                    f"median wait {hot.wait_p50_us:,.0f} µs, 75% under {hot.wait_p75_us:,.0f} µs, median resume delay "
                    f"{hot.resume_p50_us:,.0f} µs: the waits are about what a switch costs by itself",
                    f"{in_ms(hot.switch_total_us)} spent switching in total",
                ],
                at_stake_us=hot.switch_total_us,
                estimate="the time spent in these switches (wait + resume delay): with one switch for the whole loop, "
                "nearly all of it goes away",
                suggestion="Switch once for the whole loop instead of once per item: move the loop into one coroutine "
                "that awaits each step and run it with a single run_sync / asyncio.run, or batch the work "
                "(time.sleep(0) / run_sync(asyncio.sleep(0)) per item yields to JS at a high price).",
            )
        )
    return found


def sequential_waits(tables: Tables, hot_sites: list[HotSite]) -> list[Insight]:
    """Many waits from one site in one entry, one after the other: independent ones could overlap (hot loops aside)."""
    suspensions = tables.arrays.suspensions
    sites, paths, kind = suspensions["site"].categories, suspensions["path"].categories, suspensions["kind"]
    if not len(suspensions["entry"]):
        return []
    runs = _runs(suspensions)
    at_stake = runs["wait_total_us"] - runs["wait_max_us"]
    candidates = (
        (runs["count"] >= SEQUENTIAL_MIN_COUNT)
        & ~_on_path(suspensions, "time.sleep")[runs["first"]]
        & _not_hot(suspensions, hot_sites)[runs["site"]]
    )
    found = []
    for i in np.flatnonzero(candidates & worth_it(tables, at_stake)):
        first, count, site = runs["first"][i], int(runs["count"][i]), str(sites[runs["site"][i]])
        path, entry, kind_of_entry = paths[runs["path"][i]], int(runs["entry"][i]), kind[first]
        start_ms, end_ms = in_ms(runs["start_us"][i] - tables.start_us), in_ms(runs["end_us"][i] - tables.start_us)
        found.append(
            Insight(
                kind="sequential-waits",
                title=f"{count:,} waits one after the other at {site}",
                site=site,
                evidence=[
                    f"{count:,} suspensions ({path}) in entry {entry} ({kind_of_entry}), "
                    f"one after another from {start_ms} to {end_ms} into the run, none overlapping",
                    f"they waited {in_ms(runs['wait_total_us'][i])} in total; "
                    f"the longest single wait was {in_ms(runs['wait_max_us'][i])}",
                ],
                at_stake_us=float(at_stake[i]),
                estimate="sum of the waits minus the longest one: run concurrently, the waits would take about as long "
                "as the longest of them",
                suggestion="If these requests do not depend on each other, start them together: e.g. gather them in "
                "one coroutine (asyncio.gather over pyodide.http.pyfetch or an async client) run by a single "
                "run_sync / asyncio.run, instead of one blocking call per item in a loop.",
            )
        )
    return found


def sleep_polling(tables: Tables, hot_sites: list[HotSite]) -> list[Insight]:
    """`time.sleep` repeated at one site: waiting in fixed steps for something to happen (hot loops aside)."""
    suspensions = tables.arrays.suspensions
    site_code, sites = suspensions["site"].codes, suspensions["site"].categories
    entry_ids, starts_us, ends_us = suspensions["entry"], suspensions["start_us"], suspensions["end_us"]
    # sleep(0) in a tight loop is a hot loop
    sleeps = np.flatnonzero(_on_path(suspensions, "time.sleep") & _not_hot(suspensions, hot_sites)[site_code])
    sleeps = sleeps[np.lexsort((starts_us[sleeps], entry_ids[sleeps]))]  # by entry, then time
    entry_number = np.unique(entry_ids[sleeps], return_inverse=True)[1]
    groups = Groups.in_order_of_appearance(entry_number * len(sites) + site_code[sleeps])  # per (entry, site)
    # every suspension, by entry, then time: each entry's are found by bisection
    in_time = np.lexsort((starts_us, entry_ids))
    entry_in_time, start_in_time = entry_ids[in_time], starts_us[in_time]
    found = []
    for start, size in zip(groups.starts, groups.sizes):  # (entry, site) pairs in order of their first sleep
        if size < POLLING_MIN_COUNT:
            continue
        rows = sleeps[groups.order[start : start + size]]
        if len(np.unique(suspensions["depth"][rows])) > 1:
            continue  # sleeps at one line from several depths: a recursion that sleeps, not a loop that polls
        entry, site = int(entry_ids[rows[0]]), str(sites[site_code[rows[0]]])
        interval = float(np.median(suspensions["wait_us"][rows]))
        gaps = starts_us[rows][1:] - ends_us[rows][:-1]
        loops = 1 + int((gaps >= interval).sum())
        at_stake = loops * interval / 2 + float(suspensions["resume_us"][rows].sum())
        if not worth_it(tables, at_stake):
            continue
        first, last = np.searchsorted(entry_in_time, entry, "left"), np.searchsorted(entry_in_time, entry, "right")
        starts = start_in_time[first:last]
        after_first_sleep = first + np.searchsorted(starts, starts_us[rows].min(), "right")
        before_last_end = first + np.searchsorted(starts, ends_us[rows].max(), "left")
        inside = in_time[after_first_sleep:before_last_end]
        between = inside[site_code[inside] != site_code[rows[0]]]  # the waits between the sleeps
        if float(np.median(gaps)) >= interval and suspensions["switch_us"][between].sum() < 0.5 * gaps.sum():
            continue  # the sleeps pause between runs of work (mostly running Python), no check is repeated quickly
        others = np.bincount(site_code[between], minlength=len(sites))
        evidence = [
            f"{size:,} time.sleep suspensions at {site} in entry {entry}, median {in_ms(interval)} each, "
            f"{in_ms(suspensions['wait_us'][rows].sum())} slept in total, "
            f"in {loops} polling loop{'s' if loops > 1 else ''}",
        ]
        if others.any():
            top = int(np.argmax(others))  # the most frequent; ties in site order
            evidence.append(f"alternating with {int(others[top]):,} waits at {sites[top]} (the check being polled)")
        found.append(
            Insight(
                kind="sleep-polling",
                title=f"Polling with time.sleep at {site}",
                site=site,
                evidence=evidence,
                at_stake_us=at_stake,
                estimate="on average half a sleep interval per polling loop (the job finishes mid-sleep and is noticed "
                "only at the next check), plus the resume delay of every sleep",
                suggestion="Wait for the thing itself instead of sleeping in steps: await a Promise / Future / "
                "asyncio.Event that the job resolves (run_sync(...) on it), or ask the server to hold the "
                "request until the job is done (long polling); if you must poll, back off.",
            )
        )
    return found


def deep_stacks(tables: Tables) -> list[Insight]:
    """A site that switches with a deep Python stack: every switch saves and restores a lot of C stack."""
    suspensions = tables.arrays.suspensions
    site_code, sites = suspensions["site"].codes, suspensions["site"].categories
    stack_bytes, resume = suspensions["stack_bytes"], suspensions["resume_us"]
    count = np.bincount(site_code, minlength=len(sites))
    big = np.bincount(site_code[stack_bytes >= DEEP_MIN_STACK_BYTES], minlength=len(sites))
    # a median at or above the limit needs the value above its rank at or above it: only such sites get their medians
    possible = (count >= DEEP_MIN_COUNT) & (big >= count - np.floor(0.5 * (count - 1)) - 1)
    if not possible.any():
        return []
    groups = Groups.by(np.where(possible[site_code], site_code, -1))
    (depth_p50,) = groups.quantiles(suspensions["depth"], [0.5])
    (bytes_p50,) = groups.quantiles(stack_bytes, [0.5])
    (resume_p50,) = groups.quantiles(resume, [0.5])
    bytes_total, resume_total = groups.sum(stack_bytes), groups.sum(resume)
    typical_bytes = float(np.median(stack_bytes))
    found = []
    for i, key in enumerate(groups.keys):
        at_stake = float(resume_total[i])
        if bytes_p50[i] < DEEP_MIN_STACK_BYTES or not worth_it(tables, at_stake):
            continue
        site = str(sites[key])
        found.append(
            Insight(
                kind="deep-stack",
                title=f"Deep stacks switched at {site}",
                site=site,
                evidence=[
                    f"{int(groups.sizes[i]):,} suspensions with a median of {depth_p50[i]:.0f} Python frames and "
                    f"{bytes_p50[i] / 1024:,.0f} KiB of C stack each (median over the whole trace: "
                    f"{typical_bytes / 1024:,.0f} KiB)",
                    f"{bytes_total[i] / 2**20:,.1f} MiB of C stack copied back in total; median resume delay "
                    f"{resume_p50[i]:,.0f} µs",
                ],
                at_stake_us=at_stake,
                estimate="the resume delays at this site, which include copying the saved C stack back",
                suggestion="Switch from a shallower stack: call run_sync / time.sleep / the request near the top of "
                "the program and pass results down, flatten the recursion, or gather the waits in one coroutine "
                "so the deep stack switches once.",
            )
        )
    return found


def insights(tables: Tables) -> list[Insight]:
    """Every insight the trace supports, largest time at stake first."""
    hot_sites = _hot_sites(tables.arrays.suspensions)
    found = [
        *sequential_waits(tables, hot_sites),
        *hot_loops(tables, hot_sites),
        *sleep_polling(tables, hot_sites),
        *deep_stacks(tables),
        *cpu_hot_spot(tables, time_accounting(tables).running_us),
        *busy_waits(tables),
        *failed_switches(tables),
    ]
    return sorted(found, key=lambda insight: insight.at_stake_us, reverse=True)


def longest_sequential_run(tables: Tables) -> tuple[int, str | None]:
    """The most waits made one after another at one site in one entry, counted as `sequential_waits` counts them
    (a `time.sleep` ends a run and is not counted), and that site; `(0, None)` when there are none."""
    suspensions = tables.arrays.suspensions
    if not len(suspensions["entry"]):
        return 0, None
    runs = _runs(suspensions)
    counted = np.flatnonzero(~_on_path(suspensions, "time.sleep")[runs["first"]])
    if not len(counted):
        return 0, None
    longest = counted[np.argmax(runs["count"][counted])]
    return int(runs["count"][longest]), str(suspensions["site"].categories[runs["site"][longest]])
