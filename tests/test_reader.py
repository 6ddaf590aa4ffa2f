"""`read_trace` checks the suspension lines a whole column at a time (a file's blocks of lines decoded by msgspec into
typed structs on the host, or each line parsed): it accepts exactly what the line-by-line checks of `iter_events`
accept, with the same trace, the same warnings and, for a bad file, the same error."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jspiprof.trace
from jspiprof.trace import Trace, TraceError, iter_events, read_trace, sources
from jspiprof.trace.checker import LineChecker
from jspiprof.trace.reader import ColumnReader
from jspiprof.trace.typed_reader import TypedReader

FIXTURES = Path(__file__).parent / "fixtures"
CHUNKS = [1, 2, 3, 7, 4096]
"""Lines per chunk of an iterable of lines: a bad line at every place in a chunk, and chunks that end between any two
lines."""
BLOCKS = [64, 700, 4096, 1 << 20]
"""Bytes per block of a file: blocks of one line, of a few, and the whole file."""
FILE_READERS = {"typed": TypedReader, "parsing each line": ColumnReader}
"""How a file is read: its blocks decoded by msgspec (`jspiprof.trace.typed_reader`), or each line parsed."""


def outcome(read: Callable[[], Trace]) -> tuple[Any, list[tuple[type, str]]]:
    """The trace read (or the error's message) and the warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = read()
        except TraceError as error:
            result = f"TraceError: {error}"
    return result, [(w.category, str(w.message)) for w in caught]


def assert_same_as_line_by_line(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = outcome(lambda: Trace.from_events(iter_events(path)))
    lines = path.read_bytes().splitlines(keepends=True)
    for count in CHUNKS:
        monkeypatch.setattr(jspiprof.trace, "CHUNK_LINES", count)
        assert outcome(lambda: read_trace(lines)) == expected, f"{count} lines per chunk"
    for name, file_reader in FILE_READERS.items():
        monkeypatch.setattr(jspiprof.trace, "FileReader", file_reader)
        for size in BLOCKS:
            monkeypatch.setattr(sources, "BLOCK_BYTES", size)
            assert outcome(lambda: read_trace(path)) == expected, f"a file in blocks of {size} bytes, {name}"


def app_lines() -> list[dict[str, Any]]:
    """A trace of ~300 lines like a busy app's: frames defined along the way, task entries between suspensions (some
    of them suspending), entries ended on their own line or on their first, failed switches, a dropped line."""
    lines: list[dict[str, Any]] = [
        {
            "type": "header",
            "schema": "jspiprof-trace",
            "version": 1,
            "origin_unix_ms": 1764000000000.0,
            "runtime": {
                "host": "node",
                "host_version": "v26.10.0",
                "pyodide": "314.0.7",
                "jspi": "WebAssembly.Suspending",
            },
            "program": {"argv": ["app.py"], "mode": "script"},
        },
        {
            "type": "entry",
            "id": 1,
            "kind": "runPythonAsync",
            "promising": True,
            "name": None,
            "caller": "run.mjs:4",
            "parent": None,
            "start_us": 0,
        },
    ]
    frames: list[int] = []
    t = 10.0
    for i in range(120):
        if i % 9 == 0:
            frames.append(len(frames) + 1)
            lines.append(
                {
                    "type": "frame",
                    "id": frames[-1],
                    "file": f"/app/m{i}.py",
                    "line": i + 1,
                    "function": f"f{i}",
                    "library": i % 2 == 0,
                }
            )
        entry = 1
        if i % 5 == 0:
            entry = 100 + i
            lines.append(
                {
                    "type": "entry",
                    "id": entry,
                    "kind": "task",
                    "promising": True,
                    "name": "step",
                    "caller": None,
                    "parent": 1,
                    "start_us": t,
                }
            )
        stack = frames[: 1 + i % len(frames)]
        lines.append(
            {
                "type": "suspension",
                "id": i + 1,
                "entry": entry,
                "path": ["run_sync", "time.sleep", "urllib3"][i % 3],
                "start_us": t,
                "wait_us": 100.5 + i,
                "resume_us": 20 + i % 4,
                "stack_bytes": 4096 + i,
                "stack": stack,
                "depth": len(stack),
                "site": None if i % 7 == 0 else f"/app/m{i % 4}.py:3",
                "awaitable": "Promise",
                "outcome": "exception" if i % 11 == 0 else "value",
                "error": "OSError: down" if i % 11 == 0 else None,
            }
        )
        t += 200
        if entry != 1:
            lines.append({"type": "entry_end", "id": entry, "end_us": t, "outcome": "return", "error": None})
        if i % 40 == 39:
            lines.append(
                {
                    "type": "failed_switch",
                    "ts_us": t,
                    "entry": 1,
                    "reason": "sync-entry",
                    "path": "run_sync",
                    "stack": stack,
                    "depth": len(stack),
                    "site": "/app/m1.py:3",
                    "error": "RuntimeError: no",
                }
            )
            lines.append({"type": "dropped", "count": 3, "ts_us": t})
            lines.append(
                {
                    "type": "entry",
                    "id": 1000 + i,
                    "kind": "call",
                    "promising": False,
                    "name": "f",
                    "caller": "x.js:1",
                    "parent": None,
                    "start_us": t,
                    "end_us": t + 5,
                    "outcome": "return",
                    "error": None,
                }
            )
    lines.append({"type": "entry_end", "id": 1, "end_us": t, "outcome": "return", "error": None})
    lines.append({"type": "end", "ts_us": t + 10, "dropped": 12, "exit_status": 0})
    return lines


def suspension_at(lines: list[dict[str, Any]], which: float) -> dict[str, Any]:
    suspensions = [line for line in lines if line["type"] == "suspension"]
    return suspensions[int(which * (len(suspensions) - 1))]


def set_field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda line: line.__setitem__(name, value)


def set_frame(index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda line: line["stack"].__setitem__(index, value)


SUSPENSION_CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    # accepted
    "integer times": set_field("start_us", 12345),
    "an integer beyond 64 bits": set_field("stack_bytes", 2**70),
    "an unknown field": set_field("extra", [1, {"a": True}]),
    "fields in another order": lambda line: [line.__setitem__(k, line.pop(k)) for k in ["depth", "id", "stack"]],
    "an unknown site": set_field("site", "/app/new.py:1"),
    # refused
    "a stack frame that is true": set_frame(0, True),
    "a stack frame that is 1.0": set_frame(0, 1.0),
    "a stack frame that is a string": set_frame(0, "1"),
    "a stack frame never defined": set_frame(0, 999),
    "a stack that is a string": set_field("stack", ""),
    "a stack that is an object": set_field("stack", {}),
    "a depth that does not match": lambda line: line.__setitem__("depth", line["depth"] + 1),
    "a depth that is a number with a fraction": lambda line: line.__setitem__("depth", float(line["depth"])),
    "a depth that is true": lambda line: (
        line.__setitem__("stack", line["stack"][:1]),
        line.__setitem__("depth", True),
    ),
    "an entry that is 1.0": set_field("entry", 1.0),
    "an entry never started": set_field("entry", 77777),
    "an id that is true": set_field("id", True),
    "an id that is 2.5": set_field("id", 2.5),
    "a wait that is a string": set_field("wait_us", "3"),
    "a wait that is false": set_field("wait_us", False),
    "a resume that is null": set_field("resume_us", None),
    "stack bytes that are 1.5": set_field("stack_bytes", 1.5),
    "a site that is a number": set_field("site", 5),
    "a site that is a list": set_field("site", ["a"]),
    "a path that is null": set_field("path", None),
    "an awaitable that is true": set_field("awaitable", True),
    "an unknown outcome": set_field("outcome", "done"),
    "an outcome that is a list": set_field("outcome", ["value"]),
    "an error that is 0": set_field("error", 0),
    "a missing field": lambda line: line.pop("resume_us"),
    "a missing type": lambda line: line.pop("type"),
    "a type that is a number": set_field("type", 3),
}


@pytest.mark.parametrize("fixture", sorted(FIXTURES.rglob("*.jsonl")), ids=lambda path: str(path.relative_to(FIXTURES)))
def test_every_fixture_reads_as_line_by_line(fixture: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_as_line_by_line(fixture, monkeypatch)


@pytest.mark.parametrize("where", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("change", SUSPENSION_CHANGES)
def test_a_changed_suspension_reads_as_line_by_line(
    change: str, where: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = app_lines()
    SUSPENSION_CHANGES[change](suspension_at(lines, where))
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert_same_as_line_by_line(path, monkeypatch)


TEXT_CHANGES: dict[str, Callable[[list[str]], list[str]]] = {
    "a frame defined just after its first use": lambda lines: after_first_use(
        lines, '"type": "frame", "id": 4,', '"stack": [1, 2, 3, 4]'
    ),
    "an entry started just after its first suspension": lambda lines: after_first_use(
        lines, '"id": 105, "kind"', '"entry": 105'
    ),
    "a blank line": lambda lines: [*lines[:50], "\n", *lines[50:]],
    "a line that is not JSON": lambda lines: [*lines[:80], "{nope\n", *lines[80:]],
    "a line that is a list": lambda lines: [*lines[:80], "[1, 2]\n", *lines[80:]],
    "a second header": lambda lines: [*lines[:80], lines[0], *lines[80:]],
    "a cut-off last line": lambda lines: [*lines[:-1], lines[-1][:20]],
    "a cut-off line before the end line": lambda lines: [*lines[:-2], lines[-2][:20] + "\n", lines[-1]],
    "a line after the end line": lambda lines: [*lines, lines[-3]],
    "a cut-off line after the end line": lambda lines: [*lines, lines[-3][:20]],
    "a suspension as the first line": lambda lines: [next(line for line in lines if '"suspension"' in line), *lines],
    "suspension lines only, outside any entry and stack": lambda lines: [
        json.dumps({**json.loads(line), "entry": None, "stack": [], "depth": 0}) + "\n"
        for line in lines
        if '"suspension"' in line
    ],
    "no newline after the end line": lambda lines: [*lines[:-1], lines[-1].rstrip("\n")],
    "Windows line ends": lambda lines: [line.replace("\n", "\r\n") for line in lines],
    "an entry defined twice": lambda lines: [*lines[:2], *lines[1:]],
    "entries whose caller was not sampled": lambda lines: [
        line.replace('"caller": null,', '"caller": null, "caller_sampled": false,') for line in lines
    ],
    "an entry whose caller_sampled is not true or false": lambda lines: [
        line.replace('"caller": null,', '"caller": null, "caller_sampled": 0,') for line in lines
    ],
    "stacks spelled without spaces, now and then": lambda lines: [
        line.replace(", ", ",") if '"suspension"' in line and i % 3 == 0 else line for i, line in enumerate(lines)
    ],
}


def after_first_use(lines: list[str], definition: str, use: str) -> list[str]:
    """The line holding `definition` moved to just after the first line holding `use`."""
    moved = next(line for line in lines if definition in line)
    rest = [line for line in lines if line is not moved]
    first_use = next(i for i, line in enumerate(rest) if use in line)
    return [*rest[: first_use + 1], moved, *rest[first_use + 1 :]]


@pytest.mark.parametrize("change", TEXT_CHANGES)
def test_a_changed_line_reads_as_line_by_line(change: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(TEXT_CHANGES[change]([json.dumps(line) + "\n" for line in app_lines()])), newline="")
    assert_same_as_line_by_line(path, monkeypatch)


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    text = "".join(json.dumps(line) + "\n" for line in app_lines()).encode()
    path.write_bytes(text[:5000] + b"\xff\xfe" + text[5000:])
    message = f"TraceError: {path} is not a jspiprof trace: it is not UTF-8 text."
    assert outcome(lambda: read_trace(path))[0] == outcome(lambda: Trace.from_events(iter_events(path)))[0] == message


def test_lines_given_as_text_bytes_or_a_file_read_the_same(tmp_path: Path) -> None:
    text = "".join(json.dumps(line) + "\n" for line in app_lines())
    path = tmp_path / "trace.jsonl"
    path.write_text(text)
    expected = read_trace(path)
    assert read_trace(text.splitlines(keepends=True)) == expected
    assert read_trace(text.encode().splitlines(keepends=True)) == expected
    assert read_trace(io.StringIO(text)) == expected


def test_the_suspension_lines_of_a_good_trace_are_not_checked_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in app_lines()))
    checked = []
    event = LineChecker.event
    monkeypatch.setattr(
        LineChecker, "event", lambda self, obj, *rest: checked.append(obj["type"]) or event(self, obj, *rest)
    )
    trace = read_trace(path)
    assert len(trace.suspension_columns) == 120 and "suspension" not in checked
    assert trace.suspensions == Trace.from_events(iter_events(path)).suspensions


def test_on_the_host_the_lines_of_a_good_file_are_decoded_by_msgspec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in app_lines()))
    parsed = []
    check = ColumnReader.check_lines
    monkeypatch.setattr(
        ColumnReader, "check_lines", lambda self, lines, *rest: parsed.extend(lines) or check(self, lines, *rest)
    )
    trace = read_trace(path)
    assert len(parsed) == 1 and b'"header"' in parsed[0]  # only the header line was parsed by itself
    assert trace == Trace.from_events(iter_events(path))


def test_a_file_is_read_where_msgspec_is_there_but_numpy_is_not(tmp_path: Path) -> None:
    """As inside Pyodide once an app loaded its msgspec package (which needs no numpy): each line is parsed instead."""
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in app_lines()))
    code = (
        "import sys; sys.modules['numpy'] = None\n"  # `import numpy` raises ImportError
        "import msgspec, jspiprof.trace as trace\n"
        "print(trace.FileReader.__name__, len(trace.read_trace(sys.argv[1]).suspensions))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ColumnReader", str(len(read_trace(path).suspensions))]


