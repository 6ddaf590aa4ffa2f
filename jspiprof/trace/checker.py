"""The checks of each line that depend on the lines before it (frames and entries defined earlier, entries ended
once), line by line: `LineChecker`."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jspiprof.trace.checks import (
    LINE_TYPES,
    field_values,
    header,
    impossible_number,
    quoted,
    registration,
    runtime,
)
from jspiprof.trace.model import (
    Entry,
    EntryEnd,
    Event,
    FailedSwitch,
    Frame,
    Instance,
    SkippedLinesWarning,
    Suspension,
    TraceError,
    TruncatedTraceWarning,
)
from jspiprof.trace.samples import Samples, problem_with
from jspiprof.trace.sources import LineTooLong, too_long

try:
    from orjson import loads
except ImportError:  # inside Pyodide
    from json import loads


@dataclass
class SkippedLines:
    """Lines skipped for their impossible values: how many, and the first (its number and why)."""

    count: int = 0
    first: tuple[int, str] | None = None

    def add(self, number: int, reason: str) -> None:
        self.count += 1
        if self.first is None or number < self.first[0]:
            self.first = (number, reason)

    def merge(self, other: SkippedLines) -> None:
        """Count `other`'s lines too."""
        self.count += other.count
        if other.first is not None and (self.first is None or other.first[0] < self.first[0]):
            self.first = other.first

    def warn(self) -> None:
        """One `SkippedLinesWarning` counting them, when there are any."""
        if self.first is None:
            return
        lines = "1 line of the trace was" if self.count == 1 else f"{self.count:,} lines of the trace were"
        number, reason = self.first
        warnings.warn(
            f"{lines} skipped for impossible values (the first, line {number}: {reason}).",
            SkippedLinesWarning,
            stacklevel=4,
        )


def warn_truncated(number: int) -> None:
    warnings.warn(
        f"The trace's last line (line {number}) is truncated (the app ended mid-write); it was skipped.",
        TruncatedTraceWarning,
        stacklevel=4,
    )


def ends_a_line(line: str | bytes) -> bool:
    return line[-1:] in ("\n", b"\n")


def next_line(lines: Iterator[str | bytes], number: int) -> str | bytes | None:
    """The line after line `number`, or None at the end."""
    try:
        return next(lines, None)
    except LineTooLong:
        raise too_long(number + 1) from None


def is_blank(line: str | bytes) -> bool:
    return not line.strip()


