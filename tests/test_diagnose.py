"""`jspiprof.in_pyodide.diagnose` names the class, the location and the fix of every stack-switching failure.

The scenarios in tests/scenarios/ are scripts and pages written the way users write them. Each one is
checked three ways: from the text it printed when it was captured (tests/fixtures/diagnose/), live under
Node 26 (or the system Node 20 for the no-JSPI ones) or headless Chromium, and - for the fixes that are a code
substitution - by applying the suggested edit and running the scenario again, which must then succeed.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from jspiprof.in_pyodide.diagnose import Problem, diagnose_text
from jspiprof.runtime.install import Runtime, cache_home
from jspiprof.runtime.wheels import download_wheels

sys.path.insert(0, str(Path(__file__).parent / "scenarios"))
from harness import FIXTURES, HERE, SYSTEM_NODE, browser, expected_location, node_workdir, run_node  # noqa: E402


@dataclass(frozen=True)
class Case:
    """A scenario and what its diagnosis must say: the class and a piece of the fix."""

    name: str
    class_id: str
    fix: str


NODE_CASES = [
    Case("runpython_run_sync", "sync-runpython", "`await pyodide.runPythonAsync(code)`"),
    Case("runpython_asyncio_run", "blocking-api-from-sync", "replace `asyncio.run(coro)` with `await coro`"),
    Case("runpython_run_until_complete", "blocking-api-from-sync", "`await pyodide.runPythonAsync(code)`"),
    # The JS source is never read (a log names files and URLs anyone may have written): the fixes name the
    # JS location and the Python function, and call the PyProxy `pyFunc` and the array `items`.
    Case(
        "pyproxy_call", "sync-pyproxy-call", "(pyFunc: your PyProxy of `load_config`) with `await pyFunc.callPromising"
    ),
    Case(
        "requests_pyproxy_call",
        "blocking-api-from-sync",
        "your PyProxy of `get_status`) with `await pyFunc.callPromising",
    ),
    Case("array_map", "sync-js-callback", "`await Promise.all(items.map((item) => double.callPromising(item)))`"),
    Case("set_timeout_create_proxy", "sync-js-callback", "`async def tick(...)`"),
    Case("reentrant_callback", "reentrant-sync-callback", "`await callback.callPromising(item)`"),
    Case("run_sync_not_awaitable", "not-awaitable", "`run_sync(load())`, not `run_sync(load)`"),
    Case("no_jspi_run_sync", "no-jspi", "This is Node v20."),
    Case("no_jspi_call_promising", "no-jspi", "Node 26 refuses --experimental-wasm-jspi"),
    Case("pyodide_internal", "pyodide-internal", "Report it at Pyodide's GitHub issues"),
    Case("js_set_timeout", "sync-js-callback", "`async def poll(...)`"),
    Case("event_emitter", "sync-js-callback", "`async def on_data(...)`"),
    Case("caught_message_only", "sync-pyproxy-call", "with `await pyFunc.callPromising(...)`"),
]
BROWSER_CASES = [
    Case("click_listener", "sync-js-callback", "`async def on_save(...)`"),
    Case("runpython_fetch", "sync-runpython", "`await pyodide.runPythonAsync(code)`"),
    Case(
        "pyproxy_call",
        "sync-pyproxy-call",
        "(pyFunc: your PyProxy of `save_draft`) with `await pyFunc.callPromising(...)`",
    ),
    Case("set_timeout_create_proxy", "sync-js-callback", "`async def tick(...)`"),
    Case("reentrant_callback", "reentrant-sync-callback", "`await callback.callPromising(item)`"),
    Case("no_jspi", "no-jspi", "Chrome/Chromium/Edge 137+"),
    Case(
        "array_map",
        "sync-js-callback",
        "`await Promise.all(items.map((item) => price_with_tax.callPromising(item)))`",
    ),
]
BROWSER_CLICKS = {"click_listener": "save", "pyproxy_call": "save"}


def only_problem(text: str) -> Problem:
    problems = diagnose_text(text)
    assert len(problems) == 1, text
    return problems[0]


def assert_diagnosis(problem: Problem, case: Case, location: str) -> None:
    assert problem.class_id == case.class_id, problem.render()
    assert problem.location == location, problem.render()
    assert case.fix in problem.fix, problem.render()


def fixture_location(script: Path, text: str) -> str:
    """The expected location in a captured text: JS files are wherever the capture ran them."""
    base = re.search(rf"([^\s\"(]+)/{re.escape(script.name)}(?::\d+|\", line)", text)
    return expected_location(script, base[1] if base else "")


# --- from the real captured text -------------------------------------------------------------------------


CAPTURED_NODE_FOLDER = "/tmp/jspiprof-scenarios/node"
"""Where the Node scenarios ran when their texts were captured (fixtures/diagnose/README.md)."""


def node_fixture(name: str) -> str:
    """A captured Node text, its script paths pointed at this checkout's copies (which the diagnosis must not read)."""
    return (FIXTURES / f"node-{name}.txt").read_text().replace(CAPTURED_NODE_FOLDER, str(HERE / "node"))


