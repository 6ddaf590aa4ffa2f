"""The HTML report: one self-contained file (plotly.js inlined once) that opens offline in any browser."""

from __future__ import annotations

import binascii
import html
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
import pandas as pd
import plotly

from jspiprof.analysis import Insight, Tables, time_accounting
from jspiprof.analysis.cpu import CpuProfile, cpu_profile
from jspiprof.analysis.stats import StatsTable, kind_table, site_table, wait_table
from jspiprof.render import cpu_views, views
from jspiprof.render.html_table import html_table
from jspiprof.render.output_file import written_whole
from jspiprof.trace import Header

MAX_TABLE_ROWS = 100
"""Tables show at most this many rows (sites by total wait, failed switches in time order)."""
MAX_INSIGHTS = 20
"""The report shows at most this many insights, largest time at stake first (`jspiprof stats --json` lists all)."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 1em 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.card b { display: block; font-size: 1.5em; } \
.accounting { display: flex; height: 1.6em; border-radius: 4px; overflow: hidden; }
.accounting div { color: white; font-size: 0.8em; padding: 0.3em; white-space: nowrap; overflow: hidden; }
.insight { border-left: 4px solid #d62728; padding: 0.2em 1em; margin: 1em 0; background: #fafafa; }
.insight h3 { margin: 0.4em 0; } .stake { font-weight: bold; color: #d62728; }
table { border-collapse: collapse; font-size: 0.85em; } \
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: right; overflow-wrap: anywhere; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; } \
.none { color: #666; font-style: italic; }
"""


def _ms(us: float) -> str:
    return f"{us / 1000:,.1f} ms"


def _table(table: StatsTable, empty: str) -> str:
    """The first MAX_TABLE_ROWS rows of `table` under readable headers ("wait total (ms)"), its *_us columns in ms."""
    rows = len(table.index)
    if not rows:
        return f'<p class="none">{html.escape(empty)}</p>'
    in_ms = {}
    for name, values in table.columns.items():
        in_ms[_header(name)] = values[:MAX_TABLE_ROWS] / 1000 if name.endswith("_us") else values[:MAX_TABLE_ROWS]
    note = f'<p class="meta">First {MAX_TABLE_ROWS:,} of {rows:,} rows.</p>' if rows > MAX_TABLE_ROWS else ""
    return html_table(table.index[:MAX_TABLE_ROWS], in_ms) + note


def _header(name: str) -> str:
    """A column's header: words instead of underscores, the unit last ("wait_p95_us" -> "wait p95 (ms)")."""
    if name.endswith("_us"):
        return f"{name[:-3].replace('_', ' ')} (ms)"
    return name.replace("_", " ")


def _failed_table(tables: Tables) -> StatsTable:
    """The failed switches, at their time since the first entry (ms)."""
    failed = tables.arrays.failed_switches
    at_ms = pd.Index((failed["ts_us"] - tables.start_us) / 1000, name="at (ms)")
    return StatsTable(at_ms, {name: column for name, column in failed.items() if name != "ts_us"})


def _insight(insight: Insight) -> str:
    evidence = "".join(f"<li>{html.escape(line)}</li>" for line in insight.evidence)
    return (
        f'<div class="insight"><h3>{html.escape(insight.title)}</h3>'
        f'<p>Time at stake: <span class="stake">{_ms(insight.at_stake_us)}</span> '
        f'<span class="meta">({html.escape(insight.estimate)})</span></p>'
        f"<ul>{evidence}</ul><p><b>What to do:</b> {html.escape(insight.suggestion)}</p></div>"
    )


def _insights(insights: list[Insight]) -> str:
    """The first MAX_INSIGHTS insights (they come largest time at stake first), and how many more there are."""
    if not insights:
        return '<p class="none">No pattern that wastes time was found in this trace.</p>'
    rest = insights[MAX_INSIGHTS:]
    note = (
        (
            f'<p class="meta">{len(rest):,} more insights, the largest with {_ms(rest[0].at_stake_us)} at stake: '
            "<code>jspiprof stats --json TRACE</code> lists every one.</p>"
        )
        if rest
        else ""
    )
    return "".join(map(_insight, insights[:MAX_INSIGHTS])) + note


_CONFIG = {"displaylogo": False, "responsive": True}
_TEMPLATE = Path(plotly.__file__).parent / "package_data/templates/plotly.json"
"""plotly's default look (the one Jupyter shows), as the plotly package ships it: JSON plotly.js takes as is."""
_PLOTLY_JS = Path(plotly.__file__).parent / "package_data/plotly.min.js"
"""plotly.js, as the plotly package ships it (what `plotly.offline.get_plotlyjs` reads)."""


