"""The collector's merger: the streams of several Pyodide instances become one trace, readable after every batch,
whatever a page posts (hostile pages cost one warning, never a traceback)."""

from __future__ import annotations

import json
import random
import warnings
from http.client import HTTPConnection
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from hostile_inputs import Mutator, seeds

from jspiprof.browser.merger import INSTANCES_AT_MOST, TraceMerger
from jspiprof.browser.server import BATCH_BYTES_AT_MOST, HookServer
from jspiprof.trace import read_trace

FIXTURES = Path(__file__).parent / "fixtures"
ORIGIN_MS = 1_000_000.0
RUNTIME = {"host": "browser", "host_version": "Firefox", "pyodide": "314.0.7", "jspi": "WebAssembly.Suspending"}


def header(origin_ms: float) -> dict:
    return {
        "type": "header",
        "schema": "jspiprof-trace",
        "version": 1,
        "origin_unix_ms": origin_ms,
        "runtime": RUNTIME,
        "program": None,
    }


def stream_lines(origin_ms: float) -> list[dict]:
    """One instance's trace: an entry that suspends once at app.py:3 and samples once, with ids from 1."""
    return [
        header(origin_ms),
        {"type": "frame", "id": 1, "file": "/home/pyodide/app.py", "line": 3, "function": "main", "library": False},
        {
            "type": "entry",
            "id": 1,
            "kind": "runPythonAsync",
            "promising": True,
            "name": None,
            "caller": None,
            "parent": None,
            "start_us": 100,
        },
        {
            "type": "suspension",
            "id": 1,
            "entry": 1,
            "path": "run_sync",
            "start_us": 200,
            "wait_us": 50,
            "resume_us": 1,
            "stack_bytes": 0,
            "stack": [1],
            "depth": 1,
            "site": "/home/pyodide/app.py:3",
            "awaitable": None,
            "outcome": "value",
            "error": None,
        },
        {
            "type": "samples",
            "interval_us": 1000,
            "stacks": [{"id": 1, "frames": [1]}],
            "start_us": 300,
            "dt_us": [0],
            "stack": [1],
            "entry": [1],
        },
        {"type": "entry_end", "id": 1, "end_us": 400, "outcome": "return", "error": None},
    ]


def batch(stream: str, seq: int, lines: list, where: str = "page") -> bytes:
    meta = {"stream": stream, "where": where, "url": f"http://127.0.0.1/{stream}", "seq": seq}
    text = [json.dumps(meta)] + [line if isinstance(line, str) else json.dumps(line) for line in lines]
    return ("\n".join(text) + "\n").encode()


def merger(tmp_path: Path, said: list[str]) -> TraceMerger:
    return TraceMerger(tmp_path / "trace.jsonl", ORIGIN_MS, {"mode": "record"}, said.append)


def test_two_instances_become_one_trace_with_their_own_ids_and_times_on_one_clock(tmp_path):
    said: list[str] = []
    merged = merger(tmp_path, said)
    page, worker = stream_lines(ORIGIN_MS + 10), stream_lines(ORIGIN_MS + 2000)
    merged.add(batch("page", 0, page[:3]))
    merged.add(batch("worker", 0, worker, where="worker"))
    merged.add(batch("page", 1, page[3:]))
    merged.close()
    trace = read_trace(tmp_path / "trace.jsonl")
    assert said == []
    assert [(entry.id, entry.start_us, entry.end_us) for entry in trace.entries.values()] == [
        (0, 10_100, 10_400),
        (1, 2_000_100, 2_000_400),
    ]
    assert [(s.id, s.entry, s.start_us, s.stack) for s in trace.suspensions] == [
        (0, 1, 2_000_200, (0,)),  # the worker's arrived first
        (1, 0, 10_200, (0,)),  # the same frame: one id
    ]
    lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    assert [(line["instance"], line["where"], line["ts_us"]) for line in lines if line["type"] == "instance"] == [
        (0, "page", 10_000),
        (1, "worker", 2_000_000),
    ]
    assert [line["instance"] for line in lines if line["type"] in ("entry", "suspension", "samples")] == [
        0,
        1,
        1,
        1,
        0,
        0,
    ]
    assert [line["stacks"] for line in lines if line["type"] == "samples"] == [[{"id": 0, "frames": [0]}], []]
    assert lines[-1]["type"] == "end"


