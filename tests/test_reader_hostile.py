"""Traces are untrusted input: the reader refuses nonsense in one sentence naming the line, skips lines whose numbers
are impossible with one counted warning, reads every valid trace (whatever its line separators, blank last line or
byte order mark), and never hangs, recurses or holds more than a line's bound in memory.

The inputs are kept under `tests/fixtures/hostile/reader-*.jsonl`; each is a change of `analysis/small_app.jsonl`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from jspiprof.trace import (
    LONGEST_LINE,
    Trace,
    TraceError,
    iter_events,
    read_trace,
)

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = FIXTURES / "hostile"
SMALL_APP = FIXTURES / "analysis" / "small_app.jsonl"
JSPIPROF = Path(sys.executable).parent / "jspiprof"


def read_with_warnings(path: Path) -> tuple[Trace, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = read_trace(path)
    return trace, [str(warning.message) for warning in caught]


REFUSED = {
    "deep-stack": "line 7: the stack should hold frame ids (integers), not [[[[...]]]].",
    "duplicate-frame": "line 10: frame 1 is defined twice, differently.",
    "negative-end-dropped": "line 18: dropped is negative; the trace is corrupt.",
    "negative-end-time": "line 18: ts_us is negative; the trace is corrupt.",
    "negative-entry-start": "line 12: start_us is negative; the trace is corrupt.",
    "unknown-path": "line 7: field 'path' of the suspension line should be one of run_sync, time.sleep, asyncio.run, "
    "run_until_complete, urllib3, socket, ssl, other, not 'evil'.",
    "unknown-entry-kind": "line 12: field 'kind' of the entry line should be one of runPython, runPythonAsync, "
    "callPromising, callPromisingKwargs, callWithOptions, call, task, callback, not 'evil'.",
    "unknown-failed-switch-reason": "line 15: field 'reason' of the failed_switch line should be one of sync-entry, "
    "no-jspi, no-thread-state, busy-wait, not 'evil'.",
    "unknown-host": "line 1: the header's runtime host should be one of node, browser, not 'evil'.",
    "blank-lines-only": "line 1: this is not a jspiprof trace (the first line is not JSON).",
}


@pytest.mark.parametrize("name", REFUSED)
def test_nonsense_that_other_lines_depend_on_is_refused_naming_the_line(name: str) -> None:
    path = HOSTILE / f"reader-{name}.jsonl"
    with pytest.raises(TraceError) as raised:
        read_trace(path)
    assert str(raised.value) == REFUSED[name]
    with pytest.raises(TraceError) as raised:
        Trace.from_events(iter_events(path))
    assert str(raised.value) == REFUSED[name]


SKIPPED = {
    "negative-wait": "line 8: wait_us is negative",
    "huge-wait": "line 8: wait_us is beyond 2^53",
    "negative-stack-bytes": "line 11: stack_bytes is negative",
    "negative-failed-switch-time": "line 15: ts_us is negative",
    "negative-dropped-count": "line 18: count is negative",
    "entry-ends-twice": "line 17: entry 2 ends a second time",
    "entry-ends-before-start": "line 16: entry 2 ends before it starts",
    "entry-line-ends-before-start": "line 12: entry 2 ends before it starts",
}


@pytest.mark.parametrize("name", SKIPPED)
def test_a_line_with_impossible_numbers_is_skipped_with_one_counted_warning(name: str) -> None:
    trace, messages = read_with_warnings(HOSTILE / f"reader-{name}.jsonl")
    assert messages == [f"1 line of the trace was skipped for impossible values (the first, {SKIPPED[name]})."]
    columns = trace.suspension_columns
    for column in (columns.start_us, columns.wait_us, columns.resume_us, columns.stack_bytes):
        assert all(0 <= value <= 2**53 for value in column)
    assert all(0 <= failed.ts_us for failed in trace.failed_switches)
    assert trace.dropped_count >= 0
    for entry in trace.entries.values():
        assert entry.end_us is None or entry.end_us >= entry.start_us


def test_an_entry_ended_twice_keeps_its_first_end() -> None:
    trace, _ = read_with_warnings(HOSTILE / "reader-entry-ends-twice.jsonl")
    assert trace == read_trace(SMALL_APP)


def test_an_entry_that_ends_before_it_starts_is_kept_as_still_running() -> None:
    trace, _ = read_with_warnings(HOSTILE / "reader-entry-ends-before-start.jsonl")
    assert trace.entries[2].end_us is None and trace.entries[2].outcome is None


def test_many_skipped_lines_are_one_warning_naming_the_first(tmp_path: Path) -> None:
    lines = SMALL_APP.read_text().splitlines(keepends=True)
    for index in (6, 7, 10):
        lines[index] = lines[index].replace('"wait_us": ', '"wait_us": -')
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(lines))
    trace, messages = read_with_warnings(path)
    assert messages == [
        "3 lines of the trace were skipped for impossible values (the first, line 7: wait_us is negative)."
    ]
    assert [suspension.id for suspension in trace.suspensions] == [3]


def test_a_frame_defined_twice_the_same_way_is_one_frame(tmp_path: Path) -> None:
    lines = SMALL_APP.read_text().splitlines(keepends=True)
    path = tmp_path / "trace.jsonl"
    path.write_text("".join([*lines[:9], lines[2], *lines[9:]]))
    assert read_trace(path) == read_trace(SMALL_APP)


@pytest.mark.parametrize("name", ["line-separators", "trailing-blank-line", "byte-order-mark"])
def test_valid_traces_read_as_the_same_trace_from_a_path_a_file_or_lines(name: str) -> None:
    path = HOSTILE / f"reader-{name}.jsonl"
    data = path.read_bytes()
    expected = read_trace(SMALL_APP)
    if name == "line-separators":
        assert "fetch\u2028failed\u2029here" in read_trace(path).suspensions[2].error
        expected.suspension_columns = read_trace(path).suspension_columns
    text = data.decode("utf-8")
    sources = {
        "path": path,
        "binary file": io.BytesIO(data),
        "text file": io.StringIO(text, newline=""),
        "lines of bytes": data.splitlines(keepends=True),
        "lines of text": io.StringIO(text, newline="\n").readlines(),  # split at "\n" only, as a JSON Lines file
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for source_name, source in sources.items():
            assert read_trace(source) == expected, source_name
        assert Trace.from_events(iter_events(path)) == expected


def test_a_blank_line_before_other_lines_is_still_refused(tmp_path: Path) -> None:
    lines = SMALL_APP.read_text().splitlines(keepends=True)
    path = tmp_path / "trace.jsonl"
    path.write_text("".join([*lines[:5], "\n", *lines[5:]]))
    with pytest.raises(TraceError, match=r"^line 6: not valid JSON; the trace is corrupt\.$"):
        read_trace(path)


def test_values_nested_deeper_than_any_parser_allows_are_one_sentence(tmp_path: Path) -> None:
    lines = SMALL_APP.read_text().splitlines(keepends=True)
    nested = "[" * 100_000 + "]" * 100_000
    lines[6] = lines[6].replace('"stack": [1, 2, 3, 4]', f'"stack": {nested}')
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(lines))
    with pytest.raises(TraceError, match=r"^line 7: not valid JSON; the trace is corrupt\.$"):
        read_trace(path)


def test_values_nested_a_thousand_deep_in_an_unknown_field_are_ignored() -> None:
    assert read_trace(HOSTILE / "reader-deep-unknown-field.jsonl") == read_trace(SMALL_APP)


def test_an_error_quotes_a_bad_value_cut_short() -> None:
    with pytest.raises(TraceError) as raised:
        read_trace(HOSTILE / "reader-long-value.jsonl")
    message = str(raised.value)
    assert message.startswith("line 8: outcome should be one of value, exception, not 'xxxx") and len(message) < 200


def test_a_huge_file_without_a_newline_fails_at_once_at_the_line_bound(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with path.open("wb") as file:
        file.write(SMALL_APP.read_bytes().split(b"\n", 1)[0] + b"\n")
        file.write(b'{"type": "' + b"x" * (48 << 20))
    start = time.perf_counter()
    with pytest.raises(TraceError) as raised:
        read_trace(path)
    assert time.perf_counter() - start < 2  # the line bound is met after 1 MiB, not after 48
    assert (
        str(raised.value)
        == "line 2: longer than 1,048,576 bytes, the most a trace line may hold; the trace is corrupt."
    )


@pytest.mark.parametrize("source_name", ["path", "binary file", "lines of text", "text file"])
def test_a_line_longer_than_the_bound_is_refused_wherever_it_comes_from(source_name: str, tmp_path: Path) -> None:
    lines = SMALL_APP.read_text().splitlines(keepends=True)
    lines[5] = lines[5].replace('"library": true', f'"library": true, "extra": "{"x" * LONGEST_LINE}"')
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(lines))
    sources = {
        "path": path,
        "binary file": io.BytesIO(path.read_bytes()),
        "lines of text": lines,
        "text file": io.StringIO("".join(lines)),
    }
    with pytest.raises(TraceError, match=r"^line 6: longer than 1,048,576 bytes"):
        read_trace(sources[source_name])


def test_a_line_just_within_the_bound_is_read(tmp_path: Path) -> None:
    lines = SMALL_APP.read_text().splitlines(keepends=True)
    filler = "x" * (LONGEST_LINE - len(lines[5]) - len(', "extra": ""'))
    lines[5] = lines[5].replace('"library": true', f'"library": true, "extra": "{filler}"')
    assert len(lines[5].encode()) == LONGEST_LINE
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(lines))
    assert read_trace(path) == read_trace(SMALL_APP)


def run_command(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    """`arguments` run with a time limit: a hang fails the test rather than the suite."""
    return subprocess.run(arguments, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_file_that_is_not_regular_is_refused_without_waiting_or_reading(special: str, tmp_path: Path) -> None:
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "trace.jsonl"
        os.mkfifo(path)  # no writer: opening it to read would wait forever
    code = (
        "import sys; from jspiprof.trace import read_trace, TraceError\n"
        "try: read_trace(sys.argv[1])\nexcept TraceError as error: print(error)"
    )
    done = run_command([sys.executable, "-c", code, str(path)])
    assert done.stdout == f"{path} is not a regular file: a trace is read from a file.\n", done.stderr
    done = run_command([str(JSPIPROF), "stats", str(path)])
    assert (done.returncode, done.stderr) == (1, f"Error: {path} is not a regular file: a trace is read from a file.\n")


def test_a_trace_piped_in_reads_as_from_its_file() -> None:
    reading, writing = os.pipe()
    with os.fdopen(writing, "wb") as pipe:
        pipe.write(SMALL_APP.read_bytes())  # 2 kB: within the pipe's buffer
    with os.fdopen(reading, "rb") as pipe:
        assert read_trace(pipe) == read_trace(SMALL_APP)


def test_an_endless_open_file_stops_at_the_line_bound() -> None:
    with open("/dev/zero", "rb") as endless, pytest.raises(TraceError, match=r"^line 1: longer than 1,048,576 bytes"):
        read_trace(endless)