def _json_default(value: Any) -> Any:
    """numpy values for orjson: 1-D and 2-D number arrays as plotly.js typed arrays (base64 float64, rows after rows,
    as plotly writes them)."""
    if isinstance(value, np.ndarray):
        if value.ndim in (1, 2) and value.dtype.kind in "fiu":
            numbers = np.ascontiguousarray(value, dtype="<f8")  # no copy when it is one already
            typed = {"dtype": "f8", "bdata": binascii.b2a_base64(numbers.data, newline=False).decode("ascii")}
            if value.ndim == 2:
                typed["shape"] = f"{value.shape[0]},{value.shape[1]}"
            return typed
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a chart holds a {type(value).__name__}, which JSON cannot hold")


_SCRIPT_ESCAPES = [
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
]
"""What JSON inside a <script> element must not hold as is (`<!--`, `<script`, `</script` change how the page is
parsed; U+2028 and U+2029 end a line in older JavaScript), and its JSON escape: found only inside strings, since JSON
has these characters nowhere else."""


def _script_json(value: Any) -> bytes:
    """`value` as strict JSON that is safe inside a <script> element, whatever its strings hold (`_SCRIPT_ESCAPES`;
    each byte replaced in one pass of `bytes.replace`, which runs at memory speed on a chart's megabytes)."""
    raw = orjson.dumps(value, default=_json_default)
    for character, escape in _SCRIPT_ESCAPES:
        raw = raw.replace(character, escape)
    return raw


def _figure(number: int, spec: views.FigureSpec) -> Iterator[bytes]:
    """A chart: its div, drawn by plotly.js from the spec (template and config set once per page), in parts (its data
    one trace at a time: a part written is freed before the next is made, so their memory is reused)."""
    div = f"chart-{number}".encode()
    yield (
        b'<div id="'
        + div
        + b'" class="plotly-graph-div" style="height:100%; width:100%;"></div><script>Plotly.newPlot("'
        + div
        + b'", ['
    )
    for i, trace in enumerate(spec["data"]):
        yield b"," + _script_json(trace) if i else _script_json(trace)
    yield (
        b"], Object.assign({template: jspiprofTemplate}, "
        + _script_json(spec["layout"])
        + b"), jspiprofConfig);</script>"
    )


def _runtime(header: Header) -> str:
    r = header.runtime
    return f"{r.host} {r.host_version} · Pyodide {r.pyodide} · JSPI: {r.jspi}"


