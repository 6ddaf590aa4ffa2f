"""jspiprof's pytest plugin, as a user runs it: pytest in a folder of its own, on a test file of pytest-pyodide tests.

One pytest run per runtime (Node 26, headless Chromium) holds every case; the tests below read its results
(JUnit XML), its output and the traces it wrote.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import pytest

from jspiprof.analysis import tables
from jspiprof.pytest_plugin.budgets import BUDGETS, exceeded, failure_message, limits_of, measure
from jspiprof.pytest_plugin.cut import cut_test_trace
from jspiprof.trace import read_trace

USER_TESTS = textwrap.dedent(
    """
    import pytest
    from pytest_pyodide import run_in_pyodide


    @pytest.mark.jspiprof_budget(max_suspensions=3)
    @run_in_pyodide
    def test_over_budget(selenium):
        import time

        for _ in range(5):
            time.sleep(0.01)  # the site of all five suspensions


    @pytest.mark.jspiprof_budget(max_suspensions=2, max_wait_ms=5000, max_failed_switches=0, max_cpu_ms=5000)
    @run_in_pyodide
    def test_within_budget(selenium):
        import time

        time.sleep(0.01)
        time.sleep(0.01)


    @pytest.mark.jspiprof_budget(max_sequential_waits=3)
    @run_in_pyodide
    def test_sequential_waits(selenium):
        import asyncio

        from pyodide.ffi import run_sync

        for _ in range(4):
            run_sync(asyncio.sleep(0.01))  # four waits one after another


    @pytest.mark.jspiprof_budget(max_suspensions=0)
    @run_in_pyodide
    def test_raises_its_own_error(selenium):
        import time

        time.sleep(0.01)
        raise ValueError("the test's own error")


    def test_reads_its_own_trace(selenium, jspiprof_trace):
        selenium.run_async("import time; time.sleep(0.01); time.sleep(0.01); time.sleep(0.01)")
        recorded = jspiprof_trace()
        assert len(recorded.tables.suspensions) == 3
        assert recorded.path.is_file()


    def test_without_budget(selenium):
        selenium.run_async("import time; time.sleep(0.01)")
    """
)

TEST_NAMES = (
    "test_over_budget",
    "test_within_budget",
    "test_sequential_waits",
    "test_raises_its_own_error",
    "test_reads_its_own_trace",
    "test_without_budget",
)


def line_of(text: str) -> int:
    """The line number of the user's test file that holds `text`."""
    return next(number for number, line in enumerate(USER_TESTS.splitlines(), 1) if text in line)


@dataclass
class UserRun:
    """A finished pytest run in its own folder: its output, each test's outcome and failure text, its folder."""

    folder: Path
    output: str
    outcomes: dict[str, str]
    failures: dict[str, str]


def run_user_pytest(folder: Path, *args: str) -> UserRun:
    """Run pytest in `folder` (a fresh process, as a user would) and read its JUnit XML."""
    report = folder / "report.xml"
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    outcomes, failures = {}, {}
    for case in ElementTree.parse(report).iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        outcomes[case.get("name")] = "passed" if problem is None else problem.tag
        failures[case.get("name")] = "" if problem is None else problem.get("message", "") + (problem.text or "")
    return UserRun(folder, process.stdout + process.stderr, outcomes, failures)


@pytest.fixture(scope="module", params=["node", "chrome"])
def user_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> UserRun:
    """The user's test file run with `pytest --jspiprof --runtime <node or chrome>`."""
    folder = tmp_path_factory.mktemp(f"user-{request.param}")
    (folder / "test_app.py").write_text(USER_TESTS)
    return run_user_pytest(folder, "--jspiprof", f"--runtime={request.param}")


def _name(user_run: UserRun, test: str) -> str:
    return next(name for name in user_run.outcomes if name.startswith(test + "["))


def test_a_test_over_its_budget_fails_naming_the_budget_the_count_the_site_and_the_trace(user_run: UserRun) -> None:
    message = user_run.failures[_name(user_run, "test_over_budget")]
    assert "max_suspensions=3 exceeded: measured 5 suspensions" in message
    assert f"test_app.py:{line_of('the site of all five')}: 5 suspensions" in message
    assert ".jspiprof/test_app.py__test_over_budget_" in message


def test_only_the_tests_over_budget_or_raising_fail(user_run: UserRun) -> None:
    failed = {name.split("[")[0] for name, outcome in user_run.outcomes.items() if outcome != "passed"}
    assert failed == {"test_over_budget", "test_sequential_waits", "test_raises_its_own_error"}, user_run.output
    assert len(user_run.outcomes) == len(TEST_NAMES)


def test_max_sequential_waits_counts_the_waits_one_after_another_at_one_site(user_run: UserRun) -> None:
    message = user_run.failures[_name(user_run, "test_sequential_waits")]
    assert "max_sequential_waits=3 exceeded: measured 4 waits one after another at" in message
    assert f"test_app.py:{line_of('four waits one after another')}" in message


