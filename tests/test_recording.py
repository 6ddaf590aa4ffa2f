"""Recording stack switches with `jspiprof run` (real Pyodide, Node 26, JSPI): each path yields exactly the
expected events."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from hook_scripts import node_script

from jspiprof.trace import Suspension, Trace, read_trace

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "trace-schema.json").read_text())


def record(run_cli, tmp_path: Path, source: str, *options: str) -> tuple[Trace, subprocess.CompletedProcess[str], Path]:
    """Run `source` as app.py under `jspiprof run -o trace.jsonl`; return the trace (schema-checked), the process
    and app.py."""
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(source))
    done = run_cli("run", "-o", "trace.jsonl", *options, "app.py")
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "trace.jsonl").read_text().splitlines()
    for line in lines:
        jsonschema.validate(json.loads(line), SCHEMA)
    return read_trace(tmp_path / "trace.jsonl"), done, app


def line_of(app: Path, marker: str) -> str:
    """`file:line` of the line of app.py that carries `# marker`."""
    for number, text in enumerate(app.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"# {marker}"):
            return f"{app}:{number}"
    raise AssertionError(f"no line marked {marker}")


def by_site(trace: Trace) -> dict[str, list[Suspension]]:
    sites: dict[str, list[Suspension]] = {}
    for suspension in trace.suspensions:
        sites.setdefault(suspension.site or "", []).append(suspension)
    return sites


def test_each_path_records_one_suspension_at_the_users_line(run_cli, tmp_path: Path) -> None:
    trace, _, app = record(
        run_cli,
        tmp_path,
        """\
        import asyncio, time
        from pyodide.ffi import run_sync

        async def pause():
            await asyncio.sleep(0.02)
            return "done"

        run_sync(pause())  # run_sync
        time.sleep(0.02)  # time.sleep
        asyncio.run(pause())  # asyncio.run
        asyncio.get_event_loop().run_until_complete(pause())  # run_until_complete
        """,
    )
    expected = {line_of(app, path): path for path in ("run_sync", "time.sleep", "asyncio.run", "run_until_complete")}
    assert {s.site: s.path for s in trace.suspensions} == expected
    assert len(trace.suspensions) == 4
    assert trace.failed_switches == []
    for suspension in trace.suspensions:
        assert suspension.outcome == "value" and suspension.error is None
        assert suspension.wait_us >= 10000, suspension  # each waited about 20 ms for its timer
        assert suspension.resume_us >= 0
        assert trace.entries[suspension.entry].promising
        assert trace.frames[suspension.stack[0]].location == suspension.site  # the module frame is outermost
    assert trace.complete and trace.end.exit_status == 0


def test_identical_functions_in_two_files_are_two_frames(run_cli, tmp_path: Path) -> None:
    body = (
        "from pyodide.ffi import run_sync\n\nasync def pause():\n    return 1\n\ndef wait():\n    run_sync(pause())\n"
    )
    for name in ("first", "second"):  # equal code objects: Python compares code without its file
        (tmp_path / f"{name}.py").write_text(body)
    trace, _, _ = record(
        run_cli,
        tmp_path,
        """\
        import first, second
        first.wait()
        second.wait()
        """,
    )
    assert [s.site for s in trace.suspensions] == [f"{tmp_path / 'first.py'}:7", f"{tmp_path / 'second.py'}:7"]


def test_depth_grows_with_recursion(run_cli, tmp_path: Path) -> None:
    trace, _, app = record(
        run_cli,
        tmp_path,
        """\
        import asyncio
        from pyodide.ffi import run_sync

        def descend(n):
            if n == 0:
                return run_sync(asyncio.sleep(0))  # switch
            return descend(n - 1)

        for n in range(4):
            descend(n)
        """,
    )
    assert [s.depth for s in trace.suspensions] == [2, 3, 4, 5]
    assert {s.site for s in trace.suspensions} == {line_of(app, "switch")}
    deepest = trace.stack_frames(trace.suspensions[-1].stack)
    assert [f.function for f in deepest] == ["<module>", "descend", "descend", "descend", "descend"]
    assert not any(f.library for f in deepest)


def nesting(trace: Trace, suspension: Suspension) -> int:
    """How many run_sync calls are waiting around this one: suspended entries among its entry's ancestors, plus 1."""
    level, entry = 1, trace.entries[suspension.entry].parent
    suspended_entries = {s.entry for s in trace.suspensions if s.start_us < suspension.start_us < s.end_us}
    while entry is not None:
        level += entry in suspended_entries
        entry = trace.entries[entry].parent
    return level


