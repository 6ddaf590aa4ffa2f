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
    return "\n".join(lines)


def differential_flame_graph(nodes: list[DifferentialNode]) -> go.Figure:
    """An icicle of the stacks of both runs: width is the wait of both together, colour the change (blue: less wait
    after, red: more), hover shows both."""
    ids = ["/".join(node.stack) or "all suspensions" for node in nodes]
    change = [node.wait_ms_after - node.wait_ms_before for node in nodes]
    limit = max((abs(c) for c in change), default=0.0) or 1.0
    figure = go.Figure(
        go.Icicle(
            ids=ids,
            labels=[node.stack[-1] if node.stack else "all suspensions" for node in nodes],
            parents=["" if not node.stack else "/".join(node.stack[:-1]) or "all suspensions" for node in nodes],
            values=[node.wait_ms_before + node.wait_ms_after for node in nodes],
            branchvalues="total",
            customdata=[[node.wait_ms_before, node.wait_ms_after] for node in nodes],
            marker={"colors": change, "colorscale": "RdBu_r", "cmin": -limit, "cmax": limit, "showscale": True},
            tiling={"orientation": "v"},
            hovertemplate="%{label}<br>wait before %{customdata[0]:,.3f} ms, after %{customdata[1]:,.3f} ms"
            "<extra></extra>",
        )
    )
    figure.update_layout(
        title="Differential flame graph of wait (width: both runs; colour: after minus before, ms)",
        height=520,
        margin={"t": 50, "l": 10, "r": 10, "b": 10},
    )
    return figure


def html(result: dict[str, Any], nodes: list[DifferentialNode], title: str) -> str:
    """The comparison as a self-contained HTML page: headline changes, the differential flame graph, site and
    function tables."""
    before, after = result["before"], result["after"]
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
            page.heading("Sites"),
            page.table(result["sites"], "No suspension in either trace."),
            page.heading("Functions"),
            page.table(result["functions"], "No suspension in either trace."),
        ],
    )
