"""Plotly figures of a trace: flame chart over time, flame graphs, wait histogram, depth against wait.

Each chart is built as a plain figure spec (`{"data": [traces], "layout": {...}}`, numbers as numpy arrays) that
plotly.js draws as it is: the HTML report serializes the specs directly, without the validation of plotly's
graph objects, which costs more than building them. `flame_chart`, `flame_graph`, ... return the same charts
as `plotly.graph_objects.Figure`s, for Jupyter.

Every figure stays light on big traces: past a budget of spans, the flame chart draws frames and suspensions
as spans over the 2000 time columns they occupy, lines are drawn with WebGL (`scattergl`), histograms are
binned in Python, and depth against wait becomes a density heatmap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from jspiprof.analysis import Tables, running_before_switch
from jspiprof.analysis.spans import column_spans, frame_spans

COLUMNS = 2000
"""Time resolution of the flame chart: spans closer than 1/COLUMNS of the run are merged."""
SPAN_BUDGET = 20_000
"""Up to this many spans (suspensions + frames), each is drawn by itself; above, spans are merged per time column."""
MAX_TRACKS = 40
"""Entries with suspensions get their own track, the longest MAX_TRACKS of them; the others share one track."""
SCATTER_LIMIT = 20_000
"""Depth against wait draws points up to this many suspensions, and a density heatmap above."""

PATH_COLORS = {
    "urllib3": "#d62728", "run_sync": "#ff7f0e", "time.sleep": "#9467bd", "asyncio.run": "#8c564b",
    "run_until_complete": "#e377c2", "socket": "#bcbd22", "ssl": "#17becf", "other": "#7f7f7f",
}
USER_COLOR, LIBRARY_COLOR, ENTRY_COLOR = "#1f77b4", "#aec7e8", "#2ca02c"
ROW_PX = 18

FigureSpec = dict[str, Any]
"""A plotly figure as plotly.js takes it: `data` (a list of traces) and `layout`."""


def _frame_labels(t: Tables) -> pd.Series:
    f = t.frames
    return f["function"].astype(str) + " (" + f["file"].astype(str).str.rsplit("/", n=1).str[-1] + ":" + f["line"].astype(str) + ")"


def _spans(t: Tables, column_us: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suspension and frame spans to draw: exact when they fit in SPAN_BUDGET, else by time column."""
    if len(t.suspensions) <= SPAN_BUDGET // 4:  # each suspension adds frame spans too: more rarely fits
        suspensions = t.suspensions[["entry", "stack_id", "path", "start_us", "end_us", "wait_us", "depth"]].assign(count=1)
        frames = frame_spans(t, suspensions)
        if len(suspensions) + len(frames) <= SPAN_BUDGET:
            return suspensions, frames
    return column_spans(t, column_us)


def _segments(x0: pd.Series, x1: pd.Series, y: pd.Series, text: list[str]) -> dict[str, np.ndarray]:
    """Line segments x0-x1 at height y, separated by gaps, with hover text on both ends."""
    n = len(x0)
    xs, ys, texts = np.empty(3 * n), np.empty(3 * n), np.empty(3 * n, dtype=object)
    xs[0::3], xs[1::3], xs[2::3] = x0.to_numpy(float), x1.to_numpy(float), np.nan
    ys[0::3], ys[1::3], ys[2::3] = y.to_numpy(float), y.to_numpy(float), np.nan
    labels = np.array(text, dtype=object)
    texts[0::3], texts[1::3], texts[2::3] = labels, labels, ""  # not None: plotly turns each None into JSON slowly
    return {"x": xs, "y": ys, "text": texts}


def _tracks(t: Tables) -> tuple[pd.Series, pd.Series, list[tuple[float, str]]]:
    """Row offset of each entry's track, the row of each entry's own span, and the track labels."""
    e = t.entries
    deepest = t.suspensions.groupby("entry")["depth"].max()
    with_suspensions = e[e["id"].isin(deepest.index)].nlargest(MAX_TRACKS, "duration_us").sort_values("start_us")
    offsets, labels, row = {}, [], 0
    for _, entry in with_suspensions.iterrows():
        offsets[entry["id"]] = row
        name = entry["name"] if isinstance(entry["name"], str) else ""
        labels.append((row, f"entry {entry['id']} {entry['kind']} {name}".strip()))
        row += int(deepest[entry["id"]]) + 3
    others = e[~e["id"].isin(offsets)]
    if len(others):
        labels.append((row, f"{len(others):,} other entries"))
    shared = row
    offset = e["id"].map(offsets)
    return offset, offset.fillna(shared), labels


