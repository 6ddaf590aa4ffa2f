"""What each line type's fields may hold: the one table (`LINE_TYPES`) both readers check lines against.

A line whose field is missing, of the wrong JSON type or outside its list of values is refused (`TraceError`, one
sentence naming the line). A line whose number is impossible (a negative time, size or count, or one beyond 2^53)
is refused when other lines depend on it (header, frame, entry, samples, end) and skipped otherwise (suspension,
failed_switch, dropped, entry_end), counted in one `SkippedLinesWarning`.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from operator import itemgetter
from typing import Any

from jspiprof.trace.model import (
    SCHEMA,
    VERSION,
    Dropped,
    End,
    Entry,
    EntryEnd,
    FailedSwitch,
    Frame,
    Header,
    Instance,
    Registration,
    Runtime,
    Snapshot,
    Suspension,
    TraceError,
)
from jspiprof.trace.samples import Samples

LARGEST_NUMBER = 2**53
"""The largest time (in µs: 285 years), size or count a trace may hold: beyond it a float64 loses integers, and sums of
a million of them could overflow."""

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "list": (list,),
}
"""The Python types each JSON type of the trace format is parsed into."""
_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "list": "a list",
}


@dataclass(frozen=True)
class Field:
    """What one field may hold: its JSON type, whether it may be null, its only values (None: any), whether it is
    bounded, as times, sizes and counts are (`minimum <= value <= LARGEST_NUMBER`), for a list, what each of its
    items may hold, and whether it may be absent (`optional`: then it reads as `default`)."""

    json_type: str
    nullable: bool = False
    values: tuple[str, ...] | None = None
    bounded: bool = False
    minimum: int = 0
    items: Field | None = None
    optional: bool = False
    default: Any = None

    def accepts_type(self, value: Any) -> bool:
        """Whether `value` has this field's JSON type (or is an allowed null)."""
        if value is None:
            return self.nullable
        if isinstance(value, bool):
            return self.json_type == "boolean"
        return isinstance(value, JSON_TYPES[self.json_type])

    def type_name(self) -> str:
        """E.g. "an integer or null"."""
        return _TYPE_NAMES[self.json_type] + (" or null" if self.nullable else "")


@dataclass(frozen=True)
class LineType:
    """A line type: its fields in order, the event class built from their values, and whether a line with an
    impossible number is skipped (with a warning) rather than refused."""

    fields: dict[str, Field]
    event: type
    skipped_when_impossible: bool


PATHS = ("run_sync", "time.sleep", "asyncio.run", "run_until_complete", "urllib3", "socket", "ssl", "other")
ENTRY_KINDS = (
    "runPython",
    "runPythonAsync",
    "callPromising",
    "callPromisingKwargs",
    "callWithOptions",
    "call",
    "task",
    "callback",
)
FAILED_SWITCH_REASONS = ("sync-entry", "no-jspi", "no-thread-state", "busy-wait")
REGISTRATION_APIS = (
    "addEventListener",
    "setTimeout",
    "setInterval",
    "requestAnimationFrame",
    "queueMicrotask",
    "Promise.then",
    "property",
)
"""How JS code may have registered a Python callable as a callback (an entry's `registration.api`)."""
INSTANCE_PLACES = ("node", "page", "worker")
"""Where a Pyodide instance ran (an `instance` line's `where`)."""
RUNTIME_VALUES: dict[str, tuple[str, ...] | None] = {
    "host": ("node", "browser"),
    "host_version": None,
    "pyodide": None,
    "jspi": ("WebAssembly.Suspending", "WebAssembly.Function", "none"),
}
"""The header's `runtime` object: its string fields and their only values (None: any string)."""

TIME = Field("number", bounded=True)
SIZE = Field("integer", bounded=True)
ID = Field("integer", bounded=True)
"""An id, a line number or a depth: what the analysis holds in 64-bit integer arrays."""
STACK = Field("list", items=ID)
"""A stack: frame ids, outermost first."""
INSTANCE = Field("integer", bounded=True, optional=True, default=0)
"""The Pyodide instance an event happened in (absent: 0)."""

