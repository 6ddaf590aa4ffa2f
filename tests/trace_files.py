"""Tiny traces written by hand for tests: one entry, one user frame per suspension, waits given in ms."""

from __future__ import annotations

import json
from pathlib import Path

Wait = tuple[str, int, str, float]
"""One suspension: the file, line and function of its site, and its wait in ms."""

Frame = tuple[str, int, str]
"""One frame: its file, line and function."""

Sampled = tuple[tuple[Frame, ...], int]
"""CPU samples: a Python stack (outermost frame first) and how many samples were taken with it."""


def write_trace(
    path: Path, waits: list[Wait], window_ms: float = 1000.0, samples: list[Sampled] = (), interval_us: int = 1000
) -> Path:
    """A complete trace of run window `window_ms`, with one suspension per item of `waits`, one after the other, and
    (when `samples` is given) one `samples` line: each stack's samples `interval_us` apart, after the waits."""
    lines: list[dict] = [
        {
            "type": "header",
            "schema": "jspiprof-trace",
            "version": 1,
            "origin_unix_ms": 1764000000000.0,
            "runtime": {
                "host": "node",
                "host_version": "v26.10.0",
                "pyodide": "314.0.7",
                "jspi": "WebAssembly.Suspending",
            },
            "program": {"argv": [path.name], "mode": "script"},
        },
        {
            "type": "entry",
            "id": 1,
            "kind": "runPythonAsync",
            "promising": True,
            "name": None,
            "caller": None,
            "parent": None,
            "start_us": 0.0,
        },
    ]
    frames: dict[tuple[str, int, str], int] = {}
    start_us = 0.0
    for number, (file, line, function, wait_ms) in enumerate(waits, start=1):
        if (file, line, function) not in frames:
            frames[(file, line, function)] = len(frames) + 1
            lines.append(
                {"type": "frame", "id": len(frames), "file": file, "line": line, "function": function, "library": False}
            )
        lines.append(
            {
                "type": "suspension",
                "id": number,
                "entry": 1,
                "path": "run_sync",
                "start_us": start_us,
                "wait_us": wait_ms * 1000,
                "resume_us": 0.0,
                "stack_bytes": 0,
                "stack": [frames[(file, line, function)]],
                "depth": 1,
                "site": f"{file}:{line}",
                "awaitable": "Promise",
                "outcome": "value",
                "error": None,
            }
        )
        start_us += wait_ms * 1000
    if samples:
        lines += _samples_lines(list(samples), frames, start_us, interval_us)
    lines.append({"type": "entry_end", "id": 1, "end_us": window_ms * 1000, "outcome": "return", "error": None})
    lines.append({"type": "end", "ts_us": window_ms * 1000, "exit_status": 0, "dropped": 0})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _samples_lines(samples: list[Sampled], frames: dict[Frame, int], start_us: float, interval_us: int) -> list[dict]:
    """The frame lines the sampled stacks still need, then one `samples` line of entry 1 from `start_us`."""
    lines: list[dict] = []
    for stack, _ in samples:
        for file, line, function in stack:
            if (file, line, function) not in frames:
                frames[(file, line, function)] = len(frames) + 1
                lines.append(
                    {"type": "frame", "id": len(frames), "file": file, "line": line, "function": function}
                    | {"library": False}
                )
    stack_ids = [number for number, (_, count) in enumerate(samples) for _ in range(count)]
    lines.append(
        {
            "type": "samples",
            "interval_us": interval_us,
            "stacks": [
                {"id": number, "frames": [frames[frame] for frame in stack]}
                for number, (stack, _) in enumerate(samples)
            ],
            "start_us": start_us,
            "dt_us": [0] + [interval_us] * (len(stack_ids) - 1),
            "stack": stack_ids,
            "entry": [1] * len(stack_ids),
        }
    )
    return lines
