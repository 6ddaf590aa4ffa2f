"""Inside Pyodide: `jspiprof.in_pyodide.diagnose.explain(exc)` and the notes `jspiprof run` adds to an uncaught
failure."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import jspiprof
from jspiprof.runtime.install import Runtime, js_dir

sys.path.insert(0, str(Path(__file__).parent / "scenarios"))
from harness import browser  # noqa: E402

PACKAGE = Path(jspiprof.__file__).parent

REENTRANT_APP = """\
import asyncio
from pyodide.code import run_js
from pyodide.ffi import run_sync

for_each = run_js("(items, callback) => { for (const item of items) callback(item); }")


def handle(item):
    run_sync(asyncio.sleep(0))
    print("handled", item)


for_each([1, 2], handle)
"""

EXPLAIN_CAUGHT = """\
from pyodide.ffi import run_sync
from jspiprof.in_pyodide.diagnose import explain

def compute():
    return run_sync(42)

try:
    compute()
except TypeError as error:
    problem, = explain(error)
    print(problem.class_id, problem.location)
"""


def test_an_uncaught_failure_in_jspiprof_run_carries_its_diagnosis(run_cli, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(REENTRANT_APP)
    done = run_cli("run", "app.py")
    assert done.returncode == 1
    app = tmp_path / "app.py"
    # Printed by the JS hook the moment the switch failed, before the traceback ...
    assert "jspiprof: [reentrant-sync-callback]" in done.stderr
    # run_js code has no file: the JS caller is not named rather than named "null"
    assert (
        "the JS code called the Python function handle back synchronously" in done.stderr and "null" not in done.stderr
    )
    # ... and attached to the exception as a note, under the traceback.
    note = done.stderr[done.stderr.index("jspiprof diagnose: [reentrant-sync-callback]") :]
    assert done.stderr.index("Traceback") < done.stderr.index("jspiprof diagnose:")
    assert f"  where: {app}:13\n" in note
    assert "`if can_run_sync(): run_sync(aw)`" in note
    # The trace it left says the same, naming only the callers the JS stacks showed.
    diagnosed = run_cli("diagnose", "jspiprof-trace.jsonl")
    assert (
        "[reentrant-sync-callback]" in diagnosed.stdout
        and "the JS code called the Python function `handle` back" in diagnosed.stdout
    )
    assert "None" not in diagnosed.stdout and "null" not in diagnosed.stdout


def test_explain_reads_a_caught_exception_inside_pyodide_under_node(run_cli, tmp_path: Path) -> None:
    done = run_cli("run", "--no-trace", "-c", EXPLAIN_CAUGHT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "not-awaitable <string>:5\n"


PAGE = """<!doctype html>
<script src="pyodide/pyodide.js"></script>
<script type="module">
const pyodide = await loadPyodide();
const site = pyodide.runPython("import site; site.getsitepackages()[0]");
pyodide.FS.mkdirTree(`${site}/jspiprof/in_pyodide/diagnose`);
pyodide.FS.writeFile(`${site}/jspiprof/__init__.py`, "");
pyodide.FS.writeFile(`${site}/jspiprof/in_pyodide/__init__.py`, "");
for (const name of NAMES) {
  pyodide.FS.writeFile(`${site}/jspiprof/in_pyodide/diagnose/${name}`, await (await fetch(`diagnose/${name}`)).text());
}
const explainSync = pyodide.runPython(`
from jspiprof.in_pyodide.diagnose import explain
from pyodide.ffi import run_sync
import asyncio

def save(event=None):
    try:
        run_sync(asyncio.sleep(0))
    except RuntimeError as error:
        problem, = explain(error)
        return problem.class_id
save
`);
console.log("direct call:", explainSync());
document.title = "ready";
</script>
"""


def test_explain_reads_a_caught_exception_inside_pyodide_in_chromium(jspiprof_runtime: Runtime, tmp_path: Path) -> None:
    with browser(jspiprof_runtime.pyodide_dir, tmp_path) as chromium:
        shutil.copytree(PACKAGE / "in_pyodide" / "diagnose", tmp_path / "diagnose")
        names = sorted(path.name for path in (tmp_path / "diagnose").glob("*.py"))
        (tmp_path / "explain.html").write_text(PAGE.replace("NAMES", json.dumps(names)))
        console = chromium.open("explain.html", settle=0.2)
    # From the exception alone (no JS stack), a failed switch in a function JS called is a direct call or a callback.
    assert console.splitlines() == ["direct call: sync-pyproxy-call"]


SLEEPY_APP = """\
import time
from pyodide.code import run_js

call_now = run_js("(callback) => callback()")


def tick():
    time.sleep(0.05)


call_now(tick)
print("done")
"""


def test_a_busy_waiting_sleep_in_jspiprof_run_is_reported_and_diagnosed(run_cli, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SLEEPY_APP)
    done = run_cli("run", "app.py")
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr
    assert f"jspiprof: [busy-wait-sleep] time.sleep at {tmp_path / 'app.py'}:8 could not stack switch" in done.stderr
    diagnosed = run_cli("diagnose", "--json")
    (problem,) = json.loads(diagnosed.stdout)
    assert (problem["class"], problem["location"]) == ("busy-wait-sleep", f"{tmp_path / 'app.py'}:8")
    assert "`await asyncio.sleep(t)`" in problem["fix"]


def test_a_browser_fetches_every_file_that_runs_inside_pyodide() -> None:
    """A page cannot list a folder over HTTP: js/probe-bridge.mjs lists the files of `in_pyodide/` it fetches."""
    bridge = (js_dir() / "probe-bridge.mjs").read_text()
    listed = re.search(r"IN_PYODIDE_FILES = \[(.*?)\];", bridge, re.DOTALL)[1]
    folder = PACKAGE / "in_pyodide"
    assert sorted(re.findall(r'"([^"]+)"', listed)) == sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*.py")
    )


RUN_JS_CALLBACK_APP = """\
import asyncio
from pyodide.code import run_js
from pyodide.ffi import create_proxy, run_sync


def cb():
    run_sync(asyncio.sleep(0))


run_js("(f) => f()")(create_proxy(cb))
"""


def test_a_trace_locates_a_callback_from_run_js_code_where_python_called_js(run_cli, tmp_path: Path) -> None:
    """run_js code has no file, so no JS caller is known; the trace still knows the Python line that called JS."""
    (tmp_path / "app.py").write_text(RUN_JS_CALLBACK_APP)
    done = run_cli("run", "app.py")
    assert done.returncode == 1, done.stderr
    printed = re.search(r"jspiprof: \[reentrant-sync-callback\][^\n]*\n  where: (\S+)\n", done.stderr)
    note = re.search(r"jspiprof diagnose: \[reentrant-sync-callback\][^\n]*\n  where: (\S+)\n", done.stderr)
    (problem,) = json.loads(run_cli("diagnose", "--json").stdout)
    assert problem["location"] == printed[1] == note[1] == f"{tmp_path / 'app.py'}:10"