class LineChecker:
    """The checks of each line, and what they remember of the lines before: the instances described so far (0, the
    header's, always), the frames defined so far, the entries started (their start) and ended, the stacks already
    checked (each kept as the one tuple every event with that stack shares), the sample stacks defined so far (id:
    frame ids), and the lines skipped."""

    def __init__(
        self,
        frames: dict[int, Frame] | None = None,
        entries: Iterable[Entry] = (),
        skipped: SkippedLines | None = None,
        sample_stacks: dict[int, tuple[int, ...]] | None = None,
        instances: Iterable[int] = (),
    ) -> None:
        self.instances: set[int] = {0, *instances}
        self.described: set[int] = set(instances)
        self.frames: dict[int, Frame] = dict(frames or {})
        self.sample_stacks: dict[int, tuple[int, ...]] = dict(sample_stacks or {})
        self.entry_starts: dict[int, float] = {}
        self.ended: set[int] = set()
        for entry in entries:
            self.entry_starts[entry.id] = entry.start_us
            if entry.end_us is not None:
                self.ended.add(entry.id)
        self.stacks: dict[tuple[int, ...], tuple[int, ...]] = {}
        self.skipped = skipped or SkippedLines()

    def events(self, lines: Iterator[str | bytes], number: int) -> Iterator[Event]:
        """The events of `lines`, the first of which is line `number + 1`, checked one by one. Blank lines at the end
        are ignored."""
        first_blank: int | None = None
        pending = next_line(lines, number)
        while pending is not None:
            line = pending
            number += 1
            pending = next_line(lines, number)
            if is_blank(line) and number > 1:
                first_blank = first_blank or number
                continue
            if first_blank is not None:
                raise TraceError(f"line {first_blank}: not valid JSON; the trace is corrupt.")
            try:
                parsed = loads(line)
            except json.JSONDecodeError:
                if pending is None and not ends_a_line(line) and number > 1:
                    warn_truncated(number)
                    return
                if isinstance(line, bytes):
                    line.decode("utf-8")  # text that is not UTF-8 is a UnicodeDecodeError, not a JSON error
                if number == 1:
                    raise TraceError("line 1: this is not a jspiprof trace (the first line is not JSON).") from None
                raise TraceError(f"line {number}: not valid JSON; the trace is corrupt.") from None
            event = self.event(parsed, number, pending)
            if event is not None:
                yield event

    def event(self, line: Any, number: int, pending: str | bytes | None) -> Event | None:
        """The checked event of line `number`, parsed into `line` (`pending` is the next line, None after the last);
        None for a line type this reader does not know, or a line skipped."""
        if not isinstance(line, dict) or not isinstance(line.get("type"), str):
            raise TraceError(f'line {number}: every line of a trace is a JSON object with a "type" string.')
        if number == 1:
            return header(line, "line 1")
        kind = line["type"]
        where = f"line {number}"
        if kind == "suspension":  # by far the most frequent
            return self.suspension(field_values(kind, line, where), number)
        if kind == "header":
            raise TraceError(f"{where}: a second header line; a trace has exactly one, first.")
        if kind not in LINE_TYPES:
            return None
        followed = kind in ("end", "snapshot") and pending is not None and not is_blank(pending)
        event = self.typed_event(kind, field_values(kind, line, where), number, followed)
        if kind == "entry" and "end_us" in line:  # an entry that ended before its line was written carries its end
            end = field_values("entry_end", line, where)[1:]
            self.end_entry(event, end, number)
        return event

    def suspension(self, values: tuple[Any, ...], number: int) -> Suspension | None:
        """The checked suspension of line `number` from its field values (of the right types and values)."""
        suspension = Suspension(*values)
        if suspension.entry is not None and suspension.entry not in self.entry_starts:
            raise TraceError(
                f"line {number}: the suspension belongs to entry {suspension.entry}, which was never started."
            )
        self.check_instance("suspension", suspension.instance, number)
        suspension.stack = self.stack(values[7], suspension.depth, number)  # shared by every event with this stack
        reason = impossible_number("suspension", values)
        if reason is not None:
            self.skipped.add(number, reason)
            return None
        return suspension

    def typed_event(self, kind: str, values: tuple[Any, ...], number: int, followed: bool) -> Event | None:
        """The checked event of line `number`, a `kind` line (not the header, not a suspension) whose fields have the
        right JSON types and values: `values`, in table order (an entry without its end). `followed`: a line that is
        not blank comes after it (none may come after the end line). None when the line is skipped."""
        where = f"line {number}"
        line_type = LINE_TYPES[kind]
        if kind == "samples":  # its lists' items are checked before their numbers
            return self.samples(values, number)
        reason = impossible_number(kind, values)
        if reason is not None and not line_type.skipped_when_impossible:
            raise TraceError(f"{where}: {reason}; the trace is corrupt.")
        if kind == "instance":
            return self.instance(values, number)
        if kind in ("entry", "failed_switch", "dropped"):
            self.check_instance(kind, values[-1], number)
        if kind == "frame":
            frame = Frame(*values)
            known = self.frames.get(frame.id)
            if known is not None and known != frame:
                raise TraceError(f"{where}: frame {frame.id} is defined twice, differently.")
            self.frames[frame.id] = frame
            return frame
        if kind == "entry":
            id, parent, start_us = values[0], values[5], values[6]
            if id in self.entry_starts:
                raise TraceError(f"{where}: entry {id} is defined twice.")
            if parent is not None and parent not in self.entry_starts:
                raise TraceError(f"{where}: the parent entry {parent} was never started.")
            self.entry_starts[id] = start_us
            return Entry(*values[:7], registration(values[7], where), *values[8:])
        if kind == "entry_end":
            end = EntryEnd(*values)
            if end.id not in self.entry_starts:
                raise TraceError(f"{where}: entry_end for entry {end.id}, which was never started.")
            return end if self.ends(end.id, end.end_us, reason, number) else None
        if kind == "failed_switch":
            failed = FailedSwitch(*values)
            if failed.entry is not None and failed.entry not in self.entry_starts:
                raise TraceError(f"{where}: the failed switch names entry {failed.entry}, which was never started.")
            stack = self.stack(failed.stack, failed.depth, number)
            if reason is not None:
                self.skipped.add(number, reason)
                return None
            return FailedSwitch(failed.ts_us, failed.entry, failed.reason, failed.path, stack, *values[5:])
        if kind in ("end", "snapshot") and followed:
            raise TraceError(f"line {number + 1}: a line after the {kind} line; the trace is corrupt.")
        if reason is not None:
            self.skipped.add(number, reason)
            return None
        return line_type.event(*values)

    def samples(self, values: tuple[Any, ...], number: int) -> Samples:
        """The checked samples of line `number` from its field values (of the right JSON types). A bad samples line
        is refused, impossible numbers too: later ones use the stacks it defines."""
        samples = Samples(*values)
        self.check_instance("samples", samples.instance, number)
        problem = problem_with(samples, self.frames.keys(), self.entry_starts.keys(), self.sample_stacks)
        if problem is not None:
            raise TraceError(f"line {number}: {problem}")
        reason = impossible_number("samples", values)  # its lists' items too, now known to be numbers
        if reason is not None:
            raise TraceError(f"line {number}: {reason}; the trace is corrupt.")
        for stack in samples.stacks:
            self.sample_stacks[stack["id"]] = tuple(stack["frames"])
        return samples

    def instance(self, values: tuple[Any, ...], number: int) -> Instance:
        """The checked instance line `number` from its field values (of the right JSON types and values)."""
        instance = values[0]
        if instance in self.described:
            raise TraceError(f"line {number}: instance {instance} is described twice.")
        self.described.add(instance)
        self.instances.add(instance)
        return Instance(*values[:4], runtime(values[4], "instance", f"line {number}"))

    def check_instance(self, kind: str, instance: int, number: int) -> None:
        """Refuse a `kind` line of an instance that no earlier `instance` line describes (0 needs none)."""
        if instance not in self.instances:
            raise TraceError(
                f"line {number}: the {kind} line belongs to instance {quoted(instance)}, which no earlier instance "
                "line describes."
            )

    def end_entry(self, entry: Entry, end: tuple[Any, ...], number: int) -> None:
        """Give the entry of line `number` the end its line carries (end_us, outcome and error, of the right JSON
        types and values), unless it is impossible: then the entry is kept as still running, and the line counted as
        skipped."""
        if self.ends(entry.id, end[0], impossible_number("entry_end", (entry.id, *end)), number):
            entry.end_us, entry.outcome, entry.error = end

    def ends(self, entry: int, end_us: float, reason: str | None, number: int) -> bool:
        """Whether `entry` may end at `end_us` on line `number` (`reason`: what is impossible about the end's numbers);
        when it may not, the line is counted as skipped."""
        if reason is None and entry in self.ended:
            reason = f"entry {entry} ends a second time"
        elif reason is None and end_us < self.entry_starts[entry]:
            reason = f"entry {entry} ends before it starts"
        if reason is not None:
            self.skipped.add(number, reason)
            return False
        self.ended.add(entry)
        return True

    def stack(self, stack: list[Any] | tuple[Any, ...], depth: int, number: int) -> tuple[int, ...]:
        """The checked stack, as the one tuple shared by every event with the same stack (whether its frames are
        defined is looked up once per distinct stack: a frame, once defined, stays defined)."""
        if all(type(frame_id) is int for frame_id in stack):
            key = tuple(stack)
            shared = self.stacks.get(key)
            if shared is None and all(frame_id in self.frames for frame_id in key):
                shared = self.stacks[key] = key
            if shared is not None and depth == len(key):
                return shared
        for frame_id in stack:
            if type(frame_id) is not int:
                raise TraceError(f"line {number}: the stack should hold frame ids (integers), not {quoted(frame_id)}.")
            if frame_id not in self.frames:
                raise TraceError(
                    f"line {number}: the stack uses frame {frame_id}, which no earlier frame line defines."
                )
        if depth != len(stack):
            raise TraceError(f"line {number}: depth is {depth} but the stack has {len(stack)} frames.")
        return tuple(stack)
