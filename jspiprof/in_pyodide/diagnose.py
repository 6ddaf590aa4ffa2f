"""Explains stack-switching failures in plain words, with the exact code change that fixes each one.

Input is plain error text (a Python traceback and/or a JS stack as a browser console or a Node log prints
it), or an exception object inside Pyodide. Standard library only, so it also runs inside Pyodide.

The class of a problem comes from the structure of what was printed: the family of the error message, the
Pyodide JS frames that show how JavaScript entered Python (`runPython`, a PyProxy call, a promising call),
the JS frame that called them (user code, a native `Array.map`, a Node timer, nothing = the browser's event
loop), JS frames inside the Python traceback (Python -> JS -> Python), and the Python frames
(`asyncio.run`, `run_until_complete`, urllib3's emscripten fetch).
"""

from __future__ import annotations

import functools
import re
import sys
import traceback
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

CLASSES = (
    "sync-runpython",
    "sync-pyproxy-call",
    "sync-js-callback",
    "reentrant-sync-callback",
    "blocking-api-from-sync",
    "no-jspi",
    "not-awaitable",
    "pyodide-internal",
    "busy-wait-sleep",
)
"""The problem classes, by id."""

SYNC_ENTRY_TEXT = "Cannot stack switch because the Python entrypoint was a synchronous function"
NO_JSPI_TEXT = "stack switching not supported in this JavaScript runtime"
URLLIB3_TEXT = "urllib3 only works in Node.js with pyodide.runPythonAsync"
PYODIDE_BUG_TEXT = "This is a bug in Pyodide"

_PYODIDE_JS_FILES = {"pyodide.asm.mjs", "pyodide.asm.js", "pyodide.mjs", "pyodide.js", "pyodide.asm.wasm"}
_JSPIPROF_JS_FILES = {
    "hook.mjs", "entries.mjs", "switches.mjs", "recorder.mjs", "probe-bridge.mjs", "trace-writer.mjs", "explain.mjs", "run.mjs",
}  # fmt: skip
"""jspiprof's own JS modules (the hook wraps Pyodide's entry points, so its frames sit among Pyodide's)."""
_PROMISING_ENTRY_FUNCTIONS = {
    "runPythonAsync",
    "callPromising",
    "callPromisingKwargs",
    "promisingApply",
    "callPyObjectKwargsPromising",
    "callPyObjectMaybePromising",
}


@dataclass(frozen=True)
class PyFrame:
    """One Python traceback line: `File "file", line N, in function` (a JS frame when the file is JS)."""

    file: str
    line: int
    function: str
    source: str | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def is_js(self) -> bool:
        """Pyodide puts the JS functions that Python called into Python tracebacks with their JS file."""
        return bool(re.search(r"\.(m|c)?js$", self.file)) or self.file.startswith(("http://", "https://", "file://"))

    @property
    def library(self) -> bool:
        """The standard library, Pyodide's own modules, installed packages and jspiprof are library code."""
        return self.file.startswith("/lib/python") or "site-packages" in self.file or "/jspiprof/" in self.file

    def describe(self) -> str:
        return f"{self.function} ({self.location})"


@dataclass(frozen=True)
class JsFrame:
    """One JS stack line: the function name (may be empty) and where it is (`url`, line, column)."""

    function: str
    url: str
    line: int | None = None
    column: int | None = None

    @property
    def location(self) -> str:
        return f"{self.url}:{self.line}" if self.line is not None else self.url

    @property
    def native(self) -> bool:
        """Built-in code: `Array.map (<anonymous>)`, Node's own `node:internal/...` modules."""
        return self.url in ("<anonymous>", "native", "") or self.url.startswith("node:")

    @property
    def pyodide(self) -> bool:
        """Pyodide's own JS or wasm code (or jspiprof's hook, which wraps it)."""
        name = self.url.rsplit("/", 1)[-1]
        folder = self.url.rsplit("/", 2)[-2] if self.url.count("/") >= 2 else ""
        return (
            name in _PYODIDE_JS_FILES
            or self.url.startswith("wasm://")
            or "wasm-function[" in self.url
            or (folder in ("js", "_js") and name in _JSPIPROF_JS_FILES)
        )

    @property
    def short_function(self) -> str:
        return self.function.removeprefix("async ").rsplit(".", 1)[-1]


@dataclass
class TracebackPart:
    """One traceback of a (possibly chained) Python exception: its frames and its `Type: message` line."""

    frames: list[PyFrame]
    error_type: str
    message: str


