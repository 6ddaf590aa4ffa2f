"""Many traces of the same app (a fleet of runs): how each site behaves across runs, and the worst runs.

Each trace is read once and reduced to a `Run` (a few numbers per site), so a folder of 10,000 traces holds only
those in memory. Across runs, a site's distributions (p50, p95, max of its count and of its total wait per run)
are over the runs it appears in; percentiles interpolate linearly, like `jspiprof.analysis.stats`. Likewise per
sampled function (file and name), its self time per run, over the runs whose CPU samples have it on top.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jspiprof.analysis.cpu import cpu_profile
from jspiprof.analysis.stats import site_table, time_accounting
from jspiprof.analysis.tables import Tables, tables
from jspiprof.trace import TraceError, read_trace

WORST_RUNS = 10
"""How many of the runs with the most total wait `fleet` lists."""


@dataclass(frozen=True)
class Run:
    """What a fleet keeps of one trace: its name, totals, per site its suspension count and total wait (ms), and per
    sampled function (function, file) its self time (ms; empty without samples)."""

    trace: str
    suspensions: int
    total_wait_ms: float
    window_ms: float
    failed_switches: int
    sites: dict[str, tuple[int, float]]
    functions: dict[tuple[str, str], float] = field(default_factory=dict)


def run_of(t: Tables, trace: str) -> Run:
    """The `Run` of one trace's tables, named `trace`."""
    table = site_table(t)
    counts, waits = table.columns["count"].tolist(), (table.columns["wait_total_us"] / 1000).tolist()
    return Run(
        trace=trace,
        suspensions=int(len(t.arrays.suspensions["id"])),
        total_wait_ms=float(t.arrays.suspensions["wait_us"].sum()) / 1000,
        window_ms=time_accounting(t).window_us / 1000,
        failed_switches=int(len(t.failed_switches)),
        sites={str(site): (count, wait) for site, count, wait in zip(table.index.tolist(), counts, waits)},
        functions=_self_ms(t) if len(t.samples) else {},
    )


def _self_ms(t: Tables) -> dict[tuple[str, str], float]:
    """Self time (ms) per sampled function (function, file) with any."""
    rows = cpu_profile(t).functions
    return {
        (str(function), str(file)): us / 1000
        for function, file, us in zip(rows["function"], rows["file"], rows["self_us"].tolist())
        if us > 0
    }


def read_run(path: Path, trace: str) -> Run:
    """Read one trace file into its `Run`; raises `jspiprof.trace.TraceError` (or OSError) when it cannot be read."""
    return run_of(tables(read_trace(path)), trace)


def trace_files(folder: Path) -> list[Path]:
    """The trace files (*.jsonl) under `folder` and its subfolders, by path."""
    return sorted(folder.rglob("*.jsonl"))


def read_folder(folder: Path, advance: Callable[[int], object] = lambda traces: None) -> tuple[list[Run], list[str]]:
    """The runs of the `trace_files` of `folder`, each named by its path in the folder, and one line per trace that
    could not be read (skipped); `advance(1)` is called after each trace."""
    runs, skipped = [], []
    for path in trace_files(folder):
        name = path.relative_to(folder).as_posix()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a truncated trace is read as far as it goes
                runs.append(read_run(path, name))
        except (TraceError, OSError, UnicodeDecodeError) as error:
            skipped.append(f"{name}: {error}")
        advance(1)
    return runs, skipped


def _ms(value: float) -> float:
    return round(float(value), 3)


def fleet(runs: Iterable[Run], worst: int = WORST_RUNS) -> dict[str, Any]:
    """Per site across runs, and the runs with the most total wait (times in ms).

    `sites` (largest wait p95 first): site, runs (how many runs it appears in), count_p50/p95/max,
    wait_ms_p50/p95/max (its total wait per run), worst_trace (the run where it waited longest).
    `worst_runs` (most total wait first): trace, total_wait_ms, window_ms, suspensions, failed_switches.
    `cpu_functions` (largest self p95 first): function, file, runs (with samples of it on top), self_ms_p50/p95/max,
    worst_trace (the run where its self time was largest); empty when no trace has samples.
    """
    per_function: dict[tuple[str, str], tuple[list[float], list[str]]] = {}
    per_site: dict[str, tuple[list[int], list[float], list[str]]] = {}
    totals: list[tuple[float, str, float, int, int]] = []
    for run in runs:
        totals.append((run.total_wait_ms, run.trace, run.window_ms, run.suspensions, run.failed_switches))
        for site, (count, wait) in run.sites.items():
            counts, waits, traces = per_site.setdefault(site, ([], [], []))
            counts.append(count)
            waits.append(wait)
            traces.append(run.trace)
        for function, self_ms in run.functions.items():
            times, traces = per_function.setdefault(function, ([], []))
            times.append(self_ms)
            traces.append(run.trace)
    sites = []
    for site, (counts, waits, traces) in per_site.items():
        count_array, wait_array = np.array(counts, dtype=np.float64), np.array(waits, dtype=np.float64)
        count_p50, count_p95 = np.quantile(count_array, [0.5, 0.95]).tolist()
        wait_p50, wait_p95 = np.quantile(wait_array, [0.5, 0.95]).tolist()
        sites.append(
            {
                "site": site,
                "runs": len(counts),
                "count_p50": _ms(count_p50),
                "count_p95": _ms(count_p95),
                "count_max": int(count_array.max()),
                "wait_ms_p50": _ms(wait_p50),
                "wait_ms_p95": _ms(wait_p95),
                "wait_ms_max": _ms(wait_array.max()),
                "worst_trace": traces[int(wait_array.argmax())],
            }
        )
    sites.sort(key=lambda row: (-row["wait_ms_p95"], -row["runs"], row["site"]))
    totals.sort(key=lambda run: (-run[0], run[1]))
    return {
        "traces": len(totals),
        "sites": sites,
        "worst_runs": [
            {
                "trace": trace,
                "total_wait_ms": _ms(total),
                "window_ms": _ms(window),
                "suspensions": suspensions,
                "failed_switches": failed,
            }
            for total, trace, window, suspensions, failed in totals[:worst]
        ],
        "cpu_functions": _function_rows(per_function),
    }


def _function_rows(per_function: dict[tuple[str, str], tuple[list[float], list[str]]]) -> list[dict[str, Any]]:
    """Per sampled function, its self time per run at p50, p95 and max, largest p95 first."""
    rows = []
    for (function, file), (times, traces) in per_function.items():
        array = np.array(times, dtype=np.float64)
        p50, p95 = np.quantile(array, [0.5, 0.95]).tolist()
        rows.append(
            {
                "function": function,
                "file": file,
                "runs": len(times),
                "self_ms_p50": _ms(p50),
                "self_ms_p95": _ms(p95),
                "self_ms_max": _ms(array.max()),
                "worst_trace": traces[int(array.argmax())],
            }
        )
    return sorted(rows, key=lambda row: (-row["self_ms_p95"], -row["runs"], row["function"], row["file"]))
