"""Before/after comparison of two traces of the same app: what got faster or slower, what is new and what is gone.

Sites are matched across code changes in two passes:

1. exactly, by `file:line` and the function the line is in;
2. the sites left over, by file and function: when lines moved (code added above them), the k-th remaining site of a
   function in BEFORE (by line) is paired with the k-th remaining site of the same function in AFTER.

A site still unpaired is `gone` (only in BEFORE) or `new` (only in AFTER). Paired sites are `faster` or `slower` when
their total wait changed by more than `SAME_WITHIN` of the larger of the two (and by more than 0.1 ms), else `same`.
Functions are compared by file and function name, summing the waits of their sites.

CPU moved: from the CPU samples (`jspiprof.analysis.cpu.cpu_profile`), every sampled function (matched by file and
function name) with its self and total time before and after and the change (after minus before); `faster` or
`slower` by its self time, with the same tolerance as waits, and only when the change is also more than twice its
sampling error (a function sampled n times stands for n intervals give or take sqrt(n): 4 samples before and 9 after
are the same). When either trace has no samples the CPU rows are empty and `cpu_note` says why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jspiprof.analysis.cpu import CpuProfile, cpu_profile, frame_details
from jspiprof.analysis.insights import insights
from jspiprof.analysis.stats import rounded_ms
from jspiprof.analysis.summary import summary
from jspiprof.analysis.tables import LIBRARY_SITE, Tables

SAME_WITHIN = 0.05
"""A change in wait smaller than this fraction of the larger wait (or than 0.1 ms) counts as the same."""
_NOISE_MS = 0.1


@dataclass(frozen=True)
class SiteKey:
    """A site as it is matched: `file:line`, its file and the function its line is in ("" when unknown)."""

    site: str
    file: str
    line: int
    function: str


def site_functions(t: Tables) -> dict[str, str]:
    """The function each site's line is in, by site (`file:line`), read from the trace's user frames."""
    f = t.arrays.frames
    return {
        f"{file}:{line}": str(function)
        for file, line, function, library in zip(f["file"], f["line"], f["function"], f["library"])
        if not library
    }


def _key(site: str, functions: dict[str, str]) -> SiteKey:
    file, _, line = site.rpartition(":")
    if site == LIBRARY_SITE or not line.isdigit():
        return SiteKey(site, site, 0, "")
    return SiteKey(site, file, int(line), functions.get(site, ""))


def match_sites(before: list[SiteKey], after: list[SiteKey]) -> list[tuple[SiteKey | None, SiteKey | None, str]]:
    """Pairs (before, after, how) with how "exact", "moved" (same file and function, other line), "gone" or "new"."""
    after_exact = {(k.site, k.function): k for k in after}
    pairs: list[tuple[SiteKey | None, SiteKey | None, str]] = []
    left_before: dict[tuple[str, str], list[SiteKey]] = defaultdict(list)
    matched_after: set[SiteKey] = set()
    for key in before:
        twin = after_exact.get((key.site, key.function))
        if twin is not None:
            pairs.append((key, twin, "exact"))
            matched_after.add(twin)
        else:
            left_before[(key.file, key.function)].append(key)
    left_after: dict[tuple[str, str], list[SiteKey]] = defaultdict(list)
    for key in after:
        if key not in matched_after:
            left_after[(key.file, key.function)].append(key)
    for group, keys in left_before.items():
        others = sorted(left_after.pop(group, []), key=lambda k: k.line) if group[1] else []
        keys = sorted(keys, key=lambda k: k.line)
        pairs += [(b, a, "moved") for b, a in zip(keys, others)]
        pairs += [(b, None, "gone") for b in keys[len(others) :]]
        pairs += [(None, a, "new") for a in others[len(keys) :]]
    pairs += [(None, a, "new") for keys in left_after.values() for a in keys]
    return pairs


def _status(wait_before: float, wait_after: float) -> str:
    change = wait_after - wait_before
    if abs(change) <= max(SAME_WITHIN * max(wait_before, wait_after), _NOISE_MS):
        return "same"
    return "faster" if change < 0 else "slower"


def _cpu_status(self_before: float, self_after: float, interval_before: float, interval_after: float) -> str:
    """`_status` of a function's self time (ms) from samples `interval_before` / `interval_after` ms apart, `same`
    within two standard deviations of the change: n samples of interval i have a variance of n i^2 = ms i."""
    sampling_error = math.sqrt(self_before * interval_before + self_after * interval_after)
    if abs(self_after - self_before) <= 2 * sampling_error:
        return "same"
    return _status(self_before, self_after)


def _site_row(before: dict[str, Any] | None, after: dict[str, Any] | None, how: str, key: SiteKey) -> dict[str, Any]:
    wait_before = before["wait_ms_total"] if before else 0.0
    wait_after = after["wait_ms_total"] if after else 0.0
    return {
        "site": after["site"] if after else key.site,
        "site_before": before["site"] if before else None,
        "function": key.function,
        "match": how,
        "status": how if how in ("new", "gone") else _status(wait_before, wait_after),
        "count_before": before["count"] if before else 0,
        "count_after": after["count"] if after else 0,
        "wait_ms_before": wait_before,
        "wait_ms_after": wait_after,
        "wait_ms_saved": round(wait_before - wait_after, 3),
        "wait_ms_p50_before": before["wait_ms_p50"] if before else None,
        "wait_ms_p50_after": after["wait_ms_p50"] if after else None,
    }


def _function_status(count_before: int, count_after: int, wait_before: float, wait_after: float) -> str:
    if count_before == 0:
        return "new"
    return "gone" if count_after == 0 else _status(wait_before, wait_after)


def _function_rows(sites: list[dict[str, Any]], files: dict[str, str]) -> list[dict[str, Any]]:
    """The site rows summed per file and function, largest change in total wait first."""
    if not sites:
        return []
    frame = pd.DataFrame(sites).assign(file=lambda rows: rows["site"].map(files))
    sums = ["count_before", "count_after", "wait_ms_before", "wait_ms_after"]
    totals = frame.groupby(["file", "function"], sort=False)[sums].sum()
    rows = [
        {
            "file": file,
            "function": function,
            "status": _function_status(
                row["count_before"], row["count_after"], row["wait_ms_before"], row["wait_ms_after"]
            ),
            "count_before": int(row["count_before"]),
            "count_after": int(row["count_after"]),
            "wait_ms_before": round(float(row["wait_ms_before"]), 3),
            "wait_ms_after": round(float(row["wait_ms_after"]), 3),
            "wait_ms_saved": round(float(row["wait_ms_before"] - row["wait_ms_after"]), 3),
        }
        for (file, function), row in totals.iterrows()
    ]
    return sorted(rows, key=lambda row: -abs(row["wait_ms_saved"]))


def _cpu_rows(before: CpuProfile, after: CpuProfile) -> list[dict[str, Any]]:
    """Per sampled function (file and name) of either trace, its self and total ms before and after and the change
    (after minus before), largest change in self time first (then in total time)."""
    times: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    seen: dict[tuple[str, str], list[bool]] = defaultdict(lambda: [False, False])
    for side, profile in enumerate((before, after)):
        for function, file, self_us, total_us in zip(
            profile.functions["function"],
            profile.functions["file"],
            profile.functions["self_us"],
            profile.functions["total_us"],
        ):
            times[(file, function)][side] += float(self_us) / 1000
            times[(file, function)][2 + side] += float(total_us) / 1000
            seen[(file, function)][side] = True
    intervals = (before.interval_us / 1000, after.interval_us / 1000)
    rows = []
    for (file, function), (self_before, self_after, total_before, total_after) in times.items():
        in_before, in_after = seen[(file, function)]
        status = (
            "new" if not in_before else "gone" if not in_after else _cpu_status(self_before, self_after, *intervals)
        )
        rows.append(
            {
                "file": file,
                "function": function,
                "status": status,
                "self_ms_before": round(self_before, 3),
                "self_ms_after": round(self_after, 3),
                "self_ms_change": round(self_after - self_before, 3),
                "total_ms_before": round(total_before, 3),
                "total_ms_after": round(total_after, 3),
                "total_ms_change": round(total_after - total_before, 3),
            }
        )
    return sorted(rows, key=lambda row: (-abs(row["self_ms_change"]), -abs(row["total_ms_change"])))


def cpu_moved(before: Tables, after: Tables) -> dict[str, Any]:
    """The CPU part of `compare`: `cpu_python_ms` (the sampled running-Python time of each trace), `cpu_functions`
    (see the module's docstring) and `cpu_note` (None, or the one line saying why there are no CPU rows)."""
    profiles = {"before": cpu_profile(before), "after": cpu_profile(after)}
    missing = [name for name, profile in profiles.items() if not profile.samples]
    note = None
    if missing:
        which = "either trace" if len(missing) == 2 else f"the {missing[0].upper()} trace"
        note = f"No CPU samples in {which}, so there is no CPU to compare (run with sampling on, the default)."
    return {
        "cpu_python_ms": {name: rounded_ms(profile.python_us) for name, profile in profiles.items()},
        "cpu_functions": [] if missing else _cpu_rows(profiles["before"], profiles["after"]),
        "cpu_note": note,
    }


def compare(before: Tables, after: Tables) -> dict[str, Any]:
    """Compare two traces: both `stats --json` summaries, what was saved, and per-site and per-function changes.

    `sites` and `functions` are sorted by the size of the change in total wait, largest first; `wait_ms_saved` is
    before minus after (negative: slower). `wait_saved_ms` and `window_saved_ms` are the whole run's. The CPU
    moved per function is `cpu_functions` (see `cpu_moved`).
    """
    summaries = {"before": summary(before, insights(before)), "after": summary(after, insights(after))}
    functions = {**site_functions(before), **site_functions(after)}
    by_site = {name: {row["site"]: row for row in summaries[name]["sites"]} for name in summaries}
    keys = {name: [_key(site, functions) for site in by_site[name]] for name in by_site}
    sites = [
        _site_row(by_site["before"][b.site] if b else None, by_site["after"][a.site] if a else None, how, key)
        for b, a, how in match_sites(keys["before"], keys["after"])
        for key in [a or b]
        if key is not None
    ]
    sites.sort(key=lambda row: -abs(row["wait_ms_saved"]))
    files = {key.site: key.file for name in keys for key in keys[name]}
    return {
        **summaries,
        "wait_saved_ms": round(summaries["before"]["total_wait_ms"] - summaries["after"]["total_wait_ms"], 3),
        "window_saved_ms": round(summaries["before"]["window_ms"] - summaries["after"]["window_ms"], 3),
        "sites": sites,
        "functions": _function_rows(sites, files),
        **cpu_moved(before, after),
    }


def _frame_names(t: Tables) -> dict[int, str]:
    """Each frame id's name in a differential flame graph: `function (file name)`, without the line."""
    return {
        frame: f"{details.function} ({details.file.rsplit('/', 1)[-1]})" for frame, details in frame_details(t).items()
    }


def stack_waits(t: Tables) -> dict[tuple[str, ...], float]:
    """Total wait (ms) per Python stack, each frame named `function (file name)`, outermost first.

    Lines are left out of the names, so that a stack whose lines moved still matches across a code change.
    """
    names = _frame_names(t)
    s = t.arrays.suspensions
    totals = np.bincount(s["stack_id"], weights=s["wait_us"], minlength=len(t.stacks)) / 1000
    waits: dict[tuple[str, ...], float] = defaultdict(float)
    for stack, total in zip(t.stacks, totals.tolist()):
        waits[tuple(names.get(frame, str(frame)) for frame in stack)] += total
    return dict(waits)


def stack_cpu(t: Tables) -> dict[tuple[str, ...], float]:
    """Sampled running-Python time (ms) per sampled stack, named like `stack_waits`, outermost first."""
    names = _frame_names(t)
    stacks = cpu_profile(t).stacks
    times: dict[tuple[str, ...], float] = defaultdict(float)
    for frames, weight in zip(stacks["frames"], stacks["weight_us"].tolist()):
        times[tuple(names.get(frame, str(frame)) for frame in frames)] += weight / 1000
    return dict(times)


@dataclass(frozen=True)
class DifferentialNode:
    """One frame of a differential flame graph: its inclusive time (ms: wait, or sampled CPU) before and after."""

    stack: tuple[str, ...]
    ms_before: float
    ms_after: float


def differential_flame_graph(
    before: Tables, after: Tables, weights: Callable[[Tables], dict[tuple[str, ...], float]] = stack_waits
) -> list[DifferentialNode]:
    """Every stack prefix of either trace with its inclusive time in both, parents before their children: the wait
    (`weights=stack_waits`) or the sampled CPU (`weights=stack_cpu`)."""
    nodes: dict[tuple[str, ...], list[float]] = {(): [0.0, 0.0]}
    for side, t in enumerate((before, after)):
        for stack, wait in weights(t).items():
            for depth in range(len(stack) + 1):
                nodes.setdefault(stack[:depth], [0.0, 0.0])[side] += wait
    return [DifferentialNode(stack, round(b, 3), round(a, 3)) for stack, (b, a) in nodes.items()]