@pytest.mark.parametrize("case", NODE_CASES, ids=lambda case: case.name)
def test_node_console_text_is_diagnosed(case: Case) -> None:
    text = node_fixture(case.name)
    assert_diagnosis(only_problem(text), case, fixture_location(HERE / "node" / f"{case.name}.mjs", text))


@pytest.mark.parametrize("case", BROWSER_CASES, ids=lambda case: case.name)
def test_chromium_console_text_is_diagnosed(case: Case) -> None:
    text = (FIXTURES / f"chromium-{case.name}.txt").read_text()
    assert_diagnosis(only_problem(text), case, fixture_location(HERE / "browser" / f"{case.name}.html", text))


def test_the_python_chain_runs_from_the_entry_to_the_call_that_needed_to_suspend() -> None:
    problem = only_problem(node_fixture("runpython_asyncio_run"))
    lines = (HERE / "node" / "runpython_asyncio_run.mjs").read_text().splitlines()
    opening = next(number for number, line in enumerate(lines, 1) if line.strip() == "`")

    def exec_line(code: str) -> int:
        return lines.index(code) + 1 - opening + 1

    assert problem.python_chain[:2] == [
        f"<module> (<exec>:{exec_line('start()')})",
        f"start (<exec>:{exec_line('    return asyncio.run(main())')})",
    ]
    assert problem.python_chain[-1].startswith("run_until_complete (/lib/python314.zip/pyodide/webloop.py:")


def test_requests_failure_is_read_through_its_chained_exceptions() -> None:
    problem = only_problem(node_fixture("requests_pyproxy_call"))
    assert "urllib3 only works in Node.js with pyodide.runPythonAsync" in problem.message
    assert problem.message.startswith("requests in get_status (<exec>:5)")


def test_text_with_no_stack_switching_failure_gives_no_problem() -> None:
    text = (
        'Traceback (most recent call last):\n  File "<exec>", line 1, in <module>\n'
        "ZeroDivisionError: division by zero\n"
    )
    assert diagnose_text(text) == []


def test_several_errors_in_one_log_give_one_problem_each() -> None:
    text = "\n".join(node_fixture(name) for name in ("pyproxy_call", "run_sync_not_awaitable"))
    assert [problem.class_id for problem in diagnose_text(text)] == ["sync-pyproxy-call", "not-awaitable"]


# --- live: the scenarios run now ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_dir(jspiprof_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return node_workdir(tmp_path_factory.mktemp("node-scenarios"), jspiprof_runtime.pyodide_dir.parent.parent)


@pytest.fixture(scope="module")
def scenario_env(http_server: str) -> dict[str, str]:
    wheels = download_wheels(["requests"], cache_home())
    return {"WHEELS": ",".join(map(str, wheels)), "URL": f"{http_server}/text"}


def run_scenario(
    name: str, runtime: Runtime, node_dir: Path, env: dict[str, str], source: str | None = None
) -> tuple[int, str]:
    script = HERE / "node" / f"{name}.mjs"
    if source is not None:
        script = node_dir / script.name
        script.write_text(source)
    node = SYSTEM_NODE if name.startswith("no_jspi") else runtime.node
    return run_node(script, node, node_dir, env)


@pytest.mark.parametrize("case", NODE_CASES, ids=lambda case: case.name)
def test_node_scenario_is_diagnosed_live(
    case: Case, jspiprof_runtime: Runtime, node_dir: Path, scenario_env: dict[str, str]
) -> None:
    if case.name.startswith("no_jspi") and not SYSTEM_NODE.exists():
        pytest.skip("needs the system Node 20 (no JSPI) at /usr/bin/node")
    status, text = run_scenario(case.name, jspiprof_runtime, node_dir, scenario_env)
    assert status != 0 or case.name == "caught_message_only", text[-3000:]
    assert_diagnosis(only_problem(text), case, expected_location(HERE / "node" / f"{case.name}.mjs", node_dir.as_uri()))


