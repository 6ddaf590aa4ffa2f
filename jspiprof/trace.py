"""Read a jspiprof trace (`docs/trace-format.md`): as a stream of typed events, or whole into a `Trace`.

Standard library only (also importable inside Pyodide); on the host, lines are parsed with orjson, the fastest
JSON parser for Python. Every line is checked; a file that is not a trace, is
corrupt, or has a newer version raises `TraceError` with one sentence naming the line. A truncated last line
(the app was killed mid-write) is skipped with a `TruncatedTraceWarning`. Unknown fields are ignored, and so are
unknown line types (a newer writer of the same version may add them).
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import product
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Union

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


Event = Union[Header, Frame, Entry, EntryEnd, Suspension, FailedSwitch, Dropped, End]

_NUMBER = (int, float)
_STR = (str,)
_INT = (int,)
_BOOL = (bool,)
_OBJ = (dict,)
_LIST = (list,)

# For each line type: field -> (accepted JSON types, may be null).
_FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "header": {"schema": (_STR, False), "version": (_INT, False), "origin_unix_ms": (_NUMBER, False), "runtime": (_OBJ, False), "program": (_OBJ, True)},
    "frame": {"id": (_INT, False), "file": (_STR, False), "line": (_INT, False), "function": (_STR, False), "library": (_BOOL, False)},
    "entry": {"id": (_INT, False), "kind": (_STR, False), "promising": (_BOOL, False), "name": (_STR, True), "caller": (_STR, True), "parent": (_INT, True), "start_us": (_NUMBER, False)},
    "entry_end": {"id": (_INT, False), "end_us": (_NUMBER, False), "outcome": (_STR, False), "error": (_STR, True)},
    "suspension": {
        "id": (_INT, False), "entry": (_INT, True), "path": (_STR, False), "start_us": (_NUMBER, False), "wait_us": (_NUMBER, False),
        "resume_us": (_NUMBER, False), "stack_bytes": (_INT, False), "stack": (_LIST, False), "depth": (_INT, False), "site": (_STR, True),
        "awaitable": (_STR, True), "outcome": (_STR, False), "error": (_STR, True),
    },
    "failed_switch": {
        "ts_us": (_NUMBER, False), "entry": (_INT, True), "reason": (_STR, False), "path": (_STR, False), "stack": (_LIST, False),
        "depth": (_INT, False), "site": (_STR, True), "error": (_STR, False),
    },
    "dropped": {"count": (_INT, False), "ts_us": (_NUMBER, False)},
    "end": {"ts_us": (_NUMBER, False), "dropped": (_INT, False), "exit_status": (_INT, True)},
}
# For each line type: every accepted combination of the JSON types of its fields, in _FIELDS order.
_ACCEPTED: dict[str, frozenset[tuple[type, ...]]] = {
    kind: frozenset(product(*(types + ((type(None),) if nullable else ()) for types, nullable in fields.values())))
    for kind, fields in _FIELDS.items() if kind != "header"
}
_VALUES = {kind: itemgetter(*fields) for kind, fields in _FIELDS.items()}
_RUNTIME_FIELDS = ("host", "host_version", "pyodide", "jspi")
_OUTCOMES = {"entry_end": ("return", "exception"), "suspension": ("value", "exception")}
_SUSPENSION_VALUES, _SUSPENSION_TYPES, _SUSPENSION_OUTCOMES = _VALUES["suspension"], _ACCEPTED["suspension"], frozenset(_OUTCOMES["suspension"])


def _values(kind: str, obj: dict[str, Any], where: str) -> tuple[Any, ...]:
    """The line's field values in _FIELDS order, checked (one set lookup for a good line)."""
    try:
        values = _VALUES[kind](obj)
    except KeyError:
        values = None
    if values is None or tuple(map(type, values)) not in _ACCEPTED[kind]:
        _check_fields(kind, obj, where)
    return values


def _bad_outcome(kind: str, obj: dict[str, Any], where: str) -> TraceError:
    return TraceError(f"{where}: outcome should be one of {', '.join(_OUTCOMES[kind])}, not {obj['outcome']!r}.")


