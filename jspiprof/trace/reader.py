"""Read a jspiprof trace (`docs/trace-format.md`): as a stream of typed events, or whole into a `Trace`.

Standard library only (also importable inside Pyodide); on the host, lines are parsed with orjson, and a file's
blocks of lines decoded by msgspec into typed structs (`jspiprof.trace.typed_reader`). Every line is checked; a file that
is not a trace, is corrupt, or has a newer version raises `TraceError` with one sentence naming the line. A truncated last line
(the app was killed mid-write) is skipped with a `TruncatedTraceWarning`. Unknown fields are ignored, and so are
unknown line types (a newer writer of the same version may add them).

`read_trace` checks the suspension lines, nearly all of a trace, a whole column at a time and stores them as
columns (`SuspensionColumns`); the same checks line by line (`iter_events`) decide whenever the columns look wrong.
"""

from __future__ import annotations

import gc
import io
import json
import struct
import warnings
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from itertools import chain, compress, islice, product, repeat
from operator import eq, is_, itemgetter, not_
from pathlib import Path
from typing import IO, Any, Protocol

from jspiprof.trace.samples import SampleColumns, Samples, problem_with

try:
    from orjson import loads
except ImportError:  # inside Pyodide
    from json import loads

SCHEMA = "jspiprof-trace"
VERSION = 1


class TraceError(ValueError):
    """The file is not a valid jspiprof trace; the message says which line and what is wrong."""


class TruncatedTraceWarning(UserWarning):
    """The trace's last line was cut off (the app ended mid-write); it was skipped."""


@dataclass(frozen=True)
class Runtime:
    """Where the trace was recorded."""

    host: str
    host_version: str
    pyodide: str
    jspi: str


@dataclass(frozen=True)
class Header:
    """The first line: format, clock origin, runtime and program."""

    schema: str
    version: int
    origin_unix_ms: float
    runtime: Runtime
    program: dict[str, Any] | None


@dataclass(frozen=True)
class Frame:
    """An interned Python frame: a line being executed in a function."""

    id: int
    file: str
    line: int
    function: str
    library: bool

    @property
    def location(self) -> str:
        """`file:line`."""
        return f"{self.file}:{self.line}"


@dataclass
class Entry:
    """JavaScript calling into Python; `end_us`, `outcome` and `error` are None while it runs."""

    id: int
    kind: str
    promising: bool
    name: str | None
    caller: str | None
    parent: int | None
    start_us: float
    end_us: float | None = None
    outcome: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class EntryEnd:
    """An entry returned or threw."""

    id: int
    end_us: float
    outcome: str
    error: str | None


@dataclass(slots=True)
class Suspension:
    """One stack switch: saved at `start_us`, waited `wait_us`, restored `resume_us` after the promise settled.

    Not frozen: a trace holds millions, and a frozen dataclass takes eight times longer to build.
    """

    id: int
    entry: int | None
    path: str
    start_us: float
    wait_us: float
    resume_us: float
    stack_bytes: int
    stack: tuple[int, ...]
    depth: int
    site: str | None
    awaitable: str | None
    outcome: str
    error: str | None

    @property
    def end_us(self) -> float:
        """When the stack was restored."""
        return self.start_us + self.wait_us + self.resume_us


@dataclass(frozen=True)
class FailedSwitch:
    """A stack switch asked for where none was possible."""

    ts_us: float
    entry: int | None
    reason: str
    path: str
    stack: tuple[int, ...]
    depth: int
    site: str | None
    error: str


@dataclass(frozen=True)
class Dropped:
    """Events lost because the browser's in-memory buffer was full."""

    count: int
    ts_us: float


@dataclass(frozen=True)
class End:
    """The trace was closed normally."""

    ts_us: float
    dropped: int
    exit_status: int | None


Event = Header | Frame | Entry | EntryEnd | Suspension | FailedSwitch | Dropped | Samples | End

_NUMBER = (int, float)
_STR = (str,)
_INT = (int,)
_BOOL = (bool,)
_OBJ = (dict,)
_LIST = (list,)