@dataclass
class ErrorReport:
    """One error as printed: chained Python tracebacks (last = the one raised) and the JS stack below them."""

    parts: list[TracebackPart] = field(default_factory=list)
    js_frames: list[JsFrame] = field(default_factory=list)
    runtime: str | None = None

    @property
    def error_type(self) -> str:
        return self.parts[-1].error_type if self.parts else ""

    @property
    def messages(self) -> list[str]:
        return [part.message for part in self.parts]

    @property
    def frames(self) -> list[PyFrame]:
        """The frames of the exception that was raised last (the one JS saw)."""
        return self.parts[-1].frames if self.parts else []


@dataclass
class Problem:
    """A diagnosed problem: class id, what happened and where, the location to change, and the fix."""

    class_id: str
    message: str
    location: str | None
    fix: str
    python_chain: list[str] = field(default_factory=list)
    edit: tuple[str, str] | None = None
    """The fix as a text substitution (old, new): on the `location` line when that is a JS file, else in the Python code."""

    def to_json(self) -> dict[str, str | None]:
        return {"class": self.class_id, "message": self.message, "location": self.location, "fix": self.fix}

    def render(self) -> str:
        """Plain text for a terminal, a console or an exception note."""
        lines = [f"[{self.class_id}] {self.message}"]
        if self.location:
            lines.append(f"  where: {self.location}")
        if self.python_chain:
            lines.append("  Python chain: " + " -> ".join(self.python_chain))
        lines.append("  fix: " + self.fix.replace("\n", "\n       "))
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Parsing plain text

_TRACEBACK_START = re.compile(r"Traceback \(most recent call last\):\s*$")
_CHAIN = re.compile(r"^(The above exception was the direct cause|During handling of the above exception)")
_PY_FRAME = re.compile(r'^\s+File "(?P<file>.+)", line (?P<line>\d+), in (?P<function>.+?)\s*$')
_V8_FRAME = re.compile(r"^\s+at (?:(?P<function>.+?) \((?P<where>.+)\)|(?P<bare>\S+))(?: \{)?\s*$")
_FIREFOX_FRAME = re.compile(r"^(?P<function>[^@\s]*)@(?P<where>\S+:\d+:\d+)\s*$")
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")
_JS_ERROR_LINE = re.compile(
    r"^(?:.*?Uncaught (?:\(in promise\) )?)?(?P<type>(?:[A-Za-z_$][\w$]*)?(?:Error|Exception)): (?P<message>.+)$"
)
_NODE_VERSION = re.compile(r"^Node\.js (v\d+\.\d+\.\d+)\s*$")
_LONG_LINE = 2000


def _js_frame(line: str) -> JsFrame | None:
    match = _V8_FRAME.match(line) or _FIREFOX_FRAME.match(line)
    if match is None:
        return None
    where = match.groupdict().get("where") or match.groupdict().get("bare") or ""
    function = (match.groupdict().get("function") or "").strip()
    position = re.match(r"^(?P<url>.*?):(?P<line>\d+):(?P<column>\d+)$", where)
    if position and "wasm-function[" not in where:
        return JsFrame(function, position["url"], int(position["line"]), int(position["column"]))
    return JsFrame(function, where)


def parse_text(text: str) -> list[ErrorReport]:
    """The errors printed in `text`, in order; lines that belong to no error are skipped."""
    reports: list[ErrorReport] = []
    current: ErrorReport | None = None
    state = "outside"  # outside | frames | after (the exception line was read) | js
    chained = False
    frames: list[PyFrame] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if len(line) > _LONG_LINE:  # Node echoes the minified source line of an uncaught error
            continue
        node_version = _NODE_VERSION.match(line)
        if node_version:
            if reports:
                reports[-1].runtime = f"node {node_version[1]}"
            continue
        if _TRACEBACK_START.search(line):
            if current is None or not chained:
                current = ErrorReport()
                reports.append(current)
            chained, frames, state = False, [], "frames"
            continue
        if state == "frames":
            frame = _PY_FRAME.match(line)
            if frame:
                frames.append(PyFrame(frame["file"], int(frame["line"]), frame["function"]))
            elif line.startswith((" ", "\t")) or not line.strip():
                if frames and frames[-1].source is None and line.strip() and not set(line.strip()) <= set("~^ "):
                    last = frames[-1]
                    frames[-1] = PyFrame(last.file, last.line, last.function, line.strip())
            else:
                exception = _EXCEPTION_LINE.match(line.strip())
                error_type = exception["type"] if exception else "Exception"
                message = (exception["message"] or "") if exception else line.strip()
                assert current is not None
                current.parts.append(TracebackPart(frames, error_type, message))
                state = "after"
            continue
        if current is not None and state in ("after", "js"):
            if _CHAIN.match(line):
                chained, state = True, "outside"
                continue
            js = _js_frame(line)
            if js is not None:
                current.js_frames.append(js)
                state = "js"
                continue
            if not line.strip() or (state == "after" and not line.startswith("    at")):
                if state == "after" and line.strip() and current.parts and not _looks_like_new_error(lines, index):
                    current.parts[-1].message += "\n" + line.strip()
                    continue
                if not line.strip():
                    continue
            state = "outside"
            current = None
        js_error = _JS_ERROR_LINE.match(line.strip())
        if js_error and index + 1 < len(lines) and _js_frame(lines[index + 1]):
            current = ErrorReport(parts=[TracebackPart([], js_error["type"], js_error["message"])])
            reports.append(current)
            state = "after"
    return reports


