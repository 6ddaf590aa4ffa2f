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

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from jspiprof.analysis import Tables, running_before_switch
from jspiprof.analysis.cpu import sampled_spans
from jspiprof.analysis.groups import Groups, rows_of
from jspiprof.analysis.instances import instance_labels
from jspiprof.analysis.spans import column_spans, frame_spans, single_pieces
from jspiprof.analysis.tables import Columns
from jspiprof.render.terminal import printable

COLUMNS = 2000
"""Time resolution of the flame chart: spans closer than 1/COLUMNS of the run are merged."""
SPAN_BUDGET = 20_000
"""Up to this many spans (suspensions + frames), each is drawn by itself; above, spans are merged per time column."""
MAX_TRACKS = 40
"""Entries with suspensions get their own track, the longest MAX_TRACKS of them; the others share one track."""
SCATTER_LIMIT = 20_000
"""Depth against wait draws points up to this many suspensions, and a density heatmap above."""

PATH_COLORS = {
    "urllib3": "#d62728",
    "run_sync": "#ff7f0e",
    "time.sleep": "#9467bd",
    "asyncio.run": "#8c564b",
    "run_until_complete": "#e377c2",
    "socket": "#bcbd22",
    "ssl": "#17becf",
    "other": "#7f7f7f",
}
USER_COLOR, LIBRARY_COLOR, ENTRY_COLOR = "#1f77b4", "#aec7e8", "#2ca02c"
SAMPLED_USER_COLOR, SAMPLED_LIBRARY_COLOR = "#ff9f1c", "#ffd8a8"
"""Sampled frames (Python running between switches), apart from the frames live across suspensions."""
ROW_PX = 18
NO_TRACE_NAME = {"namelength": 0}
"""A hover label without the trace's name beside it (as `<extra></extra>` in a hovertemplate, without a "</" that a
<script> element must escape)."""

FigureSpec = dict[str, Any]
"""A plotly figure as plotly.js takes it: `data` (a list of traces) and `layout`."""


def label_text(text: object) -> str:
    """A string from the trace as plotly shows it, literally: plotly draws a subset of HTML in every label (`<a href>`
    links, `<b>`, `<br>`, a newline as a line break) and fills `%{...}` fields in templates, so `&`, `<`, `>` and `%`
    are written as the entities plotly turns back into those characters, and control characters as escapes."""
    return html.escape(printable(str(text)), quote=False).replace("%", "&#37;")


def _label_texts(values: Any) -> np.ndarray:
    """`label_text` of each value of a categorical column (missing values: empty), each distinct value escaped once."""
    values = pd.Categorical(values)
    labels = np.array([label_text(value) for value in values.categories] + [""], dtype=object)
    return labels[values.codes]  # code -1 (missing) picks the last label, the empty one


def _frame_labels(tables: Tables) -> dict[int, str]:
    """`function (file:line)` of each frame id (the file without its folders)."""
    frames = tables.arrays.frames
    return {
        frame: label_text(f"{function} ({str(file).rsplit('/', 1)[-1]}:{line})")
        for frame, function, file, line in zip(
            frames["id"].tolist(), frames["function"].tolist(), frames["file"].tolist(), frames["line"].tolist()
        )
    }


def _libraries(tables: Tables) -> dict[int, bool]:
    """Whether each frame id is library code."""
    return dict(zip(tables.arrays.frames["id"].tolist(), tables.arrays.frames["library"].tolist()))


def _path_groups(paths: pd.Categorical) -> list[tuple[str, np.ndarray]]:
    """The rows of each path seen, paths in order."""
    codes = paths.codes
    return [(str(paths.categories[code]), np.flatnonzero(codes == code)) for code in np.unique(codes[codes >= 0])]


def _spans(tables: Tables, column_us: float) -> tuple[Columns, Columns]:
    """Suspension and frame spans to draw: exact when they fit in SPAN_BUDGET, else by time column."""
    count = len(tables.arrays.suspensions["id"])
    if count <= SPAN_BUDGET // 4:  # each suspension adds frame spans too: more rarely fits
        pieces = single_pieces(tables)
        frames = frame_spans(tables, pieces)
        if count + len(frames["count"]) <= SPAN_BUDGET:
            return pieces, frames
    return column_spans(tables, column_us)


def _frame_labels_at(labels_by_frame: dict[int, str], frame: np.ndarray) -> np.ndarray:
    """The label of each frame span's frame, `function (file:line)`: each distinct one looked up once (a frame has
    many spans)."""
    codes, frames = pd.factorize(frame)
    return np.array([labels_by_frame[f] for f in frames.tolist()], dtype=object)[codes]


