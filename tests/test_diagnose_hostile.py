"""`jspiprof diagnose` treats traces and logs as untrusted input: it opens nothing they name, reads a bounded
amount, reads traces with the one trace reader, and prints none of their control characters.

The inputs that broke it are in tests/fixtures/hostile/diagnose-*.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
CLEAN_TRACE = HOSTILE / "diagnose-reentrant-run-js-callback.jsonl"


def strict_json(text: str) -> object:
    """Parse JSON as a strict parser does: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


class CountingServer(ThreadingHTTPServer):
    """A local HTTP server that counts the requests it gets (and answers each with a line of JS)."""

    requests = 0


class CountingHandler(BaseHTTPRequestHandler):
    server: CountingServer

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.server.requests += 1
        body = b"const result = pyodide.runPython(code);\n" * 5
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


WATCHING_OPENS = """
import os, runpy, sys
named = tuple(sys.argv.pop(1).split(","))

def hook(event, args):
    path = os.fspath(args[0]) if event == "open" and isinstance(args[0], (str, os.PathLike)) else ""
    if path.startswith(named):
        sys.stderr.write(f"opened {path}\\n")
        raise PermissionError(f"the test refuses to open {path}")

sys.addaudithook(hook)
sys.argv[0] = "jspiprof"
runpy.run_module("jspiprof", run_name="__main__")
"""
"""`python -m jspiprof` with every `open` of the paths given first reported on stderr (and refused)."""