LINE_TYPES: dict[str, LineType] = {
    "header": LineType(
        {
            "schema": Field("string"),
            "version": Field("integer"),
            "origin_unix_ms": Field("number"),
            "runtime": Field("object"),
            "program": Field("object", nullable=True),
        },
        Header,
        skipped_when_impossible=False,
    ),
    "instance": LineType(
        {
            "instance": ID,
            "ts_us": TIME,
            "where": Field("string", values=INSTANCE_PLACES),
            "url": Field("string", nullable=True),
            "runtime": Field("object"),
        },
        Instance,
        skipped_when_impossible=False,
    ),
    "frame": LineType(
        {
            "id": ID,
            "file": Field("string"),
            "line": ID,
            "function": Field("string"),
            "library": Field("boolean"),
        },
        Frame,
        skipped_when_impossible=False,
    ),
    "entry": LineType(
        {
            "id": ID,
            "kind": Field("string", values=ENTRY_KINDS),
            "promising": Field("boolean"),
            "name": Field("string", nullable=True),
            "caller": Field("string", nullable=True),
            "parent": Field("integer", nullable=True, bounded=True),
            "start_us": TIME,
            "registration": Field("object", nullable=True, optional=True),
            "caller_sampled": Field("boolean", optional=True, default=True),
            "instance": INSTANCE,
        },
        Entry,
        skipped_when_impossible=False,
    ),
    "entry_end": LineType(
        {
            "id": ID,
            "end_us": TIME,
            "outcome": Field("string", values=("return", "exception")),
            "error": Field("string", nullable=True),
        },
        EntryEnd,
        skipped_when_impossible=True,
    ),
    "suspension": LineType(
        {
            "id": ID,
            "entry": Field("integer", nullable=True, bounded=True),
            "path": Field("string", values=PATHS),
            "start_us": TIME,
            "wait_us": TIME,
            "resume_us": TIME,
            "stack_bytes": SIZE,
            "stack": STACK,
            "depth": ID,
            "site": Field("string", nullable=True),
            "awaitable": Field("string", nullable=True),
            "outcome": Field("string", values=("value", "exception")),
            "error": Field("string", nullable=True),
            "instance": INSTANCE,
        },
        Suspension,
        skipped_when_impossible=True,
    ),
    "failed_switch": LineType(
        {
            "ts_us": TIME,
            "entry": Field("integer", nullable=True, bounded=True),
            "reason": Field("string", values=FAILED_SWITCH_REASONS),
            "path": Field("string", values=PATHS),
            "stack": STACK,
            "depth": ID,
            "site": Field("string", nullable=True),
            "error": Field("string"),
            "instance": INSTANCE,
        },
        FailedSwitch,
        skipped_when_impossible=True,
    ),
    "dropped": LineType({"count": SIZE, "ts_us": TIME, "instance": INSTANCE}, Dropped, skipped_when_impossible=True),
    "samples": LineType(  # its stacks, entries and lengths are checked by `samples.problem_with`
        {
            "interval_us": Field("integer", bounded=True, minimum=1),
            "stacks": Field("list", items=Field("object")),
            "start_us": TIME,
            "dt_us": Field("list", items=TIME),
            "stack": Field("list", items=Field("integer")),
            "entry": Field("list", items=Field("integer", nullable=True)),
            "instance": INSTANCE,
        },
        Samples,
        skipped_when_impossible=False,  # later samples lines use the stacks it defines
    ),
    "snapshot": LineType({"ts_us": TIME}, Snapshot, skipped_when_impossible=False),
    "end": LineType(
        {"ts_us": TIME, "dropped": SIZE, "exit_status": Field("integer", nullable=True)},
        End,
        skipped_when_impossible=False,
    ),
}
"""Every line type a reader knows, its fields in the order of its event class's. Adding a line type is one entry
here, its event class, and where `Trace` keeps it. Optional fields come last, in their event class too."""

