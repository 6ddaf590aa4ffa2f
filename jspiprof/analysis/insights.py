"""Insights: patterns in a trace that cost time, with their evidence, the time at stake and what to do.

Each detector looks for one pattern and returns nothing when the trace does not show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jspiprof.analysis.tables import Tables

HOT_LOOP_MIN_COUNT = 100
"""A site needs at least this many suspensions to be a hot loop..."""
HOT_LOOP_MAX_P75_WAIT_US = 500.0
"""...and three quarters of them waiting less than this (a quantile, so machine pauses do not hide the loop):
a few JS event-loop turns, what a switch costs by itself (`time.sleep(0)` waits ~100 µs under Node 26), so the
switching is the cost."""
SEQUENTIAL_MIN_COUNT = 4
"""Waits at one site, one after another in one entry, need at least this many suspensions..."""
MIN_AT_STAKE_US = 10_000.0
MIN_AT_STAKE_SHARE = 0.02
"""...and an insight must put at least 10 ms and 2% of the run's window at stake."""
POLLING_MIN_COUNT = 3
"""`time.sleep` at one site, in one entry, at least this many times is polling."""
DEEP_MIN_STACK_BYTES = 256 * 1024
DEEP_MIN_COUNT = 10
"""A site switches with a deep stack when its median C-stack bytes reach this, 10 times or more. Python depth
alone is not enough: since Python 3.11 a Python-to-Python call uses no C stack (measured under Node 26: 200
`time.sleep(0)` 300 frames deep resume as fast as 4 frames deep); C stack grows only through C calls
(C extensions, callbacks, `__init__` via type calls, JS->Python re-entry)."""


@dataclass
class Insight:
    """One finding: what (`title`), where (`site`), why we think so (`evidence`), the time at stake, and a fix."""

    kind: str
    title: str
    site: str
    evidence: list[str]
    at_stake_us: float
    estimate: str
    suggestion: str


def _ms(us: float) -> str:
    return f"{us / 1000:,.1f} ms"


def _worth_it(t: Tables, at_stake_us: float) -> bool:
    return at_stake_us >= MIN_AT_STAKE_US and at_stake_us >= MIN_AT_STAKE_SHARE * t.duration_us


def _runs(suspensions: pd.DataFrame) -> pd.DataFrame:
    """Per entry, the waits at each site between two of its `time.sleep` calls, one after another (one stack).

    Other sites may come in between (a loop that fetches a page, then reads its body); a sleep may not: it marks
    steps that depend on time passing (polling), not independent ones.
    """
    columns = ["entry", "kind", "site", "path", "count", "wait_total_us", "wait_max_us", "start_us", "end_us"]
    if not len(suspensions):
        return pd.DataFrame(columns=columns)
    s = suspensions
    by_time = np.lexsort((s["start_us"].to_numpy(), s["entry"].to_numpy()))  # by entry, then time
    entry = s["entry"].to_numpy()[by_time]
    sleeps = (s["path"] == "time.sleep").to_numpy()[by_time]
    stretch = np.cumsum(np.r_[True, entry[1:] != entry[:-1]] | sleeps)  # a new stretch per entry and at each sleep
    site = s["site"].cat.codes.to_numpy()[by_time]
    grouped = np.lexsort((site, stretch))  # by stretch, then site, then time (lexsort is stable)
    order = by_time[grouped]
    stretch, site = stretch[grouped], site[grouped]
    starts = np.flatnonzero(np.r_[True, (site[1:] != site[:-1]) | (stretch[1:] != stretch[:-1])])
    first = order[starts]
    wait = s["wait_us"].to_numpy(float)[order]
    return pd.DataFrame({
        "entry": s["entry"].to_numpy()[first], "kind": s["kind"].iloc[first].to_numpy(), "site": s["site"].iloc[first].to_numpy(),
        "path": s["path"].iloc[first].to_numpy(), "count": np.diff(np.r_[starts, len(s)]),
        "wait_total_us": np.add.reduceat(wait, starts), "wait_max_us": np.maximum.reduceat(wait, starts),
        "start_us": s["start_us"].to_numpy()[first], "end_us": np.maximum.reduceat(s["end_us"].to_numpy(float)[order], starts),
    }, columns=columns)


