"""The headline numbers of a trace, as one JSON-ready dict (what `jspiprof stats --json` prints)."""

from __future__ import annotations

from typing import Any

from jspiprof.analysis.cpu import cpu_summary
from jspiprof.analysis.insights import Insight
from jspiprof.analysis.stats import TimeAccounting, kind_stats, path_stats, site_stats, time_accounting
from jspiprof.analysis.tables import Tables


def _ms(us: float) -> float:
    return round(float(us) / 1000, 3)


def summary(t: Tables, found: list[Insight] | None = None) -> dict[str, Any]:
    """Counts, total wait, entries per kind, time accounting, and per-site / per-path numbers (times in ms).

    `sites` is sorted by total wait, largest first; each has site, count, wait_ms_total, wait_ms_mean,
    wait_ms_p50, wait_ms_p95, wait_ms_p99, wait_ms_max, resume_ms_total, max_depth, stack_bytes_max, paths.
    `cpu` is where running Python's time went, from the CPU samples (`jspiprof.analysis.cpu.cpu_summary`).
    """
    s = t.suspensions
    accounting: TimeAccounting = time_accounting(t)
    sites = site_stats(t)
    result: dict[str, Any] = {
        "suspensions": int(len(s)),
        "failed_switches": int(len(t.failed_switches)),
        "total_wait_ms": _ms(s["wait_us"].sum()),
        "total_resume_ms": _ms(s["resume_us"].sum()),
        "entries": {str(kind): int(n) for kind, n in t.entries["kind"].value_counts().sort_index().items()},
        "window_ms": _ms(accounting.window_us),
        "running_ms": _ms(accounting.running_us),
        "suspended_ms": _ms(accounting.suspended_us),
        "other_ms": _ms(accounting.other_us),
        "dropped": t.dropped,
        "complete": t.finished,
        "cpu": cpu_summary(t, accounting.running_us),
        "sites": [
            {
                "site": str(site),
                "count": int(row["count"]),
                "wait_ms_total": _ms(row["wait_total_us"]),
                "wait_ms_mean": _ms(row["wait_mean_us"]),
                "wait_ms_p50": _ms(row["wait_p50_us"]),
                "wait_ms_p95": _ms(row["wait_p95_us"]),
                "wait_ms_p99": _ms(row["wait_p99_us"]),
                "wait_ms_max": _ms(row["wait_max_us"]),
                "resume_ms_total": _ms(row["resume_total_us"]),
                "max_depth": int(row["depth_max"]),
                "stack_bytes_max": int(row["stack_bytes_max"]),
                "paths": row["paths"].split(", "),
            }
            for site, row in sites.iterrows()
        ],
        "paths": {
            str(path): {"count": int(row["count"]), "wait_ms_total": _ms(row["wait_total_us"])}
            for path, row in path_stats(t).iterrows()
        },
        "kinds": {
            str(kind): {
                "entries": int(row["entries"]),
                "suspensions": int(row["suspensions"]),
                "wait_ms_total": _ms(row["wait_total_us"]),
            }
            for kind, row in kind_stats(t).iterrows()
        },
    }
    if found is not None:
        result["insights"] = [
            {
                "kind": i.kind,
                "title": i.title,
                "site": i.site,
                "at_stake_ms": _ms(i.at_stake_us),
                "evidence": i.evidence,
                "suggestion": i.suggestion,
            }
            for i in found
        ]
    return result
