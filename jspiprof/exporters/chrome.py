"""Chrome trace event JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open.

One process per Pyodide instance (a page, each of its workers: named by `instance_labels`; one process for a trace of
one Pyodide); one track (thread) per entry. On each track: the entry as a slice, the Python frames live
across its suspensions as nested slices, each suspension as a slice (`suspended: PATH`) with its resume
delay as a child slice, a flow arrow from the suspension to its resume, and failed switches as instant events.
Each entry with CPU samples gets a second track below it ("sampled Python"): the sampled frames as nested slices
(`jspiprof.analysis.cpu.sampled_spans`), a slice spanning the samples of one frame in a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TextIO

import numpy as np
import pandas as pd

from jspiprof import __version__
from jspiprof.analysis import Tables
from jspiprof.analysis.cpu import sampled_spans
from jspiprof.analysis.instances import instance_labels
from jspiprof.analysis.spans import frame_spans, single_pieces
from jspiprof.analysis.tables import Columns
from jspiprof.render import strict_json

FIRST_PID = 1
"""The process id of instance 0; instance N is process FIRST_PID + N."""
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
    pids = (entries["instance"] + FIRST_PID).tolist()
    for row in np.argsort(entries["start_us"], kind="stable").tolist():
        tid, pid = ids[row], pids[row]
        name = f"entry {tid} {_entry_name(kinds[row], names[row])}"
        yield {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}
        yield {"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": tid}}
    names = ["id", "kind", "promising", "name", "caller", "parent", "start_us", "outcome", "error", "finished"]
    for entry in _rows(entries, [*names, "duration_us", "instance"]):
        yield {
            "ph": "X",
            "cat": "entry",
            "name": _entry_name(entry["kind"], entry["name"]),
            "pid": int(entry["instance"]) + FIRST_PID,
            "tid": entry["id"],
            **_span(float(entry["start_us"]), float(entry["start_us"] + entry["duration_us"])),
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
    pid_of = _entry_pids(tables)
    for span in _rows(spans, ["entry", "depth", "frame", "first_line", "last_line", "start_us", "end_us", "count"]):
        frame = frame_of_id[span["frame"]]
        location = f"{frame['file']}:{frame['line']}"
        if span["first_line"] != span["last_line"]:  # calls from several lines of the function: name them all
            location = f"{frame['file']}:{span['first_line']}-{span['last_line']}"
        yield {
            "ph": "X",
            "cat": "library" if frame["library"] else "python",
            "name": str(frame["function"]),
            "pid": pid_of(span["entry"]),
            "tid": span["entry"],
            **_span(float(span["start_us"]), float(span["end_us"])),
            "args": {
                "location": location,
                "depth": span["depth"],
                "suspensions": span["count"],
            },
        }


def _entry_pids(tables: Tables) -> Callable[[int], int]:
    """A function giving the process id of an entry's track: its instance's (instance 0's outside any entry)."""
    entries = tables.arrays.entries
    pids = dict(zip(entries["id"].tolist(), (entries["instance"] + FIRST_PID).tolist()))
    return lambda entry: pids.get(entry, FIRST_PID)


_SUSPENSION_COLUMNS = [
    "instance",
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
        tid, pid, start = suspension["entry"], suspension["instance"] + FIRST_PID, float(suspension["start_us"])
        wait, resume = float(suspension["wait_us"]), float(suspension["resume_us"])
        suspended, resumed = _span(start, start + wait + resume), _span(start + wait, start + wait + resume)
        yield {
            "ph": "X",
            "cat": "suspension",
            "name": f"suspended: {suspension['path']}",
            "pid": pid,
            "tid": tid,
            **suspended,
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
        yield {"ph": "X", "cat": "resume", "name": "resume", "pid": pid, "tid": tid, **resumed}
        flow = {"cat": "switch", "name": "suspend → resume", "id": suspension["id"], "pid": pid, "tid": tid}
        yield {"ph": "s", **flow, "ts": suspended["ts"]}
        yield {"ph": "f", "bp": "e", **flow, "ts": resumed["ts"]}


def _failed_switch_events(tables: Tables) -> Iterator[dict[str, Any]]:
    """Each failed switch as an instant event on its entry's track."""
    names = ["ts_us", "entry", "reason", "path", "depth", "site", "error", "instance"]
    for failed in _rows(tables.arrays.failed_switches, names):
        yield {
            "ph": "i",
            "s": "t",
            "cat": "failed_switch",
            "name": f"failed switch: {failed['path']}",
            "pid": failed["instance"] + FIRST_PID,
            "tid": NO_ENTRY_TID if _clean(failed["entry"]) is None else failed["entry"],
            "ts": float(failed["ts_us"]),
            "args": {
                "reason": failed["reason"],
                "site": _clean(failed["site"]),
                "depth": failed["depth"],
                "error": failed["error"],
            },
        }


def _sampled_events(tables: Tables) -> Iterator[dict[str, Any]]:
    """The tracks of sampled Python frames: their names, then their slices."""
    frames = tables.arrays.frames
    frame_of_id = {frame["id"]: frame for frame in _rows(frames, ["id", "function", "library", "file", "line"])}
    spans = sampled_spans(tables)
    pid_of = _entry_pids(tables)
    for entry in spans["entry"].unique().tolist():
        tid, pid = SAMPLED_TID + max(entry, NO_ENTRY_TID), pid_of(entry)
        name = f"entry {entry}: sampled Python" if entry > NO_ENTRY_TID else "sampled Python outside any entry"
        yield {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}
        sort_index = max(entry, NO_ENTRY_TID)
        yield {"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": sort_index}}
    for entry, depth, frame_id, start, end, samples in spans.itertuples(index=False):
        frame = frame_of_id[frame_id]
        yield {
            "ph": "X",
            "cat": "cpu,library" if frame["library"] else "cpu,python",
            "name": str(frame["function"]),
            "pid": pid_of(int(entry)),
            "tid": SAMPLED_TID + max(int(entry), NO_ENTRY_TID),
            **_span(float(start), float(end)),
            "args": {"location": f"{frame['file']}:{frame['line']}", "depth": int(depth), "samples": int(samples)},
        }


def events(tables: Tables, program: str) -> Iterator[dict[str, Any]]:
    """The trace events, metadata first, then slices, flows and instants."""
    labels = instance_labels(tables)
    if len(labels) <= 1:
        labels = {0: f"jspiprof: {program}"}
    for number, label in labels.items():
        yield {
            "ph": "M",
            "name": "process_name",
            "pid": number + FIRST_PID,
            "tid": NO_ENTRY_TID,
            "args": {"name": label},
        }
    yield from _entry_events(tables)
    yield from _frame_events(tables)
    yield from _suspension_events(tables)
    yield from _sampled_events(tables)
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
