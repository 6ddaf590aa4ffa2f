"""The headline numbers of a trace, as one JSON-ready dict (what `jspiprof stats --json` prints)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from jspiprof.analysis.cpu import cpu_summary
from jspiprof.analysis.insights import Insight
from jspiprof.analysis.instances import instance_summaries
from jspiprof.analysis.stats import kind_table, rounded_ms, site_rows, time_accounting, wait_table
from jspiprof.analysis.tables import Tables


def _paths(tables: Tables) -> dict[str, dict[str, Any]]:
    table = wait_table(tables.arrays.suspensions, "path")
    counts, waits = table.columns["count"], table.columns["wait_total_us"]
    return {
        str(path): {"count": int(counts[row]), "wait_ms_total": rounded_ms(waits[row])}
        for row, path in enumerate(table.index)
    }


def _kinds(tables: Tables) -> dict[str, dict[str, Any]]:
    table = kind_table(tables)
    columns = table.columns
    return {
        str(kind): {
            "entries": int(columns["entries"][row]),
            "suspensions": int(columns["suspensions"][row]),
            "wait_ms_total": rounded_ms(columns["wait_total_us"][row]),
        }
        for row, kind in enumerate(table.index)
    }


def summary(tables: Tables, insights: list[Insight] | None = None) -> dict[str, Any]:
    """Counts, total wait, entries per kind, time accounting, and per-site / per-path numbers (times in ms).

    `callers_not_sampled` counts the entries whose JS caller the hook did not read (it samples them): their `caller`
    is unknown, so counts of entries per caller are of a sample.

    `sites` is sorted by total wait, largest first; each has site, count, wait_ms_total, wait_ms_mean,
    wait_ms_p50, wait_ms_p95, wait_ms_p99, wait_ms_max, resume_ms_total, max_depth, stack_bytes_max, paths.
    With `insights`, they are listed too (kind, title, site, at_stake_ms, evidence, suggestion).
    `cpu` is where running Python's time went, from the CPU samples (`jspiprof.analysis.cpu.cpu_summary`).
    `instances` has the numbers of each Pyodide instance (`jspiprof.analysis.instances.instance_summaries`).
    """
    suspensions = tables.arrays.suspensions
    accounting = time_accounting(tables)
    entries = Counter(tables.arrays.entries["kind"].tolist())
    result: dict[str, Any] = {
        "suspensions": len(suspensions["id"]),
        "failed_switches": len(tables.arrays.failed_switches["ts_us"]),
        "total_wait_ms": rounded_ms(suspensions["wait_us"].sum()),
        "total_resume_ms": rounded_ms(suspensions["resume_us"].sum()),
        "entries": {str(kind): entries[kind] for kind in sorted(entries)},
        "callers_not_sampled": int((~tables.arrays.entries["caller_sampled"]).sum()),
        "window_ms": rounded_ms(accounting.window_us),
        "running_ms": rounded_ms(accounting.running_us),
        "suspended_ms": rounded_ms(accounting.suspended_us),
        "other_ms": rounded_ms(accounting.other_us),
        "dropped": tables.dropped,
        "complete": tables.finished,
        "snapshot": tables.snapshot_us is not None,
        "instances": instance_summaries(tables),
        "cpu": cpu_summary(tables, accounting.running_us),
        "sites": site_rows(tables),
        "paths": _paths(tables),
        "kinds": _kinds(tables),
    }
    if insights is not None:
        result["insights"] = [
            {
                "kind": insight.kind,
                "title": insight.title,
                "site": insight.site,
                "at_stake_ms": rounded_ms(insight.at_stake_us),
                "evidence": insight.evidence,
                "suggestion": insight.suggestion,
            }
            for insight in insights
        ]
    return result