def _looks_like_new_error(lines: list[str], index: int) -> bool:
    """A line after an exception line starts something else (a new error, a log line, a Node details block)."""
    line = lines[index].strip()
    return bool(
        _JS_ERROR_LINE.match(line) or _TRACEBACK_START.search(line) or line.startswith(("{", "}", "type:", "Node.js"))
    )


# ---------------------------------------------------------------------------------------------------------
# How JS entered Python


@dataclass
class Entry:
    """How JS entered Python, as read from the JS stack: the kind, the JS caller and the native frame between."""

    kind: str  # runPython | runPythonAsync | promising | call | unknown
    caller: JsFrame | None
    via: JsFrame | None  # native frame between Pyodide and the caller (Array.map, a Node timer)


def read_entry(js_frames: list[JsFrame]) -> Entry:
    """The entry shown by the innermost block of Pyodide frames and the first frame outside it."""
    block: list[JsFrame] = []
    rest: list[JsFrame] = []
    for position, frame in enumerate(js_frames):
        if frame.pyodide:
            block.append(frame)
        elif block:
            rest = js_frames[position:]
            break
    names = {frame.short_function for frame in block}
    if "runPythonAsync" in names or names & _PROMISING_ENTRY_FUNCTIONS:
        kind = "promising"
    elif "runPython" in names:
        kind = "runPython"
    elif names & {"callPyObject", "apply", "call", "callKwargs", "callWithOptions"}:
        kind = "call"
    else:
        kind = "unknown"
    via = rest[0] if rest and rest[0].native else None
    caller = next((frame for frame in rest if not frame.native and not frame.pyodide), None)
    return Entry(kind, caller, via)


def _callback_source(entry: Entry) -> str:
    """Who called the Python function when no user JS code did it directly."""
    if entry.via is not None:
        name = entry.via.function
        if "Timeout" in name or "processTimers" in name:
            return "a Node timer (setTimeout/setInterval)"
        if "Immediate" in name:
            return "Node's setImmediate"
        return f"the built-in {name}"
    return "the JS event loop (an event listener, a timer or another callback; no JS code of yours is on the stack)"


# ---------------------------------------------------------------------------------------------------------
# Reading the Python side


def _blocking_api(frames: list[PyFrame], messages: list[str]) -> tuple[str, PyFrame | None] | None:
    """The blocking API that needed to suspend (asyncio.run, run_until_complete, urllib3) and the user frame that called it."""
    for position, frame in enumerate(frames):
        name = frame.function.rsplit(".", 1)[-1]
        is_asyncio_run = (frame.file.endswith("webloop.py") and name == "_run") or (
            frame.file.endswith("asyncio/runners.py") and name == "run"
        )
        if is_asyncio_run:
            return "asyncio.run", _user_frame_before(frames, position)
        if name == "run_until_complete" and frame.library:
            return "loop.run_until_complete", _user_frame_before(frames, position)
        if "urllib3/" in frame.file or "requests/" in frame.file:
            return ("requests" if "requests/" in frame.file else "urllib3"), _user_frame_before(frames, position)
    if any(URLLIB3_TEXT in message for message in messages):
        return "urllib3", _user_frame_before(frames, len(frames))
    return None


