"""A trace of several Pyodide instances (a page and its worker, merged from two real `jspiprof run`s): every table,
view and export keeps each instance apart, and each instance's numbers are those of its run recorded alone."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from instance_traces import PAGE_AND_WORKER, write_merged
from test_exporters import speedscope_schema  # noqa: F401 - a fixture

from jspiprof import cli
from jspiprof.analysis import Tables, tables
from jspiprof.exporters import chrome, speedscope
from jspiprof.render.views import flame_chart_spec
from jspiprof.trace import read_trace

PAGE_LABEL, WORKER_LABEL = "page http://127.0.0.1:8000/index.html", "worker .../w.mjs"


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_merged(tmp_path_factory.mktemp("instances") / "page_and_worker.jsonl")


@pytest.fixture(scope="module")
def merged_tables(merged: Path) -> Tables:
    return tables(read_trace(merged))


def alone(number: int) -> Tables:
    return tables(read_trace(PAGE_AND_WORKER[number].trace))


def stats_json(path: Path) -> dict:
    done = CliRunner().invoke(cli.main, ["stats", "--json", str(path)])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_the_tables_give_each_event_its_instance(merged_tables: Tables) -> None:
    arrays = merged_tables.arrays
    for number in (0, 1):
        own = alone(number)
        assert (arrays.suspensions["instance"] == number).sum() == len(own.arrays.suspensions["id"])
        assert (arrays.entries["instance"] == number).sum() == len(own.arrays.entries["id"])
        failed = arrays.failed_switches["instance"] == number
        assert failed.sum() == len(own.arrays.failed_switches["ts_us"])
        assert list(merged_tables.samples.instance).count(number) == len(own.samples)
    assert [(i.instance, i.where, i.url) for i in merged_tables.instances] == [
        (0, "page", "http://127.0.0.1:8000/index.html"),
        (1, "worker", "http://127.0.0.1:8000/js/w.mjs"),
    ]


def test_stats_json_gives_each_instance_the_numbers_of_its_run_alone(merged: Path) -> None:
    instances = stats_json(merged)["instances"]
    assert [(i["instance"], i["where"], i["url"]) for i in instances] == [
        (0, "page", "http://127.0.0.1:8000/index.html"),
        (1, "worker", "http://127.0.0.1:8000/js/w.mjs"),
    ]
    for instance, part in zip(instances, PAGE_AND_WORKER):
        run = stats_json(part.trace)
        assert run["instances"] == [{**instance, "instance": 0, "where": "node", "url": None}]
        assert instance["suspensions"] == run["suspensions"] and instance["wait_ms"] == run["total_wait_ms"]
        assert instance["entries"] == sum(run["entries"].values()) and instance["python_ms"] == run["running_ms"]
        assert instance["sites"] == run["sites"]
    assert (instances[0]["suspensions"], instances[1]["suspensions"]) == (3, 5)


def test_the_terminal_stats_list_the_instances_only_when_there_are_several(merged: Path) -> None:
    several = CliRunner().invoke(cli.main, ["stats", str(merged)]).stdout
    one = CliRunner().invoke(cli.main, ["stats", str(PAGE_AND_WORKER[0].trace)]).stdout
    assert "2 Pyodide instances:" in several and "Pyodide instances" not in one
    table = several.split("2 Pyodide instances:")[1].strip().splitlines()[2:4]
    assert [line.split()[:5] for line in table] == [
        ["0", "page", "http://127.0.0.1:8000/index.html", "24", "3"],
        ["1", "worker", "http://127.0.0.1:8000/js/w.mjs", "34", "5"],
    ]


def test_the_chrome_export_puts_each_instance_in_its_own_named_process(merged_tables: Tables) -> None:
    events = list(chrome.events(merged_tables, "app"))
    processes = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert processes == {1: PAGE_LABEL, 2: WORKER_LABEL}
    entries = merged_tables.arrays.entries
    process_of_entry = dict(zip(entries["id"].tolist(), (entries["instance"] + 1).tolist()))
    for event in events:
        if event["ph"] != "M" or event["name"] == "thread_name":
            assert event["pid"] == process_of_entry.get(event["tid"] % chrome.SAMPLED_TID, 1), event
    suspended = [e["pid"] for e in events if e.get("cat") == "suspension"]
    failed = [e["pid"] for e in events if e.get("cat") == "failed_switch"]
    assert (suspended.count(1), suspended.count(2), failed) == (3, 5, [1])


def test_speedscope_has_each_instances_profiles_named_by_it(merged_tables: Tables, speedscope_schema: dict) -> None:  # noqa: F811
    document = speedscope.document(merged_tables, "app")
    jsonschema.validate(document, speedscope_schema)
    sampled = {p["name"]: p for p in document["profiles"] if p["type"] == "sampled"}
    for label, number in ((PAGE_LABEL, 0), (WORKER_LABEL, 1)):
        own = alone(number)
        (cpu,) = [p for name, p in sampled.items() if name.startswith(f"{label}: CPU")]
        assert len(cpu["samples"]) == len(own.samples)
        wait = sampled[f"{label}: wait by stack"]
        assert wait["endValue"] == pytest.approx(own.arrays.suspensions["wait_us"].sum())
    evented = [p["name"] for p in document["profiles"] if p["type"] == "evented"]
    assert evented and all(name.startswith((f"{PAGE_LABEL}: entry", f"{WORKER_LABEL}: entry")) for name in evented)


def test_the_flame_chart_draws_a_labelled_group_of_tracks_per_instance(merged_tables: Tables) -> None:
    layout = flame_chart_spec(merged_tables)["layout"]["yaxis"]
    ticks = list(zip(layout["tickvals"], layout["ticktext"]))
    groups = [(row, text) for row, text in ticks if text.startswith("[")]
    assert [text for _, text in groups] == [f"[{PAGE_LABEL}]", f"[{WORKER_LABEL}]"]
    worker_starts = groups[1][0]
    entries = merged_tables.arrays.entries
    instance_of_entry = dict(zip(entries["id"].tolist(), entries["instance"].tolist()))
    tracks = [(row, int(text.split()[1])) for row, text in ticks if text.startswith("entry ")]
    assert {instance_of_entry[entry] for row, entry in tracks if row < worker_starts} == {0}
    assert {instance_of_entry[entry] for row, entry in tracks if row > worker_starts} == {1}
    shared = [text for _, text in ticks if text.endswith("other entries")]
    assert len(shared) == 2, "each instance has its own shared track"


def test_a_trace_of_one_instance_draws_and_exports_as_before() -> None:
    one = alone(0)
    ticks = flame_chart_spec(one)["layout"]["yaxis"]["ticktext"]
    assert not any(text.startswith("[") for text in ticks)
    out = io.StringIO()
    chrome.write(one, out, "page.py")
    processes = [e for e in json.loads(out.getvalue())["traceEvents"] if e["name"] == "process_name"]
    assert [p["args"]["name"] for p in processes] == ["jspiprof: page.py"]
    names = [p["name"] for p in speedscope.document(one, "page.py")["profiles"]]
    assert "wait by stack" in names and not any(name.startswith("node") for name in names)
