"""The JS hook driven from JavaScript (real Pyodide under Node 26): entries from every JS entry point, failed
switches with their synchronous entry, interleaved promising calls, the in-memory buffer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hook_scripts import node_script

from jspiprof.trace import Trace, read_trace


def run_hook_script(runtime, tmp_path: Path, body: str, options: str = "{}") -> tuple[str, Path]:
    """Run `body` in a Node module that loaded Pyodide through the hook; return its stdout and the script path."""
    script = tmp_path / "driver.mjs"
    script.write_text(node_script(runtime, tmp_path / "trace.jsonl", options, body))
    done = subprocess.run([str(runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, script


def line_in(script: Path, marker: str) -> str:
    """`file-URL:line` of the script line that ends with `// marker`."""
    for number, text in enumerate(script.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"// {marker}"):
            return f"{script.as_uri()}:{number}"
    raise AssertionError(f"no line marked {marker}")


def test_failed_switches_from_run_python_and_a_direct_call_name_their_entry(jspiprof_runtime, tmp_path: Path) -> None:
    body = """\
const seen = [];
const code =
  "import asyncio\\nfrom pyodide.ffi import run_sync\\ndef wait():\\n    return run_sync(asyncio.sleep(0))\\n";
pyodide.runPython(code, { filename: "app.py" });
try { pyodide.runPython("wait()", { filename: "top.py" }); } catch (error) { seen.push(error.type); }  // runPython
const wait = pyodide.globals.get("wait");
try { wait(); } catch (error) { seen.push(error.type); }  // direct call
console.log(JSON.stringify(seen));
"""
    stdout, script = run_hook_script(
        jspiprof_runtime, tmp_path, body, "{ onFailedSwitch: (event) => console.log('failed switch at', event.site) }"
    )
    assert stdout.splitlines() == [
        "failed switch at app.py:4",
        "failed switch at app.py:4",
        '["RuntimeError","RuntimeError"]',
    ]
    trace = read_trace(tmp_path / "trace.jsonl")
    assert trace.suspensions == []
    from_run_python, from_call = trace.failed_switches
    run_python_entry = trace.entries[from_run_python.entry]
    call_entry = trace.entries[from_call.entry]
    assert (run_python_entry.kind, run_python_entry.promising, run_python_entry.caller) == (
        "runPython",
        False,
        line_in(script, "runPython"),
    )
    assert (call_entry.kind, call_entry.name, call_entry.promising, call_entry.caller) == (
        "call",
        "wait",
        False,
        line_in(script, "direct call"),
    )
    for failed in (from_run_python, from_call):
        assert (failed.reason, failed.path, failed.site) == ("sync-entry", "run_sync", "app.py:4")
        assert failed.error.startswith(
            "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function."
        )
    assert [f.location for f in trace.stack_frames(from_run_python.stack)][-2:] == ["top.py:1", "app.py:4"]
    assert (run_python_entry.outcome, call_entry.outcome) == ("exception", "exception")
    assert run_python_entry.error.startswith("RuntimeError: Cannot stack switch")


def test_two_interleaved_call_promising_calls_each_own_their_suspensions(jspiprof_runtime, tmp_path: Path) -> None:
    body = """\
pyodide.runPython(`
import asyncio
from pyodide.ffi import run_sync
def work(name, delay):
    for _ in range(3):
        run_sync(asyncio.sleep(delay))  # switch
    return name
`, { filename: "work.py" });
const work = pyodide.globals.get("work");
const slow = work.callPromising("slow", 0.06);  // slow
const fast = work.callPromising("fast", 0.003);  // fast
console.log(JSON.stringify(await Promise.all([slow, fast])));
"""
    stdout, script = run_hook_script(jspiprof_runtime, tmp_path, body)
    assert stdout == '["slow","fast"]\n'
    trace = read_trace(tmp_path / "trace.jsonl")
    calls = {entry.caller: entry for entry in trace.entries.values() if entry.kind == "callPromising"}
    slow, fast = calls[line_in(script, "slow")], calls[line_in(script, "fast")]
    assert (slow.name, slow.promising, fast.name) == ("work", True, "work")
    owned = {entry.id: [s for s in trace.suspensions if s.entry == entry.id] for entry in (slow, fast)}
    assert [len(owned[slow.id]), len(owned[fast.id])] == [3, 3]
    assert all(s.site == "work.py:6" and s.path == "run_sync" for s in trace.suspensions)
    assert min(s.wait_us for s in owned[slow.id]) >= 50000 > max(s.wait_us for s in owned[fast.id])
    # They really interleaved: the fast call switched while the slow one was suspended.
    first_slow = owned[slow.id][0]
    assert any(first_slow.start_us < s.start_us < first_slow.end_us for s in owned[fast.id])
    assert slow.end_us > fast.end_us and (slow.outcome, fast.outcome) == ("return", "return")


def test_without_a_file_the_trace_stays_in_a_bounded_buffer_and_counts_what_it_drops(
    jspiprof_runtime, tmp_path: Path
) -> None:
    body = """\
