"""Runs a Python program inside Pyodide in a headless browser (Debian's Chromium or Firefox), the way
`jspiprof.runtime.runner` runs it under Node: same argv, files, stdout/stderr, exit status and trace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from jspiprof.runtime.browser_tools import browser_executable
from jspiprof.runtime.install import SNAPSHOT_FILE
from jspiprof.runtime.program_files import collect_program_files
from jspiprof.runtime.program_server import ProgramServer
from jspiprof.runtime.runner import RunConfig

OPEN_TIMEOUT_SECONDS = 60.0
"""How long the browser may take to open the harness page and ask for the program."""

_CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
_FIREFOX_PREFERENCES = """\
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("app.update.enabled", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
"""


def _browser_command(browser: str, profile: Path, url: str) -> list[str]:
    executable = str(browser_executable(browser))
    if browser == "chromium":
        return [executable, *_CHROMIUM_FLAGS, f"--user-data-dir={profile}", url]
    (profile / "user.js").write_text(_FIREFOX_PREFERENCES)
    return [executable, "--headless", "--no-remote", "--profile", str(profile), url]


def run_in_browser(config: RunConfig, browser: str, worker: bool) -> int:
    """Run the program in a headless `browser` (on the page's main thread, or in a module worker) and return its
    exit status; the program's output goes to this process's stdout and stderr as it comes.

    The files of the current folder and the script's folder are copied into the page at their own paths (the ones
    left out are named on stderr); the trace, when asked for, is written to `config.trace` at the end. Ctrl-C or
    SIGTERM ends the browser; no process or temporary folder stays.
    """
    files = collect_program_files(config.mounts)
    for left_out in files.left_out:
        print(f"jspiprof: left out of the page: {left_out}", file=sys.stderr)
    wheels = [Path(wheel) for wheel in config.wheels]
    page_config = {
        "worker": worker,
        "pyodideURL": "pyodide/pyodide.mjs",
        "snapshotURL": f"pyodide/{SNAPSHOT_FILE}" if (Path(config.pyodideDir) / SNAPSHOT_FILE).is_file() else None,
        "mode": config.mode,
        "target": config.target,
        "argv": config.argv,
        "cwd": config.cwd,
        "folders": config.mounts,
        "files": [{"path": file.path, "size": file.size} for file in files.files],
        "wheels": [f"program/wheels/{wheel.name}" for wheel in wheels],
        "trace": config.trace is not None,
        "sampleIntervalMs": config.sampleIntervalMs,
    }
    trace = Path(config.trace) if config.trace is not None else None
    server = ProgramServer(page_config, files, Path(config.pyodideDir), wheels, trace)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory(prefix="jspiprof-browser-") as profile:
            command = _browser_command(browser, Path(profile), server.url)
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            try:
                return _wait_for_the_program(server, process, browser)
            finally:
                _end_browser(process)
    finally:
        server.shutdown()
        server.server_close()


def _wait_for_the_program(server: ProgramServer, process: subprocess.Popen[bytes], browser: str) -> int:
    """The program's exit status once the page reports it; 128 + N on signal N; 1 or 2 (and one sentence on stderr)
    when the browser ends first or the harness cannot run."""
    stopped_by: list[int] = []
    previous = _on_stop_signals(lambda signum: stopped_by.append(signum))
    started = time.monotonic()
    try:
        while not server.ended.wait(0.1):
            if stopped_by:
                return 128 + stopped_by[0]
            if process.poll() is not None:
                print(f"jspiprof: {browser} ended before the program did.", file=sys.stderr)
                return 1
            if not server.opened.is_set() and time.monotonic() - started > OPEN_TIMEOUT_SECONDS:
                print(f"jspiprof: {browser} did not open the program's page within 60 s.", file=sys.stderr)
                return 2
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if server.end.status is not None:
        return server.end.status
    print(f"jspiprof: {server.end.error}", file=sys.stderr)
    return 2


def _on_stop_signals(handle: Callable[[int], object]) -> dict[int, object]:
    """Call `handle` on SIGINT and SIGTERM instead of stopping; the handlers they had."""
    return {
        signum: signal.signal(signum, lambda number, _frame: handle(number))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }


def _end_browser(process: subprocess.Popen[bytes]) -> None:
    """End the browser and every process it started (its own session), killing them after 5 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()
