"""The `samples` line of the trace format: read into columns, checked, and skipped by nothing."""

from __future__ import annotations

import json

import pytest

from jspiprof.trace import TraceError, read_trace

HEADER = {
    "type": "header",
    "schema": "jspiprof-trace",
    "version": 1,
    "origin_unix_ms": 0,
    "runtime": {"host": "node", "host_version": "v26", "pyodide": "314.0.7", "jspi": "WebAssembly.Suspending"},
    "program": None,
}
FRAMES = [
    {"type": "frame", "id": 1, "file": "app.py", "line": 3, "function": "main", "library": False},
    {"type": "frame", "id": 2, "file": "app.py", "line": 7, "function": "churn", "library": False},
]
ENTRY = {
    "type": "entry",
    "id": 1,
    "kind": "runPython",
    "promising": False,
    "name": None,
    "caller": None,
    "parent": None,
    "start_us": 0,
}


def samples_line(**fields: object) -> dict[str, object]:
    line = {
        "type": "samples",
        "interval_us": 1000,
        "stacks": [{"id": 1, "frames": [1, 2]}, {"id": 2, "frames": [1]}],
        "start_us": 5000,
        "dt_us": [0, 1000, 1010],
        "stack": [1, 1, 2],
        "entry": [1, 1, None],
    }
    line.update(fields)
    return line


def lines(*events: dict[str, object]) -> list[str]:
    return [json.dumps(event) + "\n" for event in (HEADER, *FRAMES, ENTRY, *events)]


def test_samples_are_read_as_columns_with_absolute_times() -> None:
    second = samples_line(stacks=[], start_us=9000, dt_us=[0], stack=[2], entry=[1])
    trace = read_trace(lines(samples_line(), second))
    assert list(trace.samples.time_us) == [5000, 6000, 7010, 9000]
    assert list(trace.samples.stack) == [1, 1, 2, 2]
    assert trace.samples.entry == [1, 1, None, 1]
    assert trace.samples.stacks == {1: (1, 2), 2: (1,)}
    assert trace.samples.interval_us == 1000


def test_a_file_with_samples_reads_the_same_as_its_lines(tmp_path) -> None:
    text = lines(samples_line(), samples_line(stacks=[], start_us=9000, dt_us=[0], stack=[2], entry=[1]))
    (tmp_path / "trace.jsonl").write_text("".join(text))
    assert read_trace(tmp_path / "trace.jsonl").samples == read_trace(text).samples


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"stack": [1, 3, 2]}, "a sample uses stack 3, which no samples line defines"),
        ({"stacks": [{"id": 1, "frames": [9]}]}, "sample stack 1 uses frame 9, which no earlier frame line defines"),
        ({"entry": [1, 4, None]}, "a sample belongs to entry 4, which was never started"),
        ({"dt_us": [0, 1000]}, "should have one item per sample"),
        ({"dt_us": [0, -5, 10]}, "none negative"),
    ],
)
def test_a_bad_samples_line_is_one_sentence_naming_its_line(fields: dict[str, object], error: str) -> None:
    with pytest.raises(TraceError, match=f"line 5: .*{error}"):
        read_trace(lines(samples_line(**fields)))