def test_fields_the_format_does_not_know_are_left_out_however_deep_they_nest(tmp_path):
    said: list[str] = []
    merged = merger(tmp_path, said)
    lines = stream_lines(ORIGIN_MS)
    deep = "[" * 900 + "]" * 900
    lines[2] |= {"registration": {"api": "setTimeout", "location": "page.html:3", "more": {"a": 1}}}
    entry = json.dumps(lines[2])[:-1] + f', "nested": {deep}}}'
    merged.add(batch("page", 0, [*lines[:2], entry, *lines[3:]]))
    merged.close()
    assert said == []
    written_lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    (written,) = [line for line in written_lines if line["type"] == "entry"]
    assert "nested" not in written
    assert written["registration"] == {"api": "setTimeout", "location": "page.html:3"}
    assert read_trace(tmp_path / "trace.jsonl").entries[0].registration.location == "page.html:3"


def test_an_entry_whose_line_carries_its_end_keeps_it_on_the_traces_clock(tmp_path):
    # Most task steps start and end between two batches: the hook writes each as one entry line with its end.
    said: list[str] = []
    merged = merger(tmp_path, said)
    lines = stream_lines(ORIGIN_MS + 10)
    task = {
        "type": "entry",
        "id": 2,
        "kind": "task",
        "promising": True,
        "name": None,
        "caller": None,
        "parent": 1,
        "start_us": 150,
        "end_us": 180,
        "outcome": "exception",
        "error": "ValueError: no",
    }
    merged.add(batch("page", 0, [*lines[:3], task, *lines[3:]]))
    merged.close()
    trace = read_trace(tmp_path / "trace.jsonl")
    assert said == []
    assert [
        (entry.kind, entry.start_us, entry.end_us, entry.outcome, entry.error) for entry in trace.entries.values()
    ] == [
        ("runPythonAsync", 10_100, 10_400, "return", None),
        ("task", 10_150, 10_180, "exception", "ValueError: no"),
    ]


def test_the_trace_ends_when_its_last_instance_closed_its_own_trace_not_when_the_recording_stopped(tmp_path):
    # `run --browser`: each instance ends its stream with an end line as the program exits; the browser's closing
    # afterwards is not part of the run.
    said: list[str] = []
    merged = merger(tmp_path, said)
    end = {"type": "end", "ts_us": 500, "dropped": 0, "exit_status": 3}
    merged.add(batch("page", 0, [*stream_lines(ORIGIN_MS + 10), end]))
    merged.add(batch("worker", 0, [*stream_lines(ORIGIN_MS + 20), end | {"ts_us": 450}], where="worker"))
    merged.close()
    trace = read_trace(tmp_path / "trace.jsonl")
    assert (trace.end.ts_us, trace.end.exit_status, said) == (20_450, 3, [])


def test_the_trace_ends_when_the_recording_stopped_while_an_instance_still_runs(tmp_path):
    merged = merger(tmp_path, [])
    end = {"type": "end", "ts_us": 500, "dropped": 0, "exit_status": 0}
    merged.add(batch("page", 0, [*stream_lines(ORIGIN_MS + 10), end]))
    merged.add(batch("worker", 0, stream_lines(ORIGIN_MS + 20), where="worker"))  # no end: still running
    merged.close()
    assert read_trace(tmp_path / "trace.jsonl").end.ts_us > 1_000_000  # now, long after ORIGIN_MS


def test_batches_arriving_out_of_order_are_taken_in_order(tmp_path):
    said: list[str] = []
    merged = merger(tmp_path, said)
    lines = stream_lines(ORIGIN_MS)
    merged.add(batch("page", 2, lines[4:]))
    merged.add(batch("page", 1, lines[2:4]))
    assert not (tmp_path / "trace.jsonl").exists()  # nothing until batch 0, which holds the header
    merged.add(batch("page", 0, lines[:2]))
    merged.add(batch("page", 1, lines[2:4]))  # sent twice: taken once
    merged.close()
    trace = read_trace(tmp_path / "trace.jsonl")
    assert (len(trace.entries), len(trace.suspensions), said) == (1, 1, [])


def test_the_trace_is_readable_after_every_batch(tmp_path):
    merged = merger(tmp_path, [])
    for seq, line in enumerate(stream_lines(ORIGIN_MS)):
        merged.add(batch("page", seq, [line]))
        assert read_trace(tmp_path / "trace.jsonl").header.runtime.host == "browser"