await pyodide.runPythonAsync("import time\\nfor _ in range(50):\\n    time.sleep(0)");
const events = pyodide.jspiprof.events();
console.log(JSON.stringify(events));
console.log(JSON.stringify(pyodide.jspiprof.toJSONL()));
"""
    script = tmp_path / "driver.mjs"
    script.write_text(
        node_script(jspiprof_runtime, tmp_path / "unused.jsonl", "{ trace: undefined, bufferSize: 40 }", body)
    )
    done = subprocess.run([str(jspiprof_runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    events_line, text_line = done.stdout.splitlines()
    events = json.loads(events_line)
    assert len(events) == 1 + 40 + 1 + 1  # the header, 40 events, the dropped line, the snapshot line
    assert events[0]["type"] == "header" and events[-2]["type"] == "dropped" and events[-2]["count"] > 50
    assert events[-1]["type"] == "snapshot"
    assert not (tmp_path / "unused.jsonl").exists()
    (tmp_path / "buffer.jsonl").write_text(json.loads(text_line))
    trace = read_trace(tmp_path / "buffer.jsonl")
    assert trace.dropped_count == events[-2]["count"] and not trace.complete and trace.snapshot_us is not None


def test_every_js_entry_point_is_an_entry_of_its_kind(jspiprof_runtime, tmp_path: Path) -> None:
    body = """\
const definitions =
  "def f(x=1):\\n    return x\\nasync def g():\\n    return 2\\n" +
  "from pyodide.code import run_js\\ndef h():\\n    return run_js('(cb) => cb(3)')(f)\\n";
pyodide.runPython(definitions);  // runPython
const [f, g, h] = ["f", "g", "h"].map((name) => pyodide.globals.get(name));
const results = [
  f(1),  // direct call
  f.callKwargs({ x: 4 }),  // callKwargs
  await f.callPromising(5),  // callPromising
  await f.callPromisingKwargs({ x: 6 }),  // callPromisingKwargs
  await f.callWithOptions({ promising: true }, 7),  // callWithOptions
  await g(),  // async function
  h(),  // callback through JS
  await pyodide.runPythonAsync("8"),  // runPythonAsync
];
console.log(JSON.stringify(results));
"""
    stdout, script = run_hook_script(jspiprof_runtime, tmp_path, body)
    assert stdout == "[1,4,5,6,7,2,3,8]\n"
    trace = read_trace(tmp_path / "trace.jsonl")
    by_caller = {}
    for entry in trace.entries.values():
        if entry.kind != "callback":  # the callback's JS caller is the run_js function, called from `h()`'s line
            by_caller.setdefault(entry.caller, []).append(entry)
    expected = {
        "runPython": ("runPython", None, False),
        "direct call": ("call", "f", False),
        "callKwargs": ("call", "f", False),
        "callPromising": ("callPromising", "f", True),
        "callPromisingKwargs": ("callPromisingKwargs", "f", True),
        "callWithOptions": ("callWithOptions", "f", True),
        "callback through JS": ("call", "h", False),
        "runPythonAsync": ("runPythonAsync", None, True),
        "async function": ("call", "g", False),
    }
    for marker, kind_name_promising in expected.items():
        (entry,) = by_caller[line_in(script, marker)]
        assert (entry.kind, entry.name, entry.promising) == kind_name_promising, marker
        assert entry.outcome == "return"
    (callback,) = [e for e in trace.entries.values() if e.kind == "callback"]
    assert callback.name == "f" and trace.entries[callback.parent].name == "h"
    # `await g()` runs g's coroutine as a webloop task; the runPythonAsync body too.
    assert sum(e.kind == "task" for e in trace.entries.values()) >= 2


def test_without_jspi_each_refused_run_sync_is_a_failed_switch(jspiprof_runtime, tmp_path: Path) -> None:
    """Debian's own Node 20 (npm's dependency) has no JSPI: Pyodide loads, and refuses every switch."""
    system_node = "/usr/bin/node"
    probe = subprocess.run([system_node, "-p", "'Suspending' in WebAssembly"], capture_output=True, text=True)
    assert probe.stdout == "false\n", f"{system_node} should be a Node without JSPI (Debian's Node 20) for this test"
    body = """\
