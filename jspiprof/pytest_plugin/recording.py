"""Recording pytest-pyodide tests through the jspiprof hook, one trace per test.

pytest-pyodide loads Pyodide with a script it lets plugins replace per runtime (`Config.set_load_pyodide_script`):
ours imports `js/hook.mjs` and loads Pyodide through `wrapLoadPyodide`, with the same options. Under Node the
hook is imported from disk and streams the trace to a file; in a browser it is imported from a small web server
on 127.0.0.1 that serves the hook and jspiprof's in-Pyodide files, and keeps the trace in memory. Before a test
the plugin notes how many lines the trace has; after it, it cuts the test's own trace from the rest.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jspiprof
from jspiprof.analysis import Tables, tables
from jspiprof.pytest_plugin.cut import cut_test_trace
from jspiprof.runtime.install import js_dir
from jspiprof.trace import Trace, read_trace

LOAD_OPTIONS = "{ fullStdLib: false, jsglobals: self }"
"""The options pytest-pyodide's own load script passes to `loadPyodide`, kept as they are."""

_MARK_JS = """
const handle = globalThis.pyodide?.jspiprof;
if (!handle) return null;
handle.flush();
const lines = handle.path ? null : handle.events().filter((line) => line.type !== "snapshot").length;
return { path: handle.path, lines };
"""

_TAKE_JS = """
const handle = globalThis.pyodide?.jspiprof;
if (!handle) return null;
handle.flush();
return { path: handle.path, text: handle.path ? null : handle.toJSONL(), now: Date.now() };
"""


class _QuietCorsHandler(SimpleHTTPRequestHandler):
    """Serves files to a page on another origin (pytest-pyodide's server), as JavaScript modules where they are."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".py": "text/plain"}

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class HookServer:
    """A web server on 127.0.0.1 for browsers: the hook at `/js/`, jspiprof's in-Pyodide files at `/jspiprof/`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="jspiprof-hook-"))
        shutil.copytree(js_dir(), self.folder / "js", ignore=shutil.ignore_patterns("node_modules", "*.test.mjs"))
        package = Path(jspiprof.__file__).parent
        (self.folder / "jspiprof").mkdir()
        shutil.copy2(package / "__init__.py", self.folder / "jspiprof" / "__init__.py")
        shutil.copytree(
            package / "in_pyodide",
            self.folder / "jspiprof" / "in_pyodide",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        handler = functools.partial(_QuietCorsHandler, directory=str(self.folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/js/hook.mjs"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.folder, ignore_errors=True)


def load_script(hook_url: str, trace_folder: Path | None) -> str:
    """The script that loads Pyodide through the hook: streaming to a file in `trace_folder` (Node), or in memory."""
    options = "{}"
    if trace_folder is not None:
        folder = json.dumps(str(trace_folder))
        options = f"{{ trace: `${{{folder}}}/pyodide-${{process.pid}}-${{Date.now()}}.jsonl` }}"
    return (
        f"const {{ wrapLoadPyodide }} = await import({json.dumps(hook_url)});\n"
        f"let pyodide = await wrapLoadPyodide(loadPyodide, {options})({LOAD_OPTIONS});\n"
    )


def trace_file_name(node_id: str) -> str:
    """A file name made from a test id: `tests/test_a.py::test_get[node]` -> `tests_test_a.py__test_get_node.jsonl`."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", node_id.replace("::", "__")).strip("_.")
    return name[:200] + ".jsonl"


@dataclass(frozen=True)
class TestStart:
    """Where a test's lines begin in the trace of the Pyodide it runs in."""

    first_line: int


@dataclass(frozen=True)
class RecordedTrace:
    """A test's own trace: the file it was written to, the `Trace`, and its analysis tables (`jspiprof.analysis`)."""

    path: Path
    trace: Trace
    tables: Tables


def _lines(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


def mark(runner: Any) -> TestStart | None:
    """Note where the next test begins in the runner's trace (None: its Pyodide is not recorded)."""
    found = runner.run_js(_MARK_JS)
    if found is None:
        return None
    return TestStart(len(_lines(found["path"])) if found["path"] else found["lines"])


def take(runner: Any, start: TestStart, node_id: str, path: Path) -> RecordedTrace | None:
    """Write the trace of test `node_id` so far to `path` and read it back (None: its Pyodide is not recorded)."""
    found = runner.run_js(_TAKE_JS)
    if found is None:
        return None
    lines = _lines(found["path"]) if found["path"] else found["text"].splitlines()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cut_test_trace(lines, start.first_line, found["now"], node_id), encoding="utf-8")
    trace = read_trace(path)
    return RecordedTrace(path, trace, tables(trace))
