"""`read_trace`'s quick way through a file on the host: each block of lines decoded by msgspec straight into typed
structs, their JSON types checked in C as they are parsed (`TypedReader`).

Needs msgspec and numpy (the host has both): where either cannot be imported, as inside Pyodide, `jspiprof.trace`
parses each line with `json` instead.
A block goes through the other checks of `jspiprof.trace` when msgspec refuses anything in it: a line that is not
JSON or not UTF-8, a blank line, a line type or a field this reader does not know (msgspec would skip an unknown
field without checking that it is valid JSON), an integer beyond 64 bits (orjson reads it as a float), or a type the
trace format does not allow there.
"""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter, is_
from typing import Annotated, Any, Union

import msgspec
import numpy as np

from jspiprof.trace.reader import (
    _FIELDS,
    _INT,
    _LIST,
    _NUMBER,
    _PER_ROW,
    _SHAPE_FIELDS,
    Event,
    Rows,
    _check_fields,
    _Chunk,
    _ColumnReader,
)

_INTEGER = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An integer that orjson, and so the precise checks, read as an integer too (bigger ones it reads as floats)."""
_TYPES = {_INT: _INTEGER, _NUMBER: Union[_INTEGER, float], _LIST: tuple[_INTEGER, ...]}
"""The type of a field for each JSON types the trace format allows there (a list is a stack of frame ids)."""


def _type(types: tuple[type, ...], nullable: bool) -> Any:
    kind = _TYPES.get(types, types[0])
    return Union[kind, None] if nullable else kind


def _struct(kind: str) -> type[msgspec.Struct]:
    """The line type `kind` as a struct: the fields of `_FIELDS` (for an entry, also those of its end, when it ended
    before its line was written); a field that is not one of them refused. A suspension's stack is kept as its JSON
    text (checked to be JSON, not parsed): the stacks of a trace are few, each is parsed once (`stack_of`)."""
    fields: list[tuple[Any, ...]] = [
        (name, msgspec.Raw if (kind, name) == ("suspension", "stack") else _type(*allowed))
        for name, allowed in _FIELDS[kind].items()
    ]
    if kind == "entry":
        fields += [(name, Union[_type(*_FIELDS["entry_end"][name]), msgspec.UnsetType], msgspec.UNSET) for name in _END]
    return msgspec.defstruct(kind, fields, tag=kind, tag_field="type", forbid_unknown_fields=True, gc=False)


_END = tuple(name for name in _FIELDS["entry_end"] if name != "id")
"""The fields of an entry's end that its own line carries when it ended before the line was written."""
_STRUCTS = {
    _struct(kind): kind for kind in _FIELDS if kind != "header"
}  # the header line goes through the precise checks
_DECODER = msgspec.json.Decoder(Union[tuple(_STRUCTS)])  # type: ignore[misc]
_VALUES = {struct: attrgetter(*_FIELDS[kind]) for struct, kind in _STRUCTS.items()}
_SUSPENSION = next(struct for struct, kind in _STRUCTS.items() if kind == "suspension")
_COLUMNS = [attrgetter(name) for name in _PER_ROW]
_STACK = attrgetter("stack")
_SHAPE_VALUES = attrgetter(*_SHAPE_FIELDS)
_STACK_DECODER = msgspec.json.Decoder(_TYPES[_LIST])
_END_VALUES = attrgetter(*_END)


def _line_count(block: bytes) -> int:
    newlines = int(
        np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
    )  # a few times quicker than bytes.count
    return newlines + (not block.endswith(b"\n"))


def _rows(suspensions: list[Any]) -> Rows:
    return [list(map(column, suspensions)) for column in _COLUMNS], list(
        zip(map(bytes, map(_STACK, suspensions)), map(_SHAPE_VALUES, suspensions))
    )


class TypedReader(_ColumnReader):
    """Reads a file's blocks of lines decoded by msgspec, their suspensions checked and stored a whole column at a
    time, each other line by the semantic checks of `jspiprof.trace` (its types msgspec has checked)."""

    def stack_of(self, stack: Any) -> tuple[int, ...] | None:
        """A stack's JSON text parsed (a block msgspec decoded), or the stack itself (a block checked line by line)."""
        if not isinstance(stack, bytes):
            return stack
        try:
            return _STACK_DECODER.decode(stack)
        except msgspec.MsgspecError:
            return None

    def check_block(self, block: bytes, number: int, last: bool) -> _Chunk | None:
        try:
            objs = _DECODER.decode_lines(block)
        except msgspec.MsgspecError:
            return None
        if len(objs) != _line_count(block):  # a blank line: msgspec skips it, the precise checks do not
            return None
        checker = self.checker

        def event(i: int) -> Event:
            obj = objs[i]
            kind = _STRUCTS[type(obj)]
            checked = checker.typed_event(kind, _VALUES[type(obj)](obj), number + i + 1, not last or i + 1 < len(objs))
            if kind == "entry" and obj.end_us is not msgspec.UNSET:  # an entry that ended before its line was written
                end = _END_VALUES(obj)
                if msgspec.UNSET in end:  # the precise checks' error: a missing field
                    _check_fields(
                        "entry_end",
                        {"id": obj.id, **{name: value for name, value in zip(_END, end) if value is not msgspec.UNSET}},
                        f"line {number + i + 1}",
                    )
                checker.end_entry(checked, end, number + i + 1)
            return checked

        is_suspension = list(map(is_, map(type, objs), repeat(_SUSPENSION)))
        return self.checked(objs, is_suspension, event, _rows, len(objs), False)
