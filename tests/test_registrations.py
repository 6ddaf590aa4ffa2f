"""Callbacks named by their registration, in real Pyodide under Node 26: a Python callable that JS code got through
addEventListener, a timer, queueMicrotask, a Promise's then or an `on*` property is a `callback` entry that says how
and where it was registered, and `jspiprof diagnose` locates a failure in it at that line. An `async def` entered
with callPromising owns the task steps of its coroutine."""

from __future__ import annotations

import json
from pathlib import Path

from hook_scripts import line_in, run_hook_script

from jspiprof.trace import read_trace

LISTENERS = """\
process.on("uncaughtException", (error) => console.log("uncaught", error.type));
process.on("unhandledRejection", (error) => console.log("unhandled", error.type));
globalThis.target = new EventTarget();
globalThis.controller = new AbortController();
await pyodide.runPythonAsync(`
import asyncio, js
from pyodide.ffi import create_proxy, run_sync

def save(event=None):
    {body}

js.target.addEventListener("click", create_proxy(save))
js.setTimeout(create_proxy(save), 1)
js.queueMicrotask(create_proxy(save))
js.controller.signal.onabort = create_proxy(save)
`, {{ filename: "app.py" }});
const save = pyodide.globals.get("save");
target.addEventListener("keydown", save);  // js listener
Promise.resolve(1).then(save);  // js then
target.dispatchEvent(new Event("click"));
target.dispatchEvent(new Event("keydown"));
controller.abort();
await new Promise((resolve) => setTimeout(resolve, 50));
"""
"""Python registers `save` four ways (app.py lines 8-11), JS two ways; the events then call it."""


def registration_lines(script: Path) -> list[str]:
    """Where `LISTENERS` registers `save`: four Python lines, then two lines of the driver's JS."""
    return [
        "app.py:8",
        "app.py:9",
        "app.py:10",
        "app.py:11",
        line_in(script, "js listener"),
        line_in(script, "js then"),
    ]


def entry_lines(trace: Path, name: str) -> list[dict]:
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    return [line for line in lines if line["type"] == "entry" and line["name"] == name]


def test_a_registered_python_callable_is_a_callback_entry_that_says_where_it_was_registered(
    jspiprof_runtime, tmp_path: Path
) -> None:
    body = LISTENERS.format(body="pass") + "save();  // direct call\n"
    run_hook_script(jspiprof_runtime, tmp_path, body)
    script = tmp_path / "driver.mjs"
    seen = sorted(
        (entry["kind"], tuple((entry.get("registration") or {}).values()) or None)
        for entry in entry_lines(tmp_path / "trace.jsonl", "save")
    )
    assert seen == sorted(
        [
            ("callback", ("addEventListener", "click", "app.py:8")),
            ("callback", ("setTimeout", None, "app.py:9")),
            ("callback", ("queueMicrotask", None, "app.py:10")),
            ("callback", ("property", "abort", "app.py:11")),
            ("callback", ("addEventListener", "keydown", line_in(script, "js listener"))),
            ("callback", ("Promise.then", None, line_in(script, "js then"))),
            ("call", None),  # JS calls it itself: a direct call, not a callback
        ]
    )


def test_diagnose_locates_each_registered_callback_failure_at_its_registration(
    jspiprof_runtime, tmp_path: Path, run_cli
) -> None:
    run_hook_script(jspiprof_runtime, tmp_path, LISTENERS.format(body="run_sync(asyncio.sleep(0))"))
    script = tmp_path / "driver.mjs"
    done = run_cli("diagnose", "--json", str(tmp_path / "trace.jsonl"))
    problems = json.loads(done.stdout)
    # One function, six registrations: six problems, each at the line that registered it (not save's run_sync line).
    assert sorted((problem["class"], problem["location"]) for problem in problems) == sorted(
        ("sync-js-callback", location) for location in registration_lines(script)
    )
    (listener,) = [problem for problem in problems if problem["location"] == "app.py:8"]
    assert 'registered as a JS callback with `addEventListener("click", ...)` at app.py:8' in listener["message"]
    assert 'target.addEventListener("click", (event) => save.callPromising(event)' in listener["fix"]
    # Python registered it: the handler becomes async and its create_proxy stays.
    assert "keep the `create_proxy(...)` that registers it at app.py:8" in listener["fix"]
    # The page's JS registered it: the fix changes that JS line, where there is no create_proxy to keep.
    js_listener = line_in(script, "js listener")
    (page_listener,) = [problem for problem in problems if problem["location"] == js_listener]
    assert page_listener["fix"].startswith(
        f"Change the JS registration at {js_listener}: register a function that calls `save` promising instead of the "
        'PyProxy itself, `target.addEventListener("keydown", (event) => save.callPromising(event)'
    )
    assert "create_proxy" not in page_listener["fix"]


