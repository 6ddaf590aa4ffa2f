"""Chrome trace event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open.

One process; one track (thread) per entry. On each track: the entry as a slice, the Python frames live
across its suspensions as nested slices, each suspension as a slice (`suspended: PATH`) with its resume
delay as a child slice, a flow arrow from the suspension to its resume, and failed switches as instant events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

import numpy as np
import pandas as pd

from jspiprof import __version__
from jspiprof.analysis import Tables
from jspiprof.analysis.spans import frame_spans, single_pieces
from jspiprof.analysis.tables import Columns
from jspiprof.render import strict_json

PID = 1
NO_ENTRY_TID = 0


def _rows(columns: Columns, names: list[str]) -> Iterator[dict[str, Any]]:
    """Each row of the named columns, as a dict of Python values (NaN or NA where missing)."""
    for values in zip(*(columns[name].tolist() for name in names)):
        yield dict(zip(names, values))


def _clean(value: Any) -> Any:
    """JSON-safe value: NaN / NA become null."""
    if value is None or (not isinstance(value, (str, list, dict)) and pd.isna(value)):
        return None
    return value


def _entry_name(kind: str, name: Any) -> str:
    """The entry's kind, then its name when it has one."""
    return f"{kind} {name}" if isinstance(name, str) else f"{kind}"


def _entry_events(tables: Tables) -> Iterator[dict[str, Any]]:
    """A track per entry (named, in order of start), and the entry as a slice on it."""
    entries = tables.arrays.entries
    ids, kinds, names = entries["id"].tolist(), entries["kind"].tolist(), entries["name"].tolist()
    for row in np.argsort(entries["start_us"], kind="stable").tolist():
        tid = ids[row]
        name = f"entry {tid} {_entry_name(kinds[row], names[row])}"
        yield {"ph": "M", "name": "thread_name", "pid": PID, "tid": tid, "args": {"name": name}}
        yield {"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": tid, "args": {"sort_index": tid}}
    names = ["id", "kind", "promising", "name", "caller", "parent", "start_us", "outcome", "error", "finished"]
    for entry in _rows(entries, [*names, "duration_us"]):
        yield {
            "ph": "X",
            "cat": "entry",
            "name": _entry_name(entry["kind"], entry["name"]),
            "pid": PID,
            "tid": entry["id"],
            "ts": float(entry["start_us"]),
            "dur": float(entry["duration_us"]),
            "args": {
                "caller": _clean(entry["caller"]),
                "parent": _clean(entry["parent"]),
                "promising": bool(entry["promising"]),
                "outcome": _clean(entry["outcome"]) if entry["finished"] else "still running",
                "error": _clean(entry["error"]),
            },
        }


def _frame_events(tables: Tables) -> Iterator[dict[str, Any]]:
    """The Python frames live across the suspensions of each entry, as nested slices."""
    frames = tables.arrays.frames
    frame_of_id = {frame["id"]: frame for frame in _rows(frames, ["id", "function", "library", "file", "line"])}
    spans = frame_spans(tables, single_pieces(tables))
    for span in _rows(spans, ["entry", "depth", "frame", "start_us", "end_us", "count"]):
        frame = frame_of_id[span["frame"]]
        yield {
            "ph": "X",
            "cat": "library" if frame["library"] else "python",
            "name": str(frame["function"]),
            "pid": PID,
            "tid": span["entry"],
            "ts": float(span["start_us"]),
            "dur": float(span["end_us"] - span["start_us"]),
            "args": {
                "location": f"{frame['file']}:{frame['line']}",
                "depth": span["depth"],
                "suspensions": span["count"],
            },
        }


_SUSPENSION_COLUMNS = [
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


def _suspension_events(tables: Tables) -> Iterator[dict[str, Any]]:
    """Each suspension as a slice with its resume delay as a child slice, and an arrow from suspend to resume."""
    for suspension in _rows(tables.arrays.suspensions, _SUSPENSION_COLUMNS):
        tid, start = suspension["entry"], suspension["start_us"]
        wait, resume = suspension["wait_us"], suspension["resume_us"]
        yield {
            "ph": "X",
            "cat": "suspension",
            "name": f"suspended: {suspension['path']}",
            "pid": PID,
            "tid": tid,
            "ts": start,
            "dur": wait + resume,
            "args": {
                "site": _clean(suspension["site"]),
                "wait_us": wait,
                "resume_us": resume,
                "stack_bytes": suspension["stack_bytes"],
                "depth": suspension["depth"],
                "awaitable": _clean(suspension["awaitable"]),
                "outcome": suspension["outcome"],
                "error": _clean(suspension["error"]),
            },
        }
        yield {"ph": "X", "cat": "resume", "name": "resume", "pid": PID, "tid": tid, "ts": start + wait, "dur": resume}
        flow = {"cat": "switch", "name": "suspend → resume", "id": suspension["id"], "pid": PID, "tid": tid}
        yield {"ph": "s", **flow, "ts": start}
        yield {"ph": "f", "bp": "e", **flow, "ts": start + wait}


def _failed_switch_events(tables: Tables) -> Iterator[dict[str, Any]]:
    """Each failed switch as an instant event on its entry's track."""
    names = ["ts_us", "entry", "reason", "path", "depth", "site", "error"]
    for failed in _rows(tables.arrays.failed_switches, names):
        yield {
            "ph": "i",
            "s": "t",
            "cat": "failed_switch",
            "name": f"failed switch: {failed['path']}",
            "pid": PID,
            "tid": NO_ENTRY_TID if _clean(failed["entry"]) is None else failed["entry"],
            "ts": float(failed["ts_us"]),
            "args": {
                "reason": failed["reason"],
                "site": _clean(failed["site"]),
                "depth": failed["depth"],
                "error": failed["error"],
            },
        }


def events(tables: Tables, program: str) -> Iterator[dict[str, Any]]:
    """The trace events, metadata first, then slices, flows and instants."""
    yield {"ph": "M", "name": "process_name", "pid": PID, "tid": NO_ENTRY_TID, "args": {"name": f"jspiprof: {program}"}}
    yield from _entry_events(tables)
    yield from _frame_events(tables)
    yield from _suspension_events(tables)
    yield from _failed_switch_events(tables)


def write(tables: Tables, out: TextIO, program: str) -> None:
    """Write the Chrome trace JSON object (`traceEvents`, `displayTimeUnit`, `otherData`) to `out`."""
    out.write('{"displayTimeUnit": "ms", "otherData": ')
    out.write(strict_json.dumps({"exporter": f"jspiprof {__version__}", "program": program}))
    out.write(', "traceEvents": [\n')
    for i, event in enumerate(events(tables, program)):
        if i:
            out.write(",\n")
        out.write(strict_json.dumps(event))
    out.write("\n]}\n")