@pytest.fixture(scope="module")
def chromium(jspiprof_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory):
    with browser(jspiprof_runtime.pyodide_dir, tmp_path_factory.mktemp("pages")) as session:
        yield session


@pytest.mark.parametrize("case", BROWSER_CASES, ids=lambda case: case.name)
def test_chromium_scenario_is_diagnosed_live(case: Case, chromium) -> None:
    text = chromium.open(f"{case.name}.html", BROWSER_CLICKS.get(case.name))
    assert_diagnosis(only_problem(text), case, expected_location(HERE / "browser" / f"{case.name}.html", chromium.base))


# --- the suggested fix works ------------------------------------------------------------------------------

FIXED_OUTPUT = {
    "set_timeout_create_proxy": "tick",
}
"""The scenarios whose fix is a substitution in the Python code (a JS call's fix would need the JS source line)."""


def apply_edit(source: str, problem: Problem) -> str:
    """Apply the problem's edit on its location line (a JS file) or, for Python code, on the first match."""
    assert problem.edit is not None, problem.render()
    old, new = problem.edit
    lines = source.splitlines(keepends=True)
    line = int(problem.location.rsplit(":", 1)[1]) if problem.location and ".mjs:" in problem.location else None
    if line is not None:
        assert old in lines[line - 1], (old, lines[line - 1])
        lines[line - 1] = lines[line - 1].replace(old, new, 1)
        return "".join(lines)
    assert old in source
    return source.replace(old, new, 1)


@pytest.mark.parametrize("name", sorted(FIXED_OUTPUT))
def test_applying_the_suggested_edit_makes_the_scenario_succeed(
    name: str, jspiprof_runtime: Runtime, node_dir: Path, scenario_env: dict[str, str]
) -> None:
    status, text = run_scenario(name, jspiprof_runtime, node_dir, scenario_env)
    problem = only_problem(text)
    fixed = apply_edit((HERE / "node" / f"{name}.mjs").read_text(), problem)
    status, text = run_scenario(name, jspiprof_runtime, node_dir, scenario_env, source=fixed)
    assert status == 0, text[-3000:]
    assert FIXED_OUTPUT[name] in text


def test_a_failure_repeated_in_a_log_is_one_problem_with_its_count() -> None:
    text = (FIXTURES / "chromium-click_listener.txt").read_text()
    problem = only_problem(text * 3)
    assert problem.class_id == "sync-js-callback"
    assert problem.message.endswith(" (happened 3 times)")


def test_the_async_def_fix_makes_the_click_handler_work_in_chromium(chromium) -> None:
    problem = only_problem(chromium.open("click_listener.html", "save"))
    page = chromium.folder / "click_listener.html"
    original = page.read_text()
    page.write_text(original.replace(*problem.edit, 1))
    try:
        console = chromium.open("click_listener.html?fixed", "save")  # a new URL: not the cached page
    finally:
        page.write_text(original)  # the other tests share this page
    assert console.splitlines() == ["saved 200"]


@pytest.mark.skipif(not SYSTEM_NODE.exists(), reason="needs the system Node 20 (no JSPI) at /usr/bin/node")
def test_the_no_jspi_fix_upgrading_node_makes_the_scenario_succeed(
    jspiprof_runtime: Runtime, node_dir: Path, scenario_env: dict[str, str]
) -> None:
    problem = only_problem(run_scenario("no_jspi_run_sync", jspiprof_runtime, node_dir, scenario_env)[1])
    assert "upgrade to Node 24.20+ or 26" in problem.fix
    status, text = run_node(
        HERE / "node" / "no_jspi_run_sync.mjs", jspiprof_runtime.node, node_dir, scenario_env
    )  # Node 26
    assert status == 0 and text.endswith("3\n"), text[-2000:]


def test_every_class_has_a_real_scenario() -> None:
    from test_diagnose_trace import TRACE_CASES

    from jspiprof.in_pyodide.diagnose import CLASSES

    scenario_classes = {case.class_id for case in NODE_CASES + BROWSER_CASES} | {
        class_id for class_id, _ in TRACE_CASES.values()
    }
    assert scenario_classes == set(CLASSES)