def test_concurrent_deep_waits_record_the_c_stack_bytes_copied_back(run_cli, tmp_path: Path) -> None:
    """Tasks that suspend deep in recursion share the C stack: each resume copies back what the others overwrote."""
    trace, _, app = record(
        run_cli,
        tmp_path,
        """\
        import asyncio, time

        def deep(n):
            if n == 0:
                time.sleep(0.001)  # deep sleep
                return
            return deep(n - 1)

        async def worker(i):
            await asyncio.sleep(0.001 * i)
            deep(30)

        async def main():
            await asyncio.gather(*(worker(i) for i in range(5)))

        asyncio.run(main())
        """,
    )
    deep = by_site(trace)[line_of(app, "deep sleep")]
    assert len(deep) == 5 and all(s.depth > 30 for s in deep)
    assert max(s.stack_bytes for s in deep) >= 1024  # tens of Python frames' worth of C stack


def test_nested_run_sync_at_depth_2_and_3(run_cli, tmp_path: Path) -> None:
    trace, done, app = record(
        run_cli,
        tmp_path,
        """\
        import asyncio
        from pyodide.ffi import run_sync

        async def level3():
            await asyncio.sleep(0.001)
            return 3

        def call_level3():
            return run_sync(level3())  # inner

        async def level2():
            return call_level3()

        def call_level2():
            return run_sync(level2())  # middle

        async def level1():
            return call_level2()

        print(run_sync(level1()))  # outer
        """,
    )
    assert done.stdout == "3\n"
    sites = by_site(trace)
    outer, middle, inner = (sites[line_of(app, m)] for m in ("outer", "middle", "inner"))
    assert (len(outer), len(middle), len(inner)) == (1, 1, 1)
    assert [nesting(trace, s[0]) for s in (outer, middle, inner)] == [1, 2, 3]
    assert (
        outer[0].start_us
        < middle[0].start_us
        < inner[0].start_us
        < inner[0].end_us
        < middle[0].end_us
        < outer[0].end_us
    )
    # Each nested run_sync runs in a task that the waiting entry scheduled.
    assert trace.entries[middle[0].entry].kind == "task" and trace.entries[inner[0].entry].kind == "task"


def test_exception_thrown_through_run_sync(run_cli, tmp_path: Path) -> None:
    trace, done, app = record(
        run_cli,
        tmp_path,
        """\
        import asyncio
        from pyodide.ffi import run_sync

        async def fail():
            await asyncio.sleep(0)
            raise ValueError("boom")

        try:
            run_sync(fail())  # raises
        except ValueError as error:
            print("caught", error)
        """,
    )
    assert done.stdout == "caught boom\n"
    (suspension,) = trace.suspensions
    assert (suspension.site, suspension.outcome, suspension.error) == (
        line_of(app, "raises"),
        "exception",
        "ValueError: boom",
    )


def test_js_async_function_awaited_with_run_sync(run_cli, tmp_path: Path) -> None:
    trace, done, app = record(
        run_cli,
        tmp_path,
        """\
        from pyodide.code import run_js
        from pyodide.ffi import run_sync

        later = run_js("async (ms) => { await new Promise((r) => setTimeout(r, ms)); return ms * 2; }")
        print(run_sync(later(5)))  # awaits JS
        """,
    )
    assert done.stdout == "10\n"
    (suspension,) = trace.suspensions
    assert (suspension.path, suspension.site, suspension.awaitable) == (
        "run_sync",
        line_of(app, "awaits JS"),
        "PyodideFuture",
    )
    assert suspension.wait_us >= 4000


def test_each_suspension_names_what_it_awaited_when_the_kinds_alternate(run_cli, tmp_path: Path) -> None:
    trace, _, app = record(
        run_cli,
        tmp_path,
        """\
        import asyncio
        from pyodide.code import run_js
        from pyodide.ffi import run_sync

        async def coroutine():
            return 1

        later = run_js("async () => 2")
        for _ in range(3):
            run_sync(coroutine())  # task
            run_sync(later())  # future
            run_sync(asyncio.ensure_future(coroutine()))  # task again
        """,
    )
    assert [(s.site, s.awaitable) for s in trace.suspensions] == [
        (line_of(app, "task"), "PyodideTask"),
        (line_of(app, "future"), "PyodideFuture"),
        (line_of(app, "task again"), "PyodideTask"),
    ] * 3