def flame_chart_spec(t: Tables) -> FigureSpec:
    """Entries, the Python frames live at their suspensions (by depth) and the suspensions themselves, over time.

    One track per entry (entries without suspensions share the last track). Times are ms from the first entry.
    """
    column_us = max(t.duration_us, 1.0) / COLUMNS
    offset, entry_row, labels = _tracks(t)
    offset.index = t.entries["id"]
    entry_row.index = t.entries["id"]
    ms = lambda us: (us - t.start_us) / 1000  # noqa: E731 - local unit conversion
    data = []

    e = t.entries
    entry_text = [f"entry {entry} {kind} {name}<br>{duration} ms" for entry, kind, name, duration in zip(  # one f-string each: faster than pandas string arithmetic
        e["id"].tolist(), e["kind"].tolist(), e["name"].fillna("").tolist(), (e["duration_us"] / 1000).round(3).tolist())]
    data.append({"type": "scattergl", "name": "entries", "mode": "lines", "line": {"width": ROW_PX - 4, "color": ENTRY_COLOR}, "hoverinfo": "text",
                 **_segments(ms(e["start_us"]), ms(e["end_us"]), e["id"].map(entry_row), entry_text)})

    pieces, spans = _spans(t, column_us)
    labels_by_frame = _frame_labels(t)
    library = t.frames["library"].astype(bool)
    for is_library, group in spans.groupby(spans["frame"].map(library), sort=True):
        text = [f"{label}<br>across {count} suspension(s)" for label, count in zip(group["frame"].map(labels_by_frame).tolist(), group["count"].tolist())]
        data.append({
            "type": "scattergl", "name": "library frames" if is_library else "your frames", "mode": "lines", "hoverinfo": "text",
            "line": {"width": ROW_PX - 4, "color": LIBRARY_COLOR if is_library else USER_COLOR},
            **_segments(ms(group["start_us"]), ms(group["end_us"]), group["entry"].map(offset) + group["depth"], text)})
    for path, group in pieces.groupby("path", sort=True):
        text = [f"suspended: {path}<br>{count} suspension(s), wait {ms} ms" for count, ms in zip(group["count"].tolist(), (group["wait_us"] / 1000).round(3).tolist())]
        rows = group["entry"].map(offset).fillna(group["entry"].map(entry_row)) + group["depth"] + 1
        data.append({
            "type": "scattergl", "name": f"suspension: {path}", "mode": "lines", "hoverinfo": "text",
            "line": {"width": ROW_PX - 4, "color": PATH_COLORS.get(str(path), "#7f7f7f")},
            **_segments(ms(group["start_us"]), ms(group["end_us"]), rows, text)})

    rows = max([row for row, _ in labels] + [0]) + int(t.suspensions["depth"].max() if len(t.suspensions) else 0) + 3
    layout = {
        "title": {"text": "Flame chart: entries, Python frames and suspensions over time"},
        "height": min(160 + rows * ROW_PX, 4000), "xaxis": {"title": {"text": "time since the first entry (ms)"}}, "hovermode": "closest",
        "yaxis": {"autorange": "reversed", "tickvals": [row for row, _ in labels], "ticktext": [label for _, label in labels], "zeroline": False},
        "legend": {"orientation": "h", "y": -0.15 if rows < 20 else -0.05},
        "margin": {"l": 220},
    }
    return {"data": data, "layout": layout}


def flame_graph_spec(t: Tables, weight: str) -> FigureSpec:
    """An icicle of the aggregated Python stacks at the suspensions (outermost at the top).

    `weight="wait"`: each suspension's wait, in a leaf named after its path. `weight="running"`: the Python
    running time of the entry between its previous switch and this one, charged to the stack at this switch.
    """
    s = t.suspensions
    values = s["wait_us"] if weight == "wait" else running_before_switch(t)
    per_stack = pd.DataFrame({"stack_id": s["stack_id"], "path": s["path"], "value": values}).groupby(["stack_id", "path"], sort=False)["value"].sum()
    labels_by_frame = _frame_labels(t)
    library = t.frames["library"].astype(bool)
    root = "all suspensions" if weight == "wait" else "all running time"
    nodes: dict[str, list] = {root: [root, "", 0.0, ENTRY_COLOR]}
    for (stack_id, path), value in per_stack.items():
        parent = root
        nodes[root][2] += value
        for frame in t.stacks[stack_id]:
            node = f"{parent}/{frame}"
            if node not in nodes:
                nodes[node] = [labels_by_frame.get(frame, str(frame)), parent, 0.0, LIBRARY_COLOR if library.get(frame, True) else USER_COLOR]
            nodes[node][2] += value
            parent = node
        if weight == "wait":
            leaf = f"{parent}/:{path}"
            nodes.setdefault(leaf, [f"suspended: {path}", parent, 0.0, PATH_COLORS.get(str(path), "#7f7f7f")])[2] += value
    ids = list(nodes)
    label, parents, value, color = (list(column) for column in zip(*nodes.values()))
    icicle = {
        "type": "icicle", "ids": ids, "labels": label, "parents": parents, "values": [float(v) / 1000 for v in value], "branchvalues": "total",
        "marker": {"colors": color}, "tiling": {"orientation": "v"}, "maxdepth": 12,
        "hovertemplate": "%{label}<br>%{value:,.3f} ms (%{percentRoot:.1%})<extra></extra>",
    }
    what = "time suspended (wait)" if weight == "wait" else "Python running time before each switch"
    return {"data": [icicle], "layout": {"title": {"text": f"Flame graph weighted by {what}"}, "height": 520, "margin": {"t": 50, "l": 10, "r": 10, "b": 10}}}


