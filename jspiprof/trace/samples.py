"""CPU samples in a trace: the `samples` line (`docs/trace-format.md`) and how a `Trace` holds them, as columns.

Standard library only (also importable inside Pyodide).
"""

from __future__ import annotations

from array import array
from collections.abc import Set
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any


@dataclass
class Samples:
    """One `samples` line: the samples taken between two flushes (sample i is item i of each list)."""

    interval_us: int
    stacks: list[dict[str, Any]]
    start_us: float
    dt_us: list[float]
    stack: list[int]
    entry: list[int | None]


def problem_with(samples: Samples, frames: Set[int], entries: Set[int], stacks: Set[int]) -> str | None:
    """What is wrong with a `samples` line, in one sentence, or None when nothing is: `frames`, `entries` and `stacks`
    are the frame, entry and sample stack ids defined before it."""
    count = len(samples.dt_us)
    if len(samples.stack) != count or len(samples.entry) != count:
        return "dt_us, stack and entry of a samples line should have one item per sample (the same length)."
    if samples.interval_us < 1:
        return f"interval_us should be a positive number of microseconds, not {samples.interval_us}."
    defined = set(stacks)
    for stack in samples.stacks:
        if not isinstance(stack, dict) or not _is_int(stack.get("id")) or not isinstance(stack.get("frames"), list):
            return f"each of a samples line's stacks should be {{'id': integer, 'frames': list}}, not {stack!r}."
        unknown = [frame for frame in stack["frames"] if not _is_int(frame) or frame not in frames]
        if unknown:
            return f"sample stack {stack['id']} uses frame {unknown[0]!r}, which no earlier frame line defines."
        defined.add(stack["id"])
    if not all(isinstance(dt, (int, float)) and not isinstance(dt, bool) and dt >= 0 for dt in samples.dt_us):
        return "dt_us should hold numbers of microseconds, none negative."
    unknown_stacks = [stack for stack in samples.stack if not _is_int(stack) or stack not in defined]
    if unknown_stacks:
        return f"a sample uses stack {unknown_stacks[0]!r}, which no samples line defines."
    unknown_entries = [entry for entry in samples.entry if entry is not None and entry not in entries]
    if unknown_entries:
        return f"a sample belongs to entry {unknown_entries[0]!r}, which was never started."
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class SampleColumns:
    """A trace's CPU samples as one column per field, in time order: sample i is row i of every column.

    `stacks` maps each sample stack id to its frame ids (outermost first); `interval_us` is the sampling interval
    (0 when the trace has no samples).
    """

    time_us: array = field(default_factory=lambda: array("d"))
    stack: array = field(default_factory=lambda: array("i"))
    entry: list[int | None] = field(default_factory=list)
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