HOSTILE_BATCHES = {
    "not a batch": b"hello",
    "a meta line of the wrong shape": b'{"stream": 1, "where": "page", "seq": 0}\n',
    "a line that is not JSON": batch("a", 0, [header(ORIGIN_MS), "{not json"]),
    "NaN": batch("a", 0, [header(ORIGIN_MS), '{"type":"dropped","count":NaN,"ts_us":1}']),
    "a stack of an unknown frame": batch(
        "a", 0, [header(ORIGIN_MS), stream_lines(ORIGIN_MS)[2], {**stream_lines(ORIGIN_MS)[3], "stack": [7]}]
    ),
    "an entry that ends before it starts": batch(
        "a", 0, [header(ORIGIN_MS), stream_lines(ORIGIN_MS)[2], {**stream_lines(ORIGIN_MS)[5], "end_us": 1}]
    ),
    "a second header": batch("a", 0, [header(ORIGIN_MS), header(ORIGIN_MS)]),
    "no header first": batch("a", 0, stream_lines(ORIGIN_MS)[1:]),
    "an origin far from now": batch("a", 0, [header(1e300), *stream_lines(1e300)[1:]]),
    "a time beyond 2^53 once moved": batch(
        "a", 0, [header(ORIGIN_MS + 1e9), {**stream_lines(ORIGIN_MS)[2], "start_us": 2**53}]
    ),
    "deep nesting": batch("a", 0, [header(ORIGIN_MS), "[" * 100_000 + "]" * 100_000]),
    "a line over 1 MiB": batch("a", 0, [header(ORIGIN_MS), json.dumps({"type": "x", "s": "x" * 1_100_000})]),
    "a lone surrogate": batch(
        "a", 0, [header(ORIGIN_MS), '{"type":"frame","id":1,"file":"\\ud800","line":1,"function":"f","library":false}']
    ),
    "bytes that are not UTF-8": batch("a", 0, [header(ORIGIN_MS)]) + b"\xff\xfe\n",
}


@pytest.mark.parametrize("body", HOSTILE_BATCHES.values(), ids=HOSTILE_BATCHES.keys())
def test_a_hostile_batch_costs_one_warning_and_the_trace_stays_readable(tmp_path, body):
    said: list[str] = []
    merged = merger(tmp_path, said)
    merged.add(body)
    merged.add(body)
    merged.add(batch("good", 0, stream_lines(ORIGIN_MS)))
    merged.close()
    assert len(said) <= 1 and all(message.startswith("jspiprof: ") and "\n" not in message for message in said)
    trace = read_trace(tmp_path / "trace.jsonl")
    assert [s.site for s in trace.suspensions][-1] == "/home/pyodide/app.py:3"


def test_a_page_starting_too_many_instances_gets_one_warning(tmp_path):
    said: list[str] = []
    merged = merger(tmp_path, said)
    for number in range(INSTANCES_AT_MOST + 5):
        merged.add(batch(f"s{number}", 0, stream_lines(ORIGIN_MS)))
    merged.close()
    assert len(said) == 1 and f"more than {INSTANCES_AT_MOST}" in said[0]
    assert len(read_trace(tmp_path / "trace.jsonl").entries) == INSTANCES_AT_MOST


def test_mutated_traces_posted_as_batches_never_break_the_merger_nor_the_trace(tmp_path):
    mutator = Mutator(random.Random(23))
    for number, seed in enumerate(seeds(FIXTURES)[:40]):
        said: list[str] = []
        merged = TraceMerger(tmp_path / f"{number}.jsonl", 0.0, {"mode": "record"}, said.append)
        lines = mutator.mutate(seed.read_bytes()).split(b"\n")
        for seq, start in enumerate(range(0, len(lines), 50)):
            meta = json.dumps({"stream": "s", "where": "page", "url": None, "seq": seq}).encode()
            merged.add(b"\n".join([meta, *lines[start : start + 50]]))
        merged.close()
        assert len(said) <= 1, (seed.name, mutator.applied, said)
        if (tmp_path / f"{number}.jsonl").exists():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read_trace(tmp_path / f"{number}.jsonl")


def test_the_hook_server_serves_only_the_hook_and_takes_batches_of_a_bounded_size(tmp_path):
    hook = tmp_path / "jspiprof-hook.mjs"
    hook.write_text("export const wrapLoadPyodide = null;\n")
    merged = merger(tmp_path, [])
    server = HookServer(merged, hook)
    try:
        with urlopen(server.hook_url) as response:
            assert response.read() == hook.read_bytes()
            assert response.headers["Access-Control-Allow-Origin"] == "*"
        for path in ("/jspiprof/in_pyodide/probe.py", "/jspiprof-hook.mjs/../../etc/passwd", "/", "/trace"):
            with pytest.raises(HTTPError) as refused:
                urlopen(server.origin + path)
            assert refused.value.code == 404, path
        with urlopen(Request(server.collector_url, data=batch("page", 0, stream_lines(ORIGIN_MS)))) as response:
            assert response.status == 204
        connection = HTTPConnection("127.0.0.1", server.http.server_address[1])
        connection.putrequest("POST", "/jspiprof/trace")
        connection.putheader("Content-Length", str(BATCH_BYTES_AT_MOST + 1))
        connection.endheaders()  # refused on its length, before any of it is sent
        assert connection.getresponse().status == 413
        connection.close()
    finally:
        server.close()
        merged.close()
    assert len(read_trace(tmp_path / "trace.jsonl").suspensions) == 1
