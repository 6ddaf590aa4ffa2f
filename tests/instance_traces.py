"""Multi-instance traces for tests, merged from traces of real `jspiprof run`s, as a recorder of a page and its
workers writes them (format version 2): one `instance` line per run, every event marked with its instance, ids
renumbered to stay unique in the whole trace (frames with equal file, line, function and library share one id)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "instances"
INSTANCE_EVENTS = ("entry", "suspension", "failed_switch", "samples", "dropped")
TIMES = ("start_us", "end_us", "ts_us")


@dataclass(frozen=True)
class Part:
    """One recorded trace to merge: where its Pyodide ran, its URL, and when its hook started in the merged trace."""

    trace: Path
    where: str
    url: str | None
    start_us: float


PAGE_AND_WORKER = [
    Part(FIXTURES / "page.jsonl", "page", "http://127.0.0.1:8000/index.html", 0.0),
    Part(FIXTURES / "worker.jsonl", "worker", "http://127.0.0.1:8000/js/w.mjs", 40000.0),
]
"""A page (its Python waits three times and fails one switch) and its worker (polls five times), started 40 ms
apart: both recorded by `jspiprof run` (`tests/fixtures/instances/*.py`)."""

PAGE_AND_CALLBACKS = [
    PAGE_AND_WORKER[0],
    Part(FIXTURES / "callbacks.jsonl", "worker", "http://127.0.0.1:8000/js/callbacks.mjs", 30000.0),
]
"""The same page, and a worker whose timer callback Python registered at callbacks.py:19 and whose helper JS called
40 times, 23 of them with their JS caller not read (`caller_sampled` false): recorded by `jspiprof run`."""


def merged_lines(parts: list[Part]) -> list[dict[str, Any]]:
    """The lines of one trace holding every part as its own instance (numbered in order from 0), closed by one end
    line at the last part's end."""
    first_header = json.loads(parts[0].trace.read_text().splitlines()[0])
    header = {**first_header, "version": 2}
    lines: list[dict[str, Any]] = [header]
    frame_ids: dict[tuple[Any, ...], int] = {}
    next_entry = next_suspension = next_stack = 0
    end_us = dropped = 0
    for number, part in enumerate(parts):
        events = [json.loads(line) for line in part.trace.read_text().splitlines()]
        lines.append(
            {
                "type": "instance",
                "instance": number,
                "ts_us": part.start_us,
                "where": part.where,
                "url": part.url,
                "runtime": events[0]["runtime"],
            }
        )
        frames: dict[int, int] = {}
        entries: dict[int, int] = {}
        stacks: dict[int, int] = {}
        for event in events[1:]:
            kind = event["type"]
            for name in TIMES:
                if event.get(name) is not None:
                    event[name] = round(event[name] + part.start_us, 3)
            if kind == "end":
                end_us, dropped = max(end_us, event["ts_us"]), dropped + event["dropped"]
                continue
            if kind == "frame":
                key = (event["file"], event["line"], event["function"], event["library"])
                frames[event["id"]] = frame_ids.setdefault(key, len(frame_ids))
                if frames[event["id"]] < len(frame_ids) - 1:
                    continue  # a frame the merged trace already defines
                event["id"] = frames[event["id"]]
            elif kind in ("entry", "entry_end"):
                if kind == "entry":
                    entries[event["id"]] = next_entry
                    next_entry += 1
                    if event["parent"] is not None:
                        event["parent"] = entries[event["parent"]]
                event["id"] = entries[event["id"]]
            elif kind in ("suspension", "failed_switch"):
                if kind == "suspension":
                    event["id"] = next_suspension
                    next_suspension += 1
                event["entry"] = None if event["entry"] is None else entries[event["entry"]]
                event["stack"] = [frames[frame] for frame in event["stack"]]
            elif kind == "samples":
                for stack in event["stacks"]:
                    stacks[stack["id"]] = next_stack
                    next_stack += 1
                    stack["id"], stack["frames"] = stacks[stack["id"]], [frames[frame] for frame in stack["frames"]]
                event["stack"] = [stacks[stack] for stack in event["stack"]]
                event["entry"] = [None if entry is None else entries[entry] for entry in event["entry"]]
            if kind in INSTANCE_EVENTS:
                event["instance"] = number
            lines.append(event)
    lines.append({"type": "end", "ts_us": end_us, "dropped": dropped, "exit_status": 0})
    return lines


def write_merged(path: Path, parts: list[Part] = PAGE_AND_WORKER) -> Path:
    """The merged trace of `parts` written to `path`."""
    path.write_text("".join(json.dumps(line) + "\n" for line in merged_lines(parts)))
    return path
