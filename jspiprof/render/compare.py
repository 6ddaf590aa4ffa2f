"""The views of a before/after comparison (`jspiprof.analysis.compare`): terminal text, a differential flame graph
and an HTML page."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from jspiprof.analysis.compare import DifferentialNode
from jspiprof.render import page
from jspiprof.render.console import TOP_SITES
from jspiprof.render.text_table import text_table


def _signed(ms: float) -> str:
    return f"{ms:+,.1f}"


def render(result: dict[str, Any], top: int = TOP_SITES) -> str:
    """The comparison as plain text: what was saved overall, then the sites that changed most."""
    before, after = result["before"], result["after"]
    lines = [
        f"total wait: {before['total_wait_ms']:,.1f} ms -> {after['total_wait_ms']:,.1f} ms "
        f"(saved {result['wait_saved_ms']:,.1f} ms)",
        f"run window: {before['window_ms']:,.1f} ms -> {after['window_ms']:,.1f} ms "
        f"(saved {result['window_saved_ms']:,.1f} ms)",
        f"suspensions: {before['suspensions']:,} -> {after['suspensions']:,}   "
        f"failed switches: {before['failed_switches']:,} -> {after['failed_switches']:,}",
    ]
    sites = result["sites"][:top]
    if sites:
        lines += ["", f"sites by change in total wait ({len(sites)} of {len(result['sites'])}):"]
        lines += text_table(
            ["site", "function", "status", "count", "wait ms before", "after", "saved ms"],
            [
                [
                    s["site"] + (f" (was :{s['site_before'].rpartition(':')[2]})" if s["match"] == "moved" else ""),
                    s["function"],
                    s["status"],
                    f"{s['count_before']:,} -> {s['count_after']:,}",
                    f"{s['wait_ms_before']:,.1f}",
                    f"{s['wait_ms_after']:,.1f}",
                    _signed(s["wait_ms_saved"]),
                ]
                for s in sites
            ],
        )
    return "\n".join(lines + [""] + cpu_lines(result, top))


def cpu_lines(result: dict[str, Any], top: int = TOP_SITES) -> list[str]:
    """The CPU moved per function, as text: the sampled Python time of both runs, then the functions whose self time
    changed most; one line when either trace has no samples."""
    if result["cpu_note"]:
        return [f"CPU: {result['cpu_note']}"]
    python_ms = result["cpu_python_ms"]
    rows = result["cpu_functions"][:top]
    lines = [f"CPU (sampled Python): {python_ms['before']:,.1f} ms -> {python_ms['after']:,.1f} ms"]
    if rows:
        lines += ["", f"CPU moved, by change in self time ({len(rows)} of {len(result['cpu_functions'])}):"]
        lines += text_table(
            ["function", "file", "status", "self ms before", "after", "change", "total ms before", "after", "change"],
            [
                [
                    row["function"],
                    row["file"],
                    row["status"],
                    f"{row['self_ms_before']:,.1f}",
                    f"{row['self_ms_after']:,.1f}",
                    _signed(row["self_ms_change"]),
                    f"{row['total_ms_before']:,.1f}",
                    f"{row['total_ms_after']:,.1f}",
                    _signed(row["total_ms_change"]),
                ]
                for row in rows
            ],
        )
    return lines


_KINDS = {
    "wait": ("all suspensions", "wait", "Differential flame graph of wait"),
    "cpu": ("all sampled Python", "CPU", "Differential flame graph of CPU (sampled Python)"),
}
"""Per kind of differential flame graph: its root's name, what its time is called, its title."""


def differential_flame_graph(nodes: list[DifferentialNode], kind: str = "wait") -> go.Figure:
    """An icicle of the stacks of both runs (`kind` "wait" or "cpu"): width is the time of both together, colour the
    change (blue: less time after, red: more), hover shows both."""
    root, what, title = _KINDS[kind]
    ids = ["/".join(node.stack) or root for node in nodes]
    change = [node.ms_after - node.ms_before for node in nodes]
    limit = max((abs(c) for c in change), default=0.0) or 1.0
    figure = go.Figure(
        go.Icicle(
            ids=ids,
            labels=[node.stack[-1] if node.stack else root for node in nodes],
            parents=["" if not node.stack else "/".join(node.stack[:-1]) or root for node in nodes],
            values=[node.ms_before + node.ms_after for node in nodes],
            branchvalues="total",
            customdata=[[node.ms_before, node.ms_after] for node in nodes],
            marker={"colors": change, "colorscale": "RdBu_r", "cmin": -limit, "cmax": limit, "showscale": True},
            tiling={"orientation": "v"},
            hovertemplate=f"%{{label}}<br>{what} before %{{customdata[0]:,.3f}} ms, after %{{customdata[1]:,.3f}} ms"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"{title} (width: both runs; colour: after minus before, ms)",
        height=520,
        margin={"t": 50, "l": 10, "r": 10, "b": 10},
    )
    return figure


def html(
    result: dict[str, Any], nodes: list[DifferentialNode], title: str, cpu_nodes: list[DifferentialNode] = ()
) -> str:
    """The comparison as a self-contained HTML page: headline changes, the differential flame graphs of wait and of
    CPU (`cpu_nodes`; when either trace has no samples, the one line saying so instead), site and function tables,
    and the CPU moved per function."""
    before, after = result["before"], result["after"]
    cpu: list[page.Section] = [page.paragraph(f"CPU: {result['cpu_note']}")]
    if not result["cpu_note"]:
        cpu = [
            differential_flame_graph(list(cpu_nodes), "cpu"),
            page.heading("CPU moved per function (self and total ms; change: after minus before)"),
            page.table(result["cpu_functions"], "No sampled function in either trace."),
        ]
    return page.render(
        title,
        [
            page.cards(
                {
                    "wait saved": f"{result['wait_saved_ms']:,.1f} ms",
                    "run window saved": f"{result['window_saved_ms']:,.1f} ms",
                    "total wait": f"{before['total_wait_ms']:,.1f} -> {after['total_wait_ms']:,.1f} ms",
                    "suspensions": f"{before['suspensions']:,} -> {after['suspensions']:,}",
                    "failed switches": f"{before['failed_switches']:,} -> {after['failed_switches']:,}",
                }
            ),
            differential_flame_graph(nodes),
            cpu[0],
            page.heading("Sites"),
            page.table(result["sites"], "No suspension in either trace."),
            page.heading("Functions"),
            page.table(result["functions"], "No suspension in either trace."),
            *cpu[1:],
        ],
    )