def _hot_sites(t: Tables) -> pd.DataFrame:
    """Per site that switches often for tiny waits: count, wait_p50_us, wait_p75_us, switch_total_us, resume_p50_us,
    first_us and last_us. Computed once by `insights` and shared by the detectors that need it."""
    groups = t.suspensions.groupby("site")
    per_site = groups.agg(
        count=("wait_us", "size"), wait_p50_us=("wait_us", "median"), switch_total_us=("switch_us", "sum"),
        resume_p50_us=("resume_us", "median"), first_us=("start_us", "min"), last_us=("end_us", "max"),
    ).assign(wait_p75_us=groups["wait_us"].quantile(0.75))
    return per_site[(per_site["count"] >= HOT_LOOP_MIN_COUNT) & (per_site["wait_p75_us"] < HOT_LOOP_MAX_P75_WAIT_US)]


def hot_loops(t: Tables, hot_sites: pd.DataFrame) -> list[Insight]:
    """A site that switches very often for very short waits (`hot_sites`): the switches themselves are the cost."""
    found = []
    for site, row in hot_sites.iterrows():
        if not _worth_it(t, row["switch_total_us"]):
            continue
        found.append(Insight(
            kind="hot-loop",
            title=f"{int(row['count']):,} tiny stack switches at {site}",
            site=str(site),
            evidence=[
                f"{int(row['count']):,} suspensions between {_ms(row['first_us'] - t.start_us)} and "
                f"{_ms(row['last_us'] - t.start_us)} into the run",
                f"median wait {row['wait_p50_us']:,.0f} µs, 75% under {row['wait_p75_us']:,.0f} µs, median resume delay "
                f"{row['resume_p50_us']:,.0f} µs: the waits are about what a switch costs by itself",
                f"{_ms(row['switch_total_us'])} spent switching in total",
            ],
            at_stake_us=float(row["switch_total_us"]),
            estimate="the time spent in these switches (wait + resume delay): with one switch for the whole loop, "
                     "nearly all of it goes away",
            suggestion="Switch once for the whole loop instead of once per item: move the loop into one coroutine "
                       "that awaits each step and run it with a single run_sync / asyncio.run, or batch the work "
                       "(time.sleep(0) / run_sync(asyncio.sleep(0)) per item yields to JS at a high price).",
        ))
    return found


def sequential_waits(t: Tables, hot_sites: pd.DataFrame) -> list[Insight]:
    """Many waits from one site in one entry, one after the other: independent ones could overlap (hot loops aside)."""
    runs = _runs(t.suspensions)
    runs = runs[(runs["count"] >= SEQUENTIAL_MIN_COUNT) & (runs["path"] != "time.sleep") & ~runs["site"].isin(set(hot_sites.index))]
    found = []
    for _, run in runs.iterrows():
        at_stake = float(run["wait_total_us"] - run["wait_max_us"])
        if not _worth_it(t, at_stake):
            continue
        found.append(Insight(
            kind="sequential-waits",
            title=f"{int(run['count']):,} waits one after the other at {run['site']}",
            site=str(run["site"]),
            evidence=[
                f"{int(run['count']):,} suspensions ({run['path']}) in entry {int(run['entry'])} ({run['kind']}), "
                f"one after another from {_ms(run['start_us'] - t.start_us)} to {_ms(run['end_us'] - t.start_us)} into the run, "
                f"none overlapping",
                f"they waited {_ms(run['wait_total_us'])} in total; the longest single wait was {_ms(run['wait_max_us'])}",
            ],
            at_stake_us=at_stake,
            estimate="sum of the waits minus the longest one: run concurrently, the waits would take about as long "
                     "as the longest of them",
            suggestion="If these requests do not depend on each other, start them together: e.g. gather them in one "
                       "coroutine (asyncio.gather over pyodide.http.pyfetch or an async client) run by a single "
                       "run_sync / asyncio.run, instead of one blocking call per item in a loop.",
        ))
    return found