def test_failed_switch_in_a_synchronous_js_callback(run_cli, tmp_path: Path) -> None:
    trace, done, app = record(
        run_cli,
        tmp_path,
        """\
        import asyncio
        from pyodide.code import run_js
        from pyodide.ffi import create_proxy, run_sync

        def handler():
            try:
                run_sync(asyncio.sleep(0))  # cannot switch
            except RuntimeError:
                return "refused"

        print(run_js("(f) => f()")(create_proxy(handler)))
        """,
    )
    assert done.stdout == "refused\n"
    assert trace.suspensions == []
    (failed,) = trace.failed_switches
    entry = trace.entries[failed.entry]
    assert (entry.kind, entry.name, entry.promising) == ("callback", "handler", False)
    assert (failed.reason, failed.path, failed.site) == ("sync-entry", "run_sync", line_of(app, "cannot switch"))
    assert failed.error.startswith(
        "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function."
    )


def test_requests_get_is_recorded_as_urllib3_at_the_callers_line(run_cli, tmp_path: Path, http_server: str) -> None:
    trace, done, app = record(
        run_cli,
        tmp_path,
        f"""\
        import requests

        reply = requests.get("{http_server}/slow?ms=30&n=7")  # get
        print(reply.json()["n"])
        """,
        "--with",
        "requests",
    )
    assert done.stdout == "7\n"
    assert len(trace.suspensions) >= 2
    assert {(s.path, s.site) for s in trace.suspensions} == {("urllib3", line_of(app, "get"))}
    assert sum(s.wait_us for s in trace.suspensions) >= 30000
    innermost = trace.frames[trace.suspensions[0].stack[-1]]
    assert "/urllib3/" in innermost.file and innermost.library


def test_socket_syscalls_are_recorded_as_socket_at_the_users_lines(run_cli, tmp_path: Path, http_server: str) -> None:
    port = http_server.rsplit(":", 1)[1]
    trace, done, app = record(
        run_cli,
        tmp_path,
        f"""\
        import socket

        connection = socket.create_connection(("127.0.0.1", {port}))  # connect
        connection.sendall(b"GET /text HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")  # send
        reply = b""
        while chunk := connection.recv(4096):  # receive
            reply += chunk
        print(reply.splitlines()[-1].decode())
        """,
    )
    assert done.stdout == "hello from 127.0.0.1\n"
    assert {s.path for s in trace.suspensions} == {"socket"}
    sites = by_site(trace)
    assert line_of(app, "connect") in sites and line_of(app, "receive") in sites
    assert set(sites) <= {line_of(app, marker) for marker in ("connect", "send", "receive")}
    assert all(s.awaitable == "Promise" for s in trace.suspensions)


def test_calls_of_one_function_are_told_apart_by_their_callee(run_cli, tmp_path: Path, http_server: str) -> None:
    port = http_server.rsplit(":", 1)[1]
    trace, _, app = record(
        run_cli,
        tmp_path,
        f"""\
        import asyncio, socket
        from pyodide.ffi import run_sync

        async def pause():
            await asyncio.sleep(0.001)

        connection = socket.create_connection(("127.0.0.1", {port}))
        connection.sendall(b"GET /text HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
        while connection.recv(4096):  # receive
            run_sync(pause())  # run_sync
        run_sync(pause())  # run_sync again
        """,
    )
    paths = {site: {s.path for s in found} for site, found in by_site(trace).items()}
    assert paths[line_of(app, "receive")] == {"socket"}
    assert paths[line_of(app, "run_sync")] == paths[line_of(app, "run_sync again")] == {"run_sync"}


PROGRAM_WITH_RESULTS = """\
import asyncio, sys, time
from pyodide.ffi import run_sync

async def compute(x):
    await asyncio.sleep(0)
    return x * 7

print(run_sync(compute(6)), sum(run_sync(compute(i)) for i in range(5)))
time.sleep(0.001)
print(asyncio.run(compute(3)))
sys.stderr.write("to stderr\\n")
def fail():
    return run_sync(compute(None))
fail()
"""


