"""Processes and output paths: `jspiprof run` killed, outputs that cannot be written or would replace an input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ANALYSIS = Path(__file__).parent / "fixtures" / "analysis"
FULL_DISK = Path("/tmp/jspiprof-test-full-disk")
"""Where the full-disk tests mount a 16 kB tmpfs (they need root, as `make test` runs here)."""


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux: /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def is_running(pid: int) -> bool:
    """Whether `pid` is alive (a zombie is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    "program",
    ["import time\nprint('running', flush=True)\ntime.sleep(60)\n", "print('running', flush=True)\nwhile True: pass\n"],
    ids=["waiting", "never yielding"],
)
def test_kill_9_of_jspiprof_ends_node_and_leaves_no_temporary_folder(tmp_path: Path, jspiprof_runtime, program: str):
    """The Node child notices at once that its parent is gone (the pipe it was given ends): it stops as on SIGTERM,
    and is killed 5 s later when Python never yields; nothing stays in the temporary folder."""
    (tmp_path / "app.py").write_text(program)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "jspiprof", "run", "app.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    try:
        assert process.stdout.readline() == b"running\n"
        [node] = children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        deadline = time.monotonic() + 10
        while is_running(node) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_running(node), "Node outlived the jspiprof that started it"
        assert list(temporary.iterdir()) == []
    finally:
        process.kill()
        process.wait()
    if "sleep" in program:  # the event loop ran: the trace was closed as on SIGTERM
        end = json.loads((tmp_path / "jspiprof-trace.jsonl").read_text().splitlines()[-1])
        assert (end["type"], end["exit_status"]) == ("end", 143)


def test_a_trace_into_a_missing_folder_is_one_sentence_before_node_starts(run_cli, tmp_path: Path):
    done = run_cli("run", "-o", "missing/trace.jsonl", "-c", "print('ran')")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"Error: Cannot write the trace to missing/trace.jsonl: the folder {tmp_path / 'missing'} does not exist.\n"
    )


def test_a_trace_onto_the_script_being_run_is_refused(run_cli, tmp_path: Path):
    (tmp_path / "app.py").write_text("print('ran')\n")
    done = run_cli("run", "-o", "app.py", "app.py")
    assert (done.returncode, done.stdout) == (1, "")
    assert "Refusing to write the trace to app.py: it is app.py, an input of the run" in done.stderr
    assert (tmp_path / "app.py").read_text() == "print('ran')\n"


@pytest.fixture
def full_disk() -> Path:
    """An empty folder on a 16 kB tmpfs."""
    FULL_DISK.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(FULL_DISK)], check=True)
    yield FULL_DISK
    subprocess.run(["umount", str(FULL_DISK)], check=True)


def test_a_trace_onto_a_full_disk_is_one_sentence_and_leaves_no_file(run_cli, full_disk: Path):
    (full_disk / "filler").write_bytes(b"\0" * 16384)
    done = run_cli("run", "-o", str(full_disk / "trace.jsonl"), "-c", "print('ran')")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[0] == (
        f"jspiprof: Cannot write the trace to {full_disk / 'trace.jsonl'}: ENOSPC: no space left on device, write."
    )
    assert "Traceback" not in done.stderr and "    at " not in done.stderr and "Pyodide was loaded" not in done.stderr
    assert sorted(path.name for path in full_disk.iterdir()) == ["filler"]


def test_a_disk_that_fills_during_the_run_keeps_the_trace_readable_and_leaves_no_partial_report(
    run_cli, full_disk: Path
):
    """The trace keeps what fit (it is streamed); the report, which needs megabytes, is not left half written."""
    program = "import time\nfor i in range(300): time.sleep(0.001)\nprint('done')\n"
    done = run_cli("run", "-o", str(full_disk / "trace.jsonl"), "-c", program)
    assert (done.returncode, done.stdout) == (0, "done\n")
    assert f"jspiprof: the trace {full_disk / 'trace.jsonl'} is incomplete" in done.stderr
    assert f"jspiprof: cannot write the report to {full_disk / 'trace.html'}: No space left on device." in done.stderr
    assert "Traceback" not in done.stderr and "    at " not in done.stderr
    assert sorted(path.name for path in full_disk.iterdir()) == ["trace.jsonl"]


def jspiprof(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "jspiprof", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "command",
    [
        ["report", "run.jsonl", "-o", "run.jsonl"],
        ["report", "run.html"],
        ["export", "run.jsonl", "--format", "chrome", "-o", "./run.jsonl"],
        ["export", "run.jsonl", "--format", "speedscope", "-o", "link.json"],
    ],
    ids=["report -o TRACE", "report of a trace named .html", "export -o TRACE", "export -o a link to TRACE"],
)
def test_an_output_onto_its_own_trace_is_refused(tmp_path: Path, command: list[str]):
    trace = (ANALYSIS / "small_app.jsonl").read_bytes()
    (tmp_path / "run.jsonl").write_bytes(trace)
    (tmp_path / "run.html").write_bytes(trace)
    (tmp_path / "link.json").symlink_to(tmp_path / "run.jsonl")
    done = jspiprof(*command, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    output = Path(command[-1] if "-o" in command else "run.html")
    assert done.stderr == f"Error: Refusing to write {output}: it is the trace being read; choose another -o.\n"
    assert (tmp_path / "run.jsonl").read_bytes() == (tmp_path / "run.html").read_bytes() == trace


@pytest.mark.parametrize(
    "command", [["report"], ["export", "--format", "chrome"], ["export", "--format", "speedscope"]]
)
def test_an_output_onto_a_full_disk_keeps_the_old_file_and_leaves_no_partial_one(full_disk: Path, command: list[str]):
    """The new file is written next to the old one and renamed over it only once whole."""
    (full_disk / "out").write_text("the previous output\n")  # a 4 kB page of the 16 kB...
    (full_disk / "filler").write_bytes(b"\0" * 12288)  # ...and the other three
    trace = ANALYSIS / "polling.jsonl"
    done = jspiprof(*command[:1], trace, *command[1:], "-o", full_disk / "out", cwd=full_disk.parent)
    assert done.returncode == 1
    assert done.stderr.endswith(f"{full_disk / 'out'}: No space left on device.\n")
    assert "Traceback" not in done.stderr
    assert sorted(path.name for path in full_disk.iterdir()) == ["filler", "out"]
    assert (full_disk / "out").read_text() == "the previous output\n"
