"""Insights on what could not stack switch: `time.sleep` calls that busy-waited (blocking the JS event loop) and
failed switches, each with the time at stake and the fix `jspiprof diagnose` gives (`Tables.failed_problems`).

A failure is a bug, not a slowness: these insights need no minimum time at stake.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from jspiprof.analysis.insight import Insight, in_ms
from jspiprof.analysis.tables import Tables

_SLEEP_SECONDS = re.compile(r"time\.sleep\(([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\)")
"""The seconds a busy-waiting sleep was asked for, in the error text the hook records (`time.sleep(0.05) ...`)."""


def _entry_id(value: object) -> int | None:
    """A failed switch's `entry` (a nullable integer) as an int, None for none."""
    return None if pd.isna(value) else int(value)  # type: ignore[call-overload]


def _groups(rows: np.ndarray, key: list[object]) -> dict[object, list[int]]:
    """`rows` (failed switch numbers) by `key` (one per failed switch), in order of first appearance."""
    grouped: dict[object, list[int]] = {}
    for row in rows.tolist():
        grouped.setdefault(key[row], []).append(row)
    return grouped


def _entries(tables: Tables, rows: list[int]) -> tuple[list[int], str]:
    """The entry row numbers of the failed switches `rows` (each once), and how JS entered them, for a person:
    `4 callback entries (save_draft, not promising)`."""
    entry_ids = tables.arrays.entries["id"]
    wanted = {entry for entry in map(_entry_id, tables.arrays.failed_switches["entry"][rows]) if entry is not None}
    numbers = np.flatnonzero(np.isin(entry_ids, list(wanted))).tolist()
    kinds = Counter(
        (
            str(tables.arrays.entries["kind"][number]),
            tables.arrays.entries["name"][number],
            bool(tables.arrays.entries["promising"][number]),
        )
        for number in numbers
    )
    parts = [
        f"{count:,} {kind} entr{'ies' if count > 1 else 'y'} ({name + ', ' if name else ''}"
        f"{'promising' if promising else 'not promising: synchronous'})"
        for (kind, name, promising), count in kinds.most_common()
    ]
    return numbers, ", ".join(parts) if parts else "no recorded entry"


def busy_waits(tables: Tables) -> list[Insight]:
    """`time.sleep` that could not stack switch and busy-waited instead, per site: the JS event loop was blocked for
    the whole sleep."""
    failed = tables.arrays.failed_switches
    rows = np.flatnonzero(failed["reason"] == "busy-wait")
    found = []
    for site, group in _groups(rows, list(failed["site"])).items():
        asked = [_SLEEP_SECONDS.search(failed["error"][row] or "") for row in group]
        blocked = sum(float(match[1]) * 1e6 for match in asked if match)
        unknown = [row for row, match in zip(group, asked) if match is None]
        for row in unknown:  # no duration in the trace: the time from the sleep to its entry's end
            blocked += _until_entry_end(tables, row)
        numbers, entered = _entries(tables, group)
        problem = tables.failed_problems[group[0]] if tables.failed_problems else None
        estimate = "the sleeps' own durations, as the trace's failed switches give them (time.sleep(N)): the JS event "
        estimate += "loop was blocked that long, so timers, I/O and other tasks waited"
        if unknown:
            estimate += (
                f"; {len(unknown):,} of them give no duration: the time from the sleep to the end of its entry "
                "instead (at most what it blocked)"
            )
        where = site or "library code"
        found.append(
            Insight(
                kind="busy-wait",
                title=f"time.sleep busy-waited {len(group):,} time{'s' if len(group) > 1 else ''} at {where}, "
                "blocking the event loop",
                site=where,
                evidence=[
                    f"{len(group):,} time.sleep call{'s' if len(group) > 1 else ''} could not stack switch and "
                    f"busy-waited, {in_ms(blocked)} blocked in total",
                    f"Python was entered synchronously: {entered}",
                    *([problem.message] if problem else []),
                ],
                at_stake_us=blocked,
                estimate=estimate,
                suggestion=problem.fix
                if problem
                else "Enter Python with runPythonAsync or callPromising, or use "
                "`await asyncio.sleep(t)` in async code.",
            )
        )
    return found


def _until_entry_end(tables: Tables, row: int) -> float:
    """The time from failed switch `row` to the end of its entry (0 when it has none)."""
    entry = _entry_id(tables.arrays.failed_switches["entry"][row])
    if entry is None:
        return 0.0
    number = np.flatnonzero(tables.arrays.entries["id"] == entry)
    if not len(number):
        return 0.0
    return max(0.0, float(tables.arrays.entries["end_us"][number[0]] - tables.arrays.failed_switches["ts_us"][row]))


def failed_switches(tables: Tables) -> list[Insight]:
    """Stack switches that failed (a synchronous entry, no JSPI, ...), per site and `jspiprof diagnose` class (busy
    waits aside: `busy_waits`)."""
    failed = tables.arrays.failed_switches
    rows = np.flatnonzero(failed["reason"] != "busy-wait")
    if not len(rows) or len(tables.failed_problems) != len(failed["reason"]):
        return []
    keys = [(site, problem.class_id) for site, problem in zip(failed["site"], tables.failed_problems)]
    found = []
    for (site, class_id), group in _groups(rows, keys).items():
        problem = tables.failed_problems[group[0]]
        numbers, entered = _entries(tables, group)
        at_stake = float(tables.arrays.entries["duration_us"][numbers].sum())
        paths = ", ".join(sorted({str(failed["path"][row]) for row in group}))
        reasons = ", ".join(sorted({str(failed["reason"][row]) for row in group}))
        where = site or problem.location or "library code"
        evidence = [
            f"{len(group):,} failed stack switch{'es' if len(group) > 1 else ''} ({paths}; reason {reasons}) "
            f"in {entered}: {in_ms(at_stake)} in those entries",
            problem.message,
        ]
        if problem.location and problem.location != where:
            evidence.append(f"the change goes at {problem.location}")
        found.append(
            Insight(
                kind="failed-switches",
                title=f"{len(group):,} failed stack switch{'es' if len(group) > 1 else ''} ({class_id}) at {where}",
                site=where,
                evidence=evidence,
                at_stake_us=at_stake,
                estimate="the time of the entries in which these switches failed (start to end): the work that "
                "raised, or took another way, instead of waiting as written; a failure outside any entry counts "
                "nothing",
                suggestion=problem.fix,
            )
        )
    return found
