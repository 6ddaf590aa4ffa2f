"""Exports open in existing viewers: Chrome trace events (Perfetto, chrome://tracing) and speedscope files."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest

from jspiprof.analysis import tables
from jspiprof.exporters import chrome, speedscope
from jspiprof.trace import read_trace as load

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"

TRACES = ["small_app", "sequential", "hot_loop", "polling", "deep", "nested_tasks", "empty", "no_entry"]


@pytest.fixture(scope="session")
def speedscope_schema(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The file-format JSON schema shipped in the npm `speedscope` package."""
    folder = tmp_path_factory.mktemp("speedscope")
    subprocess.run(
        ["npm", "pack", "speedscope", "--pack-destination", str(folder)], check=True, capture_output=True, timeout=120
    )
    (archive,) = folder.glob("speedscope-*.tgz")
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("package/dist/release/file-format-schema.json"))


def chrome_events(name: str) -> list[dict]:
    out = io.StringIO()
    chrome.write(tables(load(FIXTURES / f"{name}.jsonl")), out, "app.py")
    return json.loads(out.getvalue())["traceEvents"]


@pytest.mark.parametrize("name", TRACES)
def test_speedscope_export_is_valid_against_the_published_schema(name: str, speedscope_schema: dict):
    out = io.StringIO()
    speedscope.write(tables(load(FIXTURES / f"{name}.jsonl")), out, "app.py")
    document = json.loads(out.getvalue())
    jsonschema.validate(document, speedscope_schema)
    for profile in document["profiles"]:
        if profile["type"] == "evented":  # speedscope requires open/close events to nest like a stack
            stack = []
            for event in profile["events"]:
                if event["type"] == "O":
                    stack.append(event["frame"])
                else:
                    assert stack.pop() == event["frame"]
            assert stack == []


def test_speedscope_wait_profile_weights_each_suspension_by_its_wait():
    out = io.StringIO()
    speedscope.write(tables(load(FIXTURES / "small_app.jsonl")), out, "app.py")
    document = json.loads(out.getvalue())
    wait = document["profiles"][0]
    names = [document["shared"]["frames"][sample[-1]]["name"] for sample in wait["samples"]]
    assert names == ["suspended: urllib3"] * 3 + ["suspended: time.sleep"]
    assert wait["weights"] == [10000, 20000, 30000, 25000] and wait["endValue"] == 85000


@pytest.mark.parametrize("name", TRACES)
def test_chrome_slices_nest_on_each_entry_track(name: str):
    events = chrome_events(name)
    slices = defaultdict(list)
    for event in events:
        assert event["ph"] in {"M", "X", "s", "f", "i"} and event["pid"] == chrome.FIRST_PID
        if event["ph"] == "X":
            assert event["dur"] >= 0
            slices[event["tid"]].append((event["ts"], -event["dur"], event["ts"] + event["dur"]))
    for track in slices.values():
        open_ends: list[float] = []
        for start, _, end in sorted(track):
            while open_ends and open_ends[-1] <= start:
                open_ends.pop()
            assert not open_ends or end <= open_ends[-1] + 1e-6, "a slice crosses its parent's end"
            open_ends.append(end)


def test_chrome_export_has_a_track_per_entry_suspension_slices_flows_and_failed_switches():
    events = chrome_events("small_app")
    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {1: "entry 1 runPythonAsync", 2: "entry 2 call on_message"}
    suspended = [e for e in events if e["ph"] == "X" and e["cat"] == "suspension"]
    assert [(e["ts"], e["dur"]) for e in suspended] == [(2000, 10100), (13000, 20200), (34000, 30300), (65000, 26000)]
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    finishes = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts.keys() == finishes.keys() == {1, 2, 3, 4}
    assert finishes[1]["ts"] - starts[1]["ts"] == 10000  # the arrow spans the wait, up to the resume
    (failed,) = [e for e in events if e["ph"] == "i"]
    assert (failed["tid"], failed["ts"], failed["args"]["reason"]) == (2, 95500, "sync-entry")


@pytest.mark.parametrize(
    "export", [lambda t: list(chrome.events(t, "app.py")), lambda t: speedscope.document(t, "app.py")]
)
def test_exports_read_the_tables_arrays_and_never_make_their_dataframes(export) -> None:
    """The DataFrames of `Tables` are for notebooks; an export reads the columns they are made of."""
    t = tables(load(FIXTURES / "small_app.jsonl"))  # entries, frames, suspensions and a failed switch
    export(t)
    assert not {"suspensions", "entries", "frames", "failed_switches"} & set(vars(t))  # made (and kept) when first used