# For each line type: field -> (accepted JSON types, may be null).
_FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "header": {
        "schema": (_STR, False),
        "version": (_INT, False),
        "origin_unix_ms": (_NUMBER, False),
        "runtime": (_OBJ, False),
        "program": (_OBJ, True),
    },
    "frame": {
        "id": (_INT, False),
        "file": (_STR, False),
        "line": (_INT, False),
        "function": (_STR, False),
        "library": (_BOOL, False),
    },
    "entry": {
        "id": (_INT, False),
        "kind": (_STR, False),
        "promising": (_BOOL, False),
        "name": (_STR, True),
        "caller": (_STR, True),
        "parent": (_INT, True),
        "start_us": (_NUMBER, False),
    },
    "entry_end": {"id": (_INT, False), "end_us": (_NUMBER, False), "outcome": (_STR, False), "error": (_STR, True)},
    "suspension": {
        "id": (_INT, False),
        "entry": (_INT, True),
        "path": (_STR, False),
        "start_us": (_NUMBER, False),
        "wait_us": (_NUMBER, False),
        "resume_us": (_NUMBER, False),
        "stack_bytes": (_INT, False),
        "stack": (_LIST, False),
        "depth": (_INT, False),
        "site": (_STR, True),
        "awaitable": (_STR, True),
        "outcome": (_STR, False),
        "error": (_STR, True),
    },
    "failed_switch": {
        "ts_us": (_NUMBER, False),
        "entry": (_INT, True),
        "reason": (_STR, False),
        "path": (_STR, False),
        "stack": (_LIST, False),
        "depth": (_INT, False),
        "site": (_STR, True),
        "error": (_STR, False),
    },
    "dropped": {"count": (_INT, False), "ts_us": (_NUMBER, False)},
    "samples": {
        "interval_us": (_INT, False),
        "stacks": (_LIST, False),
        "start_us": (_NUMBER, False),
        "dt_us": (_LIST, False),
        "stack": (_LIST, False),
        "entry": (_LIST, False),
    },
    "end": {"ts_us": (_NUMBER, False), "dropped": (_INT, False), "exit_status": (_INT, True)},
}
# For each line type: every accepted combination of the JSON types of its fields, in _FIELDS order.
_ACCEPTED: dict[str, frozenset[tuple[type, ...]]] = {
    kind: frozenset(product(*(types + ((type(None),) if nullable else ()) for types, nullable in fields.values())))
    for kind, fields in _FIELDS.items()
    if kind != "header"
}
_VALUES = {kind: itemgetter(*fields) for kind, fields in _FIELDS.items()}
_RUNTIME_FIELDS = ("host", "host_version", "pyodide", "jspi")
_OUTCOMES = {"entry_end": ("return", "exception"), "suspension": ("value", "exception")}
_SUSPENSION_VALUES, _SUSPENSION_TYPES, _SUSPENSION_OUTCOMES = (
    _VALUES["suspension"],
    _ACCEPTED["suspension"],
    frozenset(_OUTCOMES["suspension"]),
)


def _values(kind: str, obj: dict[str, Any], where: str) -> tuple[Any, ...]:
    """The line's field values in _FIELDS order, checked (one set lookup for a good line)."""
    try:
        values = _VALUES[kind](obj)
    except KeyError:
        values = None
    if values is None or tuple(map(type, values)) not in _ACCEPTED[kind]:
        _check_fields(kind, obj, where)
    return values


def _bad_outcome(kind: str, outcome: Any, where: str) -> TraceError:
    return TraceError(f"{where}: outcome should be one of {', '.join(_OUTCOMES[kind])}, not {outcome!r}.")


def _check_fields(kind: str, obj: dict[str, Any], where: str) -> None:
    for name, (types, nullable) in _FIELDS[kind].items():
        if name not in obj:
            raise TraceError(f"{where}: the {kind} line has no {name!r} field.")
        value = obj[name]
        if value is None and nullable:
            continue
        if isinstance(value, bool) and bool not in types:
            raise TraceError(
                f"{where}: field {name!r} of the {kind} line should be {_type_names(types, nullable)}, not {value!r}."
            )
        if not isinstance(value, types):
            raise TraceError(
                f"{where}: field {name!r} of the {kind} line should be {_type_names(types, nullable)}, not {value!r}."
            )


def _type_names(types: tuple[type, ...], nullable: bool) -> str:
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        dict: "an object",
        list: "a list",
    }
    text = " or ".join(dict.fromkeys(names[t] for t in types if not (t is int and float in types)))
    return text + (" or null" if nullable else "")


_INT_TYPE, _LIST_TYPE = {int}, {list}
_FIRST = itemgetter(0)


def _header(obj: dict[str, Any], where: str) -> Header:
    if obj.get("type") != "header" or obj.get("schema") != SCHEMA:
        raise TraceError(f"{where}: this is not a jspiprof trace (its first line is not a {SCHEMA!r} header).")
    if isinstance(obj.get("version"), int) and obj["version"] > VERSION:
        raise TraceError(
            f"{where}: the trace has format version {obj['version']}, newer than this jspiprof reads ({VERSION}): upgrade jspiprof."
        )
    _check_fields("header", obj, where)
    if obj["version"] < 1:
        raise TraceError(f"{where}: format version {obj['version']} does not exist (versions start at 1).")
    runtime = obj["runtime"]
    for name in _RUNTIME_FIELDS:
        if not isinstance(runtime.get(name), str):
            raise TraceError(f"{where}: the header's runtime has no {name!r} string.")
    return Header(
        schema=obj["schema"],
        version=obj["version"],
        origin_unix_ms=obj["origin_unix_ms"],
        runtime=Runtime(*(runtime[name] for name in _RUNTIME_FIELDS)),
        program=obj["program"],
    )