def _user_frame_before(frames: list[PyFrame], position: int) -> PyFrame | None:
    return next((frame for frame in reversed(frames[:position]) if not frame.library and not frame.is_js), None)


def _chain(frames: list[PyFrame]) -> list[str]:
    """The Python frames from the entry down to the call that needed to suspend, without Pyodide's and jspiprof's machinery."""
    return [frame.describe() for frame in frames if "/_pyodide/" not in frame.file and "/jspiprof/" not in frame.file]


def _reentry_boundary(frames: list[PyFrame]) -> int | None:
    """The index of the innermost frame that its caller did not call directly (its source line does not call it by name).

    Tracebacks print each frame's source line; a Python function called back from JS is not named as a call
    (`name(`) on the line of the Python frame before it, which called into JS.
    """
    for position in range(len(frames) - 1, 0, -1):
        caller, callee = frames[position - 1], frames[position]
        name = callee.function.rsplit(".", 1)[-1]
        if (
            caller.source is not None
            and not callee.library
            and not re.search(rf"\b{re.escape(name)}\s*\(", caller.source)
        ):
            return position
    return None


def _site(frames: list[PyFrame]) -> PyFrame | None:
    """The deepest frame of user code (the line that led to the failure)."""
    return next((frame for frame in reversed(frames) if not frame.library and not frame.is_js), None)


def _entry_function(frames: list[PyFrame]) -> PyFrame | None:
    """The outermost user frame: the Python function JS called (`<module>` for runPython code)."""
    return next(
        (frame for frame in frames if not frame.library and not frame.is_js and "/_pyodide/" not in frame.file), None
    )


# ---------------------------------------------------------------------------------------------------------
# Concrete fixes


@functools.cache
def _source_lines(url: str) -> list[str]:
    """The lines of a JS file on this machine: a path, a file: URL, or a page served from 127.0.0.1/localhost."""
    parsed = urlparse(url)
    try:
        if parsed.scheme in ("http", "https"):
            if (
                parsed.hostname not in ("127.0.0.1", "localhost") or sys.platform == "emscripten"
            ):  # no sockets in Pyodide
                return []
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode("utf-8", errors="replace").splitlines()
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(url)
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return []


def source_line(frame: JsFrame | None) -> str | None:
    """The JS source line at `frame`, when its file can be read from here (Node scripts, pages served locally)."""
    if frame is None or frame.line is None:
        return None
    lines = _source_lines(frame.url)
    return lines[frame.line - 1] if 0 < frame.line <= len(lines) else None


def _call_on_line(source: str, python_name: str | None) -> str | None:
    """The `...runPython` call on a JS line, or the call whose name matches the Python function's (`loadConfig` for `load_config`)."""
    calls = re.findall(r"([\w$][\w$.]*)\s*\(", source)
    runpython = [call for call in calls if call.endswith("runPython")]
    if python_name is None:
        return runpython[0] if runpython else None
    wanted = python_name.replace("_", "").lower()
    return next((call for call in calls if call.rsplit(".", 1)[-1].replace("_", "").lower() == wanted), None)


def _callee_at(frame: JsFrame | None, python_name: str | None = None) -> str | None:
    """The JS expression called at `frame` (V8 columns point at the callee), e.g. `getStatus` or `pyodide.runPython`."""
    source = source_line(frame)
    if source is None or frame is None:
        return None
    if frame.column is None:  # a trace's caller has no column: find the call on the line
        return _call_on_line(source, python_name)
    start = frame.column - 1
    while start > 0 and re.match(r"[\w$.]", source[start - 1]):
        start -= 1
    match = re.match(r"[\w$.]+", source[start:])
    return match[0] if match else None


def _fix_runpython(entry: Entry) -> str:
    callee = _callee_at(entry.caller) or "pyodide.runPython"
    promised = (
        callee[: -len("runPython")] + "runPythonAsync" if callee.endswith("runPython") else "pyodide.runPythonAsync"
    )
    where = f" at {entry.caller.location}" if entry.caller else ""
    return (
        f"Replace `{callee}(code)`{where} with `await {promised}(code)` (inside an async function or an ES module; "
        "it resolves to the same result). Python code run that way may call run_sync, time.sleep, asyncio.run and "
        "requests at top level. If the code must stay synchronous, guard the blocking call: "
        "`if can_run_sync(): run_sync(aw)` else fall back (e.g. `asyncio.ensure_future(aw)`)."
    )