def _check_fields(kind: str, obj: dict[str, Any], where: str) -> None:
    for name, (types, nullable) in _FIELDS[kind].items():
        if name not in obj:
            raise TraceError(f"{where}: the {kind} line has no {name!r} field.")
        value = obj[name]
        if value is None and nullable:
            continue
        if isinstance(value, bool) and bool not in types:
            raise TraceError(f"{where}: field {name!r} of the {kind} line should be {_type_names(types, nullable)}, not {value!r}.")
        if not isinstance(value, types):
            raise TraceError(f"{where}: field {name!r} of the {kind} line should be {_type_names(types, nullable)}, not {value!r}.")


def _type_names(types: tuple[type, ...], nullable: bool) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "an object", list: "a list"}
    text = " or ".join(dict.fromkeys(names[t] for t in types if not (t is int and float in types)))
    return text + (" or null" if nullable else "")


_INT_TYPE = {int}


def _stack(obj: dict[str, Any], frames: set[int], stacks: dict[tuple[int, ...], tuple[int, ...]], number: int) -> tuple[int, ...]:
    """The checked stack, as the one tuple shared by every event with the same stack (whether its frames are
    defined is looked up once per distinct stack: a frame, once defined, stays defined)."""
    stack = obj["stack"]
    if _INT_TYPE.issuperset(map(type, stack)):
        key = tuple(stack)
        shared = stacks.get(key)
        if shared is None and frames.issuperset(key):
            shared = stacks[key] = key
        if shared is not None and obj["depth"] == len(key):
            return shared
    for frame_id in stack:
        if not isinstance(frame_id, int) or isinstance(frame_id, bool):
            raise TraceError(f"line {number}: the stack should hold frame ids (integers), not {frame_id!r}.")
        if frame_id not in frames:
            raise TraceError(f"line {number}: the stack uses frame {frame_id}, which no earlier frame line defines.")
    if obj["depth"] != len(stack):
        raise TraceError(f"line {number}: depth is {obj['depth']} but the stack has {len(stack)} frames.")
    return tuple(stack)


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


def _lines(source: str | Path | IO[str] | Iterable[str]) -> Iterator[str]:
    if isinstance(source, (str, Path)):
        try:
            with open(source, encoding="utf-8", newline="") as file:
                yield from file
        except OSError as error:
            raise TraceError(f"Cannot read the trace {source}: {error.strerror or error}.") from None
        except UnicodeDecodeError:
            raise TraceError(f"{source} is not a jspiprof trace: it is not UTF-8 text.") from None
    else:
        yield from source


