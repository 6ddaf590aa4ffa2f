"""Charts and tables of the CPU samples: a flame graph of running Python weighted by samples, and the hottest
functions and lines, as the HTML report shows them."""

from __future__ import annotations

import pandas as pd

from jspiprof.analysis.cpu import CpuProfile, frame_details
from jspiprof.analysis.stats import StatsTable
from jspiprof.analysis.tables import Tables
from jspiprof.render.views import ENTRY_COLOR, LIBRARY_COLOR, NO_TRACE_NAME, USER_COLOR, FigureSpec, label_text

TOP_ROWS = 30
"""Rows of the functions and lines tables."""


def cpu_flame_graph_spec(tables: Tables, profile: CpuProfile) -> FigureSpec:
    """An icicle of the sampled Python stacks (outermost at the top), each weighted by the time its samples stand
    for."""
    frames = frame_details(tables)
    root = "all sampled Python"
    nodes: dict[str, list] = {root: [root, "", 0.0, ENTRY_COLOR]}
    for stack, weight in zip(profile.stacks["frames"], profile.stacks["weight_us"]):
        parent = root
        nodes[root][2] += weight
        for frame in stack:
            node = f"{parent}/{frame}"
            if node not in nodes:
                details = frames[frame]
                label = label_text(f"{details.function} ({details.file.rsplit('/', 1)[-1]}:{details.line})")
                color = LIBRARY_COLOR if details.library else USER_COLOR
                nodes[node] = [label, parent, 0.0, color]
            nodes[node][2] += weight
            parent = node
    ids = list(nodes)
    labels, parents, values, colors = (list(column) for column in zip(*nodes.values()))
    icicle = {
        "type": "icicle",
        "ids": ids,
        "labels": labels,
        "parents": parents,
        "values": [float(value) / 1000 for value in values],
        "branchvalues": "total",
        "marker": {"colors": colors},
        "tiling": {"orientation": "v"},
        "maxdepth": 12,
        "hovertemplate": "%{label}<br>%{value:,.1f} ms sampled (%{percentRoot:.1%})",
        "hoverlabel": NO_TRACE_NAME,
    }
    return {
        "data": [icicle],
        "layout": {
            "title": {"text": f"CPU flame graph: running Python, {profile.samples:,} samples"},
            "height": 520,
            "margin": {"t": 50, "l": 10, "r": 10, "b": 10},
        },
    }


def function_table(profile: CpuProfile) -> StatsTable:
    """The functions with the most self time: self and total time (µs) and their shares of sampled Python time."""
    rows = profile.functions.head(TOP_ROWS)
    share = 100 / max(profile.python_us, 1e-9)
    return StatsTable(
        pd.Index(rows["function"], name="function"),
        {
            "self_us": rows["self_us"].to_numpy(),
            "self %": (rows["self_us"] * share).round(1).to_numpy(),
            "total_us": rows["total_us"].to_numpy(),
            "total %": (rows["total_us"] * share).round(1).to_numpy(),
            "file": rows["file"].to_numpy(),
        },
    )


def line_table(profile: CpuProfile) -> StatsTable:
    """The lines most often on top of the stack: self time (µs) and share of sampled Python time."""
    rows = profile.lines.head(TOP_ROWS)
    return StatsTable(
        pd.Index(rows["site"], name="line"),
        {
            "function": rows["function"].to_numpy(),
            "self_us": rows["self_us"].to_numpy(),
            "self %": (rows["self_us"] * 100 / max(profile.python_us, 1e-9)).round(1).to_numpy(),
        },
    )