def _fix_pyproxy_call(entry: Entry, function: str) -> str:
    callee = _callee_at(entry.caller, function)
    where = f" at {entry.caller.location}" if entry.caller else ""
    if callee is None:
        callee = "pyFunc"
        where += f" (pyFunc: your PyProxy of `{function}`)"
    return (
        f"Call it promising: replace `{callee}(...)`{where} with `await {callee}.callPromising(...)` "
        f"(use `callPromisingKwargs(..., {{key: value}})` for keyword arguments). It returns a Promise of the "
        "result: await it (or `.then(...)`) and handle rejections with `.catch(...)`, because Python errors now "
        f"arrive as a rejected Promise instead of an exception. Or make `{function}` an `async def` and await the "
        "Promise JS gets back."
    )


def _fix_js_callback(entry: Entry, function: str) -> str:
    if entry.via is not None and entry.via.function.startswith("Array."):
        method = entry.via.function.removeprefix("Array.")
        where = f" at {entry.caller.location}" if entry.caller else ""
        edit = suggested_edit(entry, function)
        edit = edit if edit and f".{method}(" in edit[0] else None
        name = edit[0].rsplit("(", 1)[-1].rstrip(") ") if edit else function  # the JS name of the PyProxy
        items = edit[0].rsplit(f".{method}(", 1)[0] if edit else "items"
        return (
            f"Array.{method} calls `{function}` synchronously{where}: call it promising per item and await all the "
            f"Promises: replace `{items}.{method}({name})` with "
            f"`await Promise.all({items}.map((item) => {name}.callPromising(item)))` (or a `for ... of` loop with "
            f"`await {name}.callPromising(item)` to run them one after another). Or make `{function}` an "
            f"`async def` and `await Promise.all({items}.map({name}))`."
        )
    return (
        f"Make the handler `async def {function}(...)`: JS then gets a Promise and Pyodide runs the body as an "
        "asyncio task, where run_sync, time.sleep and `await` work (keep the `create_proxy(...)` if you had one). "
        f"Or, from JS, register a wrapper that enters promising: `(...args) => {function}.callPromising(...args).catch(console.error)` "
        '(e.g. `button.addEventListener("click", (event) => onSave.callPromising(event).catch(console.error))`, '
        f"`setTimeout(() => {function}.callPromising(), ms)`)."
    )


def js_function_at(frame: JsFrame | None) -> str | None:
    """The name of the JS function defined on the line of `frame` (`globalThis.forEachItem = (...) =>`), if readable."""
    source = source_line(frame) or ""
    match = re.search(
        r"function\s+([\w$]+)|([\w$][\w$.]*)\s*=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|[\w$]+\s*=>)", source
    )
    return (match[1] or match[2]) if match else None


def fix_reentrant(js_function: str | None, function: str) -> str:
    if js_function is None:
        return (
            f"The JS code that calls the Python callback `{function}` calls it synchronously, so that callback is a new "
            "synchronous entry. Either make that JS function async and have it `await callback.callPromising(...)`, "
            f"then `await` it from Python; or make `{function}` an `async def` and have JS collect and await the "
            "Promises it returns; or guard the blocking call in the callback: `if can_run_sync(): run_sync(aw)` else "
            "schedule it with `asyncio.ensure_future(aw)`."
        )
    return (
        f"The JS function `{js_function}` calls the Python callback `{function}` synchronously, so that callback is a "
        f"new synchronous entry. Either make JS wait for it: in `{js_function}` call `await callback.callPromising(item)` "
        f"(making `{js_function}` async) and in Python `await js.{js_function.rsplit('.', 1)[-1]}(...)`; or make "
        f"`{function}` an `async def` and have JS collect and await the Promises it returns; or guard the blocking "
        "call in the callback: `if can_run_sync(): run_sync(aw)` else schedule it with `asyncio.ensure_future(aw)`."
    )


def suggested_edit(entry: Entry, function: str) -> tuple[str, str] | None:
    """The fix as a substitution, when the code to change is known: the JS call at the caller, or the Python def."""
    if entry.kind == "runPython":
        callee = _callee_at(entry.caller)
        return (f"{callee}(", f"await {callee}Async(") if callee and callee.endswith("runPython") else None
    callee = _callee_at(entry.caller, function)
    if entry.kind == "call" and entry.caller is not None and entry.via is None and callee:
        return f"{callee}(", f"await {callee}.callPromising("
    if entry.via is not None and entry.via.function.startswith("Array."):
        method = entry.via.function.removeprefix("Array.")
        source = source_line(entry.caller) or ""
        match = re.search(rf"(\[[^\]]*\]|[\w$.]+)\.{method}\(\s*([\w$]+)\s*\)", source)
        if match:
            items, name = match[1], match[2]
            return match[0], f"await Promise.all({items}.map((item) => {name}.callPromising(item)))"
    if entry.kind == "call" and (entry.via is not None or entry.caller is None) and function != "the function":
        return f"def {function}(", f"async def {function}("
    return None


