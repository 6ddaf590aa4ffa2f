"""Format version 2: `instance` lines and fields, an entry's `registration`, the `snapshot` line of a live export.

Every reader (line by line, a column at a time, msgspec's blocks) accepts and refuses the same version 2 traces."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_reader import app_lines, assert_same_as_line_by_line

from jspiprof.trace import Registration, TraceError, read_trace

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "trace-schema.json").read_text())
WORKER_RUNTIME = {"host": "browser", "host_version": "Chromium", "pyodide": "314.0.7", "jspi": "WebAssembly.Suspending"}


def two_instance_lines() -> list[dict[str, Any]]:
    """A version 2 trace of a page (instance 0) and a worker (instance 1): the busy app's lines, every third
    suspension, the failed switches, the dropped lines and the worker's entry in instance 1, one entry registered by
    `addEventListener`, and a snapshot line instead of the end line."""
    lines = app_lines()
    lines[0]["version"] = 2
    lines.insert(
        1,
        {
            "type": "instance",
            "instance": 1,
            "ts_us": 5.0,
            "where": "worker",
            "url": "http://127.0.0.1:8000/w.mjs",
            "runtime": dict(WORKER_RUNTIME),
        },
    )
    lines.insert(2, {**lines[2], "id": 2, "caller": None, "kind": "callPromising", "name": "main", "instance": 1})
    suspensions = [line for line in lines if line["type"] == "suspension"]
    for suspension in suspensions[::3]:
        suspension["instance"] = 1
        suspension["entry"] = 2
    for line in lines:
        if line["type"] in ("failed_switch", "dropped"):
            line["instance"] = 1
        if line["type"] == "entry" and line["kind"] == "call":
            line["kind"] = "callback"
            line["registration"] = {
                "api": "addEventListener",
                "location": "http://127.0.0.1:8000/app.js:12",
                "event": "click",
            }
    lines[-1] = {"type": "snapshot", "ts_us": lines[-1]["ts_us"]}
    return lines


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_every_line_of_a_two_instance_snapshot_matches_the_schema() -> None:
    for line in two_instance_lines():
        jsonschema.validate(line, SCHEMA)


def test_a_two_instance_snapshot_reads_with_its_instances_registrations_and_snapshot_time(tmp_path: Path) -> None:
    trace = read_trace(write(tmp_path / "trace.jsonl", two_instance_lines()))
    assert trace.header.version == 2
    assert [(i.instance, i.where, i.url) for i in trace.instance_list] == [
        (0, "node", None),
        (1, "worker", "http://127.0.0.1:8000/w.mjs"),
    ]
    assert trace.instances[1].runtime.host == "browser"
    suspensions = trace.suspensions
    assert [s.instance for s in suspensions] == [1 if i % 3 == 0 else 0 for i in range(len(suspensions))]
    assert list(trace.suspension_columns.instance) == [s.instance for s in suspensions]
    assert trace.entries[2].instance == 1 and trace.entries[1].instance == 0
    assert {f.instance for f in trace.failed_switches} == {1} and {d.instance for d in trace.dropped} == {1}
    callbacks = [entry for entry in trace.entries.values() if entry.kind == "callback"]
    assert callbacks and all(
        entry.registration == Registration("addEventListener", "http://127.0.0.1:8000/app.js:12", "click")
        for entry in callbacks
    )
    assert trace.end is None and not trace.complete and trace.snapshot_us == two_instance_lines()[-1]["ts_us"]


def test_a_version_1_trace_has_one_instance_described_by_its_header() -> None:
    trace = read_trace(Path(__file__).parent / "fixtures" / "small.jsonl")
    assert trace.instances == {} and trace.snapshot_us is None
    (only,) = trace.instance_list
    assert (only.instance, only.where, only.runtime) == (0, "node", trace.header.runtime)
    assert set(trace.suspension_columns.instance) == {0}


def test_a_two_instance_snapshot_reads_alike_by_every_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same_as_line_by_line(write(tmp_path / "trace.jsonl", two_instance_lines()), monkeypatch)


def first(kind: str, lines: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool] = lambda line: True) -> dict:
    return next(line for line in lines if line["type"] == kind and test(line))


def change(edit: Callable[[list[dict[str, Any]]], Any]) -> list[dict[str, Any]]:
    lines = two_instance_lines()
    edit(lines)
    return lines


REFUSED: dict[str, tuple[Callable[[list[dict[str, Any]]], Any], str]] = {
    "a suspension of an instance never described": (
        lambda lines: first("suspension", lines).__setitem__("instance", 7),
        "the suspension line belongs to instance 7, which no earlier instance line describes.",
    ),
    "an instance described after its first suspension": (
        lambda lines: lines.insert(
            lines.index(first("suspension", lines, lambda line: line.get("instance") == 1)) + 1, lines.pop(1)
        ),
        "the entry line belongs to instance 1, which no earlier instance line describes.",
    ),
    "an instance described twice": (
        lambda lines: lines.insert(5, lines[1]),
        "instance 1 is described twice.",
    ),
    "an instance that is a string": (
        lambda lines: first("suspension", lines).__setitem__("instance", "1"),
        "field 'instance' of the suspension line should be an integer, not '1'.",
    ),
    "an instance where nobody knows": (
        lambda lines: lines[1].__setitem__("where", "server"),
        "field 'where' of the instance line should be one of node, page, worker, not 'server'.",
    ),
    "an instance runtime without a host": (
        lambda lines: lines[1]["runtime"].pop("host"),
        "the instance's runtime has no 'host' string.",
    ),
    "a registration api nobody has": (
        lambda lines: first("entry", lines, lambda line: "registration" in line)["registration"].__setitem__(
            "api", "onTick"
        ),
        "the entry's registration api should be one of addEventListener, setTimeout, setInterval, "
        "requestAnimationFrame, queueMicrotask, Promise.then, property, not 'onTick'.",
    ),
    "a registration without a location": (
        lambda lines: first("entry", lines, lambda line: "registration" in line)["registration"].pop("location"),
        "the entry's registration location should be a string or null.",
    ),
    "a registration that is a string": (
        lambda lines: first("entry", lines, lambda line: "registration" in line).__setitem__("registration", "x"),
        "field 'registration' of the entry line should be an object or null, not 'x'.",
    ),
    "a line after the snapshot line": (
        lambda lines: lines.append(first("dropped", lines)),
        "a line after the snapshot line; the trace is corrupt.",
    ),
    "a negative snapshot time": (
        lambda lines: lines[-1].__setitem__("ts_us", -1),
        "ts_us is negative; the trace is corrupt.",
    ),
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_bad_version_2_line_is_refused_in_one_sentence_by_every_reader(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit, message = REFUSED[name]
    path = write(tmp_path / "trace.jsonl", change(edit))
    with pytest.raises(TraceError, match=r"^line \d+: ") as raised:
        read_trace(path)
    assert str(raised.value).split(": ", 1)[1] == message
    assert_same_as_line_by_line(path, monkeypatch)


def test_a_suspension_with_an_impossible_instance_is_refused_as_an_instance_never_described(tmp_path: Path) -> None:
    path = write(tmp_path / "trace.jsonl", change(lambda lines: first("suspension", lines).__setitem__("instance", -1)))
    with pytest.raises(TraceError, match="belongs to instance -1, which no earlier instance line describes"):
        read_trace(path)


def test_a_version_3_trace_is_refused_and_version_2_read(tmp_path: Path) -> None:
    lines = two_instance_lines()
    assert read_trace(write(tmp_path / "v2.jsonl", lines)).header.version == 2
    lines[0]["version"] = 3
    with pytest.raises(TraceError, match=r"format version 3, newer than this jspiprof reads \(2\)"):
        read_trace(write(tmp_path / "v3.jsonl", lines))


def test_stats_and_report_call_a_live_export_a_snapshot_and_a_cut_trace_a_crash(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jspiprof import cli

    snapshot = write(tmp_path / "snapshot.jsonl", two_instance_lines())
    crashed = write(tmp_path / "crashed.jsonl", two_instance_lines()[:-1])
    said = {}
    for trace in (snapshot, crashed):
        stats = CliRunner().invoke(cli.main, ["stats", str(trace)])
        as_json = json.loads(CliRunner().invoke(cli.main, ["stats", "--json", str(trace)]).output)
        report = CliRunner().invoke(cli.main, ["report", str(trace), "-o", str(trace.with_suffix(".html"))])
        assert stats.exit_code == 0 and report.exit_code == 0, stats.output + report.output
        html = trace.with_suffix(".html").read_text()
        said[trace.stem] = (
            "snapshot taken while running" in stats.output,
            "crashed or was killed" in stats.output,
            "snapshot taken while running" in html,
            "crashed or was killed" in html,
            as_json["snapshot"],
            as_json["complete"],
        )
    assert said == {
        "snapshot": (True, False, True, False, True, False),
        "crashed": (False, True, False, True, False, False),
    }
