"""The CPU samples of a recorded trace (`tests/fixtures/cpu/batches.py`: CPU batches with pauses between them) as
`stats --json` reports them, as spans over time, in the flame chart and in the Chrome export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jspiprof.analysis import summary
from jspiprof.analysis.cpu import sampled_spans
from jspiprof.analysis.tables import tables
from jspiprof.exporters import chrome
from jspiprof.render import report, views
from jspiprof.trace import read_trace

BATCHES = tables(read_trace(Path(__file__).parent / "fixtures" / "cpu" / "batches.jsonl"))


def test_stats_json_cpu_lists_functions_by_self_time_and_lines() -> None:
    cpu = summary(BATCHES)["cpu"]
    assert cpu["samples"] == len(BATCHES.samples) and cpu["interval_ms"] == 1
    assert cpu["python_ms"] == pytest.approx(cpu["samples"] * cpu["interval_ms"] + cpu["long_gaps"]["ms"])
    selfs = [function["self_ms"] for function in cpu["functions"]]
    assert selfs == sorted(selfs, reverse=True)
    assert (cpu["functions"][0]["function"], cpu["lines"][0]["site"]) == ("crunch", "/tmp/samp/fx/batches.py:7")
    render_rows = next(function for function in cpu["functions"] if function["function"] == "render_rows")
    assert render_rows["self_ms"] < render_rows["total_ms"]
    assert 0 < cpu["explained"] <= 1


def test_stats_json_cpu_lists_every_sampled_function_and_line_so_a_callers_total_can_be_read() -> None:
    cpu = summary(BATCHES)["cpu"]
    frames = BATCHES.arrays.frames
    sampled = {frame for stack in BATCHES.samples.stacks.values() for frame in stack}
    index = {int(frame): row for row, frame in enumerate(frames["id"])}
    functions = {(str(frames["function"][index[frame]]), str(frames["file"][index[frame]])) for frame in sampled}
    assert len(functions) > 20
    assert {(function["function"], function["file"]) for function in cpu["functions"]} == functions
    tops = {stack[-1] for stack in BATCHES.samples.stacks.values() if stack}
    sites = {f"{frames['file'][index[frame]]}:{frames['line'][index[frame]]}" for frame in tops}
    assert {line["site"] for line in cpu["lines"]} == sites


def test_sampled_spans_count_each_sample_once_per_depth_and_nest_exactly() -> None:
    spans = sampled_spans(BATCHES)
    assert spans[spans["depth"] == 0]["samples"].sum() == len(BATCHES.samples)
    children = spans[spans["depth"] > 0]
    parents = spans.assign(depth=spans["depth"] + 1)
    pairs = children.merge(parents, on=["entry", "depth"], suffixes=("", "_parent"))
    inside = (pairs["start_us_parent"] <= pairs["start_us"]) & (pairs["end_us"] <= pairs["end_us_parent"])
    assert inside.groupby([pairs["entry"], pairs["depth"], pairs["start_us"], pairs["frame"]]).any().all()


def test_the_chrome_export_has_a_track_of_sampled_python_per_entry() -> None:
    events = pd.DataFrame(chrome.events(BATCHES, "batches.py"))
    names = events[events["name"] == "thread_name"]["args"].map(lambda args: args["name"])
    assert "entry 2: sampled Python" in set(names)
    cpu = events[events["cat"].fillna("").str.startswith("cpu")]
    assert "crunch" in set(cpu["name"]) and (cpu["tid"] >= chrome.SAMPLED_TID).all()


def test_the_flame_chart_draws_the_sampled_frames_between_switches_on_the_entrys_track() -> None:
    chart = views.flame_chart_spec(BATCHES)
    (yours,) = [trace for trace in chart["data"] if trace["name"] == "sampled: your frames"]
    labels = {text for text in yours["text"] if text}
    assert "crunch (batches.py:7)" in labels and "render_rows (batches.py:12)" in labels
    (suspensions,) = [trace for trace in chart["data"] if trace["name"] == "suspension: time.sleep"]
    rows = set(yours["y"][~np.isnan(yours["y"])])
    assert min(rows) < min(suspensions["y"][~np.isnan(suspensions["y"])])  # the program's frames, above its sleeps


def test_the_chrome_export_is_named_so_that_speedscope_does_not_take_it_for_a_devtools_timeline(run_cli, tmp_path):
    (tmp_path / "batches.jsonl").write_bytes(
        (Path(__file__).parent / "fixtures" / "cpu" / "batches.jsonl").read_bytes()
    )
    assert run_cli("export", "batches.jsonl", "--format", "chrome").returncode == 0
    assert [path.name for path in tmp_path.glob("batches.*.json")] == ["batches.perfetto.json"]


def slices_overlapping_without_nesting(events: list[dict]) -> list[tuple[dict, dict]]:
    """Pairs of complete slices on one track where the second starts inside the first but ends after it (as a viewer
    adds ts + dur)."""
    bad = []
    by_track: dict[int, list[dict]] = {}
    for event in events:
        if event["ph"] == "X":
            by_track.setdefault(event["tid"], []).append(event)
    for slices in by_track.values():
        open_slices: list[dict] = []
        for event in sorted(slices, key=lambda e: (e["ts"], -e["dur"])):
            while open_slices and open_slices[-1]["ts"] + open_slices[-1]["dur"] <= event["ts"]:
                open_slices.pop()
            if open_slices and event["ts"] + event["dur"] > open_slices[-1]["ts"] + open_slices[-1]["dur"]:
                bad.append((open_slices[-1], event))
            open_slices.append(event)
    return bad


@pytest.mark.parametrize("name", ["batches", "recursion", "polling", "tick_loop"])
def test_the_chrome_export_slices_nest_exactly(name: str) -> None:
    t = tables(read_trace(Path(__file__).parent / "fixtures" / "cpu" / f"{name}.jsonl"))
    assert slices_overlapping_without_nesting(list(chrome.events(t, name))) == []


def test_a_chrome_frame_slice_over_calls_from_several_lines_names_all_of_them() -> None:
    t = tables(read_trace(Path(__file__).parent / "fixtures" / "cpu" / "recursion.jsonl"))
    locations = {event["args"]["location"] for event in chrome.events(t, "recursion") if event["name"] == "visit"}
    assert "/tmp/samp/fx/recursion.py:8-11" in locations  # sleeps at 8, waits at 9, recurses at 11


def test_report_tables_have_readable_headers_with_their_unit() -> None:
    t = tables(read_trace(Path(__file__).parent / "fixtures" / "small.jsonl"))
    page = report.render(t, [], "small")
    assert "<th>wait total (ms)</th>" in page and "<th>stack bytes max</th>" in page
    assert "wait_total" not in page


def test_stats_and_the_report_are_the_same_whatever_python_s_hash_seed() -> None:
    """Functions tied on time come out in one order: the output of a trace never depends on the process."""
    trace = Path(__file__).parent / "fixtures" / "cpu" / "batches.jsonl"
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-m", "jspiprof", "stats", "--json", str(trace)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_long_gaps_on_lines_that_mostly_run_without_gaps_are_a_busy_machine_and_left_out() -> None:
    # flat.py: four plain loops, recorded on a loaded machine: ~10 ms gaps land on the loops' own lines
    flat = tables(read_trace(Path(__file__).parent / "fixtures" / "cpu" / "flat.jsonl"))
    cpu = summary(flat)["cpu"]
    assert cpu["long_gaps"]["count"] == 0 and cpu["long_gaps"]["left_out_count"] >= 10
    assert cpu["python_ms"] == cpu["samples"] * cpu["interval_ms"]  # the split is the samples' alone
