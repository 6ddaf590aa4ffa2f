"""The jspiprof pytest plugin (entry point `pytest11`): stack-switching traces and budgets for pytest-pyodide tests.

- `--jspiprof`: record every pytest-pyodide test; one trace per test in `--jspiprof-dir`, and a table at the end.
- `@pytest.mark.jspiprof_budget(max_suspensions=..., max_wait_ms=..., max_failed_switches=...,
  max_sequential_waits=..., max_cpu_ms=...)`: the test fails when it goes over any of them.
- `jspiprof_trace`: a fixture; call it in the test body to get the test's trace so far.

Inactive unless asked: without `--jspiprof`, budget markers or the fixture, it only sets pytest-pyodide up for
JSPI when pytest-pyodide tests are collected (`environment.py`). Its heavy imports (pandas) wait until then.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from jspiprof.pytest_plugin.recording import HookServer, RecordedTrace, TestStart
    from jspiprof.pytest_plugin.summary_table import TableRow

TABLE_ROWS = 20
"""How many tests the end-of-session table shows."""


@dataclass
class Session:
    """What the plugin keeps for a recording session: where traces go, the hook server, each test's numbers."""

    directory: Path
    all_tests: bool
    instance_traces: Path
    hook_server: HookServer | None
    replaced_scripts: dict[str, str]
    rows: list[TableRow] = field(default_factory=list)