def _segments(
    x0: np.ndarray,
    x1: np.ndarray,
    y: np.ndarray,
    text: list[str] | np.ndarray | None = None,
    customdata: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Line segments x0-x1 at height y, separated by gaps, with hover text and custom data (a value, or a row of
    values, per segment) on both ends."""
    n = len(x0)
    xs, ys = np.empty(3 * n), np.empty(3 * n)
    xs[0::3], xs[1::3], xs[2::3] = x0, x1, np.nan
    ys[0::3], ys[1::3], ys[2::3] = y, y, np.nan
    segments = {"x": xs, "y": ys}
    if text is not None:
        texts = np.empty(3 * n, dtype=object)
        labels = np.asarray(text, dtype=object)
        texts[0::3], texts[1::3], texts[2::3] = labels, labels, ""  # not None: plotly turns each None into JSON slowly
        segments["text"] = texts
    if customdata is not None:
        # the gap's is never shown
        segments["customdata"] = np.repeat(np.asarray(customdata, dtype=np.float64), 3, axis=0)
    return segments


def _tracks(tables: Tables, sampled: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[tuple[float, str]]]:
    """The row offset of each entry's track (NaN for entries on a shared track), the row of the shared track of each
    entry's instance, and the track labels. Entries with suspensions or sampled frames (`sampled`: `sampled_spans`) get
    tracks. With several Pyodide instances, each has its group of tracks under a label naming it."""
    entries, suspensions = tables.arrays.entries, tables.arrays.suspensions
    ids, durations, starts = entries["id"], entries["duration_us"], entries["start_us"]
    entry_ids = np.concatenate([suspensions["entry"], sampled["entry"].to_numpy(dtype=np.int64)])
    depths = np.concatenate([suspensions["depth"], sampled["depth"].to_numpy(dtype=np.int64) + 1])
    groups = Groups.by(np.maximum(rows_of(ids, entry_ids), -1))
    deepest = np.zeros(len(ids), dtype=np.int64)
    deepest[groups.keys] = groups.max(depths)
    longest_first = groups.keys[np.argsort(-durations[groups.keys], kind="stable")]
    candidates = longest_first[:MAX_TRACKS]  # the longest entries with suspensions or samples...
    tracked = candidates[np.argsort(starts[candidates], kind="stable")]  # ...in time order
    offset, shared, labels, row = np.full(len(ids), np.nan), np.zeros(len(ids)), [], 0
    names, kinds, instances = entries["name"].tolist(), entries["kind"].tolist(), entries["instance"]
    groups_of_instances = instance_labels(tables) or {0: ""}
    for instance, group in groups_of_instances.items():
        if len(groups_of_instances) > 1:
            labels.append((row, label_text(f"[{group}]")))
            row += 2
        for i in tracked[instances[tracked] == instance].tolist():
            offset[i] = row
            name = names[i] if isinstance(names[i], str) else ""
            labels.append((row, label_text(f"entry {ids[i]} {kinds[i]} {name}".strip())))
            row += int(deepest[i]) + 3
        untracked = np.isnan(offset) & (instances == instance)
        shared[untracked] = row
        if untracked.any():
            labels.append((row, f"{int(untracked.sum()):,} other entries"))
            row += 3
    return offset, shared, labels


@dataclass(frozen=True)
class FrameStyle:
    """How one kind of frame span is drawn: the names and colors of its user and library traces, and its hover."""

    names: tuple[str, str]
    colors: tuple[str, str]
    hovertemplate: str


FRAME_STYLE = FrameStyle(
    ("your frames", "library frames"), (USER_COLOR, LIBRARY_COLOR), "%{text}<br>across %{customdata} suspension(s)"
)
SAMPLED_FRAME_STYLE = FrameStyle(
    ("sampled: your frames", "sampled: library frames"),
    (SAMPLED_USER_COLOR, SAMPLED_LIBRARY_COLOR),
    "%{text}<br>running: %{customdata} CPU sample(s)",
)


def _frame_lines(
    tables: Tables, labels_by_frame: dict[int, str], spans: dict[str, np.ndarray], style: FrameStyle
) -> list[dict[str, Any]]:
    """Frame spans (`frame`, `x0` and `x1` in ms, `row` on the chart, `count` for the hover) as two line traces: the
    user's frames, then library frames."""
    known = rows_of(tables.arrays.frames["id"], spans["frame"])
    library = np.where(known >= 0, tables.arrays.frames["library"][known] if len(known) else False, None)
    traces = []
    for is_library in (False, True):
        chosen = np.flatnonzero(library == is_library)
        if not len(chosen):
            continue
        traces.append(
            {
                "type": "scattergl",
                "name": style.names[is_library],
                "mode": "lines",
                "hovertemplate": style.hovertemplate,
                "hoverlabel": NO_TRACE_NAME,
                "line": {"width": ROW_PX - 4, "color": style.colors[is_library]},
                **_segments(
                    spans["x0"][chosen],
                    spans["x1"][chosen],
                    spans["row"][chosen],
                    _frame_labels_at(labels_by_frame, spans["frame"][chosen]),
                    spans["count"][chosen],
                ),
            }
        )
    return traces


def flame_chart_spec(tables: Tables) -> FigureSpec:
    """Entries, the Python frames live at their suspensions (by depth), the suspensions themselves and, between
    them, the Python frames the CPU samples saw running, over time.

    One track per entry (entries without suspensions or samples share the last track); with several Pyodide
    instances, one labelled group of tracks per instance, each with its own shared track. Times are ms from the first
    entry.
    """
    column_us = max(tables.duration_us, 1.0) / COLUMNS
    sampled = sampled_spans(tables)
    if len(sampled) > SPAN_BUDGET:  # the longest runs only: shorter ones are thinner than a time column
        sampled = sampled[sampled["end_us"] - sampled["start_us"] >= column_us]
    offset, shared, labels = _tracks(tables, sampled)
    entries = tables.arrays.entries
    ids = entries["id"]

    def ms(us: np.ndarray) -> np.ndarray:
        return (us - tables.start_us) / 1000

    def rows(entry: np.ndarray) -> np.ndarray:
        """The row offset of the track of each of these entries (NaN when not tracked, or not an entry)."""
        row = rows_of(ids, entry)
        return np.where(row >= 0, offset[row] if len(ids) else np.nan, np.nan)

    durations = np.round(entries["duration_us"] / 1000, 3).tolist()
    entry_text = [
        label_text(f"entry {entry} {kind} {name}" if isinstance(name, str) else f"entry {entry} {kind}")
        + f"<br>{duration} ms"
        for entry, kind, name, duration in zip(  # one f-string each: faster than pandas string arithmetic
            ids.tolist(), entries["kind"].tolist(), entries["name"].tolist(), durations
        )
    ]
    data = [
        {
            "type": "scattergl",
            "name": "entries",
            "mode": "lines",
            "line": {"width": ROW_PX - 4, "color": ENTRY_COLOR},
            "hoverinfo": "text",
            **_segments(
                ms(entries["start_us"]), ms(entries["end_us"]), np.where(np.isnan(offset), shared, offset), entry_text
            ),
        }
    ]

    pieces, spans = _spans(tables, column_us)
    labels_by_frame = _frame_labels(tables)
    at_suspensions = {"frame": spans["frame"], "x0": ms(spans["start_us"]), "x1": ms(spans["end_us"])}
    at_suspensions |= {"row": rows(spans["entry"]) + spans["depth"], "count": spans["count"]}
    data += _frame_lines(tables, labels_by_frame, at_suspensions, FRAME_STYLE)
    sampled_columns = {name: sampled[name].to_numpy() for name in ("frame", "depth", "samples")}
    running = {"frame": sampled_columns["frame"], "x0": ms(sampled["start_us"].to_numpy())}
    running |= {"x1": ms(sampled["end_us"].to_numpy()), "count": sampled_columns["samples"]}
    running["row"] = rows(sampled["entry"].to_numpy(dtype=np.int64)) + sampled_columns["depth"]
    data += _frame_lines(tables, labels_by_frame, running, SAMPLED_FRAME_STYLE)
    entry, depth = pieces["entry"], pieces["depth"]
    tracked = rows(entry)
    row = rows_of(ids, entry)
    shared_rows = np.where(row >= 0, shared[row] if len(ids) else np.nan, np.nan)
    piece_rows = np.where(np.isnan(tracked), shared_rows, tracked) + depth + 1
    x0, x1 = ms(pieces["start_us"]), ms(pieces["end_us"])
    counts_and_waits = np.column_stack([pieces["count"], np.round(pieces["wait_us"] / 1000, 3)])  # wait in ms
    for path, chosen in _path_groups(pieces["path"]):
        label = label_text(path)
        data.append(
            {
                "type": "scattergl",
                "name": f"suspension: {label}",
                "mode": "lines",
                "hovertemplate": f"suspended: {label}<br>%{{customdata[0]}} suspension(s), wait %{{customdata[1]}} ms",
                "hoverlabel": NO_TRACE_NAME,
                "line": {"width": ROW_PX - 4, "color": PATH_COLORS.get(path, "#7f7f7f")},
                **_segments(x0[chosen], x1[chosen], piece_rows[chosen], customdata=counts_and_waits[chosen]),
            }
        )

    depth = np.concatenate([tables.arrays.suspensions["depth"], sampled["depth"].to_numpy(dtype=np.int64) + 1])
    rows_in_chart = max([row for row, _ in labels] + [0]) + int(depth.max() if len(depth) else 0) + 3
    layout = {
        "title": {"text": "Flame chart: entries, Python frames and suspensions over time"},
        "height": min(160 + rows_in_chart * ROW_PX, 4000),
        "xaxis": {"title": {"text": "time since the first entry (ms)"}},
        "hovermode": "closest",
        "yaxis": {
            "autorange": "reversed",
            "tickvals": [row for row, _ in labels],
            "ticktext": [label for _, label in labels],
            "zeroline": False,
        },
        "legend": {"orientation": "h", "y": -0.15 if rows_in_chart < 20 else -0.05},
        "margin": {"l": 220},
    }
    return {"data": data, "layout": layout}


@dataclass
class _Node:
    """A box of the flame graph: its label, the id of the box above it, its color and the time it stands for."""

    label: str
    parent: str
    color: str
    value_us: float = 0.0


def flame_graph_spec(tables: Tables, weight: str) -> FigureSpec:
    """An icicle of the aggregated Python stacks at the suspensions (outermost at the top).

    `weight="wait"`: each suspension's wait, in a leaf named after its path. `weight="running"`: the Python
    running time of the entry between its previous switch and this one, charged to the stack at this switch.
    """
    suspensions = tables.arrays.suspensions
    values = suspensions["wait_us"] if weight == "wait" else running_before_switch(tables)
    paths = suspensions["path"]
    stack_id = suspensions["stack_id"]
    # per (stack, path), first seen first
    pairs = Groups.in_order_of_appearance(stack_id * max(len(paths.categories), 1) + paths.codes)
    firsts = pairs.first_rows()
    totals = pairs.sum(np.nan_to_num(values, nan=0.0))  # a missing running time counts as none
    labels_by_frame, libraries = _frame_labels(tables), _libraries(tables)
    root = "all suspensions" if weight == "wait" else "all running time"
    nodes = {root: _Node(root, "", ENTRY_COLOR)}
    for first, value in zip(firsts.tolist(), totals.tolist()):
        path = str(paths.categories[paths.codes[first]])
        parent = root
        nodes[root].value_us += value
        for frame in tables.stacks[stack_id[first]]:
            node = f"{parent}/{frame}"
            if node not in nodes:
                color = LIBRARY_COLOR if libraries.get(frame, True) else USER_COLOR
                nodes[node] = _Node(labels_by_frame.get(frame, str(frame)), parent, color)
            nodes[node].value_us += value
            parent = node
        if weight == "wait":
            leaf = f"{parent}/:{path}"
            if leaf not in nodes:
                nodes[leaf] = _Node(f"suspended: {label_text(path)}", parent, PATH_COLORS.get(path, "#7f7f7f"))
            nodes[leaf].value_us += value
    icicle = {
        "type": "icicle",
        "ids": list(nodes),
        "labels": [node.label for node in nodes.values()],
        "parents": [node.parent for node in nodes.values()],
        "values": [node.value_us / 1000 for node in nodes.values()],
        "branchvalues": "total",
        "marker": {"colors": [node.color for node in nodes.values()]},
        "tiling": {"orientation": "v"},
        "maxdepth": 12,
        "hovertemplate": "%{label}<br>%{value:,.3f} ms (%{percentRoot:.1%})",
        "hoverlabel": NO_TRACE_NAME,
    }
    what = "time suspended (wait)" if weight == "wait" else "Python running time before each switch"
    return {
        "data": [icicle],
        "layout": {
            "title": {"text": f"Flame graph weighted by {what}"},
            "height": 520,
            "margin": {"t": 50, "l": 10, "r": 10, "b": 10},
        },
    }


def _wait_bins(waits_ms: np.ndarray) -> np.ndarray:
    low = max(float(waits_ms.min()), 1e-3) if len(waits_ms) else 1e-3
    high = max(float(waits_ms.max()), low * 10) if len(waits_ms) else 1.0
    return np.logspace(np.floor(np.log10(low)), np.ceil(np.log10(high)), 41)


def _bin_of(waits_ms: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each wait, clipped to the edges, as np.histogram2d counts it (each bin holds its left edge, the last
    one its right edge too; -1 for NaN, which no bin holds)."""
    clipped = np.clip(waits_ms, edges[0], edges[-1])
    bins = np.searchsorted(edges, clipped, side="right") - 1
    bins[clipped == edges[-1]] = len(edges) - 2
    bins[np.isnan(clipped)] = -1
    return bins


def wait_histogram_spec(tables: Tables) -> FigureSpec:
    """How many suspensions waited how long (log-spaced bins), stacked by path."""
    suspensions = tables.arrays.suspensions
    waits = suspensions["wait_us"] / 1000
    edges = _wait_bins(waits)
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
    data = []
    for path, rows in _path_groups(suspensions["path"]):
        counts, _ = np.histogram(np.clip(waits[rows], edges[0], edges[-1]), bins=edges)
        data.append(
            {
                "type": "bar",
                "x": labels,
                "y": counts,
                "name": label_text(path),
                "marker": {"color": PATH_COLORS.get(path, "#7f7f7f")},
            }
        )
    layout = {
        "title": {"text": "Wait per suspension"},
        "barmode": "stack",
        "xaxis": {"title": {"text": "wait (ms, log-spaced bins)"}},
        "yaxis": {"title": {"text": "suspensions"}},
        "height": 420,
    }
    return {"data": data, "layout": layout}


def depth_vs_wait_spec(tables: Tables) -> FigureSpec:
    """Python stack depth against wait, one point per suspension (a density heatmap on big traces)."""
    suspensions = tables.arrays.suspensions
    data = []
    layout = {
        "title": {"text": "Stack depth against wait"},
        "xaxis": {"title": {"text": "Python stack depth (frames)"}},
        "yaxis": {"title": {"text": "wait (ms)"}},
        "height": 420,
    }
    depth, waits = suspensions["depth"], suspensions["wait_us"] / 1000
    if len(depth) <= SCATTER_LIMIT:
        sites = _label_texts(suspensions["site"])
        for path, rows in _path_groups(suspensions["path"]):
            data.append(
                {
                    "type": "scattergl",
                    "x": depth[rows],
                    "y": waits[rows],
                    "mode": "markers",
                    "name": label_text(path),
                    "opacity": 0.6,
                    "marker": {"color": PATH_COLORS.get(path, "#7f7f7f"), "size": 7},
                    "text": sites[rows],
                    "hovertemplate": "%{text}<br>depth %{x}<br>wait %{y:,.3f} ms",
                    "hoverlabel": NO_TRACE_NAME,
                }
            )
        layout["yaxis"]["type"] = "log"
    else:
        edges = _wait_bins(waits)
        depths = np.arange(depth.min(), depth.max() + 2)
        bins, width = _bin_of(waits, edges), len(edges) - 1  # a depth's bin is depth - depths[0]: integer edges
        cells = np.bincount(((depth - depths[0]) * width + bins)[bins >= 0], minlength=(len(depths) - 1) * width)
        counts = cells.reshape(len(depths) - 1, width).astype(np.float64)  # as np.histogram2d gives them
        data.append(
            {
                "type": "heatmap",
                "x": depths[:-1],
                "y": [f"{edges[i]:.3g}" for i in range(len(edges) - 1)],
                "z": np.log10(counts.T + 1),
                "customdata": counts.T,
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "log10 count"}},
                "hovertemplate": "depth %{x}<br>wait ≥ %{y} ms<br>%{customdata:,} suspensions",
                "hoverlabel": NO_TRACE_NAME,
            }
        )
    return {"data": data, "layout": layout}


def flame_chart(tables: Tables) -> go.Figure:
    """`flame_chart_spec` as a plotly Figure."""
    return go.Figure(flame_chart_spec(tables))


def flame_graph(tables: Tables, weight: str) -> go.Figure:
    """`flame_graph_spec` as a plotly Figure."""
    return go.Figure(flame_graph_spec(tables, weight))


def wait_histogram(tables: Tables) -> go.Figure:
    """`wait_histogram_spec` as a plotly Figure."""
    return go.Figure(wait_histogram_spec(tables))


def depth_vs_wait(tables: Tables) -> go.Figure:
    """`depth_vs_wait_spec` as a plotly Figure."""
    return go.Figure(depth_vs_wait_spec(tables))