def _head(title: str) -> bytes:
    """The page up to plotly.js, which comes next (then `_page`), UTF-8 encoded."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<style>{_STYLE}</style><script type="text/javascript">'
    ).encode()


def _page(tables: Tables, insights: list[Insight], title: str) -> Iterator[bytes]:
    """The report's HTML page after plotly.js, in parts, UTF-8 encoded, each worked out when it is reached: summary,
    time accounting, insights, charts, tables and failed switches."""
    suspensions = tables.arrays.suspensions
    accounting = time_accounting(tables)
    window = max(accounting.window_us, 1e-9)
    parts = [
        (accounting.running_us, "running Python", "#1f77b4"),
        (accounting.suspended_us, "suspended", "#d62728"),
        (accounting.other_us, "other (JS / idle)", "#999"),
    ]
    bar = "".join(
        f'<div style="width:{100 * us / window:.3f}%;background:{color}" title="{label}: {_ms(us)}">'
        f"{label} {100 * us / window:.0f}%</div>"
        for us, label, color in parts
        if us > 0
    )
    cards = [
        ("suspensions", f"{len(suspensions['id']):,}"),
        ("total wait", _ms(suspensions["wait_us"].sum())),
        ("failed switches", f"{len(tables.arrays.failed_switches['ts_us']):,}"),
        ("entries", f"{len(tables.arrays.entries['id']):,}"),
        ("run window", _ms(accounting.window_us)),
        ("running Python", _ms(accounting.running_us)),
        ("suspended", _ms(accounting.suspended_us)),
        ("other (JS / idle)", _ms(accounting.other_us)),
    ]
    warnings = []
    if tables.snapshot_us is not None:
        warnings.append(
            "The trace is a snapshot taken while running: everything recorded up to then is shown "
            f"({_ms(tables.snapshot_us - tables.start_us)} into the run)."
        )
    elif not tables.finished:
        warnings.append(
            "The trace has no end line: the program crashed or was killed; everything recorded before is shown."
        )
    if tables.dropped:
        warnings.append(f"{tables.dropped:,} events were dropped by the recorder: counts are lower bounds.")
    yield b"</script><script>const jspiprofTemplate = "  # after plotly.js (`_head`), as the file holds it
    yield _TEMPLATE.read_bytes()
    yield b"; const jspiprofConfig = " + _script_json(_CONFIG) + b";</script></head><body>"
    yield "".join(
        [
            f"<h1>{html.escape(title)}</h1>",
            f'<p class="meta">{html.escape(tables.header.command_line or "(unknown program)")} · '
            f"{html.escape(_runtime(tables.header))}</p>",
            *(f'<p class="insight">{html.escape(w)}</p>' for w in warnings),
            '<div class="cards">'
            + "".join(f'<div class="card">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in cards)
            + "</div>",
            "<h2>Where the time went</h2>",
            f'<div class="accounting">{bar}</div>',
            "<h2>Insights</h2>",
            _insights(insights),
            "<h2>Flame chart</h2>",
        ]
    ).encode()
    yield from _figure(1, views.flame_chart_spec(tables))
    profile = cpu_profile(tables)
    yield _cpu_section(profile, accounting.running_us).encode()
    if profile.samples:
        yield from _figure(6, cpu_views.cpu_flame_graph_spec(tables, profile))
        yield (
            "<h3>Functions (largest self time first)</h3>"
            + _table(cpu_views.function_table(profile), "")
            + "<h3>Lines</h3>"
            + _table(cpu_views.line_table(profile), "")
        ).encode()
    yield b"<h2>Flame graphs of the switches</h2>"
    yield from _figure(2, views.flame_graph_spec(tables, "wait"))
    yield b'<p class="meta">Secondary: the running time between switches, charged to the stack at the next switch.</p>'
    yield from _figure(3, views.flame_graph_spec(tables, "running"))
    yield b"<h2>Waits</h2>"
    yield from _figure(4, views.wait_histogram_spec(tables))
    yield from _figure(5, views.depth_vs_wait_spec(tables))
    yield (
        "".join(
            [
                "<h2>Sites (largest total wait first)</h2>",
                _table(site_table(tables), "No suspension was recorded."),
                "<h2>Per path</h2>",
                _table(wait_table(suspensions, "path"), "No suspension was recorded."),
                "<h2>Per entry kind</h2>",
                _table(kind_table(tables), "No entry was recorded."),
                "<h2>Failed switches</h2>",
                _table(_failed_table(tables), "No failed switch: every requested stack switch was possible."),
            ]
        ).encode()
        + b"</body></html>"
    )


def _cpu_section(profile: CpuProfile, running_us: float) -> str:
    """The heading of the CPU part and what the samples explain (or that there are none)."""
    head = "<h2>CPU: where running Python's time went (sampled)</h2>"
    if not profile.samples:
        return (
            head
            + '<p class="none">No CPU samples: the trace was recorded without sampling, or Python ran too briefly.</p>'
        )
    explained = f" ({100 * profile.python_us / running_us:.0f}% of running Python)" if running_us > 0 else ""
    text = (
        f"{profile.samples:,} samples, one every {profile.interval_us / 1000:g} ms: {_ms(profile.python_us)} of Python "
        f"running{explained}."
    )
    gaps = profile.long_gaps
    if gaps.count:
        text += (
            f" {_ms(gaps.total_us)} of it comes from {gaps.count:,} gaps between samples longer than 10 intervals "
            f"(the longest {_ms(gaps.longest_us)}, ending in {gaps.longest_at}): long C or JS calls, each counted as "
            "time of the frame and line on top when Python checked again."
        )
    if gaps.left_out_count:
        text += (
            f" {gaps.left_out_count:,} more long gaps ({_ms(gaps.left_out_us)}) ended on lines that mostly run "
            "without gaps (the machine was busy) or in library code only (start-up): they are left out."
        )
    return head + f'<p class="meta">{html.escape(text)}</p>'


def render(tables: Tables, insights: list[Insight], title: str) -> str:
    """The report as one HTML page: summary, time accounting, insights, charts, tables and failed switches."""
    return b"".join([_head(title), _PLOTLY_JS.read_bytes(), *_page(tables, insights, title)]).decode("utf-8")


def write(tables: Tables, insights: list[Insight], title: str, output: Path) -> None:
    """Write the report (`render`'s page, UTF-8) to the file `output`, part after part, never joined into one string.

    The page's start and plotly.js are written on a thread of their own while the summary and the first chart are
    worked out: the kernel copies the file without holding Python's lock, so the two overlap. The report replaces
    `output` only once it is whole (`output_file.written_whole`): when anything fails, no half report is left."""
    with written_whole(output) as file:
        with ThreadPoolExecutor(max_workers=1) as pool:
            start = pool.submit(_write_start, file, title)
            parts = _page(tables, insights, title)
            made = []  # the parts worked out while the start is written
            for part in parts:
                made.append(part)
                if start.done():
                    break
            start.result()  # raises what writing the start raised
        file.writelines(made)
        for part in parts:  # the rest, each written as soon as it is made
            file.write(part)


def _write_start(file: BinaryIO, title: str) -> None:
    """Write the page up to and including plotly.js, as the plotly package ships it, to `file`."""
    file.write(_head(title))
    with _PLOTLY_JS.open("rb") as source:
        file.flush()
        offset, size = 0, os.fstat(source.fileno()).st_size
        try:
            while offset < size:  # file to file inside the kernel (Linux): plotly.js is 4.6 MB
                offset += os.sendfile(file.fileno(), source.fileno(), offset, size - offset)
        except OSError:  # no sendfile between files here (macOS)
            source.seek(offset)
            shutil.copyfileobj(source, file)