SESSION = pytest.StashKey[Session]()
STARTED = pytest.StashKey[tuple[Any, "TestStart"]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jspiprof", "stack-switching traces and budgets (jspiprof)")
    group.addoption(
        "--jspiprof",
        action="store_true",
        help="Record every pytest-pyodide test through the jspiprof hook: one trace per test, and a table at the end.",
    )
    group.addoption(
        "--jspiprof-dir",
        type=Path,
        default=Path(".jspiprof"),
        help="Folder for the traces, one per test, named after the test id (default: .jspiprof).",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("jspiprof") and importlib.util.find_spec("pytest_pyodide") is None:
        raise pytest.UsageError("--jspiprof records pytest-pyodide tests: pip install 'jspiprof[pytest]'.")
    config.addinivalue_line(
        "markers",
        "jspiprof_budget(max_suspensions=None, max_wait_ms=None, max_failed_switches=None, max_sequential_waits=None, "
        "max_cpu_ms=None): fail the pytest-pyodide test when its stack switching goes over any of these limits.",
    )


def _wants_recording(item: pytest.Item) -> bool:
    return item.get_closest_marker("jspiprof_budget") is not None or "jspiprof_trace" in getattr(
        item, "fixturenames", ()
    )


def _runner(item: pytest.Item) -> Any:
    """The pytest-pyodide runner a test uses (its first `selenium*` fixture), if any."""
    funcargs = getattr(item, "funcargs", {})
    return next((funcargs[name] for name in funcargs if name.startswith("selenium")), None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Set pytest-pyodide up when its tests were collected, and start recording if asked for."""
    pyodide_items = [item for item in items if "runtime" in getattr(item, "fixturenames", ())]
    if not pyodide_items:
        return
    from jspiprof.pytest_plugin import environment

    environment.prepare(config)
    all_tests = bool(config.getoption("jspiprof"))
    if all_tests or any(_wants_recording(item) for item in pyodide_items):
        config.stash[SESSION] = _start_session(config, all_tests)


def _start_session(config: pytest.Config, all_tests: bool) -> Session:
    """Load Pyodide through the hook in every runtime from now on."""
    import tempfile

    from pytest_pyodide.config import get_global_config

    from jspiprof.pytest_plugin.environment import selected_runtimes
    from jspiprof.pytest_plugin.recording import HookServer, load_script
    from jspiprof.runtime.install import js_dir

    instance_traces = Path(tempfile.mkdtemp(prefix="jspiprof-pytest-"))
    browsers = selected_runtimes(config) - {"node"}
    hook_server = HookServer() if browsers else None
    settings = get_global_config()
    replaced = {name: settings.get_load_pyodide_script(name) for name in ("node", *browsers)}
    settings.set_load_pyodide_script("node", load_script((js_dir() / "hook.mjs").as_uri(), instance_traces))
    for browser in browsers:
        settings.set_load_pyodide_script(browser, load_script(hook_server.hook_url, None))
    directory = Path(config.getoption("jspiprof_dir")).resolve()
    return Session(directory, all_tests, instance_traces, hook_server, replaced)


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    session = config.stash.get(SESSION, None)
    if session is None:
        return
    from pytest_pyodide.config import get_global_config

    for name, script in session.replaced_scripts.items():  # as it was, for a later session in this process
        get_global_config().set_load_pyodide_script(name, script)
    if session.hook_server is not None:
        session.hook_server.close()
    shutil.rmtree(session.instance_traces, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if "runtime" in getattr(item, "fixturenames", ()):
        from jspiprof.pytest_plugin.environment import refuse_jspi_fixture

        refuse_jspi_fixture(item)


def _trace_path(session: Session, item: pytest.Item) -> Path:
    from jspiprof.pytest_plugin.recording import trace_file_name

    return session.directory / trace_file_name(item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Around the test body: note where its trace begins, then write its trace and check its budgets."""
    __tracebackhide__ = True
    session = item.config.stash.get(SESSION, None)
    runner = _runner(item) if session is not None and (session.all_tests or _wants_recording(item)) else None
    if runner is None:
        _refuse_unchecked_budget(item, "only a pytest-pyodide test (one with a `selenium` fixture) has a trace")
        return (yield)
    from jspiprof.pytest_plugin import recording

    start = recording.mark(runner)
    if start is None:
        _refuse_unchecked_budget(item, "the test's Pyodide was not loaded yet when the test began")
        return (yield)
    item.stash[STARTED] = (runner, start)
    try:
        result = yield
    except BaseException:
        try:
            _record(session, item)
        except Exception:  # the test's own error is what the user needs; a trace that cannot be taken must not hide it
            pass
        raise
    recorded = _record(session, item)
    _check_budgets(item, recorded)
    return result


def _refuse_unchecked_budget(item: pytest.Item, reason: str) -> None:
    """Fail a test whose budget cannot be checked, before it runs, saying why."""
    if item.get_closest_marker("jspiprof_budget") is not None:
        pytest.fail(f"jspiprof_budget cannot be checked: {reason}.", pytrace=False)


def _record(session: Session, item: pytest.Item) -> RecordedTrace:
    from jspiprof.pytest_plugin.recording import take
    from jspiprof.pytest_plugin.summary_table import row_of

    runner, start = item.stash[STARTED]
    recorded = take(runner, start, item.nodeid, _trace_path(session, item))
    if recorded is None:
        pytest.fail("jspiprof: the test's Pyodide was replaced during the test; no trace was taken.", pytrace=False)
    session.rows.append(row_of(item.nodeid, recorded))
    return recorded


def _check_budgets(item: pytest.Item, recorded: RecordedTrace) -> None:
    from jspiprof.pytest_plugin.budgets import exceeded, failure_message, limits_of, measure

    marker = item.get_closest_marker("jspiprof_budget")
    if marker is None:
        return
    try:
        limits = limits_of(marker.kwargs)
    except ValueError as error:
        pytest.fail(f"jspiprof_budget: {error}", pytrace=False)
    if recorded.tables.dropped:
        pytest.fail(
            f"jspiprof_budget: the browser's trace buffer of this test's Pyodide was full ({recorded.tables.dropped} "
            "events dropped), so its budgets cannot be checked; give the test a Pyodide of its own "
            "(`selenium_standalone`) or split its module.",
            pytrace=False,
        )
    measures = measure(recorded.tables)
    over = exceeded(limits, measures)
    if over:
        pytest.fail(failure_message(over, measures, _relative(recorded.path)), pytrace=False)


def _relative(path: Path) -> Path:
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


@pytest.fixture
def jspiprof_trace(request: pytest.FixtureRequest) -> Callable[[], RecordedTrace]:
    """Call it in the test body, after the code under test ran: it returns the test's trace so far
    (`.trace`, `.tables` for `jspiprof.analysis`, `.path`). Needs a pytest-pyodide `selenium*` fixture; not
    usable inside `@run_in_pyodide` bodies, which run inside Pyodide."""

    def read() -> RecordedTrace:
        from jspiprof.pytest_plugin.recording import take

        session = request.config.stash.get(SESSION, None)
        started = request.node.stash.get(STARTED, None)
        if session is None or started is None:
            pytest.fail("jspiprof_trace needs a test that uses a pytest-pyodide `selenium` fixture.", pytrace=False)
        runner, start = started
        recorded = take(runner, start, request.node.nodeid, _trace_path(session, request.node))
        if recorded is None:
            pytest.fail("jspiprof: the test's Pyodide was replaced during the test; no trace was taken.", pytrace=False)
        return recorded

    return read


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """With --jspiprof: suspensions, failed switches and wait per test, the longest wait first."""
    session = config.stash.get(SESSION, None)
    if session is None or not session.all_tests:
        return
    from jspiprof.pytest_plugin.summary_table import table

    terminalreporter.write_sep("-", "jspiprof: stack switching per test")
    for line in table(session.rows, session.directory, TABLE_ROWS):
        terminalreporter.write_line(line)
