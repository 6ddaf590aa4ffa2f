"""Reading traces with `jspiprof.trace`: the fixtures recorded from real runs, and broken files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from jspiprof.trace import Entry, Frame, Header, Suspension, TraceError, TruncatedTraceWarning, iter_events, read_trace
from jspiprof.trace.checks import LINE_TYPES, REGISTRATION_APIS, RUNTIME_VALUES, Field

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "trace-schema.json").read_text())


def test_every_line_of_the_small_fixture_matches_the_schema() -> None:
    for line in (FIXTURES / "small.jsonl").read_text().splitlines():
        jsonschema.validate(json.loads(line), SCHEMA)


def test_the_small_fixture_reads_into_a_trace_with_entry_ends_merged() -> None:
    trace = read_trace(FIXTURES / "small.jsonl")
    assert trace.header.runtime.host == "node" and trace.header.version == 1
    assert trace.header.program == {"argv": ["tests/fixtures/small_app.py"], "mode": "script"}
    assert [s.path for s in trace.suspensions] == [
        "run_sync",
        "time.sleep",
        "asyncio.run",
        "run_sync",
        "run_sync",
        "run_sync",
    ]
    assert [s.outcome for s in trace.suspensions].count("exception") == 1
    (failed,) = trace.failed_switches
    assert trace.entries[failed.entry].kind == "callback"
    assert all(entry.end_us is not None and entry.outcome == "return" for entry in trace.entries.values())
    assert trace.complete and trace.end.exit_status == 0 and trace.dropped_count == 0
    for suspension in trace.suspensions:
        frames = trace.stack_frames(suspension.stack)
        user = [f for f in frames if not f.library]
        assert suspension.site == user[-1].location and len(frames) == suspension.depth


def test_an_entry_line_with_its_end_fields_reads_as_an_ended_entry(tmp_path: Path) -> None:
    """The hook writes an entry that ended before anything referred to it as one line, its end included."""
    lines = (FIXTURES / "small.jsonl").read_text().splitlines()
    ends = {json.loads(line)["id"]: json.loads(line) for line in lines if '"type":"entry_end"' in line}
    merged = []
    for line in lines:
        event = json.loads(line)
        if event["type"] == "entry_end":
            continue
        if event["type"] == "entry":
            end = ends[event["id"]]
            event.update(end_us=end["end_us"], outcome=end["outcome"], error=end["error"])
            jsonschema.validate(event, SCHEMA)
        merged.append(json.dumps(event))
    (tmp_path / "merged.jsonl").write_text("\n".join(merged) + "\n")
    assert read_trace(tmp_path / "merged.jsonl") == read_trace(FIXTURES / "small.jsonl")
    bad = [line.replace('"outcome": "return"', '"outcome": "done"', 1) for line in merged]
    (tmp_path / "bad.jsonl").write_text("\n".join(bad) + "\n")
    with pytest.raises(TraceError, match=r"line 2: outcome should be one of return, exception, not 'done'\."):
        read_trace(tmp_path / "bad.jsonl")


def test_events_stream_as_typed_objects_in_file_order() -> None:
    events = list(iter_events(FIXTURES / "small.jsonl"))
    assert isinstance(events[0], Header)
    first_frame = next(e for e in events if isinstance(e, Frame))
    first_suspension = next(e for e in events if isinstance(e, Suspension))
    assert events.index(first_frame) < events.index(first_suspension)
    assert any(isinstance(e, Entry) and e.kind == "runPythonAsync" for e in events)


def test_unknown_fields_and_line_types_are_ignored(tmp_path: Path) -> None:
    lines = (FIXTURES / "small.jsonl").read_text().splitlines()
    extended = [lines[0], '{"type": "annotation", "text": "from a newer writer"}']
    extended += [json.dumps({**json.loads(line), "extra": 1}) for line in lines[1:]]
    (tmp_path / "extended.jsonl").write_text("\n".join(extended) + "\n")
    assert read_trace(tmp_path / "extended.jsonl") == read_trace(FIXTURES / "small.jsonl")


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (
            "not_a_trace.jsonl",
            "line 1: this is not a jspiprof trace (its first line is not a 'jspiprof-trace' header).",
        ),
        ("corrupt_line.jsonl", "line 6: not valid JSON; the trace is corrupt."),
        (
            "newer_version.jsonl",
            "line 1: the trace has format version 3, newer than this jspiprof reads (2): upgrade jspiprof.",
        ),
        ("undefined_frame.jsonl", "line 17: the stack uses frame 1, which no earlier frame line defines."),
    ],
)
def test_a_broken_file_is_one_clear_error_naming_the_line(fixture: str, message: str) -> None:
    with pytest.raises(TraceError) as raised:
        read_trace(FIXTURES / "broken" / fixture)
    assert str(raised.value) == message


def test_a_truncated_last_line_is_skipped_with_a_warning() -> None:
    with pytest.warns(TruncatedTraceWarning, match=r"last line \(line 102\) is truncated"):
        trace = read_trace(FIXTURES / "broken" / "truncated.jsonl")
    assert not trace.complete and len(trace.suspensions) == 6


def test_a_missing_or_empty_file_is_a_trace_error(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(TraceError, match="The trace is empty"):
        read_trace(tmp_path / "empty.jsonl")
    with pytest.raises(TraceError, match="Cannot read the trace"):
        read_trace(tmp_path / "missing.jsonl")


SCHEMA_TYPES = {"integer": "integer", "number": "number", "string": "string", "boolean": "boolean", "object": "object"}


def assert_describes(described: dict[str, object], rule: Field, where: str) -> None:
    """`described` (a field's schema) allows exactly what `rule` allows: its JSON type, values, bounds and items."""
    if rule.values is not None:
        assert described.get("enum") == list(rule.values), where
    elif rule.json_type == "list":
        assert described["type"] == "array" and rule.items is not None, where
        assert_describes(described["items"], rule.items, f"{where}[]")
    else:
        types = [SCHEMA_TYPES[rule.json_type], "null"] if rule.nullable else SCHEMA_TYPES[rule.json_type]
        assert described["type"] == types, where
    bounds = (rule.minimum, 2**53) if rule.bounded else (None, None)
    assert (described.get("minimum"), described.get("maximum")) == bounds, where


def test_the_schema_allows_exactly_the_values_the_reader_checks() -> None:
    assert set(SCHEMA["$defs"]) == set(LINE_TYPES)
    for kind, line_type in LINE_TYPES.items():
        properties = SCHEMA["$defs"][kind]["properties"]
        required = {"type", *(name for name, rule in line_type.fields.items() if not rule.optional)}
        assert set(SCHEMA["$defs"][kind]["required"]) == required, kind
        for name, rule in line_type.fields.items():
            described = properties[name]
            if kind == "header" and name in ("schema", "version"):  # checked before its fields
                continue
            assert_describes(described, rule, f"{kind}.{name}")
    for kind in ("header", "instance"):
        runtime = SCHEMA["$defs"][kind]["properties"]["runtime"]["properties"]
        for name, values in RUNTIME_VALUES.items():
            assert runtime[name] == ({"enum": list(values)} if values else {"type": "string"}), name
    registration = SCHEMA["$defs"]["entry"]["properties"]["registration"]["properties"]
    assert registration["api"] == {"enum": list(REGISTRATION_APIS)}
