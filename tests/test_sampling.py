"""The sampling CPU profiler in real Pyodide under Node 26: samples split running Python by function and line as
the work splits, land on the lines that run, keep KeyboardInterrupt working, follow nested entries, and stop while
Python is suspended."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from hook_scripts import node_script

from jspiprof.analysis.cpu import cpu_profile
from jspiprof.analysis.insights import insights
from jspiprof.analysis.tables import tables
from jspiprof.exporters import speedscope
from jspiprof.render import report
from jspiprof.trace import Trace, read_trace

SHARE_TOLERANCE = 0.04
"""How far a sampled share may be from the truth here: the issue's 3 points hold for `benchmarks/accuracy.py` (1 ms,
quiet runs: within 1.3-2.4 points); this suite samples every 0.1 ms, where the clock is read about as often as
samples are due, on a CI machine that may be busy: a busy run measured 3.05 points once."""

PROGRAM = """\
import asyncio, time
from pyodide.ffi import run_sync

def churn(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

def three_parts():
    return churn(90000)

def one_part():
    return churn(30000)

async def in_a_task():
    return churn(60000)

def main():
    for _ in range(20):
        three_parts()
        one_part()
    time.sleep(0.3)
    run_sync(in_a_task())
"""


def run_script(runtime, tmp_path: Path, body: str, options: str = "{}") -> tuple[str, Trace]:
    """Run `body` in Node with Pyodide loaded through the hook; its stdout and the trace it recorded."""
    script = tmp_path / "driver.mjs"
    trace = tmp_path / "trace.jsonl"
    script.write_text(node_script(runtime, trace, options, textwrap.dedent(body)))
    done = subprocess.run([str(runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, read_trace(trace)


@pytest.fixture(scope="module")
def sampled(jspiprof_runtime, tmp_path_factory) -> Trace:
    """The trace of PROGRAM, run through runPythonAsync, sampled every 0.1 ms (more samples than the default 1 ms in a
    short test: a share's error shrinks as one over the square root of their number)."""
    tmp_path = tmp_path_factory.mktemp("sampled")
    (tmp_path / "program.py").write_text(PROGRAM)
    body = f"""
    pyodide.FS.writeFile("/home/pyodide/program.py", {PROGRAM!r});
    await pyodide.runPythonAsync("import sys\\nsys.path.insert(0, '/home/pyodide')\\nimport program\\nprogram.main()");
    """
    return run_script(jspiprof_runtime, tmp_path, body, "{ sampleIntervalMs: 0.1 }")[1]


def functions_of(trace: Trace, stack_id: int) -> list[str]:
    return [trace.frames[frame].function for frame in trace.samples.stacks[stack_id]]


def test_samples_split_python_time_as_the_work_splits(sampled: Trace) -> None:
    counts = {"three_parts": 0, "one_part": 0}
    for stack_id in sampled.samples.stack:
        for name in counts.keys() & functions_of(sampled, stack_id):
            counts[name] += 1
    total = sum(counts.values())
    assert total > 1000, counts
    assert abs(counts["three_parts"] / total - 0.75) <= SHARE_TOLERANCE, counts


def test_samples_land_on_the_line_that_runs(sampled: Trace) -> None:
    lines = [
        sampled.frames[sampled.samples.stacks[stack_id][-1]].line
        for stack_id in sampled.samples.stack
        if functions_of(sampled, stack_id)[-1] == "churn"
    ]
    assert set(lines) <= {6, 7}  # the loop's two lines
    assert lines.count(7) / len(lines) > 0.9  # the body, where the loop jumps back and the eval breaker is checked


def test_no_sample_is_taken_of_an_entry_while_it_is_suspended(sampled: Trace) -> None:
    (sleep,) = [s for s in sampled.suspensions if s.path == "time.sleep"]
    during = [
        entry
        for time, entry in zip(sampled.samples.time_us, sampled.samples.entry)
        if sleep.start_us < time < sleep.start_us + sleep.wait_us
    ]
    assert sleep.wait_us > 250_000
    assert sleep.entry in sampled.samples.entry  # sampled while it ran
    assert sleep.entry not in during  # other entries may run meanwhile: the webloop's task steps


def test_samples_inside_a_task_step_of_a_nested_run_sync_belong_to_that_step(sampled: Trace) -> None:
    entries = {
        entry
        for stack_id, entry in zip(sampled.samples.stack, sampled.samples.entry)
        if "in_a_task" in functions_of(sampled, stack_id)
    }
    assert len(entries) >= 1
    for entry in entries:
        assert sampled.entries[entry].kind == "task"
        outer = []
        while (entry := sampled.entries[entry].parent) is not None:
            outer.append(sampled.entries[entry].kind)
        assert outer[-1] == "runPythonAsync"


def test_keyboard_interrupt_still_interrupts_a_sampled_loop(jspiprof_runtime, tmp_path: Path) -> None:
    body = """
    import { Worker } from "node:worker_threads";
    const buffer = new Uint8Array(new SharedArrayBuffer(1));
    pyodide.setInterruptBuffer(buffer);
    const interrupter = "require('node:worker_threads').workerData[0] = 2";
    new Worker(`setTimeout(() => { ${interrupter}; }, 500)`, { eval: true, workerData: buffer }).unref();
    try {
      pyodide.runPython("n = 0\\nwhile True:\\n    n += 1\\n");
    } catch (error) {
      console.log(error.type);
    }
    """
    stdout, trace = run_script(jspiprof_runtime, tmp_path, body)
    assert stdout.strip() == "KeyboardInterrupt"
    assert len(trace.samples) > 10  # the loop was sampled (how often depends on the load of the machine)


def test_with_sampling_off_the_trace_has_no_samples(jspiprof_runtime, tmp_path: Path) -> None:
    body = 'pyodide.runPython("total = 0\\nfor i in range(300000):\\n    total += i\\n");'
    _, trace = run_script(jspiprof_runtime, tmp_path, body, "{ sample: false }")
    assert len(trace.samples) == 0
    assert trace.samples.interval_us == 0


def test_a_program_too_short_to_sample_gives_a_whole_trace(jspiprof_runtime, tmp_path: Path) -> None:
    _, trace = run_script(jspiprof_runtime, tmp_path, 'pyodide.runPython("pass");', "{ sampleIntervalMs: 50 }")
    assert trace.complete
    assert len(trace.samples) <= 1


def test_cpu_time_is_split_by_function_self_and_total_and_by_line(sampled: Trace) -> None:
    profile = cpu_profile(tables(sampled))
    functions = profile.functions.set_index("function")
    assert profile.functions.iloc[0]["function"] == "churn"  # largest self time first
    assert functions.at["three_parts", "self_us"] < 0.05 * functions.at["three_parts", "total_us"]  # it only calls
    share = functions.at["three_parts", "total_us"] / (
        functions.at["three_parts", "total_us"] + functions.at["one_part", "total_us"]
    )
    assert abs(share - 0.75) <= SHARE_TOLERANCE
    assert profile.lines.iloc[0]["site"] == "/home/pyodide/program.py:7"
    sampled_us = len(sampled.samples) * sampled.samples.interval_us
    assert profile.python_us == pytest.approx(sampled_us + profile.long_gaps.total_us)


def test_the_cpu_hot_spot_finding_names_the_caller_that_owns_the_hot_helper_its_line_and_its_callers(
    sampled: Trace,
) -> None:
    (finding,) = [insight for insight in insights(tables(sampled)) if insight.kind == "cpu-hot-spot"]
    # churn runs for three_parts ~75% of the time (90,000 of every 120,000 iterations), for one_part the rest
    title = re.fullmatch(
        r"CPU hot spot: three_parts: (\d+)% of Python time, (\d+)% of it in churn at line 7", finding.title
    )
    assert title is not None, finding.title
    assert int(title[2]) >= 95
    assert finding.site == "/home/pyodide/program.py:7"
    assert re.match(r"churn is called from several places: three_parts 7\d%, one_part 2\d%", finding.evidence[-1])


LONG_C_CALL = """\
import hashlib


def spin(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def main():
    data = b"jspiprof" * 4_000_000
    spin(200_000)
    print(hashlib.sha256(data).hexdigest())
    spin(200_000)


main()
"""


def test_a_long_c_call_is_cpu_time_of_the_line_that_made_it(run_cli, tmp_path: Path) -> None:
    (tmp_path / "digest.py").write_text(LONG_C_CALL)
    assert run_cli("run", "digest.py").returncode == 0
    done = run_cli("stats", "jspiprof-trace.jsonl", "--json")
    cpu = json.loads(done.stdout)["cpu"]
    calling_line = f"{tmp_path / 'digest.py'}:14"
    gaps = cpu["long_gaps"]
    assert gaps["longest_ms"] > 50 and gaps["longest_at"] == f"main at {calling_line}"  # sha256 of 32 MB: no sample
    (line,) = [line for line in cpu["lines"] if line["site"] == calling_line]
    assert line["self_ms"] >= gaps["longest_ms"]
    assert cpu["python_ms"] == pytest.approx(cpu["samples"] * cpu["interval_ms"] + gaps["ms"], abs=0.01)
    text = run_cli("stats", "jspiprof-trace.jsonl").stdout
    assert f"{gaps['ms']:,.1f} ms of it from {gaps['count']:,} gaps between samples" in text


def test_jspiprof_run_samples_by_default_and_stats_json_has_the_cpu_split(run_cli, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "def churn(n):\n    total = 0\n    for i in range(n):\n        total += i * i % 7\n    return total\n\n"
        "def main():\n    for _ in range(10):\n        churn(60000)\n\nmain()\n"
    )
    assert run_cli("run", "app.py").returncode == 0
    cpu = json.loads(run_cli("stats", "--json", "jspiprof-trace.jsonl").stdout)["cpu"]
    assert cpu["samples"] > 20 and cpu["interval_ms"] == 1
    assert cpu["functions"][0] == {
        "function": "churn",
        "file": str(tmp_path / "app.py"),
        "self_ms": cpu["functions"][0]["self_ms"],
        "total_ms": cpu["functions"][0]["total_ms"],
    }
    assert cpu["functions"][0]["self_ms"] >= 0.5 * cpu["python_ms"]  # the rest: the program's start (imports)
    assert cpu["lines"][0]["site"] == f"{tmp_path / 'app.py'}:4"
    assert run_cli("run", "--no-sample", "app.py").returncode == 0
    assert json.loads(run_cli("stats", "--json", "jspiprof-trace.jsonl").stdout)["cpu"]["samples"] == 0


def test_the_report_shows_the_cpu_flame_graph_and_the_hottest_functions(sampled: Trace) -> None:
    page = report.render(tables(sampled), [], "program")
    assert "CPU flame graph: running Python" in page
    cpu_part = page[page.index("CPU: where running Python") : page.index("Flame graphs of the switches")]
    assert "three_parts" in cpu_part and "/home/pyodide/program.py:7" in cpu_part


def test_the_speedscope_export_opens_on_the_sampled_cpu_profile(sampled: Trace) -> None:
    document = speedscope.document(tables(sampled), "program")
    cpu = document["profiles"][document["activeProfileIndex"]]
    names = [frame["name"] for frame in document["shared"]["frames"]]
    assert cpu["type"] == "sampled" and len(cpu["samples"]) == len(sampled.samples)
    innermost = Counter(names[sample[-1]] for sample in cpu["samples"])
    assert innermost.most_common(1)[0][0] == "churn"
    assert set(cpu["weights"]) == {sampled.samples.interval_us}