const codes = [
  "import asyncio\\nfrom pyodide.ffi import run_sync\\nrun_sync(asyncio.sleep(0))",
  "import asyncio\\nasync def f():\\n    pass\\nasyncio.run(f())",
];
for (const code of codes) {
  try { await pyodide.runPythonAsync(code, { filename: "app.py" }); } catch (error) { console.log(error.type); }
}
"""
    script = tmp_path / "driver.mjs"
    script.write_text(node_script(jspiprof_runtime, tmp_path / "trace.jsonl", "{}", body))
    done = subprocess.run([system_node, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "RuntimeError\nRuntimeError\n"
    trace = read_trace(tmp_path / "trace.jsonl")
    assert trace.header.runtime.jspi == "none" and trace.suspensions == []
    assert [(f.reason, f.path, f.site) for f in trace.failed_switches] == [
        ("no-jspi", "run_sync", "app.py:3"),
        ("no-jspi", "asyncio.run", "app.py:4"),
    ]
    assert all(
        f.error == "RuntimeError: WebAssembly stack switching not supported in this JavaScript runtime"
        for f in trace.failed_switches
    )
    assert all(not trace.frames[f.stack[-1]].file.endswith("probe.py") for f in trace.failed_switches)


def test_a_task_step_that_raises_is_an_entry_with_its_error_and_its_rejection_stays_unhandled(
    jspiprof_runtime, tmp_path: Path
) -> None:
    """A webloop handle that lets KeyboardInterrupt out: Pyodide leaves the rejection unhandled, with or without
    the hook."""
    body = """\
process.on("unhandledRejection", (error) => console.log("unhandled:", error.type));
await pyodide.runPythonAsync(`
import asyncio
def stop():
    raise KeyboardInterrupt("stop here")
asyncio.get_event_loop().call_soon(stop)
await asyncio.sleep(0.01)
`);
await new Promise((resolve) => setTimeout(resolve, 50));
"""
    stdout, _ = run_hook_script(jspiprof_runtime, tmp_path, body)
    assert stdout == "unhandled: KeyboardInterrupt\n"
    trace = read_trace(tmp_path / "trace.jsonl")
    tasks = [entry for entry in trace.entries.values() if entry.kind == "task"]
    failed = [entry for entry in tasks if entry.outcome == "exception"]
    assert [entry.error for entry in failed] == ["KeyboardInterrupt: stop here"]
    assert all(entry.outcome == "return" and entry.end_us >= entry.start_us for entry in tasks if entry not in failed)


def test_an_entry_that_ends_unreferenced_takes_one_line_and_one_that_suspends_comes_before_its_suspensions(
    jspiprof_runtime, tmp_path: Path
) -> None:
    body = """\
