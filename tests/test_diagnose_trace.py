"""`jspiprof diagnose` reads a trace recorded by the hook and names the class, location and fix of each failure.

The same user-shaped Node scenarios as tests/test_diagnose.py run with `loadPyodide` wrapped by jspiprof's hook
(one import line changed, as a user wires it); their trace goes through `jspiprof diagnose --json`.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from jspiprof.in_pyodide.diagnose import diagnose_text
from jspiprof.runtime.install import Runtime, cache_home, js_dir
from jspiprof.runtime.wheels import download_wheels

sys.path.insert(0, str(Path(__file__).parent / "scenarios"))
from harness import FIXTURES, HERE, SYSTEM_NODE, browser, expected_location, hooked, node_workdir, run_node  # noqa: E402


def line_of(script: Path, text: str, base: str) -> str:
    """Where the first line of the scenario that contains `text` is: `base/NAME:LINE` for JS, `<exec>:LINE` for a line
    of the Python code in a template literal (counted from the line that opens it)."""
    lines = script.read_text().splitlines()
    number = next(number for number, source in enumerate(lines, 1) if text in source)
    if "\n".join(lines[: number - 1]).count("`") % 2 == 1:
        opening = next(above for above in range(number - 1, 0, -1) if "`" in lines[above - 1])
        return f"<exec>:{number - opening + 1}"
    return f"{base}/{script.name}:{number}"


TRACE_CASES = {
    # scenario: (class, where the location is: None = the scenario's `<- location` marker,
    #            else the line containing this text)
    "runpython_run_sync": ("sync-runpython", None),
    "runpython_asyncio_run": ("blocking-api-from-sync", None),
    "runpython_run_until_complete": ("blocking-api-from-sync", None),
    "pyproxy_call": ("sync-pyproxy-call", None),
    "requests_pyproxy_call": ("blocking-api-from-sync", None),
    "array_map": ("sync-js-callback", None),
    # A callback JS code registered: the registering call is the line to change.
    "set_timeout_create_proxy": ("sync-js-callback", "setTimeout(create_proxy(tick), 10)"),
    "reentrant_callback": ("reentrant-sync-callback", None),
    "pyodide_internal": ("pyodide-internal", None),
    "runpython_time_sleep": ("busy-wait-sleep", None),
    # The trace has no Python stack for an error raised before any switch: the entry's JS caller is the location.
    "run_sync_not_awaitable": ("not-awaitable", "runPythonAsync("),
    "no_jspi_run_sync": ("no-jspi", None),
}
TRACE_CLASSES = {"array_map": "sync-pyproxy-call"}
"""Where a trace names another class: it records the JS caller's location, not its source line (which jspiprof never
reads), so a PyProxy that `Array.map` calls reads as a direct call from that line."""


@pytest.fixture(scope="module")
def traced(jspiprof_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory, http_server: str):
    """Run a scenario under the hook; returns (folder, trace path, printed text)."""
    folder = node_workdir(tmp_path_factory.mktemp("traced"), jspiprof_runtime.pyodide_dir.parent.parent)
    wheels = download_wheels(["requests"], cache_home())
    env = {"WHEELS": ",".join(map(str, wheels)), "URL": f"{http_server}/text"}

    def run(name: str, options: str = "{ trace: process.env.JSPIPROF_TRACE }") -> tuple[Path, str]:
        script = folder / f"{name}.mjs"
        script.write_text(hooked(HERE / "node" / f"{name}.mjs", js_dir(), options))
        trace = folder / f"{name}.jsonl"
        node = SYSTEM_NODE if name.startswith("no_jspi") else jspiprof_runtime.node
        _, text = run_node(script, node, folder, {**env, "JSPIPROF_TRACE": str(trace)})
        assert trace.is_file(), text[-3000:]
        return trace, text

    run.folder = folder  # type: ignore[attr-defined]
    run.node = jspiprof_runtime.node  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("name", sorted(TRACE_CASES))
def test_trace_failure_is_diagnosed(name: str, traced, run_cli) -> None:
    if name.startswith("no_jspi") and not SYSTEM_NODE.exists():
        pytest.skip("needs the system Node 20 (no JSPI) at /usr/bin/node")
    trace, text = traced(name)
    done = run_cli("diagnose", "--json", str(trace))
    assert done.returncode == 0, done.stderr
    problems = json.loads(done.stdout)
    class_id, line_text = TRACE_CASES[name]
    class_id = TRACE_CLASSES.get(name, class_id)
    script = HERE / "node" / f"{name}.mjs"
    base = traced.folder.as_uri()
    location = expected_location(script, base) if line_text is None else line_of(script, line_text, base)
    assert [(problem["class"], problem["location"]) for problem in problems] == [(class_id, location)], text[-2000:]
    assert set(problems[0]) == {"class", "message", "location", "fix"}


@pytest.mark.parametrize(
    "name",
    [
        "runpython_time_sleep",
        "pyproxy_call",
        "array_map",
        "set_timeout_create_proxy",
        "reentrant_callback",
        "runpython_asyncio_run",
        "run_sync_not_awaitable",
        "requests_pyproxy_call",
    ],
)
def test_the_hook_prints_the_diagnosis_when_the_failure_happens(name: str, traced) -> None:
    trace, text = traced(name, "{ trace: process.env.JSPIPROF_TRACE, explain: true }")
    class_id, line_text = TRACE_CASES[name]
    script = HERE / "node" / f"{name}.mjs"
    base = traced.folder.as_uri()
    location = expected_location(script, base) if line_text is None else line_of(script, line_text, base)
    printed = [line for line in text.splitlines() if line.startswith("jspiprof: [")]
    assert len(printed) == 1 and printed[0].startswith(f"jspiprof: [{class_id}] "), text[-3000:]
    explanation = text[text.index(printed[0]) :]
    assert explanation.splitlines()[1] == f"  where: {location}"
    assert explanation.splitlines()[2].startswith("  fix: ")
    if class_id != "busy-wait-sleep":  # a busy wait raises nothing
        assert text.index(printed[0]) < text.index("Error"), "the diagnosis comes before the error it explains"
    # The console text as a whole gives one diagnosis (the hook's report does not count twice); its traceback
    # names the Python line itself where the trace only knows the entry (run_sync(42)).
    assert [(problem.class_id, problem.location) for problem in diagnose_text(text)] == [
        (class_id, expected_location(script, base))
    ]


def test_trace_diagnosis_gives_the_python_chain_and_the_fix(traced, run_cli) -> None:
    trace, _ = traced("runpython_asyncio_run")
    done = run_cli("diagnose", str(trace))
    assert "Python chain: <module> (<exec>:11) -> start (<exec>:9) -> _run (" in done.stdout
    assert "with `await pyodide.runPythonAsync(code)`" in done.stdout


def test_diagnose_reads_console_text_from_a_file_or_stdin(run_cli) -> None:
    text = (FIXTURES / "node-array_map.txt").read_text()
    from_stdin = run_cli("diagnose", "--json", "-", input=text)
    from_file = run_cli("diagnose", "--json", str(FIXTURES / "node-array_map.txt"))
    assert json.loads(from_stdin.stdout) == json.loads(from_file.stdout)
    assert [problem["class"] for problem in json.loads(from_file.stdout)] == ["sync-js-callback"]


def test_diagnose_says_when_there_is_nothing_to_explain(run_cli) -> None:
    done = run_cli("diagnose", "-", input="all good\n")
    assert done.returncode == 0
    assert done.stdout == "No stack-switching failure found in stdin.\n"


def test_diagnose_of_a_missing_file_is_one_sentence(run_cli, tmp_path: Path) -> None:
    done = run_cli("diagnose", str(tmp_path / "nothing.log"))
    assert done.returncode == 1
    assert done.stderr.startswith("Error: Cannot read ") and "Traceback" not in done.stderr


def test_diagnose_of_a_broken_trace_names_the_problem(run_cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"type": "header", "schema": "jspiprof-trace", "version": 99}\n')
    done = run_cli("diagnose", str(broken))
    assert done.returncode == 1
    assert "looks like a jspiprof trace but is not valid" in done.stderr and "Traceback" not in done.stderr


def test_doctor_reports_every_runtime_and_passes_on_a_set_up_machine(run_cli) -> None:
    done = run_cli("doctor")
    assert done.returncode == 0, done.stdout
    names = [line.split(":", 1)[0].split(None, 1)[1] for line in done.stdout.splitlines()]
    assert names == ["node on PATH", "cached Node 26.10.0", "Pyodide cache", "Chromium", "chromedriver"]
    assert "Node v26.10.0 with JSPI on by default (it refuses --experimental-wasm-jspi: pass no flag)" in done.stdout


def test_doctor_tells_what_to_install_when_the_cache_is_empty(run_cli, tmp_path: Path) -> None:
    done = run_cli("doctor", "--home", str(tmp_path / "empty-cache"))
    assert done.returncode == 1
    assert "missing cached Node 26.10.0: not found: run `jspiprof setup`" in done.stdout
    assert "missing Pyodide cache:" in done.stdout


@pytest.mark.skipif(not SYSTEM_NODE.exists(), reason="needs the system Node 20 at /usr/bin/node")
def test_doctor_explains_a_node_without_jspi(tmp_path: Path) -> None:
    from jspiprof.runtime.doctor import check_node

    check = check_node("node on PATH", SYSTEM_NODE, needed=False)
    assert check.status == "warn"
    assert "without JSPI: it has no standard JSPI: install Node 24.20+ or 26" in check.detail


def test_applying_the_busy_wait_fix_unblocks_the_event_loop(traced) -> None:
    from jspiprof.analysis.diagnoses import diagnose_trace
    from jspiprof.trace import read_trace

    trace, text = traced("runpython_time_sleep")
    assert int(re.search(r"fired after (\d+) ms", text)[1]) >= 190  # the busy wait held the timer back
    (problem,) = diagnose_trace(read_trace(trace))
    old, new = re.search(r"Replace `(.+?)code\)` at \S+ with `(.+?)code\)`", problem.fix).groups()
    assert (old, new) == ("pyodide.runPython(", "await pyodide.runPythonAsync(")
    script = traced.folder / "runpython_time_sleep.mjs"
    script.write_text(script.read_text().replace(old, new, 1))
    _, text = run_node(script, traced.node, traced.folder, {"JSPIPROF_TRACE": str(trace)})
    assert int(re.search(r"fired after (\d+) ms", text)[1]) < 150, text
    assert read_trace(trace).failed_switches == []


BROWSER_TRACE_CASES = {
    # page: (classes, the button to click, where the location is: None = the page's `<- location` marker, else the
    # line containing this text)
    # A listener JS code registered: its addEventListener line is the one to change.
    "click_listener": (["sync-js-callback"], "save", 'addEventListener("click"'),
    # save_draft calls time.sleep before run_sync: in the same synchronous entry, that sleep busy-waited.
    "pyproxy_call": (["busy-wait-sleep", "sync-pyproxy-call"], "save", None),
    "reentrant_callback": (["reentrant-sync-callback"], None, None),
    "runpython_fetch": (["sync-runpython"], None, None),
}


def test_chromium_traces_are_diagnosed(jspiprof_runtime: Runtime, tmp_path: Path, run_cli) -> None:
    """The browser pages with loadPyodide wrapped by the hook (same line); the trace comes from
    pyodide.jspiprof.toJSONL()."""
    repo = Path(__file__).parent.parent
    with browser(jspiprof_runtime.pyodide_dir, tmp_path) as chromium:
        (tmp_path / "js").symlink_to(repo / "js")
        (tmp_path / "jspiprof").symlink_to(repo / "jspiprof")
        for name, (class_ids, click, line_text) in BROWSER_TRACE_CASES.items():
            page = tmp_path / f"{name}.html"
            page.write_text(
                page.read_text().replace(
                    "const pyodide = await loadPyodide();",
                    'const { wrapLoadPyodide } = await import("/js/hook.mjs"); const pyodide = window.pyodide = '
                    "await wrapLoadPyodide(globalThis.loadPyodide, { explain: true })();",
                )
            )
            console = chromium.open(page.name, click)
            trace = tmp_path / f"{name}.jsonl"
            trace.write_text(chromium.run_script("return window.pyodide.jspiprof.toJSONL()"))
            done = run_cli("diagnose", "--json", str(trace))
            scenario = HERE / "browser" / page.name
            location = (
                expected_location(scenario, chromium.base)
                if line_text is None
                else line_of(scenario, line_text, chromium.base)
            )
            assert [(p["class"], p["location"]) for p in json.loads(done.stdout)] == [
                (c, location) for c in class_ids
            ], (name, done.stdout, console)
            assert all(f"jspiprof: [{class_id}]" in console for class_id in class_ids)