def sleep_polling(t: Tables, hot_sites: pd.DataFrame) -> list[Insight]:
    """`time.sleep` repeated at one site: waiting in fixed steps for something to happen (hot loops aside)."""
    s = t.suspensions
    sleeps = s[(s["path"] == "time.sleep") & ~s["site"].isin(hot_sites.index)]  # sleep(0) in a tight loop is a hot loop
    sleeps = sleeps[["entry", "site", "start_us", "end_us", "wait_us", "resume_us"]].sort_values(["entry", "start_us"], kind="stable")
    found = []
    for (entry, site), group in sleeps.groupby(["entry", "site"], sort=False):
        if len(group) < POLLING_MIN_COUNT:
            continue
        interval = float(group["wait_us"].median())
        gaps = group["start_us"].to_numpy()[1:] - group["end_us"].to_numpy()[:-1]
        loops = 1 + int((gaps >= interval).sum())
        at_stake = loops * interval / 2 + float(group["resume_us"].sum())
        if not _worth_it(t, at_stake):
            continue
        inside = s["site"][(s["entry"] == entry) & (s["start_us"] > group["start_us"].min()) & (s["start_us"] < group["end_us"].max())]
        others = inside[inside != site].value_counts().loc[lambda n: n > 0]  # sites are categorical: drop unseen ones
        evidence = [
            f"{len(group):,} time.sleep suspensions at {site} in entry {int(entry)}, median {_ms(interval)} each, "
            f"{_ms(group['wait_us'].sum())} slept in total, in {loops} polling loop{'s' if loops > 1 else ''}",
        ]
        if len(others):
            evidence.append(f"alternating with {int(others.iloc[0]):,} waits at {others.index[0]} (the check being polled)")
        found.append(Insight(
            kind="sleep-polling",
            title=f"Polling with time.sleep at {site}",
            site=str(site),
            evidence=evidence,
            at_stake_us=at_stake,
            estimate="on average half a sleep interval per polling loop (the job finishes mid-sleep and is noticed "
                     "only at the next check), plus the resume delay of every sleep",
            suggestion="Wait for the thing itself instead of sleeping in steps: await a Promise / Future / "
                       "asyncio.Event that the job resolves (run_sync(...) on it), or ask the server to hold the "
                       "request until the job is done (long polling); if you must poll, back off.",
        ))
    return found


def deep_stacks(t: Tables) -> list[Insight]:
    """A site that switches with a deep Python stack: every switch saves and restores a lot of C stack."""
    per_site = t.suspensions.groupby("site").agg(
        count=("wait_us", "size"), depth_p50=("depth", "median"), bytes_p50=("stack_bytes", "median"),
        bytes_total=("stack_bytes", "sum"), resume_total_us=("resume_us", "sum"), resume_p50_us=("resume_us", "median"),
    )
    deep = per_site[(per_site["count"] >= DEEP_MIN_COUNT) & (per_site["bytes_p50"] >= DEEP_MIN_STACK_BYTES)]
    typical_bytes = float(t.suspensions["stack_bytes"].median()) if len(t.suspensions) else 0.0
    found = []
    for site, row in deep.iterrows():
        at_stake = float(row["resume_total_us"])
        if not _worth_it(t, at_stake):
            continue
        found.append(Insight(
            kind="deep-stack",
            title=f"Deep stacks switched at {site}",
            site=str(site),
            evidence=[
                f"{int(row['count']):,} suspensions with a median of {row['depth_p50']:.0f} Python frames and "
                f"{row['bytes_p50'] / 1024:,.0f} KiB of C stack each (median over the whole trace: "
                f"{typical_bytes / 1024:,.0f} KiB)",
                f"{row['bytes_total'] / 2**20:,.1f} MiB of C stack copied back in total; median resume delay "
                f"{row['resume_p50_us']:,.0f} µs",
            ],
            at_stake_us=at_stake,
            estimate="the resume delays at this site, which include copying the saved C stack back",
            suggestion="Switch from a shallower stack: call run_sync / time.sleep / the request near the top of the "
                       "program and pass results down, flatten the recursion, or gather the waits in one coroutine "
                       "so the deep stack switches once.",
        ))
    return found


def insights(t: Tables) -> list[Insight]:
    """Every insight the trace supports, largest time at stake first."""
    hot_sites = _hot_sites(t)
    found = sequential_waits(t, hot_sites) + hot_loops(t, hot_sites) + sleep_polling(t, hot_sites) + deep_stacks(t)
    return sorted(found, key=lambda insight: insight.at_stake_us, reverse=True)