await pyodide.runPythonAsync(`
import asyncio
async def step():
    return 1
await asyncio.gather(*(step() for _ in range(20)))
`);
"""
    run_hook_script(jspiprof_runtime, tmp_path, body)
    lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    entry_lines = [line for line in lines if line["type"] == "entry"]
    tasks = [line for line in entry_lines if line["kind"] == "task"]
    assert len(tasks) >= 20 and all(
        task["outcome"] == "return" and task["end_us"] >= task["start_us"] for task in tasks
    )
    (top,) = [line for line in entry_lines if line["kind"] == "runPythonAsync"]
    assert "end_us" not in top  # written before the lines that refer to it, so its end comes as an entry_end
    first_reference = min(
        number for number, line in enumerate(lines) if line.get("entry") == top["id"] or line.get("parent") == top["id"]
    )
    assert lines.index(top) < first_reference
    assert [line["id"] for line in lines if line["type"] == "entry_end"] == [top["id"]]
    assert read_trace(tmp_path / "trace.jsonl").entries[top["id"]].outcome == "return"


def test_a_streamed_trace_holds_the_same_events_as_an_in_memory_one(jspiprof_runtime, tmp_path: Path) -> None:
    """The file writer hands its most frequent events to a serialiser thread as numbers; the result must not differ."""
    program = (
        "import asyncio, time\\nfrom pyodide.ffi import run_sync\\n"
        "async def fail():\\n    raise ValueError('no')\\n"
        "for _ in range(3):\\n    run_sync(asyncio.sleep(0))\\n    time.sleep(0)\\n"
        "try:\\n    run_sync(fail())\\nexcept ValueError:\\n    pass\\n"
        "await asyncio.gather(*(asyncio.sleep(0) for _ in range(5)))\\n"
    )
    body = f"""\
const inMemory = await wrapLoadPyodide(loadPyodide, {{ sample: false }})({{ indexURL: pyodide._api.config.indexURL }});
for (const py of [pyodide, inMemory]) await py.runPythonAsync("{program}", {{ filename: "app.py" }});
inMemory.jspiprof.close(0);
console.log(JSON.stringify(inMemory.jspiprof.events()));
"""
    stdout, _ = run_hook_script(jspiprof_runtime, tmp_path, body, "{ sample: false }")  # samples are not repeatable
    (tmp_path / "in_memory.jsonl").write_text("".join(json.dumps(event) + "\n" for event in json.loads(stdout)))
    streamed, in_memory = read_trace(tmp_path / "trace.jsonl"), read_trace(tmp_path / "in_memory.jsonl")

    def untimed(trace: Trace) -> tuple:
        """What the trace recorded, without times (and without where the JS calls came from: two lines of one
        script)."""
        entries = {id: (e.kind, e.promising, e.name, e.parent, e.outcome, e.error) for id, e in trace.entries.items()}
        suspensions = [
            (s.id, s.entry, s.path, s.stack, s.depth, s.site, s.awaitable, s.outcome, s.error)
            for s in trace.suspensions
        ]
        return trace.frames, entries, suspensions, trace.failed_switches

    assert untimed(streamed) == untimed(in_memory)
    streamed = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    kinds = [event["type"] for event in streamed]
    assert kinds.count("suspension") >= 7 and sum(event.get("kind") == "task" for event in streamed) >= 5
    assert [event["outcome"] for event in streamed if event["type"] == "suspension"].count("exception") == 1


def test_a_long_streamed_trace_keeps_every_event_across_refilled_batches(jspiprof_runtime, tmp_path: Path) -> None:
    """Many batches, each one's buffer filled again once the serialiser hands it back: no event lost, doubled or
    mixed."""
    program = (
        "from pyodide.ffi import run_sync\\nasync def done():\\n    return 1\\n"
        "for _ in range(6000):\\n    run_sync(done())\\n"
    )
    body = f'await pyodide.runPythonAsync("{program}", {{ filename: "app.py" }});\npyodide.jspiprof.close(0);\n'
    run_hook_script(jspiprof_runtime, tmp_path, body, "{ flushIntervalMs: 5 }")
    trace = read_trace(tmp_path / "trace.jsonl")
    assert [s.id for s in trace.suspensions] == list(range(1, 6001))
    assert {(s.path, s.site, s.outcome) for s in trace.suspensions} == {("run_sync", "app.py:5", "value")}
    tasks = [e for e in trace.entries.values() if e.kind == "task"]
    assert len(tasks) >= 3 * 6000 and all(e.start_us <= e.end_us for e in tasks)
    starts = [s.start_us for s in trace.suspensions]
    assert starts == sorted(starts)


def test_a_program_that_never_closes_the_profiler_exits_by_itself_with_a_whole_trace(
    jspiprof_runtime, tmp_path: Path
) -> None:
    """The serialiser thread and the flush timer must not keep Node alive: the trace is ended at exit."""
    script = tmp_path / "driver.mjs"
    program = (
        "from pyodide.ffi import run_sync\\nasync def done():\\n    return 1\\n"
        "for _ in range(3000):\\n    run_sync(done())\\n"
    )
    body = f'await pyodide.runPythonAsync("{program}");\nawait new Promise((resolve) => setTimeout(resolve, 250));\n'
    script.write_text(
        node_script(jspiprof_runtime, tmp_path / "trace.jsonl", "{}", body).removesuffix("pyodide.jspiprof.close(0);\n")
    )
    done = subprocess.run([str(jspiprof_runtime.node), str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    trace = read_trace(tmp_path / "trace.jsonl")
    assert trace.end is not None and trace.end.exit_status == 0 and len(trace.suspensions) == 3000


def test_code_compiled_where_freed_code_was_gets_its_own_stack(jspiprof_runtime, tmp_path: Path) -> None:
    """Each runPythonAsync compiles new code, often at the address of the code the last call freed; the hook's quick
    stack lookup goes by code addresses, and must not give the new code the freed code's stack."""
    body = """\
for (let i = 0; i < 10; i++) {
  await pyodide.runPythonAsync("import time; time.sleep(0)", { filename: "a.py" });
  await pyodide.runPythonAsync("import time\\ntime.sleep(0)", { filename: "b.py" });  // same bytecode, line 2
}
"""
    run_hook_script(jspiprof_runtime, tmp_path, body)
    sites = [s.site for s in read_trace(tmp_path / "trace.jsonl").suspensions]
    assert sites == ["a.py:1", "b.py:2"] * 10


