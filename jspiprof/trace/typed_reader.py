"""The quick reader of a file on the host: each block of lines decoded by msgspec straight into typed structs, their
JSON types, values and bounds checked in C as they are parsed (`TypedReader`).

Needs msgspec and numpy (the host has both). A block goes through the plain reader's checks when msgspec refuses
anything in it: a line that is not JSON or not UTF-8, a blank line, a line type or a field this reader does not know
(msgspec would skip an unknown field without checking that it is valid JSON), an integer beyond 64 bits (orjson reads
it as a float), values nested too deep, or a value the trace format does not allow there.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from operator import attrgetter, is_
from typing import Annotated, Any, Literal, Union

import msgspec
import numpy as np

from jspiprof.trace.checks import ENTRY_END_FIELDS, LARGEST_NUMBER, LINE_TYPES, Field, check_fields
from jspiprof.trace.model import Event
from jspiprof.trace.reader import PER_ROW, SHAPE_FIELDS, Chunk, ColumnReader, Rows

_INTEGER = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An integer that orjson, and so the precise checks, read as an integer too (bigger ones it reads as floats)."""
_STACK = tuple[_INTEGER, ...]


class RegistrationObject(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An entry's `registration` (its values checked by the precise checks' `registration`; other fields: the
    precise checks)."""

    api: str
    location: str | None
    event: str | None = None


class SampleStack(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One of a samples line's `stacks`: a sample stack id and its frame ids (other fields: the precise checks)."""

    id: _INTEGER
    frames: _STACK


def _type(rule: Field) -> Any:
    """The msgspec type of a field."""
    bounded = msgspec.Meta(ge=rule.minimum, le=LARGEST_NUMBER)
    if rule.json_type == "integer":
        kind: Any = Annotated[int, bounded] if rule.bounded else _INTEGER
    elif rule.json_type == "number":
        kind = Union[Annotated[int, bounded], Annotated[float, bounded]] if rule.bounded else Union[_INTEGER, float]
    elif rule.json_type == "list":
        kind = tuple[_type(rule.items), ...] if rule.items is not None else _STACK
    elif rule.values is not None:
        kind = Literal[rule.values]
    else:
        kind = {"string": str, "boolean": bool, "object": dict}[rule.json_type]
    return Union[kind, None] if rule.nullable else kind


def _struct(kind: str) -> type[msgspec.Struct]:
    """The line type `kind` as a struct: its fields (for an entry, also those of its end, when it ended before its
        line was written); a field that is not one of them refused. A suspension's stack is kept as its JSON text
        (checked to be JSON, not parsed): the stacks of a trace are few, each is parsed once (`stack_of`). A samples
        line's stacks are `SampleStack`s and an entry's registration a `RegistrationObject` (an object's values would be
    parsed unchecked, big integers unlike orjson). Optional fields read as their default when absent."""
    special = {
        ("suspension", "stack"): msgspec.Raw,
        ("samples", "stacks"): tuple[SampleStack, ...],
        ("entry", "registration"): Union[RegistrationObject, None],
    }
    fields: list[tuple[Any, ...]] = []
    for name, rule in LINE_TYPES[kind].fields.items():
        described = (name, special.get((kind, name)) or _type(rule))
        fields.append((*described, rule.default) if rule.optional else described)
    if kind == "entry":
        end_fields = LINE_TYPES["entry_end"].fields
        for name in ENTRY_END_FIELDS:
            fields.append((name, Union[_type(end_fields[name]), msgspec.UnsetType], msgspec.UNSET))
    return msgspec.defstruct(kind, fields, tag=kind, tag_field="type", forbid_unknown_fields=True, gc=False)


_KINDS = {_struct(kind): kind for kind in LINE_TYPES if kind != "header"}  # the header goes through the precise checks
_DECODER = msgspec.json.Decoder(Union[tuple(_KINDS)])  # type: ignore[misc]