def test_a_test_that_raises_keeps_its_own_error(user_run: UserRun) -> None:
    message = user_run.failures[_name(user_run, "test_raises_its_own_error")]
    assert "ValueError: the test's own error" in message
    assert "jspiprof budget" not in message


def test_every_test_leaves_one_loadable_trace_of_its_own(user_run: UserRun) -> None:
    traces = list((user_run.folder / ".jspiprof").glob("*.jsonl"))
    runtime = _name(user_run, "test_over_budget").split("[")[1].rstrip("]")
    assert {trace.name for trace in traces} == {f"test_app.py__{name}_{runtime}.jsonl" for name in TEST_NAMES}
    read = {trace.name: read_trace(trace) for trace in traces}
    counts = {name: len(tables(trace).suspensions) for name, trace in read.items()}
    over = read[f"test_app.py__test_over_budget_{runtime}.jsonl"]
    assert over.header.program == {"argv": ["pytest", f"test_app.py::test_over_budget[{runtime}]"]}
    assert counts[f"test_app.py__test_over_budget_{runtime}.jsonl"] == 5
    assert counts[f"test_app.py__test_within_budget_{runtime}.jsonl"] == 2
    assert counts[f"test_app.py__test_without_budget_{runtime}.jsonl"] == 1


def test_the_session_ends_with_a_table_of_the_tests_longest_wait_first(user_run: UserRun) -> None:
    table = user_run.output[user_run.output.index("jspiprof: stack switching per test") :]
    rows = [line for line in table.splitlines() if re.match(r"\s+\d+\s+\d+\s+[\d,.]+\s+test_app\.py::", line)]
    assert len(rows) == len(TEST_NAMES)
    waits = [float(row.split()[2].replace(",", "")) for row in rows]
    assert waits == sorted(waits, reverse=True)
    assert {row.split()[3].split("::")[1].split("[")[0] for row in rows} == set(TEST_NAMES)


UNRELATED_TESTS = textwrap.dedent(
    """
    import sys


    def test_passes():
        assert 1 + 1 == 2


    def test_fails():
        assert 1 + 1 == 3


    def test_heavy_modules_stay_unloaded():
        assert "pandas" not in sys.modules
        assert "jspiprof.pytest_plugin.recording" not in sys.modules
    """
)

PYODIDE_CONFIG_TESTS = textwrap.dedent(
    """
    from pytest_pyodide.config import get_global_config


    def test_pyodide_is_loaded_as_pytest_pyodide_loads_it(runtime):
        assert "wrapLoadPyodide" not in get_global_config().get_load_pyodide_script(runtime)
    """
)


def test_without_the_option_or_markers_the_plugin_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_unrelated.py").write_text(UNRELATED_TESTS)
    with_plugin = run_user_pytest(tmp_path, "test_unrelated.py")
    without_plugin = run_user_pytest(tmp_path, "test_unrelated.py", "-p", "no:jspiprof")
    assert with_plugin.outcomes == without_plugin.outcomes
    assert with_plugin.outcomes["test_heavy_modules_stay_unloaded"] == "passed"

    (tmp_path / "test_pyodide_config.py").write_text(PYODIDE_CONFIG_TESTS)
    pyodide_suite = run_user_pytest(tmp_path, "test_pyodide_config.py", "--runtime=node")
    assert set(pyodide_suite.outcomes.values()) == {"passed"}, pyodide_suite.output
    assert not (tmp_path / ".jspiprof").exists()


def _suspension(id: int, entry: int, start_us: float, stack: list[int]) -> dict:
    return {
        "type": "suspension",
        "id": id,
        "entry": entry,
        "path": "time.sleep",
        "start_us": start_us,
        "wait_us": 100.0,
        "resume_us": 5.0,
        "stack_bytes": 64,
        "stack": stack,
        "depth": len(stack),
        "site": "/app.py:1",
        "awaitable": "Promise",
        "outcome": "value",
        "error": None,
    }