def test_code_compiled_anew_for_each_call_shares_one_frame_and_one_stack(jspiprof_runtime, tmp_path: Path) -> None:
    """A page that runs `runPythonAsync(`await handle(${i})`)` per event compiles unequal code each time (its
    constants differ): the same line of the same function is still one frame, and the same switch one stack."""
    body = """\
await pyodide.runPythonAsync("import time\\nasync def handle(i):\\n    time.sleep(0)");
for (let i = 0; i < 20; i++) await pyodide.runPythonAsync(`await handle(${i})`);
"""
    run_hook_script(jspiprof_runtime, tmp_path, body)
    trace = read_trace(tmp_path / "trace.jsonl")
    assert len(trace.suspensions) == 20
    assert len({tuple(s.stack) for s in trace.suspensions}) == 1
    module_frames = [f for f in trace.frames.values() if f.file == "<exec>" and f.function == "<module>"]
    assert [f.line for f in module_frames] == [1]


def test_code_that_switched_is_freed_once_the_program_drops_it(jspiprof_runtime, tmp_path: Path) -> None:
    """Working out what asked for a switch reads the code of the innermost frame; the probe must not keep that code
    alive, or a page that runs fresh code per event would hold every one of them for good."""
    body = """\
const freed = await pyodide.runPythonAsync(`
import gc, weakref
from pyodide.ffi import run_sync

async def finished():
    return 1

refs = []
for i in range(5):
    code = compile(f"x = {i}; run_sync(finished())", "per_event.py", "exec")
    refs.append(weakref.ref(code))
    exec(code)
del code
gc.collect()
[ref() is None for ref in refs]
`);
console.log(JSON.stringify(freed.toJs()));
"""
    stdout, _ = run_hook_script(jspiprof_runtime, tmp_path, body)
    assert json.loads(stdout) == [True] * 5
    trace = read_trace(tmp_path / "trace.jsonl")
    assert [(s.path, s.site) for s in trace.suspensions] == [("run_sync", "per_event.py:1")] * 5


def test_the_trace_taken_while_an_entry_runs_lists_that_entry(jspiprof_runtime, tmp_path: Path) -> None:
    """An entry's line is held back until something refers to it, but never past a flush or an export."""
    body = """\
const f = pyodide.runPython("async def f():\\n    return 1\\nf");
const pending = f.callPromising();  // not run yet: Pyodide schedules it
const running = pyodide.jspiprof.events().filter((event) => event.type === "entry" && event.kind === "callPromising");
console.log(JSON.stringify(running.map((event) => [event.name, "end_us" in event])));
await pending;
"""
    script = tmp_path / "driver.mjs"
    script.write_text(node_script(jspiprof_runtime, tmp_path / "unused.jsonl", "{ trace: undefined }", body))
    done = subprocess.run([str(jspiprof_runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["f", False]]