class BinaryFile(Protocol):
    """An open binary file, or anything whose `read(size)` gives the next bytes of one (b"" at its end)."""

    def read(self, size: int, /) -> bytes: ...


Source = str | Path | BinaryFile | IO[str] | Iterable[str | bytes]
"""What `read_trace` and `iter_events` read: a path, an open file (binary or text), or an iterable of lines (text or
UTF-8 bytes)."""

BLOCK_BYTES = 1 << 16
"""A trace file is read about this many bytes at a time, cut after the last whole line. Small enough that a block and
the objects parsed from it stay in the CPU's cache and their memory is reused block after block: with 1 MiB blocks
a 10^4-suspension trace took 2,900 page faults to read, with 64 KiB 415, and its report 8% less time."""


def _is_binary_file(source: Source) -> bool:
    """Whether `source` is a path or a binary file: read in blocks of whole lines."""
    return isinstance(source, (str, Path)) or (hasattr(source, "read") and not isinstance(source, io.TextIOBase))


def _blocks(source: str | Path | BinaryFile) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines (the last block's last line may lack its newline)."""
    if isinstance(source, (str, Path)):
        try:
            with open(source, "rb") as file:
                yield from _blocks(file)
        except OSError as error:
            raise TraceError(f"Cannot read the trace {source}: {error.strerror or error}.") from None
        return
    rest = b""
    while data := source.read(BLOCK_BYTES):
        cut = data.rfind(b"\n") + 1
        if cut == len(data) and not rest:
            yield data
        elif cut:
            yield b"".join((rest, memoryview(data)[:cut]))  # one copy of the block, not two
            rest = data[cut:]
        else:
            rest += data
    if rest:
        yield rest


def _block_lines(block: bytes) -> list[bytes]:
    """The lines of a block, each with its newline."""
    return io.BytesIO(block).readlines()


def _lines(source: Source) -> Iterator[str | bytes]:
    if _is_binary_file(source):
        return chain.from_iterable(map(_block_lines, _blocks(source)))
    return iter(source)


@contextmanager
def _naming_the_file(source: Source) -> Iterator[None]:
    """A trace file that is not UTF-8 is a `TraceError` naming the file."""
    try:
        yield
    except UnicodeDecodeError:
        if isinstance(source, (str, Path)):
            raise TraceError(f"{source} is not a jspiprof trace: it is not UTF-8 text.") from None
        raise


def _ends_a_line(line: str | bytes) -> bool:
    return line[-1:] in ("\n", b"\n")


class _Checker:
    """The precise checks of each line, and what they remember of the lines before: the frames and entries defined
    so far (the trace read so far has them) and the stacks already checked (each kept as the one tuple every event
    with that stack shares)."""

    def __init__(
        self, frames: Iterable[int] = (), entries: Iterable[int] = (), sample_stacks: Iterable[int] = ()
    ) -> None:
        self.frames: set[int] = set(frames)
        self.entries: set[int] = set(entries)
        self.sample_stacks: set[int] = set(sample_stacks)
        self.stacks: dict[tuple[int, ...], tuple[int, ...]] = {}

    def events(self, lines: Iterator[str | bytes], number: int) -> Iterator[Event]:
        """The events of `lines`, the first of which is line `number + 1`, checked one by one."""
        pending: str | bytes | None = next(lines, None)
        while pending is not None:
            line = pending
            number += 1
            pending = next(lines, None)
            try:
                obj = loads(line)
            except json.JSONDecodeError:
                if pending is None and not _ends_a_line(line) and number > 1:
                    _warn_truncated(number)
                    return
                if isinstance(line, bytes):
                    line.decode("utf-8")  # text that is not UTF-8 is a UnicodeDecodeError, not a JSON error
                if number == 1:
                    raise TraceError(
                        f"line {number}: this is not a jspiprof trace (the first line is not JSON)."
                    ) from None
                raise TraceError(f"line {number}: not valid JSON; the trace is corrupt.") from None
            event = self.event(obj, number, pending)
            if event is not None:
                yield event

    def event(self, obj: Any, number: int, pending: str | bytes | None) -> Event | None:
        """The checked event of line `number`, parsed into `obj` (`pending` is the next line, None after the last);
        None for a line type this reader does not know."""
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise TraceError(f'line {number}: every line of a trace is a JSON object with a "type" string.')
        if number == 1:
            return _header(obj, "line 1")
        kind = obj["type"]
        if (
            kind == "suspension"
        ):  # by far the most frequent: checked first, as `_values` does, naming the line only on error
            try:
                values = _SUSPENSION_VALUES(obj)
            except KeyError:
                values = None
            if values is None or tuple(map(type, values)) not in _SUSPENSION_TYPES:
                _check_fields(kind, obj, f"line {number}")
            if obj["outcome"] not in _SUSPENSION_OUTCOMES:
                raise _bad_outcome("suspension", obj["outcome"], f"line {number}")
            if obj["entry"] is not None and obj["entry"] not in self.entries:
                raise TraceError(
                    f"line {number}: the suspension belongs to entry {obj['entry']}, which was never started."
                )
            suspension = Suspension(*values)  # fields in _FIELDS order; the stack, checked, is the shared tuple
            suspension.stack = self._stack(obj["stack"], obj["depth"], number)
            return suspension
        where = f"line {number}"
        if kind == "header":
            raise TraceError(f"{where}: a second header line; a trace has exactly one, first.")
        if kind not in _FIELDS:
            return None
        followed = kind == "end" and pending is not None and bool(pending.strip())
        event = self.typed_event(kind, _values(kind, obj, where), number, followed)
        if kind == "entry" and "end_us" in obj:  # an entry that ended before its line was written carries its end
            self.end_entry(event, _values("entry_end", obj, where)[1:], number)
        return event

    def typed_event(self, kind: str, values: tuple[Any, ...], number: int, followed: bool) -> Event:
        """The checked event of line `number`, a `kind` line (not the header, not a suspension) whose fields have the
        right JSON types: `values`, in _FIELDS order (an entry without its end). `followed`: a line that is not blank
        comes after it (none may come after the end line)."""
        where = f"line {number}"
        if kind == "frame":
            self.frames.add(values[0])
            return Frame(*values)
        if kind == "entry":
            id, parent = values[0], values[5]
            if id in self.entries:
                raise TraceError(f"{where}: entry {id} is defined twice.")
            if parent is not None and parent not in self.entries:
                raise TraceError(f"{where}: the parent entry {parent} was never started.")
            self.entries.add(id)
            return Entry(*values)
        if kind == "entry_end":
            if values[2] not in _OUTCOMES[kind]:
                raise _bad_outcome(kind, values[2], where)
            if values[0] not in self.entries:
                raise TraceError(f"{where}: entry_end for entry {values[0]}, which was never started.")
            return EntryEnd(*values)
        if kind == "failed_switch":
            ts_us, entry, reason, path, stack, depth, site, error = values
            if entry is not None and entry not in self.entries:
                raise TraceError(f"{where}: the failed switch names entry {entry}, which was never started.")
            return FailedSwitch(ts_us, entry, reason, path, self._stack(stack, depth, number), depth, site, error)
        if kind == "dropped":
            return Dropped(*values)
        if kind == "samples":
            samples = Samples(*values)
            problem = problem_with(samples, self.frames, self.entries, self.sample_stacks)
            if problem is not None:
                raise TraceError(f"{where}: {problem}")
            self.sample_stacks.update(stack["id"] for stack in samples.stacks)
            return samples
        if followed:
            raise TraceError(f"line {number + 1}: a line after the end line; the trace is corrupt.")
        return End(*values)

    def end_entry(self, entry: Entry, end: tuple[Any, ...], number: int) -> None:
        """Give the entry of line `number` the end its line carries: end_us, outcome and error, of the right JSON types."""
        if end[1] not in _OUTCOMES["entry_end"]:
            raise _bad_outcome("entry_end", end[1], f"line {number}")
        entry.end_us, entry.outcome, entry.error = end

    def _stack(self, stack: list[Any] | tuple[Any, ...], depth: int, number: int) -> tuple[int, ...]:
        """The checked stack, as the one tuple shared by every event with the same stack (whether its frames are
        defined is looked up once per distinct stack: a frame, once defined, stays defined)."""
        if _INT_TYPE.issuperset(map(type, stack)):
            key = tuple(stack)
            shared = self.stacks.get(key)
            if shared is None and self.frames.issuperset(key):
                shared = self.stacks[key] = key
            if shared is not None and depth == len(key):
                return shared
        for frame_id in stack:
            if not isinstance(frame_id, int) or isinstance(frame_id, bool):
                raise TraceError(f"line {number}: the stack should hold frame ids (integers), not {frame_id!r}.")
            if frame_id not in self.frames:
                raise TraceError(
                    f"line {number}: the stack uses frame {frame_id}, which no earlier frame line defines."
                )
        if depth != len(stack):
            raise TraceError(f"line {number}: depth is {depth} but the stack has {len(stack)} frames.")
        return tuple(stack)


def _warn_truncated(number: int) -> None:
    warnings.warn(
        f"The trace's last line (line {number}) is truncated (the app ended mid-write); it was skipped.",
        TruncatedTraceWarning,
        stacklevel=4,
    )


def iter_events(source: Source) -> Iterator[Event]:
    """The trace's lines as typed events, checked one by one as they are read (the header first)."""
    lines = _lines(source)
    first = next(lines, None)
    if first is None:
        raise TraceError("The trace is empty: a jspiprof trace starts with a header line.")
    with _naming_the_file(source):
        yield from _Checker().events(chain((first,), lines), 0)


@dataclass(frozen=True)
class SuspensionShape:
    """What the suspensions at one place have in common: the stack (its depth is its length), the path that asked for
    the switch, the site, what was awaited, the outcome and the error."""

    stack: tuple[int, ...]
    path: str
    site: str | None
    awaitable: str | None
    outcome: str
    error: str | None


@dataclass
class SuspensionColumns:
    """A trace's suspensions as one column per field, in file order: suspension i is row i of every column.

    What a whole trace stores (a million `Suspension` objects would cost more to build than their lines cost to
    parse): times as float64 arrays and, for each row, its `shape`: an index into `shapes`, the distinct
    `SuspensionShape`s in order of first use.
    """

    id: list[int] = field(default_factory=list)
    entry: list[int | None] = field(default_factory=list)
    start_us: array = field(default_factory=lambda: array("d"))
    wait_us: array = field(default_factory=lambda: array("d"))
    resume_us: array = field(default_factory=lambda: array("d"))
    stack_bytes: list[int] = field(default_factory=list)
    shape: array = field(default_factory=lambda: array("i"))
    shapes: list[SuspensionShape] = field(default_factory=list)
    shape_ids: dict[SuspensionShape, int] = field(default_factory=dict, compare=False, repr=False)
    """Each shape's index in `shapes`."""

    def __len__(self) -> int:
        return len(self.id)

    def rows(self) -> list[Suspension]:
        """One `Suspension` per row."""
        shapes = list(map(self.shapes.__getitem__, self.shape))
        stacks = [shape.stack for shape in shapes]
        return list(
            map(
                Suspension,
                self.id,
                self.entry,
                (s.path for s in shapes),
                self.start_us,
                self.wait_us,
                self.resume_us,
                self.stack_bytes,
                stacks,
                map(len, stacks),
                (s.site for s in shapes),
                (s.awaitable for s in shapes),
                (s.outcome for s in shapes),
                (s.error for s in shapes),
            )
        )

    def append(self, suspension: Suspension) -> None:
        """Add a suspension as the last row."""
        s = suspension
        shape = SuspensionShape(s.stack, s.path, s.site, s.awaitable, s.outcome, s.error)
        number = self.shape_ids.setdefault(shape, len(self.shapes))
        if number == len(self.shapes):
            self.shapes.append(shape)
        for column, value in zip(
            self._per_row(), (s.id, s.entry, s.start_us, s.wait_us, s.resume_us, s.stack_bytes, number)
        ):
            column.append(value)

    def _per_row(self) -> list[Any]:
        return [self.id, self.entry, self.start_us, self.wait_us, self.resume_us, self.stack_bytes, self.shape]


assert tuple(_FIELDS["suspension"]) == tuple(
    f.name for f in fields(Suspension)
)  # the checks build a Suspension from the fields in order


@dataclass
class Trace:
    """A whole trace: the pivot every analysis, report and export takes.

    `entries` have their end merged in; `end` is None when the app ended without closing the trace. The
    suspensions are stored as `suspension_columns`; `suspensions` gives them as objects. The CPU samples are
    `samples`, as columns.
    """

    header: Header
    frames: dict[int, Frame] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)
    suspension_columns: SuspensionColumns = field(default_factory=SuspensionColumns)
    failed_switches: list[FailedSwitch] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    samples: SampleColumns = field(default_factory=SampleColumns)
    end: End | None = None

    @property
    def suspensions(self) -> list[Suspension]:
        """The suspensions in file order, as objects (built anew at each call)."""
        return self.suspension_columns.rows()

    @property
    def complete(self) -> bool:
        """True when the trace was closed normally (it has its end line)."""
        return self.end is not None

    @property
    def dropped_count(self) -> int:
        """Events lost to a full in-memory buffer."""
        return sum(d.count for d in self.dropped)

    def stack_frames(self, stack: tuple[int, ...]) -> list[Frame]:
        """The frames of a stack, outermost first."""
        return [self.frames[frame_id] for frame_id in stack]

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Trace:
        """Gather a stream of events (from `iter_events`) into a Trace."""
        return _gather(None, events)


