"""One test's trace, cut from the trace of the Pyodide it ran in.

pytest-pyodide keeps one Pyodide per test module (the `selenium` fixture), so its trace holds every test of the
module. A test's own trace is the header, what the lines of the test refer to from before it (the frames, the
entries still running or named by its lines, and the sample stacks defined before), then every line written while
the test ran, and an `end` line.
"""

from __future__ import annotations

import json
from typing import Any


def _referenced_entries(events: list[dict[str, Any]]) -> set[int]:
    """The entry ids the events name (as their entry, parent, or the entry they end) without defining them."""
    named = set()
    for event in events:
        kind = event["type"]
        if kind in ("suspension", "failed_switch"):
            named.add(event.get("entry"))
        elif kind == "entry":
            named.add(event.get("parent"))
        elif kind == "entry_end":
            named.add(event.get("id"))
        elif kind == "samples":
            named.update(event["entry"])
    defined = {event["id"] for event in events if event["type"] == "entry"}
    return {entry for entry in named if entry is not None} - defined


def cut_test_trace(lines: list[str], first_line: int, now_unix_ms: float, node_id: str) -> str:
    """The trace of test `node_id` as JSON Lines text (its header's program: `pytest NODE_ID`).

    `lines` are the instance's trace lines so far, `first_line` the number of lines it had when the test began,
    and `now_unix_ms` the runtime's wall clock when the test ended (the `end` line's time).
    """
    header = {**json.loads(lines[0]), "program": {"argv": ["pytest", node_id]}}
    before = [json.loads(line) for line in lines[1:first_line]]
    during = [json.loads(line) for line in lines[first_line:]]
    during = [event for event in during if event["type"] not in ("end", "snapshot")]
    needed = _referenced_entries(during)
    kept = [
        event
        for event in before
        if event["type"] == "frame"
        or (event["type"] == "entry" and event["id"] in needed)
        or (event["type"] == "entry_end" and event["id"] in needed)
    ]
    first_samples = next((event for event in during if event["type"] == "samples"), None)
    if first_samples is not None:  # its stacks, and the ones earlier samples lines defined, which later ones may use
        earlier = [stack for event in before if event["type"] == "samples" for stack in event["stacks"]]
        first_samples["stacks"] = earlier + first_samples["stacks"]
    last_us = max((_time_us(event) for event in during), default=0.0)
    end_us = max(last_us, (now_unix_ms - header["origin_unix_ms"]) * 1000)
    dropped = sum(event["count"] for event in during if event["type"] == "dropped")
    end = {"type": "end", "ts_us": round(end_us, 3), "dropped": dropped, "exit_status": None}
    return "".join(json.dumps(event) + "\n" for event in [header, *kept, *during, end])


def _time_us(event: dict[str, Any]) -> float:
    """The latest time an event carries (0 for events without a time, such as frames)."""
    if event["type"] == "suspension":
        return event["start_us"] + event["wait_us"] + event["resume_us"]
    return max(float(event.get(name) or 0.0) for name in ("start_us", "end_us", "ts_us"))
