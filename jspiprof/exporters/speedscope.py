"""The speedscope file format (https://www.speedscope.app/file-format-schema.json).

Profiles: "CPU" when the trace has CPU samples (sampled: the Python stack at each sample, in time order, each
weighing one sampling interval; the one shown first), "wait by stack" and "running before each switch" (sampled: one
sample per suspension, weighted in µs, the suspension's path as the innermost frame), then one evented profile per
entry with suspensions, showing its Python frames and suspensions in time order. A trace of several Pyodide instances
(a page and its workers) has the sampled profiles once per instance, and every profile's name starts with the label
of its instance ("page http://...: wait by stack").
"""

from __future__ import annotations

from typing import Any, NamedTuple, TextIO

import numpy as np
import pandas as pd

from jspiprof import __version__
from jspiprof.analysis import Tables, running_before_switch
from jspiprof.analysis.instances import instance_labels, of_instance
from jspiprof.analysis.spans import frame_spans, single_pieces
from jspiprof.render import strict_json

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


class _Event(NamedTuple):
    """A frame opened or closed on an entry's evented profile."""

    entry: int
    at: float
    opens: bool
    nesting: int
    """Depth when it opens, minus depth when it closes: at one instant, closes come before opens, deeper frames close
    first and shallower ones open first."""
    frame: int


def _events(tables: Tables, python: dict[int, int], path_frame: dict[int, int]) -> list[_Event]:
    """Every frame span and suspension as an open and a close, by entry, then in time order."""
    suspensions = tables.arrays.suspensions
    spans = frame_spans(tables, single_pieces(tables))
    events = []
    for entry, start, end, depth, frame in zip(
        *(spans[name].tolist() for name in ("entry", "start_us", "end_us", "depth", "frame"))
    ):
        events.append(_Event(entry, start, True, depth, python[frame]))
        events.append(_Event(entry, end, False, -depth, python[frame]))
    for entry, start, end, depth, path in zip(
        *(suspensions[name].tolist() for name in ("entry", "start_us", "end_us", "depth")),
        suspensions["path"].codes.tolist(),
    ):
        events.append(_Event(entry, start, True, depth + 1, path_frame[path]))
        events.append(_Event(entry, end, False, -(depth + 1), path_frame[path]))
    return sorted(events, key=lambda event: (event.entry, event.at, event.opens, event.nesting))


def document(tables: Tables, program: str) -> dict[str, Any]:
    """The speedscope document as a dict."""
    frames_table = tables.arrays.frames
    frames: list[dict[str, Any]] = [
        {"name": str(function), "file": str(file), "line": line}
        for function, file, line in zip(
            frames_table["function"].tolist(), frames_table["file"].tolist(), frames_table["line"].tolist()
        )
    ]
    python = {frame_id: number for number, frame_id in enumerate(frames_table["id"].tolist())}
    suspensions = tables.arrays.suspensions
    path = suspensions["path"]
    path_codes = pd.unique(path.codes).tolist()  # in order of first use
    path_frame = {code: len(frames) + number for number, code in enumerate(path_codes)}
    frames += [{"name": f"suspended: {path.categories[code]}"} for code in path_codes]

    stack_frames = [[python[frame] for frame in stack] for stack in tables.stacks]
    labels = instance_labels(tables)
    profiles: list[dict[str, Any]] = []
    if len(labels) <= 1:
        profiles += _sampled_profiles(tables, python, path_frame, stack_frames, "")
    else:  # each instance's own, its label first in their names
        for number, label in labels.items():
            own = of_instance(tables, number)
            profiles += _sampled_profiles(own, python, path_frame, stack_frames, f"{label}: ")
    per_entry: dict[int, list[dict[str, Any]]] = {}
    for event in _events(tables, python, path_frame):
        per_entry.setdefault(event.entry, []).append(
            {"type": "O" if event.opens else "C", "frame": event.frame, "at": event.at}
        )
    entries = tables.arrays.entries
    row_of_entry = {entry: row for row, entry in enumerate(entries["id"].tolist())}
    for entry, events in per_entry.items():
        start, end = events[0]["at"], events[-1]["at"]
        row = row_of_entry.get(entry)
        if row is None:
            name = "outside any entry"
        else:
            entry_name = entries["name"][row]
            name = f"entry {entry} {entries['kind'][row]}" + (f" {entry_name}" if isinstance(entry_name, str) else "")
            start, end = min(entries["start_us"][row], start), max(entries["end_us"][row], end)
            if len(labels) > 1:
                name = f"{labels[int(entries['instance'][row])]}: {name}"
        profiles.append(
            {
                "type": "evented",
                "name": name,
                "unit": "microseconds",
                "startValue": float(start),
                "endValue": float(end),
                "events": events,
            }
        )
    return {
        "$schema": SCHEMA,
        "name": program,
        "exporter": f"jspiprof {__version__}",
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": profiles,
    }


def _sampled_profiles(
    tables: Tables, python: dict[int, int], path_frame: dict[int, int], stack_frames: list[list[int]], prefix: str
) -> list[dict[str, Any]]:
    """The sampled profiles of these tables, their names after `prefix`: CPU (when sampled), wait by stack, and Python
    running time before each switch."""
    suspensions = tables.arrays.suspensions
    samples = [
        stack_frames[stack_id] + [path_frame[code]]
        for stack_id, code in zip(suspensions["stack_id"].tolist(), suspensions["path"].codes.tolist())
    ]
    # unknown (no entry): counted as none, as the flame graph does
    running = np.nan_to_num(running_before_switch(tables), nan=0.0)
    return _cpu_profiles(tables, python, prefix) + [
        {
            "type": "sampled",
            "name": f"{prefix}wait by stack",
            "unit": "microseconds",
            "startValue": 0,
            "endValue": float(suspensions["wait_us"].sum()),
            "samples": samples,
            "weights": suspensions["wait_us"].tolist(),
        },
        {
            "type": "sampled",
            "name": f"{prefix}Python running time before each switch",
            "unit": "microseconds",
            "startValue": 0,
            "endValue": float(running.sum()),
            "samples": [sample[:-1] for sample in samples],
            "weights": running.tolist(),
        },
    ]


def _cpu_profiles(tables: Tables, python: dict[int, int], prefix: str) -> list[dict[str, Any]]:
    """The CPU samples as one sampled profile (none when the trace has no samples)."""
    samples = tables.samples
    if not len(samples):
        return []
    stacks = {stack_id: [python[frame] for frame in frames] for stack_id, frames in samples.stacks.items()}
    interval = float(samples.interval_us)
    return [
        {
            "type": "sampled",
            "name": f"{prefix}CPU: running Python, sampled every {interval / 1000:g} ms",
            "unit": "microseconds",
            "startValue": float(samples.time_us[0]),
            "endValue": float(samples.time_us[-1]) + interval,
            "samples": [stacks[stack_id] for stack_id in samples.stack],
            "weights": [interval] * len(samples),
        }
    ]


def write(tables: Tables, out: TextIO, program: str) -> None:
    """Write the speedscope JSON document to `out` (strict JSON: a number JSON cannot hold is null)."""
    strict_json.dump(document(tables, program), out)