ENTRY_END_FIELDS = ("end_us", "outcome", "error")
"""The fields of an entry's end that its own line carries when it ended before the line was written."""


def _accepted_types(line_type: LineType) -> frozenset[tuple[type, ...]]:
    choices = []
    for rule in line_type.fields.values():
        choices.append(JSON_TYPES[rule.json_type] + ((type(None),) if rule.nullable else ()))
    return frozenset(product(*choices))


def _required_values(line_type: LineType) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function giving a line's required fields' values as a tuple (KeyError: one is missing)."""
    names = [name for name, rule in line_type.fields.items() if not rule.optional]
    getter = itemgetter(*names)
    return getter if len(names) > 1 else lambda line: (getter(line),)


@dataclass(frozen=True)
class _Compiled:
    """A line type's table entry, prepared for checking a line in a few lookups."""

    values: Callable[[dict[str, Any]], tuple[Any, ...]]
    optional: tuple[tuple[str, Any], ...]
    accepted_types: frozenset[tuple[type, ...]]
    choices: tuple[tuple[int, str, tuple[str, ...]], ...]
    bounded: tuple[tuple[int, str, int], ...]
    bounded_items: tuple[tuple[int, str], ...]


_COMPILED = {
    kind: _Compiled(
        values=_required_values(line_type),
        optional=tuple((name, rule.default) for name, rule in line_type.fields.items() if rule.optional),
        accepted_types=_accepted_types(line_type) if kind != "header" else frozenset(),
        choices=tuple(
            (index, name, rule.values)
            for index, (name, rule) in enumerate(line_type.fields.items())
            if rule.values is not None
        ),
        bounded=tuple(
            (index, name, rule.minimum) for index, (name, rule) in enumerate(line_type.fields.items()) if rule.bounded
        ),
        bounded_items=tuple(
            (index, name)
            for index, (name, rule) in enumerate(line_type.fields.items())
            if rule.items is not None and rule.items.bounded
        ),
    )
    for kind, line_type in LINE_TYPES.items()
}

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 3, 60, 60, 6, 4
QUOTE_CHARACTERS = 80
"""An error message quotes at most this many characters of a bad value."""


def quoted(value: Any) -> str:
    """`repr(value)` cut short (nested values to 3 levels, at most `QUOTE_CHARACTERS` characters, then "...")."""
    text = _SHORT.repr(value)
    return text if len(text) <= QUOTE_CHARACTERS else text[:QUOTE_CHARACTERS] + "..."


def field_values(kind: str, line: dict[str, Any], where: str) -> tuple[Any, ...]:
    """The values of a `kind` line's fields in table order, each of its JSON type and among its values (one set lookup
    for a good line); a `TraceError` naming `where` otherwise."""
    compiled = _COMPILED[kind]
    try:
        values = compiled.values(line)
    except KeyError:
        values = None
    if values is not None and compiled.optional:
        values += tuple([line.get(name, default) for name, default in compiled.optional])
    if values is None or tuple(map(type, values)) not in compiled.accepted_types:  # fast path: one set lookup
        check_fields(kind, line, where)
    for index, name, allowed in compiled.choices:
        if values[index] not in allowed:
            raise bad_value(kind, name, values[index], where)
    return values


def check_fields(kind: str, line: dict[str, Any], where: str) -> None:
    """Raise a `TraceError` for the first of a `kind` line's fields that is missing or of the wrong JSON type."""
    for name, rule in LINE_TYPES[kind].fields.items():
        if name not in line and rule.optional:
            continue
        if name not in line:
            raise TraceError(f"{where}: the {kind} line has no {name!r} field.")
        if not rule.accepts_type(line[name]):
            raise TraceError(
                f"{where}: field {name!r} of the {kind} line should be {rule.type_name()}, not {quoted(line[name])}."
            )


