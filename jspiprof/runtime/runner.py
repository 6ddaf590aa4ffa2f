"""Runs a Python program inside Pyodide under Node: one child process, signals forwarded, nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from jspiprof.runtime.install import Runtime, RuntimeProblem, js_dir

_GRACE_SECONDS = 5.0


@dataclass
class Program:
    """What to run: a script path, a code string or a module name, with its sys.argv."""

    mode: str
    target: str
    argv: list[str]


@dataclass
class RunConfig:
    """The settings `js/run.mjs` reads (field names are the JS property names)."""

    pyodideDir: str
    mode: str
    target: str
    argv: list[str]
    cwd: str
    mounts: list[str]
    wheels: list[str]
    trace: str | None = None
    sampleIntervalMs: float | None = None
    """Time between two CPU samples (None: no sampling)."""


def host_mounts(program: Program, cwd: Path) -> list[str]:
    """The host folders made visible inside Pyodide at the same paths: the working folder and the script's folder."""
    folders = [cwd]
    if program.mode == "script":
        folders.append(Path(program.target).resolve().parent)
    mounts: list[str] = []
    for folder in sorted(set(folders), key=lambda path: len(path.parts)):
        if folder == Path(folder.anchor):
            raise RuntimeProblem(
                "jspiprof cannot mount the root folder into Pyodide: run from a project folder instead of /."
            )
        if not any(folder.is_relative_to(outer) for outer in map(Path, mounts)):
            mounts.append(str(folder))
    return mounts


def build_config(program: Program, runtime: Runtime, wheels: list[Path], cwd: Path) -> RunConfig:
    """The run settings for `program` with the current folder `cwd`."""
    if program.mode == "script" and not Path(program.target).is_file():
        raise RuntimeProblem(f"The script {program.target} does not exist: check the path.")
    target = str(Path(program.target).resolve()) if program.mode == "script" else program.target
    return RunConfig(
        pyodideDir=str(runtime.pyodide_dir),
        mode=program.mode,
        target=target,
        argv=program.argv,
        cwd=str(cwd),
        mounts=host_mounts(program, cwd),
        wheels=[str(wheel) for wheel in wheels],
    )


def _exit_status(returncode: int) -> int:
    """A shell-style exit status: 128 + N when the child died of signal N."""
    return 128 - returncode if returncode < 0 else returncode


def run_in_node(config: RunConfig, runtime: Runtime) -> int:
    """Run the program under Node and return its exit status.

    SIGINT and SIGTERM are passed on to Node; if Node has not ended 5 s later it is killed, so no process stays.
    Node gets its settings through a pipe that this process holds open until Node ends (`js/lifeline.mjs`): when this
    process dies in any way, kill -9 included, the pipe ends and Node stops too. Nothing is written to disk for it.
    """
    lifeline, to_node = os.pipe()
    command = [str(runtime.node), *runtime.node_flags, str(js_dir() / "run.mjs"), str(lifeline)]
    try:
        child = subprocess.Popen(command, env={**os.environ, "NODE_NO_WARNINGS": "1"}, pass_fds=(lifeline,))
    finally:
        os.close(lifeline)
    with open(to_node, "wb") as pipe:  # open until Node ends: its end tells Node that this process is gone
        try:
            pipe.write(json.dumps(asdict(config)).encode() + b"\n")
            pipe.flush()
        except BrokenPipeError:  # Node ended at once; its status says why
            pass
        return _wait(child)


def _wait(child: subprocess.Popen[bytes]) -> int:
    """Wait for `child` to end, passing SIGINT and SIGTERM on to it (and killing it 5 s after, if it is still there)."""
    stop_requested_at: float | None = None

    def forward(signum: int, _frame: object) -> None:
        nonlocal stop_requested_at
        stop_requested_at = stop_requested_at or time.monotonic()
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                return _exit_status(child.wait(timeout=0.2))
            except subprocess.TimeoutExpired:
                if stop_requested_at is not None and time.monotonic() - stop_requested_at > _GRACE_SECONDS:
                    child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.kill()
            child.wait()
