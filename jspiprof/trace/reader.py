"""The plain reader: each line parsed (orjson on the host, `json` inside Pyodide), the suspension lines, nearly all of a
trace, checked a whole column at a time (`ColumnReader`), and the precise line-by-line checks (`iter_events`) deciding
whenever a chunk of lines does not pass the column checks."""

from __future__ import annotations

import json
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import is_, itemgetter, methodcaller, not_
from typing import Any

from jspiprof.trace.checker import LineChecker, SkippedLines, ends_a_line, next_line, warn_truncated
from jspiprof.trace.checks import JSON_TYPES, LARGEST_NUMBER, LINE_TYPES, PATHS
from jspiprof.trace.model import Entry, Event, Frame, Instance, SuspensionColumns, SuspensionShape, Trace, TraceError
from jspiprof.trace.sources import LineTooLong, Source, block_lines, lines, naming_the_file, too_long

try:
    from orjson import loads
except ImportError:  # inside Pyodide
    from json import loads

Unit = list[str | bytes] | bytes
"""What a `ColumnReader` checks at a time: a chunk of lines, or a block of a file's whole lines."""

PER_ROW = ("id", "entry", "start_us", "wait_us", "resume_us", "stack_bytes", "instance")
"""The fields `SuspensionColumns` stores per row (then the row's shape); `instance` may be absent (0)."""
INSTANCE_COLUMN = PER_ROW.index("instance")
SHAPE_FIELDS = ("depth", "path", "site", "awaitable", "outcome", "error")
"""Each row's shape is looked up by its stack and these values (checked once per distinct combination)."""
BOUNDED_COLUMNS = tuple(index for index, name in enumerate(PER_ROW) if LINE_TYPES["suspension"].fields[name].bounded)
"""The per-row columns holding ids, times and sizes: each is checked to be within 0 .. 2^53."""
NULLABLE_COLUMNS = frozenset(
    index for index, name in enumerate(PER_ROW) if LINE_TYPES["suspension"].fields[name].nullable
)
"""The per-row columns that may hold null (a suspension outside any entry)."""

ShapeKey = tuple[Any, tuple[Any, ...]]
"""What a suspension's shape is looked up by: its stack (a list or tuple, or its JSON text: `ColumnReader.stack_of`),
and its `SHAPE_FIELDS` values."""
Rows = tuple[list[list[Any]], list[ShapeKey]]
"""Suspensions as columns in `PER_ROW` order, and the key of each row's shape."""


def _allowed_types(name: str) -> frozenset[type]:
    rule = LINE_TYPES["suspension"].fields[name]
    return frozenset(JSON_TYPES[rule.json_type] + ((type(None),) if rule.nullable else ()))


_PER_ROW_VALUES = itemgetter(*PER_ROW[:INSTANCE_COLUMN])
_INSTANCE_VALUE = methodcaller("get", "instance", 0)
_SHAPE_VALUES = itemgetter(*SHAPE_FIELDS)
_PER_ROW_TYPES = [_allowed_types(name) for name in PER_ROW]
_TEXT_TYPES = [_allowed_types(name) for name in ("path", "site", "awaitable", "outcome", "error")]
_INTEGER_ONLY, _LIST_ONLY = frozenset({int}), frozenset({list})
_OUTCOMES = LINE_TYPES["suspension"].fields["outcome"].values or ()


def within_bounds(columns: list[list[Any]]) -> bool:
    """Whether every id, time and size in these per-row columns is within 0 .. 2^53 (a null entry aside)."""
    for index in BOUNDED_COLUMNS:
        column = columns[index]
        if index in NULLABLE_COLUMNS:
            column = [value for value in column if value is not None]
        if column and (min(column) < 0 or max(column) > LARGEST_NUMBER):
            return False
    return True


