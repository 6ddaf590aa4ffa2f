"""Record a page in a real browser: every Pyodide it starts, on its main thread and in its workers, into one trace.

`record_page` is what `jspiprof record URL` runs, and what other commands call for a page they serve: it starts the
host's server (`server.py`), runs the browser driver (`js/browser/record.mjs`) under the cached Node, and stops on
`seconds`, on `stop` (an event another thread may set, e.g. when the program in the page has exited), on Ctrl-C,
or when the page or the browser closes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jspiprof.browser.merger import TraceMerger
from jspiprof.browser.server import HookServer
from jspiprof.render.terminal import printable
from jspiprof.runtime.browser_tools import browser_executable, install_browser_tools
from jspiprof.runtime.hook_files import write_hook_files
from jspiprof.runtime.install import PYODIDE_VERSION, RuntimeProblem, cache_home, install, js_dir

FLUSH_INTERVAL_MS = 100
"""How often each instance sends what it recorded."""
CDN_PREFIX = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
"""The jsDelivr folder of the cached Pyodide version, answered from the cache."""
STOP_GRACE_SECONDS = 10.0
"""How long the driver has to close the browser once asked to stop, before it is killed."""


@dataclass(frozen=True)
class RecordedPage:
    """What a recording left: the trace (None when no Pyodide started in the page), its instances, why it ended."""

    trace: Path | None
    instances: int
    reason: str


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def record_page(
    url: str,
    trace_path: Path,
    *,
    browser: str = "chromium",
    headed: bool = False,
    seconds: float | None = None,
    stop: threading.Event | None = None,
    home: Path | None = None,
    say: Callable[[str], None] = _say,
    program: dict[str, Any] | None = None,
    hook_options: dict[str, Any] | None = None,
) -> RecordedPage:
    """Open `url` in `browser` ("chromium" or "firefox") and record every Pyodide it starts into `trace_path`.

    Ends after `seconds`, when `stop` is set, on Ctrl-C, or when the page or the browser closes. `home` is the
    cache (default: `cache_home()`). `say` gets one sentence per thing a person should know (page errors, warnings
    about what a page posted). A browser or page that cannot be opened is a `RuntimeProblem`. `program` replaces
    the header's `program` (default: the URL recorded); `hook_options` are more options of the hook (`js/hook.mjs`)
    for every instance, e.g. `sample`.
    """
    home = home or cache_home()
    runtime = install(home, quiet=True)
    tools = install_browser_tools(home)
    browser_executable(browser)
    stop = stop or threading.Event()
    merger = TraceMerger(
        trace_path, time.time_ns() / 1e6, program or {"mode": "record", "url": url, "browser": browser}, warn=say
    )
    with tempfile.TemporaryDirectory(prefix="jspiprof-record-") as folder:
        server = HookServer(merger, write_hook_files(Path(folder), home).module)
    settings = {
        "url": url,
        "browser": browser,
        "headed": headed,
        "nodeModules": str(tools.node_modules),
        "hookURL": server.hook_url,
        "collectorURL": server.collector_url,
        "pyodideDir": str(runtime.pyodide_dir),
        "cdnPrefix": CDN_PREFIX,
        "flushIntervalMs": FLUSH_INTERVAL_MS,
        "hookOptions": hook_options or {},
    }
    lifeline, to_node = os.pipe()
    command = [str(runtime.node), *runtime.node_flags, str(js_dir() / "browser" / "record.mjs"), str(lifeline)]
    try:
        driver = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
            pass_fds=(lifeline,),
            start_new_session=True,  # Ctrl-C reaches this process only, which stops the driver in order
        )
    finally:
        os.close(lifeline)
    messages = _Messages(driver, say)
    with open(to_node, "wb") as pipe:  # open until the driver ends: its end tells the driver this process is gone
        try:
            pipe.write(json.dumps(settings).encode() + b"\n")
            pipe.flush()
        except BrokenPipeError:
            pass
        try:
            reason = _wait(driver, stop, seconds)
        finally:
            _end(driver)
            messages.thread.join(timeout=5)
            server.close()
            merger.close()
    if messages.failure is not None:
        raise RuntimeProblem(messages.failure)
    trace = trace_path if merger.started else None
    return RecordedPage(trace, merger.instances, reason or messages.closed or "the browser ended")


class _Messages:
    """Reads what the driver tells (JSON lines on its stdout) on a thread: page errors are said as they come."""

    def __init__(self, driver: subprocess.Popen[bytes], say: Callable[[str], None]) -> None:
        self.say = say
        self.failure: str | None = None
        self.closed: str | None = None
        assert driver.stdout is not None
        self.thread = threading.Thread(target=self.read, args=(driver.stdout,), daemon=True)
        self.thread.start()

    def read(self, stdout: object) -> None:
        for raw in stdout:  # type: ignore[attr-defined]
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            event = message.get("event")
            # What a page says is the page's: shown escaped, it cannot clear the screen or retitle the terminal.
            text = "\n".join(printable(line) for line in str(message.get("message")).splitlines())
            if event == "page-error":
                self.say(f"jspiprof: page error: {text}")
            elif event == "failed":
                self.failure = f"Cannot record the page: {text}."
            elif event == "closed":
                self.closed = str(message.get("reason"))


def _wait(driver: subprocess.Popen[bytes], stop: threading.Event, seconds: float | None) -> str | None:
    """Wait until the driver ends, `stop` is set, `seconds` have passed or Ctrl-C; say why the recording ended (None:
    the driver ended on its own, and told why)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while driver.poll() is None:
            if stop.wait(0.1):
                return "stopped"
            if deadline is not None and time.monotonic() >= deadline:
                return f"{seconds:g} s passed"
    except KeyboardInterrupt:
        return "Ctrl-C"
    return None


def _end(driver: subprocess.Popen[bytes]) -> None:
    """Ask the driver to stop (it lets the instances send their last batch, then closes the browser); kill it if it
    has not ended within `STOP_GRACE_SECONDS`."""
    if driver.poll() is None:
        driver.terminate()
    try:
        driver.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        driver.kill()
        driver.wait()
