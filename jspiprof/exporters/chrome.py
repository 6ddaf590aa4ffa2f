"""Chrome trace event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open.

One process; one track (thread) per entry. On each track: the entry as a slice, the Python frames live
across its suspensions as nested slices, each suspension as a slice (`suspended: PATH`) with its resume
delay as a child slice, a flow arrow from the suspension to its resume, and failed switches as instant events.
Each entry with CPU samples gets a second track below it ("sampled Python"): the sampled frames as nested slices
(`jspiprof.analysis.cpu.sampled_spans`), a slice spanning the samples of one frame in a row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

import pandas as pd

from jspiprof import __version__
from jspiprof.analysis import Tables
from jspiprof.analysis.cpu import sampled_spans
from jspiprof.analysis.spans import frame_spans

PID = 1
NO_ENTRY_TID = 0
SAMPLED_TID = 1_000_000_000
"""Added to an entry's track id for its track of sampled Python frames (NO_ENTRY_TID: outside any entry)."""


TICKS_PER_US = 1024
"""Times are written as multiples of 1/1024 µs: binary fractions, so a viewer's ts + dur is exact and a slice that
ends with its parent ends exactly with it (decimal fractions left some ~1e-10 µs after their parent)."""


def _span(start_us: float, end_us: float) -> dict[str, float]:
    """The `ts` and `dur` of a slice from `start_us` to `end_us`, exact in binary floating point."""
    ts = round(start_us * TICKS_PER_US) / TICKS_PER_US
    return {"ts": ts, "dur": round(end_us * TICKS_PER_US) / TICKS_PER_US - ts}


def _records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for row in frame.itertuples(index=False):
        yield row._asdict()


