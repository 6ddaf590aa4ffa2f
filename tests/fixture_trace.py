"""Stand-in loader for fixture traces until `jspiprof.trace` lands (tests only)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"


def load(path: Path) -> SimpleNamespace:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    trace = SimpleNamespace(header=SimpleNamespace(**lines[0]), frames={}, entries={}, suspensions=[], failed_switches=[], dropped=[], end=None)
    for event in lines[1:]:
        kind = event.pop("type")
        if kind == "frame":
            trace.frames[event["id"]] = SimpleNamespace(**event)
        elif kind == "entry":
            trace.entries[event["id"]] = SimpleNamespace(**event, end_us=None, outcome=None, error=None)
        elif kind == "entry_end":
            vars(trace.entries[event["id"]]).update(event)
        elif kind == "suspension":
            trace.suspensions.append(SimpleNamespace(**event))
        elif kind == "failed_switch":
            trace.failed_switches.append(SimpleNamespace(**event))
        elif kind == "dropped":
            trace.dropped.append(SimpleNamespace(**event))
        elif kind == "end":
            trace.end = SimpleNamespace(**event)
    return trace