def test_an_instrumented_run_returns_and_raises_what_a_raw_run_does(run_cli, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(PROGRAM_WITH_RESULTS)
    raw = run_cli("run", "--no-trace", "app.py")
    traced = run_cli("run", "-o", "trace.jsonl", "app.py")
    assert not (tmp_path / "jspiprof-trace.jsonl").exists()
    assert raw.returncode == traced.returncode == 1
    assert raw.stdout == traced.stdout == "42 70\n21\n"
    assert traced.stderr.startswith(raw.stderr)
    assert raw.stderr.splitlines()[-1] == "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'"
    trace = read_trace(tmp_path / "trace.jsonl")
    assert len(trace.suspensions) == 9 and trace.end.exit_status == 1
    assert trace.suspensions[-1].error == "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'"


def test_run_prints_the_trace_path_and_a_summary(run_cli, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import time\nfor _ in range(3):\n    time.sleep(0.001)\n")
    done = run_cli("run", "app.py")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "jspiprof: trace written to jspiprof-trace.jsonl"
    assert lines[1].startswith("suspensions: 3   failed switches: 0   total wait: ")
    assert lines[2] == "by path: time.sleep 3"
    assert lines[4].endswith(f"3x  {tmp_path / 'app.py'}:3")
    assert len(read_trace(tmp_path / "jspiprof-trace.jsonl").suspensions) == 3


def record_until_killed(tmp_path: Path, kill: Callable[[subprocess.Popen[str]], None]) -> Trace:
    """Profile an app that sleeps in a loop forever, `kill` it half a second in, and read what its trace holds."""
    (tmp_path / "app.py").write_text("import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.001)\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "jspiprof", "run", "-o", "trace.jsonl", "app.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "started\n"
        time.sleep(0.5)
        kill(process)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.communicate()
    return read_trace(tmp_path / "trace.jsonl")


def test_a_killed_app_leaves_a_loadable_trace(jspiprof_runtime, tmp_path: Path) -> None:
    trace = record_until_killed(tmp_path, lambda process: process.send_signal(signal.SIGTERM))
    assert len(trace.suspensions) > 20
    assert {s.path for s in trace.suspensions} == {"time.sleep"}
    assert trace.end is not None and trace.end.exit_status == 128 + signal.SIGTERM


def test_an_app_killed_outright_keeps_all_but_its_last_moments_and_its_running_entry(
    jspiprof_runtime, tmp_path: Path
) -> None:
    """SIGKILL leaves no chance to write anything more: what was flushed (every ~100 ms) is all there is."""
    # The Node process jspiprof started is killed, not jspiprof itself.
    trace = record_until_killed(
        tmp_path, lambda process: subprocess.run(["pkill", "-KILL", "-P", str(process.pid)], check=True)
    )
    assert trace.end is None and len(trace.suspensions) > 20
    (running,) = {s.entry for s in trace.suspensions}
    assert trace.entries[running].end_us is None


@pytest.mark.parametrize("mode", ["context manager", "decorator"])
def test_a_profiled_region_records_only_inside_it(mode: str, jspiprof_runtime, tmp_path: Path) -> None:
    region = (
        "with jspiprof.profile():\n    time.sleep(0.001)  # inside\n"
        if mode == "context manager"
        else "@jspiprof.profile()\ndef work():\n    time.sleep(0.001)  # inside\nwork()\n"
    )
    script = tmp_path / "app.mjs"
    code = f"import time, jspiprof\ntime.sleep(0.001)\n{region}time.sleep(0.001)\nprint(jspiprof.is_recording())\n"
    script.write_text(
        node_script(
            jspiprof_runtime,
            tmp_path / "trace.jsonl",
            "{ record: false }",
            f"await pyodide.runPythonAsync({json.dumps(code)}, {{ filename: 'region.py' }});",
        )
    )
    done = subprocess.run([str(jspiprof_runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False\n"
    trace = read_trace(tmp_path / "trace.jsonl")
    (suspension,) = trace.suspensions
    inside = next(number for number, line in enumerate(code.splitlines(), 1) if line.endswith("# inside"))
    assert suspension.path == "time.sleep" and suspension.site == f"region.py:{inside}"