def _gather(trace: Trace | None, events: Iterable[Event]) -> Trace:
    """`trace` (a new one when None: the first event is then the header) with `events` added."""
    iterator = iter(events)
    if trace is None:
        header = next(iterator)
        assert isinstance(header, Header)
        trace = Trace(header)
    suspensions = trace.suspension_columns
    for event in iterator:
        if isinstance(event, Suspension):  # by far the most frequent
            suspensions.append(event)
        elif isinstance(event, Frame):
            trace.frames[event.id] = event
        elif isinstance(event, Entry):
            trace.entries[event.id] = event
        elif isinstance(event, EntryEnd):
            entry = trace.entries[event.id]
            entry.end_us, entry.outcome, entry.error = event.end_us, event.outcome, event.error
        elif isinstance(event, FailedSwitch):
            trace.failed_switches.append(event)
        elif isinstance(event, Dropped):
            trace.dropped.append(event)
        elif isinstance(event, Samples):
            trace.samples.append(event)
        elif isinstance(event, End):
            trace.end = event
    return trace


CHUNK_LINES = 1024
"""`read_trace` checks an iterable of lines this many at a time (a file: a block at a time, `BLOCK_BYTES`)."""

Unit = list[str | bytes] | bytes
"""What `_ColumnReader` checks at a time: a chunk of lines, or a block of a file's whole lines."""