def iter_events(source: str | Path | IO[str] | Iterable[str]) -> Iterator[Event]:
    """The trace's lines as typed events, checked one by one as they are read (the header first)."""
    frames: set[int] = set()
    entries: set[int] = set()
    stacks: dict[tuple[int, ...], tuple[int, ...]] = {}
    lines = _lines(source)
    number = 0
    pending: str | None = next(lines, None)
    if pending is None:
        raise TraceError("The trace is empty: a jspiprof trace starts with a header line.")
    while pending is not None:
        line = pending
        number += 1
        pending = next(lines, None)
        try:
            obj = loads(line)
        except json.JSONDecodeError:
            where = f"line {number}"
            if pending is None and not line.endswith("\n") and number > 1:
                warnings.warn(f"The trace's last line ({where}) is truncated (the app ended mid-write); it was skipped.", TruncatedTraceWarning, stacklevel=2)
                return
            if number == 1:
                raise TraceError(f"{where}: this is not a jspiprof trace (the first line is not JSON).") from None
            raise TraceError(f"{where}: not valid JSON; the trace is corrupt.") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise TraceError(f"line {number}: every line of a trace is a JSON object with a \"type\" string.")
        if number == 1:
            yield _header(obj, "line 1")
            continue
        kind = obj["type"]
        if kind == "suspension":  # by far the most frequent: checked first, as `_values` does, naming the line only on error
            try:
                values = _SUSPENSION_VALUES(obj)
            except KeyError:
                values = None
            if values is None or tuple(map(type, values)) not in _SUSPENSION_TYPES:
                _check_fields(kind, obj, f"line {number}")
            if obj["outcome"] not in _SUSPENSION_OUTCOMES:
                raise _bad_outcome("suspension", obj, f"line {number}")
            if obj["entry"] is not None and obj["entry"] not in entries:
                raise TraceError(f"line {number}: the suspension belongs to entry {obj['entry']}, which was never started.")
            suspension = Suspension(*values)  # fields in _FIELDS order; the stack, checked, is the shared tuple
            suspension.stack = _stack(obj, frames, stacks, number)
            yield suspension
            continue
        where = f"line {number}"
        if kind == "header":
            raise TraceError(f"{where}: a second header line; a trace has exactly one, first.")
        if kind not in _FIELDS:
            continue
        values = _values(kind, obj, where)
        if kind in _OUTCOMES and obj["outcome"] not in _OUTCOMES[kind]:
            raise _bad_outcome(kind, obj, where)
        if kind == "frame":
            frames.add(obj["id"])
            yield Frame(obj["id"], obj["file"], obj["line"], obj["function"], obj["library"])
        elif kind == "entry":
            if obj["id"] in entries:
                raise TraceError(f"{where}: entry {obj['id']} is defined twice.")
            if obj["parent"] is not None and obj["parent"] not in entries:
                raise TraceError(f"{where}: the parent entry {obj['parent']} was never started.")
            entries.add(obj["id"])
            if "end_us" not in obj:
                yield Entry(obj["id"], obj["kind"], obj["promising"], obj["name"], obj["caller"], obj["parent"], obj["start_us"])
                continue
            end = _values("entry_end", obj, where)  # an entry that ended before its line was written carries its end
            if obj["outcome"] not in _OUTCOMES["entry_end"]:
                raise _bad_outcome("entry_end", obj, where)
            yield Entry(obj["id"], obj["kind"], obj["promising"], obj["name"], obj["caller"], obj["parent"], obj["start_us"], *end[1:])
        elif kind == "entry_end":
            if obj["id"] not in entries:
                raise TraceError(f"{where}: entry_end for entry {obj['id']}, which was never started.")
            yield EntryEnd(obj["id"], obj["end_us"], obj["outcome"], obj["error"])
        elif kind == "failed_switch":
            if obj["entry"] is not None and obj["entry"] not in entries:
                raise TraceError(f"{where}: the failed switch names entry {obj['entry']}, which was never started.")
            yield FailedSwitch(
                obj["ts_us"], obj["entry"], obj["reason"], obj["path"], _stack(obj, frames, stacks, number), obj["depth"], obj["site"], obj["error"]
            )
        elif kind == "dropped":
            yield Dropped(obj["count"], obj["ts_us"])
        else:
            if pending is not None and pending.strip():
                raise TraceError(f"line {number + 1}: a line after the end line; the trace is corrupt.")
            yield End(obj["ts_us"], obj["dropped"], obj["exit_status"])


@dataclass
class Trace:
    """A whole trace: the pivot every analysis, report and export takes.

    `entries` have their end merged in; `end` is None when the app ended without closing the trace.
    """

    header: Header
    frames: dict[int, Frame] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)
    suspensions: list[Suspension] = field(default_factory=list)
    failed_switches: list[FailedSwitch] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    end: End | None = None

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
        iterator = iter(events)
        header = next(iterator)
        assert isinstance(header, Header)
        trace = cls(header)
        for event in iterator:
            if isinstance(event, Suspension):  # by far the most frequent
                trace.suspensions.append(event)
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
            elif isinstance(event, End):
                trace.end = event
        return trace


def read_trace(source: str | Path | IO[str] | Iterable[str]) -> Trace:
    """Read and check a whole trace file (a path, an open text file, or an iterable of lines)."""
    collecting = gc.isenabled()
    gc.disable()  # everything read is kept: the cyclic collector's passes over millions of new objects would find nothing
    try:
        return Trace.from_events(iter_events(source))
    finally:
        if collecting:
            gc.enable()