def dict_rows(suspensions: list[dict[str, Any]]) -> Rows | None:
    """The rows of these suspension lines parsed into dicts, or None when a field is missing, of a wrong JSON type, or
    a time or size out of bounds (the shape's texts aside: those are checked once per shape)."""
    try:
        columns = [list(column) for column in zip(*map(_PER_ROW_VALUES, suspensions))]  # a column in one C loop
        columns.append(list(map(_INSTANCE_VALUE, suspensions)))
        stacks = [line["stack"] for line in suspensions]
        shape_values = list(map(_SHAPE_VALUES, suspensions))
    except KeyError:  # a missing field
        return None
    for column, allowed in zip(columns, _PER_ROW_TYPES):
        if not allowed.issuperset(map(type, column)):
            return None
    if not _LIST_ONLY.issuperset(map(type, stacks)) or not within_bounds(columns):
        return None
    # in C loops; 1.0 and true would pass for 1 later: frame ids and depths must be integers themselves
    if not _INTEGER_ONLY.issuperset(map(type, chain.from_iterable(stacks))):
        return None
    if not _INTEGER_ONLY.issuperset(type(values[0]) for values in shape_values):
        return None
    return columns, list(zip(map(tuple, stacks), shape_values))


def texts_are_valid(texts: tuple[Any, ...]) -> bool:
    """Whether a shape's path, site, awaitable, outcome and error have their JSON types and values."""
    for text, allowed in zip(texts, _TEXT_TYPES):
        if type(text) not in allowed:
            return False
    return texts[0] in PATHS and texts[3] in _OUTCOMES


@dataclass
class Chunk:
    """A chunk of `lines` lines that passed the checks: its events other than suspensions, its suspensions as columns
    (in `PER_ROW` order, then the shape; None when it has none), the shapes it is the first to use, whether its last
    line was cut off, and the lines it skipped."""

    events: list[Event]
    columns: list[list[Any]] | None
    shapes: list[SuspensionShape]
    lines: int
    truncated: bool
    skipped: SkippedLines = field(default_factory=SkippedLines)


def _unit_lines(unit: Unit) -> list[str | bytes]:
    return unit if isinstance(unit, list) else block_lines(unit)


def _first_line(unit: Unit | None) -> str | bytes | None:
    if unit is None:
        return None
    if isinstance(unit, list):
        return unit[0] if unit else None
    return unit[: unit.find(b"\n") + 1 or len(unit)]


def _next_unit(units: Iterator[Unit], number: int, unit: Unit | None) -> Unit | None:
    """The unit after `unit` (None: the first), the first line of which is line `number + 1`; None at the end."""
    try:
        return next(units, None)
    except LineTooLong:
        lines = 0 if unit is None else len(unit) if isinstance(unit, list) else unit.count(b"\n")
        raise too_long(number + lines + 1) from None


def _add_events(trace: Trace | None, events: Iterable[Event]) -> Trace:
    """`trace` with `events` added (a new trace when None: the first event is then the header)."""
    if trace is None:
        return Trace.from_events(events)
    trace.add_events(events)
    return trace