def _file_units(blocks: Iterator[bytes]) -> Iterator[Unit]:
    """A file's first line by itself (the header, for the precise checks), then its blocks."""
    first = next(blocks, None)
    if first is None:
        return
    cut = first.find(b"\n") + 1 or len(first)
    yield [first[:cut]]
    if cut < len(first):
        yield first[cut:]
    yield from blocks


def _unit_lines(unit: Unit) -> list[str | bytes]:
    return unit if isinstance(unit, list) else _block_lines(unit)


def _first_line(unit: Unit | None) -> str | bytes | None:
    if unit is None or isinstance(unit, list):
        return unit and unit[0]
    return unit[: unit.find(b"\n") + 1 or len(unit)]


_TYPE = itemgetter("type")
_PER_ROW = ("id", "entry", "start_us", "wait_us", "resume_us", "stack_bytes")
"""The fields `SuspensionColumns` stores per row (then the row's shape)."""
_PER_ROW_VALUES = itemgetter(*_PER_ROW)
_SHAPE_FIELDS = ("depth", "path", "site", "awaitable", "outcome", "error")
"""Each row's shape is looked up by its stack and these values (checked once per distinct combination)."""
_STACK, _SHAPE_VALUES = itemgetter("stack"), itemgetter(*_SHAPE_FIELDS)


