"""The speedscope file format (https://www.speedscope.app/file-format-schema.json).

Profiles: "CPU" when the trace has CPU samples (sampled: the Python stack at each sample, in time order, each
weighing one sampling interval; the one shown first), "wait by stack" and "running before each switch" (sampled: one
sample per suspension, weighted in µs, the suspension's path as the innermost frame), then one evented profile per
entry with suspensions, showing its Python frames and suspensions in time order.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from jspiprof import __version__
from jspiprof.analysis import Tables, running_before_switch
from jspiprof.analysis.spans import frame_spans

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def document(t: Tables, program: str) -> dict[str, Any]:
    """The speedscope document as a dict."""
    f = t.frames
    frames: list[dict[str, Any]] = [
        {"name": str(r.function), "file": str(r.file), "line": int(r.line)} for r in f.itertuples()
    ]
    python = {int(frame_id): i for i, frame_id in enumerate(f["id"])}
    paths = [str(p) for p in t.suspensions["path"].unique()]
    path_frame = {path: len(frames) + i for i, path in enumerate(paths)}
    frames += [{"name": f"suspended: {path}"} for path in paths]

    s = t.suspensions
    stack_frames = [[python[frame] for frame in stack] for stack in t.stacks]
    samples = [stack_frames[stack_id] + [path_frame[path]] for stack_id, path in zip(s["stack_id"], s["path"])]
    profiles: list[dict[str, Any]] = _cpu_profiles(t, python) + [
        {
            "type": "sampled",
            "name": "wait by stack",
            "unit": "microseconds",
            "startValue": 0,
            "endValue": float(s["wait_us"].sum()),
            "samples": samples,
            "weights": [float(w) for w in s["wait_us"]],
        },
        {
            "type": "sampled",
            "name": "Python running time before each switch",
            "unit": "microseconds",
            "startValue": 0,
            "endValue": float(running_before_switch(t).sum()),
            "samples": [sample[:-1] for sample in samples],
            "weights": [float(w) for w in running_before_switch(t)],
        },
    ]
    spans = frame_spans(t, s.assign(count=1))
    opened: list[tuple[float, int, int, int, int]] = []  # (at, 0 close / 1 open, nesting key, frame, entry)
    for span in spans.itertuples(index=False):
        opened.append((float(span.start_us), 1, int(span.depth), python[int(span.frame)], int(span.entry)))
        opened.append((float(span.end_us), 0, -int(span.depth), python[int(span.frame)], int(span.entry)))
    for row in s[["entry", "start_us", "end_us", "depth", "path"]].itertuples(index=False):
        opened.append((float(row.start_us), 1, int(row.depth) + 1, path_frame[row.path], int(row.entry)))
        opened.append((float(row.end_us), 0, -(int(row.depth) + 1), path_frame[row.path], int(row.entry)))
    per_entry: dict[int, list] = {}
    # at one instant, closes come before opens, deeper frames close first and shallower ones open first
    for event in sorted(opened, key=lambda e: (e[4], e[0], e[1], e[2])):
        per_entry.setdefault(event[4], []).append({"type": "O" if event[1] else "C", "frame": event[3], "at": event[0]})
    entries = t.entries.set_index("id")
    for entry, evts in per_entry.items():
        start, end = evts[0]["at"], evts[-1]["at"]
        if entry in entries.index:
            e = entries.loc[entry]
            name = f"entry {entry} {e['kind']}" + (f" {e['name']}" if isinstance(e["name"], str) else "")
            start, end = min(e["start_us"], start), max(e["end_us"], end)
        else:
            name = "outside any entry"
        profiles.append(
            {
                "type": "evented",
                "name": name,
                "unit": "microseconds",
                "startValue": float(start),
                "endValue": float(end),
                "events": evts,
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


def _cpu_profiles(t: Tables, python: dict[int, int]) -> list[dict[str, Any]]:
    """The CPU samples as one sampled profile (none when the trace has no samples)."""
    samples = t.samples
    if not len(samples):
        return []
    stacks = {stack_id: [python[frame] for frame in frames] for stack_id, frames in samples.stacks.items()}
    interval = float(samples.interval_us)
    return [
        {
            "type": "sampled",
            "name": f"CPU: running Python, sampled every {interval / 1000:g} ms",
            "unit": "microseconds",
            "startValue": float(samples.time_us[0]),
            "endValue": float(samples.time_us[-1]) + interval,
            "samples": [stacks[stack_id] for stack_id in samples.stack],
            "weights": [interval] * len(samples),
        }
    ]


def write(t: Tables, out: TextIO, program: str) -> None:
    """Write the speedscope JSON document to `out`."""
    json.dump(document(t, program), out)