class ColumnReader:
    """Reads a trace a chunk of lines at a time: each line parsed, then the suspension lines (nearly all of them)
    checked and stored a whole column at a time, the other lines by the precise checks of `LineChecker`.

    The column checks accept only what the precise checks accept, with the same result; when a chunk does not pass
    them, the precise checks take over from that chunk's first line, so a bad line gets its one-sentence error.
    """

    def __init__(self) -> None:
        self.checker = LineChecker()
        self.trace: Trace | None = None
        self.shapes: dict[ShapeKey, int] = {}  # shape key -> shape id
        self.skipped = SkippedLines()

    def read(self, units: Iterator[Unit]) -> Trace:
        """The trace of these units, the first of which holds only the header line."""
        unit = _next_unit(units, 0, None)
        if unit is None:
            raise TraceError("The trace is empty: a jspiprof trace starts with a header line.")
        number = 0  # lines before this unit
        while unit is not None:
            following = _next_unit(units, number, unit)
            checked = self.check_block(unit, number, following is None) if isinstance(unit, bytes) else None
            if checked is None:
                if isinstance(unit, bytes):  # the checker as it was before the block, for its lines
                    self.checker = self.checker_before_unit()
                unit_lines = _unit_lines(unit)
                checked = self.check_lines(unit_lines, number, _first_line(following))
            if checked is None:
                return self.read_line_by_line(chain(unit_lines, self.rest(following, units)), number)
            self.add(checked)
            if checked.truncated:
                warn_truncated(number + checked.lines)
            number += checked.lines
            unit = following
        assert self.trace is not None
        self.skipped.warn()
        return self.trace

    @staticmethod
    def rest(following: Unit | None, units: Iterator[Unit]) -> Iterator[str | bytes]:
        """The lines of `following` and of every unit after it."""
        if following is not None:
            yield from _unit_lines(following)
        for unit in units:
            yield from _unit_lines(unit)

    def read_line_by_line(self, rest: Iterator[str | bytes], number: int) -> Trace:
        """The trace read so far with `rest` added, its first line line `number + 1`, checked line by line."""
        checker = self.checker_before_unit()
        trace = _add_events(self.trace, checker.events(rest, number))
        checker.skipped.warn()
        return trace

    def checker_before_unit(self) -> LineChecker:
        """A line checker that knows what the trace read so far holds (the chunks that passed), and no more."""
        trace = self.trace
        if trace is None:
            return LineChecker()
        return LineChecker(trace.frames, trace.entries.values(), self.skipped, trace.samples.stacks, trace.instances)

    def stack_of(self, stack: Any) -> tuple[int, ...] | None:
        """The frame ids of a shape key's stack, worked out once per new key (None: not a list of integers)."""
        return stack

    def check_block(self, block: bytes, number: int, last: bool) -> Chunk | None:
        """The checked chunk of a block of whole lines (the first is line `number + 1`, never the header; `last`: no
        line follows) by a quicker way than parsing each line, or None to check its lines."""
        return None

    def add(self, chunk: Chunk) -> None:
        """Add a checked chunk to the trace."""
        self.trace = trace = _add_events(self.trace, chunk.events)
        self.skipped.merge(chunk.skipped)
        if chunk.columns is None:
            return
        suspensions = trace.suspension_columns
        for column, values in zip(suspensions.per_row_columns(), chunk.columns):
            if isinstance(column, array):  # packed in one go: array.extend parses its items one by one, 5x slower
                column.frombytes(struct.pack(f"{len(values)}{column.typecode}", *values))
            else:
                column.extend(values)
        for shape in chunk.shapes:
            suspensions.shape_ids[shape] = len(suspensions.shapes)
            suspensions.shapes.append(shape)

    def check_lines(self, chunk: list[str | bytes], number: int, after: str | bytes | None) -> Chunk | None:
        """The checked chunk of these lines (the first is line `number + 1`; `after` is the line after the last, None
        at the end of the trace), or None when anything in it does not pass the column checks."""
        count, truncated = len(chunk), False
        try:
            parsed = [loads(line) for line in chunk]
        except json.JSONDecodeError:
            if after is not None or ends_a_line(chunk[-1]) or number + len(chunk) == 1:
                return None
            try:  # a cut-off last line is skipped (with a warning once the chunk is in)
                parsed = [loads(line) for line in chunk[:-1]]
            except json.JSONDecodeError:
                return None
            chunk, after, truncated = chunk[:-1], chunk[-1], True
        if not all(type(line) is dict and type(line.get("type")) is str for line in parsed):
            return None
        is_suspension = [line["type"] == "suspension" for line in parsed]
        if number == 0 and is_suspension[0]:
            return None

        def event(index: int) -> Event | None:
            following = chunk[index + 1] if index + 1 < len(chunk) else after
            return self.checker.event(parsed[index], number + index + 1, following)

        return self.checked(parsed, is_suspension, event, dict_rows, count, truncated)

    def checked(
        self,
        parsed: list[Any],
        is_suspension: list[bool],
        event: Callable[[int], Event | None],
        rows: Callable[[list[Any]], Rows | None],
        lines: int,
        truncated: bool,
    ) -> Chunk | None:
        """The checked chunk of the lines parsed into `parsed`: `event(i)` is the checked event of line i (other than a
        suspension), `rows` the rows of the suspension lines; None when anything does not pass the checks."""
        events: list[Event] = []
        frames_at: dict[int, int] = {}  # where in the chunk each frame, entry and instance is defined
        entries_at: dict[int, int] = {}
        instances_at: dict[int, int] = {}
        self.checker.skipped = skipped = SkippedLines()
        indexes = range(len(parsed))
        try:
            for index in compress(indexes, map(not_, is_suspension)):  # the few other lines, picked in a C loop
                checked = event(index)
                if checked is not None:
                    events.append(checked)
                    if isinstance(checked, Frame):
                        frames_at.setdefault(checked.id, index)
                    elif isinstance(checked, Entry):
                        entries_at[checked.id] = index
                    elif isinstance(checked, Instance):
                        instances_at[checked.instance] = index
        except TraceError:
            return None
        suspensions = list(compress(parsed, is_suspension))
        if not suspensions:
            return Chunk(events, None, [], lines, truncated, skipped)
        found = rows(suspensions)
        if found is None:
            return None
        places = list(compress(indexes, is_suspension)) if frames_at or entries_at or instances_at else []
        numbered = self.numbered(*found, frames_at, entries_at, instances_at, places)
        if numbered is None:
            return None
        return Chunk(events, *numbered, lines, truncated, skipped)

    def numbered(
        self,
        columns: list[list[Any]],
        keys: list[ShapeKey],
        frames_at: dict[int, int],
        entries_at: dict[int, int],
        instances_at: dict[int, int],
        places: list[int],
    ) -> tuple[list[list[Any]], list[SuspensionShape]] | None:
        """The suspensions' columns with the numbers of their shapes added, and the shapes they are the first to use;
        None when their entries, instances, stacks or texts do not pass the checks. `keys` are the rows' shape keys;
        `places` the position of each in its chunk (given only when the chunk defines frames, entries or instances:
        then it is needed)."""
        checker = self.checker
        entries = set(columns[1])
        entries.discard(None)
        if not checker.entry_starts.keys() >= entries:
            return None
        if not entries.isdisjoint(entries_at):  # entries defined in this chunk: before their first suspension?
            first = dict(zip(reversed(columns[1]), reversed(places)))
            if any(first[entry] < entries_at[entry] for entry in entries.intersection(entries_at)):
                return None
        instances = set(columns[INSTANCE_COLUMN])
        if not checker.instances >= instances:
            return None
        if not instances.isdisjoint(instances_at):  # instances described in this chunk: before their first suspension?
            first = dict(zip(reversed(columns[INSTANCE_COLUMN]), reversed(places)))
            if any(first[instance] < instances_at[instance] for instance in instances.intersection(instances_at)):
                return None
        try:
            numbers = list(map(self.shapes.get, keys))  # a dict lookup per row, in one C loop
        except TypeError:  # an unhashable value
            return None
        known = self.trace.suspension_columns if self.trace else SuspensionColumns()
        new_keys: dict[ShapeKey, int] = {}
        new_shapes: dict[SuspensionShape, int] = {}
        for index in compress(range(len(numbers)), map(is_, numbers, repeat(None))):  # new keys, found in C loops
            key = keys[index]
            number = new_keys.get(key)
            if number is None:
                stack, (depth, *texts) = key
                stack = self.stack_of(stack)
                if stack is None or depth != len(stack) or not texts_are_valid(tuple(texts)):
                    return None
                if not all(frame_id in checker.frames for frame_id in stack):
                    return None
                if frames_at and any(frames_at.get(frame_id, -1) > places[index] for frame_id in stack):
                    return None  # a frame defined in this chunk after its first use
                shape = SuspensionShape(stack, *texts)
                number = known.shape_ids.get(shape, new_shapes.get(shape))
                if number is None:
                    number = new_shapes[shape] = len(known.shapes) + len(new_shapes)
                new_keys[key] = number
            numbers[index] = number
        self.shapes.update(new_keys)
        return [*columns, numbers], list(new_shapes)


def file_units(blocks: Iterator[bytes]) -> Iterator[Unit]:
    """A file's first line by itself (the header, for the precise checks), then its blocks."""
    first = next(blocks, None)
    if first is None:
        return
    cut = first.find(b"\n") + 1 or len(first)
    yield [first[:cut]]
    if cut < len(first):
        yield first[cut:]
    yield from blocks


def iter_events(source: Source) -> Iterator[Event]:
    """The trace's lines as typed events, checked one by one as they are read (the header first)."""
    with naming_the_file(source):
        source_lines = lines(source)
        first = next_line(source_lines, 0)
        if first is None:
            raise TraceError("The trace is empty: a jspiprof trace starts with a header line.")
        checker = LineChecker()
        yield from checker.events(chain((first,), source_lines), 0)
    checker.skipped.warn()
