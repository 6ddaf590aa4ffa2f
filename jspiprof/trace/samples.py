"""CPU samples in a trace: the `samples` line (`docs/trace-format.md`) and how a `Trace` holds them, as columns.

Standard library only (also importable inside Pyodide).
"""

from __future__ import annotations

import reprlib
from array import array
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

LARGEST_STACK_ID = 2**31 - 1
"""Sample stack ids are small numbers (1, 2, ... as stacks are first sampled), kept in a C int column."""


@dataclass
class Samples:
    """One `samples` line: the samples taken between two flushes (sample i is item i of each list)."""

    interval_us: int
    stacks: list[dict[str, Any]]
    start_us: float
    dt_us: list[float]
    stack: list[int]
    entry: list[int | None]
    instance: int = 0


def problem_with(
    samples: Samples, frames: Set[int], entries: Set[int], stacks: Mapping[int, tuple[int, ...]]
) -> str | None:
    """What is wrong with a `samples` line (its fields of the right JSON types), in one sentence, or None when nothing
    is: `frames` and `entries` are the frame and entry ids defined before it, `stacks` the sample stacks (id: frame
    ids)."""
    count = len(samples.dt_us)
    if len(samples.stack) != count or len(samples.entry) != count:
        return "dt_us, stack and entry of a samples line should have one item per sample (the same length)."
    if samples.interval_us < 1:
        return f"interval_us should be a positive number of microseconds, not {samples.interval_us}."
    defined: dict[int, tuple[int, ...]] = {}
    for stack in samples.stacks:
        if not isinstance(stack, dict) or not _is_int(stack.get("id")) or not isinstance(stack.get("frames"), list):
            return f"each of a samples line's stacks should be {{'id': integer, 'frames': list}}, not {_short(stack)}."
        if not 0 <= stack["id"] <= LARGEST_STACK_ID:
            return f"a sample stack id should be 0 to 2^31-1 (a small number), not {_short(stack['id'])}."
        unknown = [frame for frame in stack["frames"] if not _is_int(frame) or frame not in frames]
        if unknown:
            return f"sample stack {stack['id']} uses frame {_short(unknown[0])}, which no earlier frame line defines."
        known = stacks.get(stack["id"], defined.get(stack["id"]))
        if known is not None and known != tuple(stack["frames"]):
            return f"sample stack {stack['id']} is defined twice, differently."
        defined[stack["id"]] = tuple(stack["frames"])
    if not all(isinstance(dt, (int, float)) and not isinstance(dt, bool) and dt >= 0 for dt in samples.dt_us):
        return "dt_us should hold numbers of microseconds, none negative."
    unknown_stacks = [
        stack for stack in samples.stack if not _is_int(stack) or (stack not in defined and stack not in stacks)
    ]
    if unknown_stacks:
        return f"a sample uses stack {_short(unknown_stacks[0])}, which no samples line defines."
    unknown_entries = [
        entry for entry in samples.entry if entry is not None and (not _is_int(entry) or entry not in entries)
    ]
    if unknown_entries:
        return f"a sample belongs to entry {_short(unknown_entries[0])}, which was never started."
    return None


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 3, 60, 60, 6, 4


def _short(value: Any) -> str:
    """`repr(value)` cut short, as `checks.quoted` does (nested values to 3 levels, at most 80 characters)."""
    text = _SHORT.repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class SampleColumns:
    """A trace's CPU samples as one column per field, in time order: sample i is row i of every column.

    `stacks` maps each sample stack id to its frame ids (outermost first); `interval_us` is the sampling interval
    (0 when the trace has no samples); `instance` the Pyodide instance each sample was taken in.
    """

    time_us: array = field(default_factory=lambda: array("d"))
    stack: array = field(default_factory=lambda: array("i"))
    entry: list[int | None] = field(default_factory=list)
    instance: array = field(default_factory=lambda: array("q"))
    stacks: dict[int, tuple[int, ...]] = field(default_factory=dict)
    interval_us: int = 0

    def __len__(self) -> int:
        return len(self.time_us)

    def append(self, samples: Samples) -> None:
        """Add the samples of one (checked) `samples` line."""
        for stack in samples.stacks:
            self.stacks[stack["id"]] = tuple(stack["frames"])
        self.interval_us = samples.interval_us
        deltas = list(samples.dt_us)
        if deltas:
            deltas[0] = samples.start_us
        self.time_us.extend(accumulate(deltas))
        self.stack.extend(samples.stack)
        self.entry.extend(samples.entry)
        self.instance.extend([samples.instance] * len(samples.stack))
