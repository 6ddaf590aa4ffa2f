"""Runs a Python program inside Pyodide in a headless browser (Debian's Chromium or Firefox), the way
`jspiprof.runtime.runner` runs it under Node: same argv, files, stdout/stderr, exit status and trace.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
from pathlib import Path

from jspiprof.browser import record_page
from jspiprof.runtime.install import SNAPSHOT_FILE
from jspiprof.runtime.program_files import collect_program_files
from jspiprof.runtime.program_server import ProgramServer
from jspiprof.runtime.runner import RunConfig

OPEN_TIMEOUT_SECONDS = 60.0
"""How long the browser may take to open the harness page and ask for the program."""


def run_in_browser(config: RunConfig, browser: str, worker: bool, home: Path) -> int:
    """Run the program in a headless `browser` (on the page's main thread, or in a module worker) and return its
    exit status; the program's output goes to this process's stdout and stderr as it comes.

    The files of the current folder and the script's folder are copied into the page at their own paths (the ones
    left out are named on stderr). `jspiprof record`'s machinery (`record_page`) drives the browser and records the
    page into `config.trace` as it runs, and is stopped once the program has exited. Ctrl-C or SIGTERM ends the
    browser; no process or temporary file stays.
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
    }
    hook_options = {
        "record": config.trace is not None,
        "explain": True,
        "sample": config.sampleIntervalMs is not None,
        **({"sampleIntervalMs": config.sampleIntervalMs} if config.sampleIntervalMs is not None else {}),
    }
    server = ProgramServer(page_config, files, Path(config.pyodideDir), wheels)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    stopped_by: list[int] = []
    threading.Thread(target=_stop_when_done, args=(server, stop), daemon=True).start()
    previous = {
        signum: signal.signal(signum, lambda number, _frame: (stopped_by.append(number), stop.set()))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with tempfile.TemporaryDirectory(prefix="jspiprof-browser-") as scratch:
            trace = Path(config.trace) if config.trace is not None else Path(scratch) / "unrecorded.jsonl"
            recorded = record_page(
                server.url,
                trace,
                browser=browser,
                stop=stop,
                home=home,
                program={"argv": config.argv, "mode": config.mode},
                hook_options=hook_options,
            )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.shutdown()
        server.server_close()
        server.output.finish()
    if stopped_by:
        return 128 + stopped_by[0]
    if server.end.status is not None:
        return server.end.status
    if server.end.error is not None:
        print(f"jspiprof: {server.end.error}", file=sys.stderr)
        return 2
    if not server.opened.is_set():
        print(
            f"jspiprof: {browser} did not open the program's page within {OPEN_TIMEOUT_SECONDS:g} s.", file=sys.stderr
        )
        return 2
    print(f"jspiprof: the program did not end: {recorded.reason}.", file=sys.stderr)
    return 1


def _stop_when_done(server: ProgramServer, stop: threading.Event) -> None:
    """Set `stop` once the page reported the program's end, or when it has not asked for the program in time."""
    if server.opened.wait(OPEN_TIMEOUT_SECONDS):
        server.ended.wait()
    stop.set()