def _wait_bins(waits_ms: np.ndarray) -> np.ndarray:
    low = max(float(waits_ms.min()), 1e-3) if len(waits_ms) else 1e-3
    high = max(float(waits_ms.max()), low * 10) if len(waits_ms) else 1.0
    return np.logspace(np.floor(np.log10(low)), np.ceil(np.log10(high)), 41)


def wait_histogram_spec(t: Tables) -> FigureSpec:
    """How many suspensions waited how long (log-spaced bins), stacked by path."""
    s = t.suspensions
    waits = s["wait_us"].to_numpy(float) / 1000
    edges = _wait_bins(waits)
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
    data = []
    for path, group in s.groupby("path", sort=True):
        counts, _ = np.histogram(np.clip(group["wait_us"].to_numpy(float) / 1000, edges[0], edges[-1]), bins=edges)
        data.append({"type": "bar", "x": labels, "y": counts, "name": str(path), "marker": {"color": PATH_COLORS.get(str(path), "#7f7f7f")}})
    layout = {"title": {"text": "Wait per suspension"}, "barmode": "stack", "xaxis": {"title": {"text": "wait (ms, log-spaced bins)"}},
              "yaxis": {"title": {"text": "suspensions"}}, "height": 420}
    return {"data": data, "layout": layout}


def depth_vs_wait_spec(t: Tables) -> FigureSpec:
    """Python stack depth against wait, one point per suspension (a density heatmap on big traces)."""
    s = t.suspensions
    data = []
    layout = {"title": {"text": "Stack depth against wait"}, "xaxis": {"title": {"text": "Python stack depth (frames)"}},
              "yaxis": {"title": {"text": "wait (ms)"}}, "height": 420}
    if len(s) <= SCATTER_LIMIT:
        for path, group in s.groupby("path", sort=True):
            data.append({
                "type": "scattergl", "x": group["depth"].to_numpy(), "y": group["wait_us"].to_numpy(float) / 1000, "mode": "markers",
                "name": str(path), "opacity": 0.6, "marker": {"color": PATH_COLORS.get(str(path), "#7f7f7f"), "size": 7},
                "text": group["site"].to_numpy(object), "hovertemplate": "%{text}<br>depth %{x}<br>wait %{y:,.3f} ms<extra></extra>"})
        layout["yaxis"]["type"] = "log"
    else:
        waits = s["wait_us"].to_numpy(float) / 1000
        edges = _wait_bins(waits)
        depths = np.arange(s["depth"].min(), s["depth"].max() + 2)
        counts, _, _ = np.histogram2d(s["depth"].to_numpy(float), np.clip(waits, edges[0], edges[-1]), bins=[depths, edges])
        data.append({"type": "heatmap", "x": depths[:-1], "y": [f"{edges[i]:.3g}" for i in range(len(edges) - 1)], "z": np.log10(counts.T + 1),
                     "customdata": counts.T, "colorscale": "Viridis", "colorbar": {"title": {"text": "log10 count"}},
                     "hovertemplate": "depth %{x}<br>wait ≥ %{y} ms<br>%{customdata:,} suspensions<extra></extra>"})
    return {"data": data, "layout": layout}


def flame_chart(t: Tables) -> go.Figure:
    """`flame_chart_spec` as a plotly Figure."""
    return go.Figure(flame_chart_spec(t))


def flame_graph(t: Tables, weight: str) -> go.Figure:
    """`flame_graph_spec` as a plotly Figure."""
    return go.Figure(flame_graph_spec(t, weight))


def wait_histogram(t: Tables) -> go.Figure:
    """`wait_histogram_spec` as a plotly Figure."""
    return go.Figure(wait_histogram_spec(t))


def depth_vs_wait(t: Tables) -> go.Figure:
    """`depth_vs_wait_spec` as a plotly Figure."""
    return go.Figure(depth_vs_wait_spec(t))