def _clean(value: Any) -> Any:
    """JSON-safe value: NaN / NA become null, numpy numbers become Python numbers."""
    if value is None or (not isinstance(value, (str, list, dict)) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def events(t: Tables, program: str) -> Iterator[dict[str, Any]]:
    """The trace events, metadata first, then slices, flows and instants."""
    yield {"ph": "M", "name": "process_name", "pid": PID, "tid": NO_ENTRY_TID, "args": {"name": f"jspiprof: {program}"}}
    for e in _records(t.entries[["id", "kind", "name", "start_us"]].sort_values("start_us")):
        name = f"entry {e['id']} {e['kind']}" + (f" {e['name']}" if isinstance(e["name"], str) else "")
        yield {"ph": "M", "name": "thread_name", "pid": PID, "tid": int(e["id"]), "args": {"name": name}}
        yield {
            "ph": "M",
            "name": "thread_sort_index",
            "pid": PID,
            "tid": int(e["id"]),
            "args": {"sort_index": int(e["id"])},
        }
    for e in _records(t.entries):
        yield {
            "ph": "X",
            "cat": "entry",
            "name": f"{e['kind']}" + (f" {e['name']}" if isinstance(e["name"], str) else ""),
            "pid": PID,
            "tid": int(e["id"]),
            **_span(float(e["start_us"]), float(e["start_us"] + e["duration_us"])),
            "args": {
                "caller": _clean(e["caller"]),
                "parent": _clean(e["parent"]),
                "promising": bool(e["promising"]),
                "outcome": _clean(e["outcome"]) if e["finished"] else "still running",
                "error": _clean(e["error"]),
            },
        }
    frames = {
        int(f.id): (str(f.function), "library" if f.library else "python", f"{f.file}:{f.line}")
        for f in t.frames.itertuples()
    }
    spans = frame_spans(t, t.suspensions.assign(count=1))
    for entry, depth, frame_id, first_line, last_line, start, end, count in spans[
        ["entry", "depth", "frame", "first_line", "last_line", "start_us", "end_us", "count"]
    ].itertuples(index=False):
        function, category, location = frames[int(frame_id)]
        if first_line != last_line:  # calls from several lines of the function: name them all, not the first
            location = f"{location.rsplit(':', 1)[0]}:{first_line}-{last_line}"
        yield {
            "ph": "X",
            "cat": category,
            "name": function,
            "pid": PID,
            "tid": int(entry),
            **_span(float(start), float(end)),
            "args": {"location": location, "depth": int(depth), "suspensions": int(count)},
        }
    columns = [
        "id",
        "entry",
        "path",
        "start_us",
        "wait_us",
        "resume_us",
        "stack_bytes",
        "depth",
        "site",
        "awaitable",
        "outcome",
        "error",
    ]
    for s in _records(t.suspensions[columns]):
        tid, start, wait, resume = int(s["entry"]), float(s["start_us"]), float(s["wait_us"]), float(s["resume_us"])
        suspended, resumed = _span(start, start + wait + resume), _span(start + wait, start + wait + resume)
        yield {
            "ph": "X",
            "cat": "suspension",
            "name": f"suspended: {s['path']}",
            "pid": PID,
            "tid": tid,
            **suspended,
            "args": {
                "site": _clean(s["site"]),
                "wait_us": wait,
                "resume_us": resume,
                "stack_bytes": int(s["stack_bytes"]),
                "depth": int(s["depth"]),
                "awaitable": _clean(s["awaitable"]),
                "outcome": s["outcome"],
                "error": _clean(s["error"]),
            },
        }
        yield {"ph": "X", "cat": "resume", "name": "resume", "pid": PID, "tid": tid, **resumed}
        yield {
            "ph": "s",
            "cat": "switch",
            "name": "suspend → resume",
            "id": int(s["id"]),
            "pid": PID,
            "tid": tid,
            "ts": suspended["ts"],
        }
        yield {
            "ph": "f",
            "bp": "e",
            "cat": "switch",
            "name": "suspend → resume",
            "id": int(s["id"]),
            "pid": PID,
            "tid": tid,
            "ts": resumed["ts"],
        }
    yield from _sampled_events(t, frames)
    for f in _records(t.failed_switches):
        yield {
            "ph": "i",
            "s": "t",
            "cat": "failed_switch",
            "name": f"failed switch: {f['path']}",
            "pid": PID,
            "tid": int(f["entry"]) if pd.notna(f["entry"]) else NO_ENTRY_TID,
            "ts": float(f["ts_us"]),
            "args": {"reason": f["reason"], "site": _clean(f["site"]), "depth": int(f["depth"]), "error": f["error"]},
        }


def _sampled_events(t: Tables, frames: dict[int, tuple[str, str, str]]) -> Iterator[dict[str, Any]]:
    """The tracks of sampled Python frames: their names, then their slices."""
    spans = sampled_spans(t)
    for entry in spans["entry"].unique().tolist():
        tid = SAMPLED_TID + max(entry, NO_ENTRY_TID)
        name = f"entry {entry}: sampled Python" if entry > NO_ENTRY_TID else "sampled Python outside any entry"
        yield {"ph": "M", "name": "thread_name", "pid": PID, "tid": tid, "args": {"name": name}}
        sort_index = max(entry, NO_ENTRY_TID)
        yield {"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": tid, "args": {"sort_index": sort_index}}
    for entry, depth, frame, start, end, samples in spans.itertuples(index=False):
        function, category, location = frames[int(frame)]
        yield {
            "ph": "X",
            "cat": f"cpu,{category}",
            "name": function,
            "pid": PID,
            "tid": SAMPLED_TID + max(int(entry), NO_ENTRY_TID),
            **_span(float(start), float(end)),
            "args": {"location": location, "depth": int(depth), "samples": int(samples)},
        }


def write(t: Tables, out: TextIO, program: str) -> None:
    """Write the Chrome trace JSON object (`traceEvents`, `displayTimeUnit`, `otherData`) to `out`."""
    out.write('{"displayTimeUnit": "ms", "otherData": ')
    out.write(json.dumps({"exporter": f"jspiprof {__version__}", "program": program}))
    out.write(', "traceEvents": [\n')
    for i, event in enumerate(events(t, program)):
        if i:
            out.write(",\n")
        out.write(json.dumps(event))
    out.write("\n]}\n")
