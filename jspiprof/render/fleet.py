"""The views of a fleet of runs (`jspiprof.analysis.fleet`): terminal text and an HTML page."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from jspiprof.render import page
from jspiprof.render.console import TOP_SITES
from jspiprof.render.text_table import text_table


def render(result: dict[str, Any], top: int = TOP_SITES) -> str:
    """The fleet as plain text: per site across runs (largest wait p95 first), then the worst runs."""
    lines = [f"traces: {result['traces']:,}" + (f"   skipped: {result['skipped']:,}" if result.get("skipped") else "")]
    sites = result["sites"][:top]
    if sites:
        lines += ["", f"sites by wait p95 across runs ({len(sites)} of {len(result['sites'])}):"]
        lines += text_table(
            ["site", "runs", "count p50", "p95", "max", "wait ms p50", "p95", "max", "worst trace"],
            [
                [
                    s["site"],
                    f"{s['runs']:,}",
                    f"{s['count_p50']:,.0f}",
                    f"{s['count_p95']:,.0f}",
                    f"{s['count_max']:,}",
                    f"{s['wait_ms_p50']:,.1f}",
                    f"{s['wait_ms_p95']:,.1f}",
                    f"{s['wait_ms_max']:,.1f}",
                    s["worst_trace"],
                ]
                for s in sites
            ],
        )
    if result["worst_runs"]:
        lines += ["", "worst runs by total wait:"]
        lines += text_table(
            ["trace", "total wait ms", "run window ms", "suspensions", "failed switches"],
            [
                [
                    r["trace"],
                    f"{r['total_wait_ms']:,.1f}",
                    f"{r['window_ms']:,.1f}",
                    f"{r['suspensions']:,}",
                    f"{r['failed_switches']:,}",
                ]
                for r in result["worst_runs"]
            ],
        )
    functions = result.get("cpu_functions", [])[:top]
    if functions:
        lines += [
            "",
            f"CPU: functions by self time p95 across runs ({len(functions)} of {len(result['cpu_functions'])}):",
        ]
        lines += text_table(
            ["function", "file", "runs", "self ms p50", "p95", "max", "worst trace"],
            [
                [
                    f["function"],
                    f["file"],
                    f"{f['runs']:,}",
                    f"{f['self_ms_p50']:,.1f}",
                    f"{f['self_ms_p95']:,.1f}",
                    f"{f['self_ms_max']:,.1f}",
                    f["worst_trace"],
                ]
                for f in functions
            ],
        )
    return "\n".join(lines)


def site_waits_figure(result: dict[str, Any], top: int = TOP_SITES) -> go.Figure:
    """Per site (the `top` by wait p95), its wait per run at p50, p95 and max, as grouped bars."""
    sites = list(reversed(result["sites"][:top]))
    figure = go.Figure(
        [
            go.Bar(name=label, y=[s["site"] for s in sites], x=[s[key] for s in sites], orientation="h")
            for label, key in (("p50", "wait_ms_p50"), ("p95", "wait_ms_p95"), ("max", "wait_ms_max"))
        ]
    )
    figure.update_layout(
        title="Total wait per run at each site (ms)",
        barmode="group",
        height=200 + 60 * len(sites),
        margin={"l": 320},
    )
    return figure


def html(result: dict[str, Any], title: str) -> str:
    """The fleet as a self-contained HTML page: counts, per-site bars, the site table and the worst runs."""
    return page.render(
        title,
        [
            page.cards({"traces": f"{result['traces']:,}", "skipped": f"{result.get('skipped', 0):,}"}),
            site_waits_figure(result),
            page.heading("Sites across runs"),
            page.table(result["sites"], "No suspension in any trace."),
            page.heading("Worst runs by total wait"),
            page.table(result["worst_runs"], "No trace."),
            page.heading("CPU: self time per run of each sampled function"),
            page.table(result.get("cpu_functions", []), "No CPU samples in any trace."),
        ],
    )