def test_suspensions_at_one_place_share_one_stored_shape() -> None:
    trace = read_trace(FIXTURES / "analysis" / "small_app.jsonl")
    columns = trace.suspension_columns
    # the first two requests: one shape; the third failed (its outcome and error differ); then the sleep
    assert list(columns.shape) == [0, 0, 1, 2]
    assert [(shape.stack, shape.outcome) for shape in columns.shapes] == [
        ((1, 2, 3, 4), "value"),
        ((1, 2, 3, 4), "exception"),
        ((5,), "value"),
    ]
    assert [(s.stack, s.depth, s.site) for s in trace.suspensions] == [((1, 2, 3, 4), 4, "/home/app/app.py:4")] * 3 + [
        ((5,), 1, "/home/app/app.py:12")
    ]


def test_one_stack_spelled_two_ways_is_one_stored_shape(tmp_path: Path) -> None:
    lines = (FIXTURES / "analysis" / "small_app.jsonl").read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if '"stack": [1, 2, 3, 4]' in line)
    lines[first] = lines[first].replace('"stack": [1, 2, 3, 4]', '"stack":[ 1,2 ,3,\t4 ]')
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(lines))
    columns = read_trace(path).suspension_columns
    assert list(columns.shape) == [0, 0, 1, 2]
    assert [shape.stack for shape in columns.shapes] == [(1, 2, 3, 4), (1, 2, 3, 4), (5,)]


def test_an_entry_whose_caller_was_not_sampled_says_so_and_is_still_decoded_by_msgspec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "trace.jsonl"
    text = "".join(json.dumps(line) + "\n" for line in app_lines())
    path.write_text(text.replace('"caller": null,', '"caller": null, "caller_sampled": false,'))
    parsed = []
    check = ColumnReader.check_lines
    monkeypatch.setattr(
        ColumnReader, "check_lines", lambda self, lines, *rest: parsed.extend(lines) or check(self, lines, *rest)
    )
    trace = read_trace(path)
    assert len(parsed) == 1  # the header only
    assert {(entry.caller, entry.caller_sampled) for entry in trace.entries.values() if entry.kind == "task"} == {
        (None, False)
    }
    assert (trace.entries[1].caller, trace.entries[1].caller_sampled) == ("run.mjs:4", True)