def bad_value(kind: str, name: str, value: Any, where: str) -> TraceError:
    """The error for a field outside its list of values."""
    allowed = LINE_TYPES[kind].fields[name].values or ()
    subject = "outcome" if name == "outcome" else f"field {name!r} of the {kind} line"
    return TraceError(f"{where}: {subject} should be one of {', '.join(allowed)}, not {quoted(value)}.")


def impossible_number(kind: str, values: tuple[Any, ...]) -> str | None:
    """What is impossible about a `kind` line's numbers (its `values` of the right types, and the items of its lists
    too), or None."""
    compiled = _COMPILED[kind]
    for index, name, minimum in compiled.bounded:
        value = values[index]
        if value is None:
            continue
        if value < minimum:
            return f"{name} is negative" if minimum == 0 else f"{name} is below {minimum}"
        if value > LARGEST_NUMBER:
            return f"{name} is beyond 2^53"
    for index, name in compiled.bounded_items:
        # items of another type are for the line's own checks (a stack names defined frames)
        items = [item for item in values[index] if type(item) in (int, float)]
        if items and min(items) < 0:
            return f"{name} holds a negative number"
        if items and max(items) > LARGEST_NUMBER:
            return f"{name} holds a number beyond 2^53"
    return None


def header(line: dict[str, Any], where: str) -> Header:
    """The checked header line."""
    if line.get("type") != "header" or line.get("schema") != SCHEMA:
        raise TraceError(f"{where}: this is not a jspiprof trace (its first line is not a {SCHEMA!r} header).")
    version = line.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise TraceError(
            f"{where}: the trace has format version {quoted(version)}, newer than this jspiprof reads ({VERSION}): "
            "upgrade jspiprof."
        )
    check_fields("header", line, where)
    if line["version"] < 1:
        raise TraceError(f"{where}: format version {line['version']} does not exist (versions start at 1).")
    return Header(
        schema=line["schema"],
        version=line["version"],
        origin_unix_ms=line["origin_unix_ms"],
        runtime=runtime(line["runtime"], "header", where),
        program=line["program"],
    )


def runtime(value: dict[str, Any], kind: str, where: str) -> Runtime:
    """The checked `runtime` object of a header or an instance line (`kind`)."""
    for name, allowed in RUNTIME_VALUES.items():
        text = value.get(name)
        if not isinstance(text, str):
            raise TraceError(f"{where}: the {kind}'s runtime has no {name!r} string.")
        if allowed is not None and text not in allowed:
            raise TraceError(
                f"{where}: the {kind}'s runtime {name} should be one of {', '.join(allowed)}, not {quoted(text)}."
            )
    return Runtime(*(value[name] for name in RUNTIME_VALUES))


def registration(value: dict[str, Any] | None, where: str) -> Registration | None:
    """The checked `registration` object of an entry (None when it has none)."""
    if value is None:
        return None
    api, location, event = value.get("api"), value.get("location"), value.get("event")
    if api not in REGISTRATION_APIS:
        raise TraceError(
            f"{where}: the entry's registration api should be one of {', '.join(REGISTRATION_APIS)}, not {quoted(api)}."
        )
    if "location" not in value or not (location is None or isinstance(location, str)):
        raise TraceError(f"{where}: the entry's registration location should be a string or null.")
    if not (event is None or isinstance(event, str)):
        raise TraceError(f"{where}: the entry's registration event should be a string, not {quoted(event)}.")
    return Registration(api, location, event)


def _fields_in_event_order() -> bool:
    """Whether each line type's fields are those of its event class, in order: the readers build each event from its
    fields' values (a header from its own checks; an entry has its end fields besides)."""
    for kind, line_type in LINE_TYPES.items():
        names = tuple(line_type.event.__dataclass_fields__)
        if kind != "header" and names[: len(line_type.fields)] != tuple(line_type.fields):
            return False
    return True


assert _fields_in_event_order()