def test_the_hook_prints_each_registered_callback_failure_at_its_registration(jspiprof_runtime, tmp_path: Path) -> None:
    body = "console.error = console.log;\n" + LISTENERS.format(body="run_sync(asyncio.sleep(0))")
    stdout, script = run_hook_script(jspiprof_runtime, tmp_path, body, "{ explain: true }")
    lines = stdout.splitlines()
    printed = [(line, lines[n + 1]) for n, line in enumerate(lines) if line.startswith("jspiprof: [")]
    assert sorted(where for _, where in printed) == sorted(
        f"  where: {location}" for location in registration_lines(script)
    ), stdout
    assert all(line.startswith("jspiprof: [sync-js-callback] ") for line, _ in printed)


def test_a_wait_in_an_async_def_entered_with_call_promising_belongs_to_that_entry(
    jspiprof_runtime, tmp_path: Path
) -> None:
    body = """\
pyodide.runPython(`
import asyncio
from pyodide.ffi import run_sync

async def work():
    await asyncio.sleep(0.01)
    run_sync(asyncio.sleep(0.01))
    return 1
`, { filename: "work.py" });
console.log(await pyodide.globals.get("work").callPromising());  // callPromising
"""
    stdout, script = run_hook_script(jspiprof_runtime, tmp_path, body)
    assert stdout == "1\n"
    trace = read_trace(tmp_path / "trace.jsonl")
    (call,) = [entry for entry in trace.entries.values() if entry.kind == "callPromising"]
    assert call.caller == line_in(script, "callPromising")

    def outermost(entry_id: int) -> int:
        while trace.entries[entry_id].parent is not None:
            entry_id = trace.entries[entry_id].parent
        return entry_id

    (wait,) = trace.suspensions
    assert wait.site == "work.py:7"
    assert outermost(wait.entry) == call.id
    tasks = [entry for entry in trace.entries.values() if entry.kind == "task"]
    assert tasks and all(outermost(task.id) == call.id for task in tasks)


def test_a_reentrant_callback_made_by_run_js_is_located_in_text_and_json(
    jspiprof_runtime, tmp_path: Path, run_cli
) -> None:
    body = """\
await pyodide.runPythonAsync(`
import asyncio
from pyodide.code import run_js
from pyodide.ffi import create_proxy, run_sync

def callback():
    run_sync(asyncio.sleep(0))

run_js("(f) => f()")(create_proxy(callback))
`, { filename: "app.py" }).catch((error) => console.log(error.type));
"""
    stdout, _ = run_hook_script(jspiprof_runtime, tmp_path, body)
    assert stdout == "RuntimeError\n"
    trace = tmp_path / "trace.jsonl"
    (problem,) = json.loads(run_cli("diagnose", "--json", str(trace)).stdout)
    assert (problem["class"], problem["location"]) == ("reentrant-sync-callback", "app.py:9")
    assert "\n  where: app.py:9\n" in run_cli("diagnose", str(trace)).stdout


def test_an_error_only_an_entry_shows_is_located_at_a_site_the_trace_knows_inside_it(tmp_path: Path, run_cli) -> None:
    """urllib3 refuses before any switch, so no failed switch names a line; a suspension inside the entry does."""
    urllib3_error = (
        "ProtocolError: urllib3 only works in Node.js with pyodide.runPythonAsync and requires the flag "
        "--experimental-wasm-stack-switching in versions of node <24."
    )
    runtime = {"host": "node", "host_version": "v26.10.0", "pyodide": "314.0.7", "jspi": "WebAssembly.Suspending"}
    lines = [
        {"type": "header", "schema": "jspiprof-trace", "version": 2, "origin_unix_ms": 0, "runtime": runtime,
         "program": None},
        {"type": "frame", "id": 1, "file": "app.py", "line": 12, "function": "poll", "library": False},
        {"type": "entry", "id": 1, "kind": "callback", "promising": False, "name": "poll", "caller": None,
         "parent": None, "start_us": 0},
        {"type": "entry", "id": 2, "kind": "task", "promising": True, "name": None, "caller": None, "parent": 1,
         "start_us": 1},
        {"type": "suspension", "id": 1, "entry": 2, "path": "run_sync", "start_us": 2, "wait_us": 1, "resume_us": 1,
         "stack_bytes": 0, "stack": [1], "depth": 1, "site": "app.py:12", "awaitable": None, "outcome": "value",
         "error": None},
        {"type": "entry_end", "id": 2, "end_us": 5, "outcome": "return", "error": None},
        {"type": "entry_end", "id": 1, "end_us": 9, "outcome": "exception", "error": urllib3_error},
        {"type": "end", "ts_us": 10, "dropped": 0, "exit_status": 1},
    ]  # fmt: skip
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (problem,) = json.loads(run_cli("diagnose", "--json", str(trace)).stdout)
    assert (problem["class"], problem["location"]) == ("blocking-api-from-sync", "app.py:12")