def _suspension_types(names: Iterable[str]) -> list[frozenset[type]]:
    """The JSON types each of these suspension fields may have (null included where it may be null)."""
    return [
        frozenset(types + ((type(None),) if nullable else ()))
        for types, nullable in map(_FIELDS["suspension"].__getitem__, names)
    ]


_PER_ROW_TYPES = _suspension_types(_PER_ROW)
_SHAPE_TYPES = _suspension_types(("path", "site", "awaitable", "error"))

ShapeKey = tuple[Any, tuple[Any, ...]]
"""What a suspension's shape is looked up by: its stack (a tuple, or its JSON text: `_ColumnReader.stack_of`), and its
`_SHAPE_FIELDS` values."""
Rows = tuple[list[list[Any]], list[ShapeKey]]
"""Suspensions as columns in `_PER_ROW` order, and the key of each row's shape."""


def _dict_rows(suspensions: list[dict[str, Any]]) -> Rows | None:
    """The rows of these suspension lines parsed into dicts, or None when a field is missing or of a wrong JSON type
    (the shape's texts aside: those are checked once per shape)."""
    try:
        columns = list(map(list, zip(*map(_PER_ROW_VALUES, suspensions))))
        stacks = list(map(_STACK, suspensions))
        shape_values = list(map(_SHAPE_VALUES, suspensions))
    except KeyError:  # a missing field
        return None
    if not all(map(frozenset.issuperset, _PER_ROW_TYPES, map(map, repeat(type), columns))) or not _LIST_TYPE.issuperset(
        map(type, stacks)
    ):
        return None
    if not _INT_TYPE.issuperset(map(type, chain.from_iterable(stacks))) or not _INT_TYPE.issuperset(
        map(type, map(_FIRST, shape_values))
    ):
        return None  # (1.0 and true would pass for 1 below: frame ids and depths must be integers themselves)
    return columns, list(zip(map(tuple, stacks), shape_values))