def entry_fix(entry: Entry, function: str) -> str:
    if entry.kind == "runPython":
        return _fix_runpython(entry)
    if entry.kind == "call" and entry.caller is not None and entry.via is None:
        return _fix_pyproxy_call(entry, function)
    if entry.kind == "unknown":
        return (
            "If JS calls it directly: " + _fix_pyproxy_call(entry, function) + " If JS calls it as a callback "
            "(event listener, timer, array method): " + _fix_js_callback(entry, function) + " (Log `error.stack`, not "
            "`error.message`, to see which JS code called it.)"
        )
    return _fix_js_callback(entry, function)


NO_JSPI_ADVICE = (
    "Use a runtime with JSPI (WebAssembly JavaScript Promise Integration). Node: 24.20+, 25 and 26 have it on by "
    "default (Node 26 refuses --experimental-wasm-jspi with `bad option`: pass no flag); 24.0-24.19 need "
    "`node --experimental-wasm-jspi`; Node 22 and older have no standard JSPI: upgrade. Chrome/Chromium/Edge 137+ "
    "have it on by default. Firefox: set `javascript.options.wasm_js_promise_integration` to true in "
    "about:config. Safari has no JSPI: there use `await` (async def, runPythonAsync, pyfetch) instead of "
    'run_sync/time.sleep/requests. Check with `"Suspending" in WebAssembly`, or run `jspiprof doctor`.'
)


PYODIDE_INTERNAL_FIX = (
    "Report it at Pyodide's GitHub issues (it is a bug in Pyodide, not in your code) with: the Pyodide version "
    "(`pyodide.version`), the runtime and its version (`node --version` or the browser's user agent), how Python "
    "was entered (runPython, runPythonAsync, callPromising, a PyProxy call, an event handler), the full traceback "
    "with its JS stack, and a minimal script that reproduces it. Meanwhile, enter Python once through "
    "runPythonAsync or callPromising and avoid reaching into Pyodide's private `_module`/`_api` state."
)
NOT_AWAITABLE_FIX = (
    "Pass run_sync something it can wait for: a coroutine object (`run_sync(load())`, not `run_sync(load)`), "
    "an asyncio Future/Task, or a JS Promise (`run_sync(fetch(url))`). If the value is already computed, use it "
    "directly without run_sync."
)


def no_jspi_advice(runtime: str | None) -> str:
    """What to install or change to get JSPI, starting with the runtime that was seen (`node v20.1.0`, a user agent)."""
    if runtime and runtime.startswith("node "):
        version = tuple(int(part) for part in re.findall(r"\d+", runtime)[:2])
        if version < (24, 0):
            first = f"This is Node {runtime[5:]}: upgrade to Node 24.20+ or 26 (JSPI on by default)."
        elif version < (24, 20):
            first = f"This is Node {runtime[5:]}: start it with `node --experimental-wasm-jspi`, or upgrade to 24.20+."
        else:
            first = f"This is Node {runtime[5:]}, which has JSPI: check that no flag such as --no-experimental-wasm-jspi turns it off."
        return first + " " + NO_JSPI_ADVICE
    if runtime and "Chrome/" in runtime:
        major = int(re.search(r"Chrome/(\d+)", runtime)[1])  # type: ignore[index]
        first = (
            f"This is Chrome {major}: update to 137 or newer." if major < 137
            else f"This is Chrome {major}, which has JSPI: check that it was not started with --js-flags=--no-experimental-wasm-jspi or --disable-features=WebAssemblyJSPromiseIntegration."
        )  # fmt: skip
        return first + " " + NO_JSPI_ADVICE
    if runtime and "Firefox/" in runtime:
        return (
            "This is Firefox: set `javascript.options.wasm_js_promise_integration` to true in about:config. "
            + NO_JSPI_ADVICE
        )
    return NO_JSPI_ADVICE


# ---------------------------------------------------------------------------------------------------------
# Classifying


