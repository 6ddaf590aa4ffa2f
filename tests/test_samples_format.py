"""The `samples` line of the trace format: read into columns, checked, and skipped by nothing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from test_reader import assert_same_as_line_by_line

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


CPU_FIXTURES = sorted((Path(__file__).parent / "fixtures" / "cpu").glob("*.jsonl"))
VALIDATOR = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).parent.parent / "docs" / "trace-schema.json").read_text())
)


@pytest.mark.parametrize("path", CPU_FIXTURES, ids=lambda path: path.name)
def test_the_recorded_samples_lines_match_the_schema_and_read_alike_by_every_reader(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for line in path.read_text().splitlines():
        VALIDATOR.validate(json.loads(line))
    assert len(read_trace(path).samples) > 0
    assert_same_as_line_by_line(path, monkeypatch)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"interval_us": 0}, "interval_us should be a positive number of microseconds, not 0"),
        ({"interval_us": 2**53 + 1}, "interval_us is beyond 2\\^53; the trace is corrupt"),
        ({"start_us": -1}, "start_us is negative; the trace is corrupt"),
        ({"dt_us": [0, 2**53 + 1, 1]}, "dt_us holds a number beyond 2\\^53; the trace is corrupt"),
        ({"dt_us": [0, "1", 1]}, "none negative"),
        ({"entry": [1, 1.0, None]}, "a sample belongs to entry 1.0, which was never started"),
        ({"entry": [1, True, None]}, "a sample belongs to entry True, which was never started"),
        ({"stack": [1, 1.0, 2]}, "a sample uses stack 1.0, which no samples line defines"),
        (
            {"stacks": [{"id": 1, "frames": [1, 2]}, {"id": 2, "frames": [1]}, {"id": 1, "frames": [2]}]},
            "defined twice",
        ),
        ({"stacks": [{"id": 1}]}, "each of a samples line's stacks should be"),
        ({"stacks": [{"id": 2**31, "frames": [1]}], "stack": [1, 1, 2**31]}, "a sample stack id should be 0 to 2"),
        ({"stacks": [{"id": -1, "frames": [1]}], "stack": [1, 1, -1]}, "a sample stack id should be 0 to 2"),
        ({"stacks": [{"id": 2**64 + 1, "frames": [1]}], "stack": [1, 1, 2]}, "stacks should be {'id': integer"),
        ({"stacks": [{"id": 1, "frames": [1, True]}]}, "sample stack 1 uses frame True"),
        ({"stacks": 1}, "field 'stacks' of the samples line should be a list, not 1"),
        ({"interval_us": 1.5}, "field 'interval_us' of the samples line should be an integer, not 1.5"),
    ],
)
def test_a_bad_samples_line_is_refused_alike_by_every_reader(
    fields: dict[str, object], error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = lines(samples_line(**fields))
    with pytest.raises(TraceError, match=f"line 5: .*{error}"):
        read_trace(text)
    (tmp_path / "trace.jsonl").write_text("".join(text))
    assert_same_as_line_by_line(tmp_path / "trace.jsonl", monkeypatch)


def test_a_sample_stack_defined_again_identically_is_harmless_and_a_later_line_may_redefine_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = samples_line(stacks=[{"id": 2, "frames": [1]}], start_us=9000, dt_us=[0], stack=[2], entry=[1])
    assert read_trace(lines(samples_line(), again)).samples.stacks == {1: (1, 2), 2: (1,)}
    other = samples_line(stacks=[{"id": 2, "frames": [2]}], start_us=9000, dt_us=[0], stack=[2], entry=[1])
    (tmp_path / "trace.jsonl").write_text("".join(lines(samples_line(), other)))
    with pytest.raises(TraceError, match="line 6: sample stack 2 is defined twice, differently"):
        read_trace(tmp_path / "trace.jsonl")
    assert_same_as_line_by_line(tmp_path / "trace.jsonl", monkeypatch)


def test_a_samples_line_with_unknown_fields_reads_as_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extended = samples_line(stacks=[{"id": 1, "frames": [1, 2], "note": 1}, {"id": 2, "frames": [1]}], note="x")
    (tmp_path / "trace.jsonl").write_text("".join(lines(extended)))
    assert read_trace(tmp_path / "trace.jsonl").samples == read_trace(lines(samples_line())).samples
    assert_same_as_line_by_line(tmp_path / "trace.jsonl", monkeypatch)