def _values(kind: str) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a `kind` struct's field values as a tuple, in table order."""
    getter = attrgetter(*LINE_TYPES[kind].fields)
    return getter if len(LINE_TYPES[kind].fields) > 1 else lambda line: (getter(line),)


_VALUES = {struct: _values(kind) for struct, kind in _KINDS.items()}
_SUSPENSION = next(struct for struct, kind in _KINDS.items() if kind == "suspension")
_SAMPLES = next(struct for struct, kind in _KINDS.items() if kind == "samples")
_COLUMNS = [attrgetter(name) for name in PER_ROW]
_STACK_TEXT = attrgetter("stack")
_SHAPE_VALUES = attrgetter(*SHAPE_FIELDS)
_END_VALUES = attrgetter(*ENTRY_END_FIELDS)
_STACK_DECODER = msgspec.json.Decoder(_STACK)


def _line_count(block: bytes) -> int:
    newlines = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")))  # quicker than bytes.count
    return newlines + (not block.endswith(b"\n"))


def _sample_values(line: Any) -> tuple[Any, ...]:
    """A samples line's values, its stacks as the precise checks parse them (objects, their frames lists)."""
    interval_us, stacks, start_us, dt_us, stack, entry, instance = _VALUES[_SAMPLES](line)
    objects = [{"id": sample_stack.id, "frames": list(sample_stack.frames)} for sample_stack in stacks]
    return (interval_us, objects, start_us, list(dt_us), list(stack), list(entry), instance)


def _rows(suspensions: list[Any]) -> Rows:
    columns = [list(map(column, suspensions)) for column in _COLUMNS]  # attrgetter in map: a column in one C loop
    stacks = map(bytes, map(_STACK_TEXT, suspensions))
    return columns, list(zip(stacks, map(_SHAPE_VALUES, suspensions)))


class TypedReader(ColumnReader):
    """Reads a file's blocks of lines decoded by msgspec, their suspensions checked and stored a whole column at a
    time, each other line by the checks of `LineChecker` (its types msgspec has checked)."""

    def stack_of(self, stack: Any) -> tuple[int, ...] | None:
        """A stack's JSON text parsed (a block msgspec decoded), or the stack itself (a block checked line by line)."""
        if not isinstance(stack, bytes):
            return stack
        try:
            return _STACK_DECODER.decode(stack)
        except (msgspec.MsgspecError, RecursionError):
            return None

    def check_block(self, block: bytes, number: int, last: bool) -> Chunk | None:
        try:
            parsed = _DECODER.decode_lines(block)
        except (msgspec.MsgspecError, RecursionError):  # msgspec recurses into values nested ~1,000 deep
            return None
        if len(parsed) != _line_count(block):  # a blank line: msgspec skips it, the precise checks do not
            return None
        checker = self.checker

        def event(index: int) -> Event | None:
            line = parsed[index]
            kind = _KINDS[type(line)]
            values = _VALUES[type(line)](line) if type(line) is not _SAMPLES else _sample_values(line)
            if kind == "entry" and line.registration is not None:  # checked as the precise checks do
                values = (*values[:7], msgspec.structs.asdict(line.registration), *values[8:])
            followed = not last or index + 1 < len(parsed)
            checked = checker.typed_event(kind, values, number + index + 1, followed)
            if kind == "entry" and line.end_us is not msgspec.UNSET:  # an entry that ended before its line was written
                end = _END_VALUES(line)
                if msgspec.UNSET in end:  # the precise checks' error: a missing field
                    given = {name: value for name, value in zip(ENTRY_END_FIELDS, end) if value is not msgspec.UNSET}
                    check_fields("entry_end", {"id": line.id, **given}, f"line {number + index + 1}")
                checker.end_entry(checked, end, number + index + 1)
            return checked

        is_suspension = list(map(is_, map(type, parsed), repeat(_SUSPENSION)))  # in C loops: once per line
        return self.checked(parsed, is_suspension, event, _rows, len(parsed), False)