def diagnose_report(report: ErrorReport) -> Problem | None:
    """The problem one printed error shows, or None when it is not a stack-switching failure."""
    messages = report.messages
    text = "\n".join(messages)
    frames = report.frames
    entry = read_entry(report.js_frames)
    if entry.kind == "unknown":  # no JS stack was printed: Pyodide's eval frames still tell runPython(Async)
        evaluators = {frame.function for frame in frames if "/_pyodide/" in frame.file}
        launched = any(
            frame.file.endswith("/jspiprof/in_pyodide/launcher.py") for frame in frames
        )  # `jspiprof run` = runPythonAsync
        entry.kind = (
            "promising"
            if "eval_code_async" in evaluators or launched
            else "runPython"
            if "eval_code" in evaluators
            else "unknown"
        )
    site = _site(frames)
    chain = _chain(frames)
    entered = _entry_function(frames)
    function = entered.function if entered and entered.function != "<module>" else "the function"
    if PYODIDE_BUG_TEXT in text and "SystemError" in {part.error_type for part in report.parts}:
        where = site.location if site else (entry.caller.location if entry.caller else None)
        return Problem(
            "pyodide-internal",
            f"Pyodide's stack switching hit an internal error it calls a bug: {_first_line(text)}"
            + (f" It happened at {where}." if where else ""),
            where,
            PYODIDE_INTERNAL_FIX,
            chain,
        )
    if NO_JSPI_TEXT in text or (URLLIB3_TEXT in text and (entry.kind == "promising" or _old_node(report.runtime))):
        where = site.location if site else (entry.caller.location if entry.caller else None)
        what = "urllib3 (requests) could not suspend" if URLLIB3_TEXT in text else "A stack switch was needed"
        return Problem(
            "no-jspi",
            f"{what}, but this JavaScript runtime{f' ({report.runtime})' if report.runtime else ''} has no "
            f"WebAssembly stack switching (JSPI)" + (f"; the call that needed it: {site.describe()}." if site else "."),
            where,
            no_jspi_advice(report.runtime),
            chain,
        )
    if report.error_type == "TypeError" and re.search(r"^object .+ is not awaitable$", text, re.MULTILINE):
        given = re.search(r"^object (.+) is not awaitable$", text, re.MULTILINE)[1]  # type: ignore[index]
        return Problem(
            "not-awaitable",
            f"run_sync was given an object of type {given}, which is not awaitable"
            + (f", in {site.describe()}." if site else "."),
            site.location if site else None,
            NOT_AWAITABLE_FIX,
            chain,
        )
    if SYNC_ENTRY_TEXT not in text and URLLIB3_TEXT not in text:
        return None
    js_in_python = [position for position, frame in enumerate(frames) if frame.is_js]
    if js_in_python and any(not frame.is_js for frame in frames[js_in_python[-1] + 1 :]):
        js_frame = frames[js_in_python[-1]]
        callback = _entry_function(frames[js_in_python[-1] + 1 :])
        callback_name = callback.function if callback else "the callback"
        return Problem(
            "reentrant-sync-callback",
            f"Python called the JS function `{js_frame.function}` ({js_frame.location}), which called the Python "
            f"function `{callback_name}` back synchronously; that inner call is a synchronous entry, so "
            f"{_site_text(site)} could not stack switch even though the outer code was entered promising.",
            js_frame.location,
            fix_reentrant(js_frame.function, callback_name),
            chain,
        )
    if entry.kind == "promising" and SYNC_ENTRY_TEXT in text:
        # Entered promising, yet a synchronous entry failed: Python called JS (here with no JS frame in the
        # traceback, e.g. a function made by run_js), which called a Python function back synchronously.
        boundary = _reentry_boundary(frames)
        outer, callback = (frames[boundary - 1], frames[boundary]) if boundary else (None, entered)
        callback_name = callback.function if callback else "the callback"
        where = f" at {outer.describe()}" if outer else ""
        return Problem(
            "reentrant-sync-callback",
            f"Python was entered promising, but the Python function `{callback_name}` was called back synchronously by "
            f"JS code that Python called{where}; that inner call is a synchronous entry, so {_site_text(site)} could "
            "not stack switch.",
            outer.location if outer else (site.location if site else None),
            fix_reentrant(None, callback_name),
            chain,
        )
    blocking = _blocking_api(frames, messages) or _blocking_api(
        [frame for part in report.parts for frame in part.frames], messages
    )
    location = entry.caller.location if entry.caller else (entered.location if entered else None)
    entered_by = describe_entry(entry, function)
    if blocking is not None:
        api, caller = blocking
        extra = f" ({URLLIB3_TEXT} ...)" if api in ("urllib3", "requests") else ""
        call_site = f" in {caller.describe()}" if caller else ""
        fix = entry_fix(entry, function)
        if api == "asyncio.run" or api == "loop.run_until_complete":
            fix += f" Inside async code, replace `{api}(coro)` with `await coro`."
        else:
            fix += " Or use the async API directly: `await pyodide.http.pyfetch(url)` in an async def."
        return Problem(
            "blocking-api-from-sync",
            f"{api}{call_site} needs to suspend until the JS event loop delivers the result{extra}, but Python was "
            f"entered synchronously: {entered_by}.",
            location or (caller.location if caller else None),
            fix,
            chain,
            suggested_edit(entry, function),
        )
    if entry.kind == "runPython":
        class_id = "sync-runpython"
    elif entry.kind == "call" and entry.caller is not None and entry.via is None:
        class_id = "sync-pyproxy-call"
    elif entry.kind == "call":
        class_id = "sync-js-callback"
    elif entered is not None and entered.function == "<module>":
        class_id = "sync-runpython"  # no JS stack printed; top-level code that was run synchronously
    else:
        class_id = "sync-pyproxy-call" if entry.kind == "unknown" else "sync-js-callback"
    return Problem(
        class_id,
        f"{_site_text(site).capitalize()} needed to stack switch, but Python was entered synchronously: {entered_by}.",
        location,
        entry_fix(entry, function),
        chain,
        suggested_edit(entry, function),
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _old_node(runtime: str | None) -> bool:
    return bool(runtime and runtime.startswith("node ") and int(re.findall(r"\d+", runtime)[0]) < 24)


def _site_text(site: PyFrame | None) -> str:
    return f"the call in {site.describe()}" if site else "the Python code"


def describe_entry(entry: Entry, function: str) -> str:
    if entry.kind == "runPython":
        at = f" at {entry.caller.location}" if entry.caller else ""
        return f"`pyodide.runPython(...)`{at} runs code synchronously"
    if entry.kind == "call" and entry.caller is not None and entry.via is None:
        return f"JS called the Python function `{function}` directly at {entry.caller.location} (a synchronous PyProxy call)"
    if entry.kind == "call":
        at = f" at {entry.caller.location}" if entry.caller and entry.via else ""
        return f"`{function}` was called synchronously as a JS callback by {_callback_source(entry)}{at}"
    return f"`{function}` was called synchronously from JS"


_BUSY_WAIT_REPORT = re.compile(
    r"^jspiprof: \[busy-wait-sleep\] (?P<message>.+)\n  where: (?P<where>.+)\n  fix: (?P<fix>.+)$", re.MULTILINE
)


def diagnose_text(text: str) -> list[Problem]:
    """The stack-switching problems in plain error text (console or log output), one per printed error.

    A busy-waiting time.sleep raises nothing; it is in a console only as the report the JS hook printed
    (`explain: true`) when it recorded it, and is read back from there.
    """
    problems = [problem for problem in (diagnose_report(report) for report in parse_text(text)) if problem is not None]
    busy = [Problem("busy-wait-sleep", m["message"], m["where"], m["fix"]) for m in _BUSY_WAIT_REPORT.finditer(text)]
    return merge_repeats(problems + busy)


def merge_repeats(problems: list[Problem]) -> list[Problem]:
    """Each problem once, in order of first appearance; a repeated one says how many times it happened."""
    counts = Counter((problem.class_id, problem.location, problem.message) for problem in problems)
    merged: list[Problem] = []
    seen: set[tuple[str, str | None, str]] = set()
    for problem in problems:
        key = (problem.class_id, problem.location, problem.message)
        if key in seen:
            continue
        seen.add(key)
        if counts[key] > 1:
            problem.message += f" (happened {counts[key]} times)"
        merged.append(problem)
    return merged


def explain(error: BaseException) -> list[Problem]:
    """The stack-switching problems an exception shows (use inside Pyodide on a caught exception)."""
    return diagnose_text("".join(traceback.format_exception(error)))


def add_notes(error: BaseException) -> list[Problem]:
    """Attach the diagnosis to `error` as notes (shown under its traceback); returns the problems found."""
    problems = explain(error)
    for problem in problems:
        error.add_note("jspiprof diagnose: " + problem.render())
    return problems