def test_a_tests_trace_keeps_what_its_lines_refer_to_from_before_it_and_nothing_else(tmp_path: Path) -> None:
    header = {"type": "header", "schema": "jspiprof-trace", "version": 1, "origin_unix_ms": 1000.0}
    header["runtime"] = {
        "host": "node",
        "host_version": "v26.10.0",
        "pyodide": "314.0.7",
        "jspi": "WebAssembly.Suspending",
    }
    frame = {"type": "frame", "file": "/app.py", "line": 1, "function": "<module>", "library": False}
    entry = {"type": "entry", "promising": True, "name": None, "caller": None, "parent": None}
    earlier_test = [
        {**frame, "id": 1},
        {
            **entry,
            "id": 1,
            "kind": "runPythonAsync",
            "start_us": 0.0,
            "end_us": 500.0,
            "outcome": "return",
            "error": None,
        },
        _suspension(1, 1, 100.0, [1]),
        {**entry, "id": 2, "kind": "callPromising", "start_us": 600.0},  # still running when the next test begins
        # CPU samples: sample stack 1 is defined here, and sampled again in the next test
        {
            "type": "samples",
            "interval_us": 1000,
            "stacks": [{"id": 1, "frames": [1]}],
            "start_us": 200,
            "dt_us": [0],
            "stack": [1],
            "entry": [1],
        },
    ]
    this_test = [
        {**frame, "id": 2, "line": 2},
        {**entry, "id": 3, "kind": "task", "parent": 2, "start_us": 900.0},
        _suspension(2, 3, 1000.0, [1, 2]),
        {"type": "entry_end", "id": 3, "end_us": 1200.0, "outcome": "return", "error": None},
        {"type": "entry_end", "id": 2, "end_us": 1300.0, "outcome": "return", "error": None},
        {
            "type": "samples",
            "interval_us": 1000,
            "stacks": [],
            "start_us": 1100,
            "dt_us": [0],
            "stack": [1],
            "entry": [3],
        },
    ]
    lines = [json.dumps(event) for event in [{**header, "program": None}, *earlier_test, *this_test]]
    path = tmp_path / "cut.jsonl"
    path.write_text(cut_test_trace(lines, 1 + len(earlier_test), 1000.0 + 2.0, "test_app.py::test_x[node]"))

    trace = read_trace(path)
    assert [s.id for s in trace.suspensions] == [2]
    assert sorted(trace.entries) == [2, 3]
    assert sorted(trace.frames) == [1, 2]
    assert list(trace.samples.stack) == [1] and trace.samples.stacks[1] == (1,)  # its stack, defined before the test
    assert trace.header.program == {"argv": ["pytest", "test_app.py::test_x[node]"]}
    assert trace.end is not None and trace.end.ts_us == 2000.0  # the runtime's clock at the test's end


def test_selenium_jspi_under_node_fails_at_once_saying_to_use_selenium(tmp_path: Path) -> None:
    (tmp_path / "test_jspi.py").write_text("def test_with_the_flag(selenium_jspi):\n    pass\n")
    run = run_user_pytest(tmp_path, "--runtime=node")
    message = run.failures["test_with_the_flag[node]"]
    assert "selenium_jspi starts Node with --experimental-wasm-stack-switching, which Node 26 refuses" in message
    assert "use the `selenium` fixture" in message


SMALL_APP = Path(__file__).parent / "fixtures" / "analysis" / "small_app.jsonl"


def test_budgets_measure_what_jspiprof_stats_prints(run_cli) -> None:
    stats = json.loads(run_cli("stats", "--json", str(SMALL_APP)).stdout)
    measures = measure(tables(read_trace(SMALL_APP)))
    assert (measures.suspensions, measures.wait_ms, measures.failed_switches, measures.cpu_ms) == (
        stats["suspensions"],
        stats["total_wait_ms"],
        stats["failed_switches"],
        stats["running_ms"],
    )
    assert (measures.sequential_waits, measures.sequential_site) == (3, "/home/app/app.py:4")


def test_the_cpu_budget_is_sampled_python_time_when_the_trace_has_samples(run_cli) -> None:
    sampled = Path(__file__).parent / "fixtures" / "cpu" / "batches.jsonl"
    stats = json.loads(run_cli("stats", "--json", str(sampled)).stdout)
    measures = measure(tables(read_trace(sampled)))
    assert measures.cpu_ms == stats["cpu"]["python_ms"] != stats["running_ms"]
    over = exceeded({"max_cpu_ms": 100}, measures)
    assert over == [f"max_cpu_ms=100 exceeded: measured {stats['cpu']['python_ms']:,.1f} ms of Python CPU time"]


def test_a_budget_is_exceeded_only_above_its_limit_and_the_message_says_where() -> None:
    measures = measure(tables(read_trace(SMALL_APP)))
    at_the_limit = {name: getattr(measures, field) for name, field in BUDGETS.items()}
    assert exceeded(at_the_limit, measures) == []
    below = {name: limit - 0.5 for name, limit in at_the_limit.items()}
    over = exceeded(below, measures)
    assert [line.split("=")[0] for line in over] == list(BUDGETS)
    message = failure_message(over, measures, Path(".jspiprof/t.jsonl"))
    assert "max_sequential_waits=2.5 exceeded: measured 3 waits one after another at /home/app/app.py:4" in message
    assert "  /home/app/app.py:4: 3 suspensions, 60.0 ms" in message
    assert "  /home/app/app.py:20: 1 failed switches" in message
    assert "trace: .jspiprof/t.jsonl" in message


def test_a_marker_with_an_unknown_budget_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown budget max_switches; the budgets are max_suspensions"):
        limits_of({"max_switches": 3})


def test_a_budget_on_a_test_without_pyodide_fails_instead_of_passing_unchecked(tmp_path: Path) -> None:
    (tmp_path / "test_host.py").write_text(
        "import pytest\n\n\n@pytest.mark.jspiprof_budget(max_suspensions=1)\ndef test_on_the_host():\n    pass\n"
    )
    run = run_user_pytest(tmp_path)
    assert "jspiprof_budget cannot be checked: only a pytest-pyodide test" in run.failures["test_on_the_host"]