@dataclass
class _Chunk:
    """A chunk of `lines` lines that passed the checks: its events other than suspensions, its suspensions as columns
    (in `_PER_ROW` order, then the shape; None when it has none), the shapes it is the first to use, and whether its
    last line was cut off."""

    events: list[Event]
    columns: list[list[Any]] | None
    shapes: list[SuspensionShape]
    lines: int
    truncated: bool


class _ColumnReader:
    """Reads a trace a chunk of lines at a time: each line parsed, then the suspension lines (nearly all of them)
    checked and stored a whole column at a time, the other lines by the precise checks of `_Checker`.

    The column checks accept only what the precise checks accept, with the same result; when a chunk does not pass
    them, the precise checks take over from that chunk's first line, so a bad line gets its one-sentence error.
    """

    def __init__(self) -> None:
        self.checker = _Checker()
        self.trace: Trace | None = None
        self.shapes: dict[ShapeKey, int] = {}  # shape key -> shape id

    def read(self, units: Iterator[Unit]) -> Trace:
        unit = next(units, None)
        if unit is None:
            raise TraceError("The trace is empty: a jspiprof trace starts with a header line.")
        number = 0  # lines before this unit
        while unit is not None:
            following = next(units, None)
            checked = self.check_block(unit, number, following is None) if isinstance(unit, bytes) else None
            if checked is None:
                lines = _unit_lines(unit)
                checked = self._check(lines, number, _first_line(following))
            if checked is None:
                trace = self.trace
                checker = (  # as it was before this unit
                    _Checker(trace.frames, trace.entries, trace.samples.stacks) if trace else _Checker()
                )
                rest = chain(
                    lines,
                    _unit_lines(following) if following is not None else (),
                    chain.from_iterable(map(_unit_lines, units)),
                )
                return _gather(trace, checker.events(rest, number))
            self._add(checked)
            if checked.truncated:
                _warn_truncated(number + checked.lines)
            number += checked.lines
            unit = following
        assert self.trace is not None
        return self.trace

    def stack_of(self, stack: Any) -> tuple[int, ...] | None:
        """The frame ids of a shape key's stack, worked out once per new key (None when it is not a list of integers)."""
        return stack

    def check_block(self, block: bytes, number: int, last: bool) -> _Chunk | None:
        """The checked chunk of a block of whole lines (the first is line `number + 1`, never the header; `last`: no
        line follows), by a quicker way than parsing each line (`jspiprof.trace.typed_reader`), or None to check its lines."""
        return None

    def _add(self, chunk: _Chunk) -> None:
        self.trace = trace = _gather(self.trace, chunk.events)
        if chunk.columns is None:
            return
        suspensions = trace.suspension_columns
        for column, values in zip(suspensions._per_row(), chunk.columns):
            if isinstance(
                column, array
            ):  # packed in one go: array.extend parses its items one by one, five times slower
                column.frombytes(struct.pack(f"{len(values)}{column.typecode}", *values))
            else:
                column.extend(values)
        for shape in chunk.shapes:
            suspensions.shape_ids[shape] = len(suspensions.shapes)
            suspensions.shapes.append(shape)

    def _check(self, lines: list[str | bytes], number: int, after: str | bytes | None) -> _Chunk | None:
        """The checked chunk of `lines` (the first is line `number + 1`; `after` is the line after the last, None at the
        end of the trace), or None when anything in it does not pass the column checks."""
        count, truncated = len(lines), False
        try:
            objs = list(map(loads, lines))
        except json.JSONDecodeError:
            if after is not None or _ends_a_line(lines[-1]) or number + len(lines) == 1:
                return None
            try:
                objs = list(
                    map(loads, lines[:-1])
                )  # a cut-off last line is skipped (with a warning once the chunk is in)
            except json.JSONDecodeError:
                return None
            lines, after, truncated = lines[:-1], lines[-1], True
        try:
            kinds = list(map(_TYPE, objs))
        except (TypeError, KeyError):  # a line that is not an object with a type
            return None
        is_suspension = list(map(eq, kinds, repeat("suspension")))
        if number == 0 and is_suspension[0]:
            return None

        def event(i: int) -> Event | None:
            return self.checker.event(objs[i], number + i + 1, lines[i + 1] if i + 1 < len(lines) else after)

        return self.checked(objs, is_suspension, event, _dict_rows, count, truncated)

    def checked(
        self,
        objs: list[Any],
        is_suspension: list[bool],
        event: Callable[[int], Event | None],
        rows: Callable[[list[Any]], Rows | None],
        lines: int,
        truncated: bool,
    ) -> _Chunk | None:
        """The checked chunk of the lines parsed into `objs`: `event(i)` is the checked event of line i (other than a
        suspension), `rows` the rows of the suspension lines; None when anything does not pass the checks."""
        events: list[Event] = []
        frames_at: dict[int, int] = {}  # where in the chunk each frame and entry is defined
        entries_at: dict[int, int] = {}
        try:
            for i in compress(range(len(objs)), map(not_, is_suspension)):
                checked = event(i)
                if checked is not None:
                    events.append(checked)
                    if isinstance(checked, Frame):
                        frames_at.setdefault(checked.id, i)
                    elif isinstance(checked, Entry):
                        entries_at[checked.id] = i
        except TraceError:
            return None
        suspensions = list(compress(objs, is_suspension))
        if not suspensions:
            return _Chunk(events, None, [], lines, truncated)
        found = rows(suspensions)
        numbered = found and self._numbered(
            *found, frames_at, entries_at, lambda: list(compress(range(len(objs)), is_suspension))
        )
        return numbered and _Chunk(events, *numbered, lines, truncated)

    def _numbered(
        self,
        columns: list[list[Any]],
        keys: list[ShapeKey],
        frames_at: dict[int, int],
        entries_at: dict[int, int],
        places: Callable[[], list[int]],
    ) -> tuple[list[list[Any]], list[SuspensionShape]] | None:
        """The suspensions' columns with the numbers of their shapes added, and the shapes they are the first to use;
        None when their entries, stacks or texts do not pass the checks. `keys` are the rows' shape keys; `places` gives
        the position of each in its chunk (needed only for frames and entries the chunk defines)."""
        checker = self.checker
        entries = set(columns[1])
        entries.discard(None)
        if not checker.entries.issuperset(entries):
            return None
        at: list[int] | None = None
        if not entries.isdisjoint(entries_at):  # entries defined in this chunk: before their first suspension?
            at = places()
            first = dict(zip(reversed(columns[1]), reversed(at)))
            if any(first[entry] < entries_at[entry] for entry in entries.intersection(entries_at)):
                return None
        try:
            numbers = list(map(self.shapes.get, keys))
        except TypeError:  # an unhashable value
            return None
        known = self.trace.suspension_columns if self.trace else SuspensionColumns()
        new_keys: dict[ShapeKey, int] = {}
        new_shapes: dict[SuspensionShape, int] = {}
        for i in compress(range(len(numbers)), map(is_, numbers, repeat(None))):  # combinations not seen before
            key = keys[i]
            number = new_keys.get(key)
            if number is None:
                stack, (depth, *texts) = key
                stack = self.stack_of(stack)
                if (
                    stack is None
                    or depth != len(stack)
                    or texts[3] not in _SUSPENSION_OUTCOMES
                    or not all(map(frozenset.__contains__, _SHAPE_TYPES, map(type, texts[:3] + texts[4:])))
                ):
                    return None
                if not checker.frames.issuperset(stack):
                    return None
                if frames_at and any(
                    frame in frames_at for frame in stack
                ):  # frames defined in this chunk: before their first use?
                    at = at or places()
                    if any(frames_at.get(frame, -1) > at[i] for frame in stack):
                        return None
                shape = SuspensionShape(stack, *texts)
                number = known.shape_ids.get(shape, new_shapes.get(shape))
                if number is None:
                    number = new_shapes[shape] = len(known.shapes) + len(new_shapes)
                new_keys[key] = number
            numbers[i] = number
        self.shapes.update(new_keys)
        return [*columns, numbers], list(new_shapes)


def read_trace(source: Source) -> Trace:
    """Read and check a whole trace: a path, an open file (binary or text), or an iterable of lines (text or UTF-8
    bytes)."""
    collecting = gc.isenabled()
    gc.disable()  # everything read is kept: the cyclic collector's passes over millions of new objects would find nothing
    try:
        with _naming_the_file(source):
            if _is_binary_file(source):
                reader = _ColumnReader() if _typed_reader is None else _typed_reader.TypedReader()
                return reader.read(_file_units(_blocks(source)))
            lines = iter(source)
            return _ColumnReader().read(iter(lambda: list(islice(lines, CHUNK_LINES)), []))
    finally:
        if collecting:
            gc.enable()


try:  # the quickest reader of a file this Python has: on the host, msgspec's (it imports this module in turn)
    import jspiprof.trace.typed_reader as _typed_reader
except ImportError:  # inside Pyodide: no msgspec, or msgspec without numpy
    _typed_reader = None