def test_a_trace_never_makes_diagnose_open_a_file_or_url_it_names(
    counting_server: CountingServer, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.jsonl"
    port = str(counting_server.server_address[1])
    trace.write_text((HOSTILE / "diagnose-caller-names-file-and-url.jsonl").read_text().replace("PORT", port))
    for options in ([], ["--json"]):
        done = subprocess.run(
            [sys.executable, "-c", WATCHING_OPENS, "/dev/zero", "diagnose", *options, str(trace)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert counting_server.requests == 0
        assert "opened" not in done.stderr
        assert "/dev/zero:1" in done.stdout and f"http://127.0.0.1:{port}/app.mjs:3" in done.stdout


def test_a_log_never_makes_diagnose_open_a_file_or_url_it_names(
    counting_server: CountingServer, tmp_path: Path, run_cli
) -> None:
    port = counting_server.server_address[1]
    script = tmp_path / "app.mjs"
    script.write_text("const result = pyodide.runPython(code);\n")
    log = (
        "Traceback (most recent call last):\n"
        '  File "<exec>", line 3, in <module>\n'
        "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function. "
        "Use pyFunc.callPromising() to fix.\n"
        f"    at Module.runPython (http://127.0.0.1:{port}/pyodide.asm.mjs:1:2)\n"
        f"    at main (http://127.0.0.1:{port}/app.mjs:1:16)\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "<exec>", line 3, in <module>\n'
        "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function. "
        "Use pyFunc.callPromising() to fix.\n"
        "    at Module.runPython (file:///lib/pyodide.asm.mjs:1:2)\n"
        f"    at main ({script.as_uri()}:1:16)\n"
    )
    (tmp_path / "console.log").write_text(log)
    done = subprocess.run(
        [sys.executable, "-c", WATCHING_OPENS, str(script), "diagnose", "--json", "console.log"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert counting_server.requests == 0
    assert "opened" not in done.stderr
    assert [problem["class"] for problem in strict_json(done.stdout)] == ["sync-runpython", "sync-runpython"]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_diagnose_refuses_a_device_in_one_sentence(device: str, run_cli) -> None:
    done = run_cli("diagnose", device, timeout=20)
    assert done.returncode == 1
    assert done.stderr == f"Error: {device} is not a regular file: give a trace, a log file or - for stdin " + (
        "(e.g. `... | jspiprof diagnose -`).\n"
    )


def test_diagnose_refuses_a_named_pipe_without_waiting_for_it(tmp_path: Path, run_cli) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = run_cli("diagnose", str(fifo), timeout=20)
    assert done.returncode == 1 and "is not a regular file" in done.stderr and "Traceback" not in done.stderr


def test_diagnose_reads_at_most_16_mb_of_text(tmp_path: Path, run_cli) -> None:
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * (16 * 2**20 + 1))
    done = run_cli("diagnose", str(big), timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"Error: {big} is more than 16 MB of text: give the part of the log around the error.\n"
    from_stdin = run_cli("diagnose", "-", input="x" * (16 * 2**20 + 1), timeout=60)
    assert from_stdin.returncode == 1 and "- is more than 16 MB of text" in from_stdin.stderr


@pytest.mark.parametrize("name", ["diagnose-u2028-in-a-string.jsonl", "diagnose-byte-order-mark.jsonl"])
def test_diagnose_reads_every_trace_the_trace_reader_reads(name: str, run_cli) -> None:
    """A raw U+2028 inside a string (the JS recorder writes it so) and a UTF-8 byte order mark."""
    expected = strict_json(run_cli("diagnose", "--json", str(CLEAN_TRACE)).stdout)
    done = run_cli("diagnose", "--json", str(HOSTILE / name))
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout) == expected
    from_stdin = run_cli("diagnose", "--json", "-", input=(HOSTILE / name).read_text(encoding="utf-8"))
    assert strict_json(from_stdin.stdout) == expected


@pytest.mark.parametrize("name", ["diagnose-control-characters.jsonl", "diagnose-control-characters.txt"])
def test_diagnose_prints_no_control_character_from_its_input(name: str, run_cli) -> None:
    done = run_cli("diagnose", str(HOSTILE / name))
    assert done.returncode == 0, done.stderr
    assert "\\x1b]0;pwned\\x07" in done.stdout  # shown, as escapes
    layout = {"\n"}
    assert [char for char in done.stdout if (ord(char) < 32 or 127 <= ord(char) < 160) and char not in layout] == []
    assert "\n  fix: " in done.stdout
    problems = strict_json(run_cli("diagnose", "--json", str(HOSTILE / name)).stdout)
    assert "\x1b]0;pwned\x07" in problems[0]["message"]  # JSON keeps the text as it was, escaped by JSON itself


def test_a_reentrant_callback_from_run_js_is_located_at_the_python_line_that_called_js(run_cli) -> None:
    """`run_js("(f) => f()")(create_proxy(cb))`: no JS caller is known, but the trace knows the Python line."""
    (problem,) = strict_json(run_cli("diagnose", "--json", str(CLEAN_TRACE)).stdout)
    assert (problem["class"], problem["location"]) == ("reentrant-sync-callback", "/tmp/diag-null/app.py:10")
    assert "  where: /tmp/diag-null/app.py:10\n" in run_cli("diagnose", str(CLEAN_TRACE)).stdout


@pytest.mark.parametrize("fixture", sorted(HOSTILE.glob("diagnose-*")), ids=lambda path: path.name)
def test_every_hostile_input_gives_an_answer_or_one_sentence(fixture: Path, run_cli) -> None:
    """A caller whose line is not a line number, a runtime version of 5,000 digits, ...: no traceback."""
    for options in ([], ["--json"]):
        done = run_cli("diagnose", *options, str(fixture), timeout=30)
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-2000:]
        if done.returncode == 0 and options:
            assert isinstance(strict_json(done.stdout), list)


def nested_failures_trace(count: int) -> str:
    """`count` entries each inside the one before, and `count` failed switches in the innermost; then `count`
    entries that ended with an error nobody explained."""
    header = CLEAN_TRACE.read_text().splitlines()[0]
    error = "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function."
    lines = [header, '{"type":"frame","id":1,"file":"<exec>","line":3,"function":"load","library":false}']
    for id in range(1, count + 1):
        parent = id - 1 or None
        lines.append(json.dumps({"type": "entry", "id": id, "kind": "call", "promising": id == 1, "name": "load",
                                 "caller": None, "parent": parent, "start_us": id}))  # fmt: skip
    for number in range(count):
        lines.append(json.dumps({"type": "failed_switch", "ts_us": count + number, "entry": count,
                                 "reason": "sync-entry", "path": "run_sync", "stack": [1], "depth": 1,
                                 "site": "<exec>:3", "error": error}))  # fmt: skip
    for id in range(count + 1, 2 * count + 1):
        lines.append(json.dumps({"type": "entry", "id": id, "kind": "call", "promising": False, "name": "load",
                                 "caller": None, "parent": None, "start_us": id, "end_us": id + 1,
                                 "outcome": "exception", "error": f"ValueError: {id}"}))  # fmt: skip
    return "\n".join(lines) + "\n"


def test_diagnose_time_grows_with_the_trace_not_with_its_square(tmp_path: Path, run_cli) -> None:
    """15,000 nested entries failing 15,000 times took minutes when each failure walked its entries again."""
    trace = tmp_path / "nested.jsonl"
    trace.write_text(nested_failures_trace(15_000))
    done = run_cli("diagnose", "--json", str(trace), timeout=60)
    (problem,) = strict_json(done.stdout)
    assert problem["class"] == "reentrant-sync-callback"
    assert problem["message"].endswith("(happened 15000 times)")


def test_diagnose_reads_16_mb_of_stack_lines_in_bounded_time(tmp_path: Path, run_cli) -> None:
    """JS stack lines of nested parentheses took milliseconds each to read with a backtracking pattern."""
    log = tmp_path / "parentheses.log"
    log.write_text(("Error: x\n    at " + "a (" * 660 + "\n") * 7_900)
    done = run_cli("diagnose", str(log), timeout=30)
    assert done.returncode == 0 and done.stdout == f"No stack-switching failure found in {log}.\n", done.stderr


def test_diagnose_reads_a_message_of_millions_of_lines_in_bounded_time(tmp_path: Path, run_cli) -> None:
    """Each line an exception's message went on over was added to it by copying the message so far."""
    log = tmp_path / "long-message.log"
    log.write_text('Traceback (most recent call last):\n  File "<exec>", line 3, in <module>\nRuntimeError: x\n')
    with log.open("a") as file:
        file.write("y\n" * 2_000_000)
    done = run_cli("diagnose", str(log), timeout=60)
    assert done.returncode == 0 and done.stdout == f"No stack-switching failure found in {log}.\n", done.stderr
