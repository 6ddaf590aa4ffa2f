"""Parsing error text: Python tracebacks (chained ones too) and the JS stacks Node and browser consoles print.

`parse_text(text)` gives one `ErrorReport` per printed error: its tracebacks' frames and `Type: message` lines, the
JS stack below them and, when Node printed it, the runtime's version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SYNC_ENTRY_TEXT = "Cannot stack switch because the Python entrypoint was a synchronous function"
NO_JSPI_TEXT = "stack switching not supported in this JavaScript runtime"
URLLIB3_TEXT = "urllib3 only works in Node.js with pyodide.runPythonAsync"
PYODIDE_BUG_TEXT = "This is a bug in Pyodide"

_PYODIDE_JS_FILES = {"pyodide.asm.mjs", "pyodide.asm.js", "pyodide.mjs", "pyodide.js", "pyodide.asm.wasm"}
_JSPIPROF_JS_FILES = {
    "hook.mjs", "entries.mjs", "registrations.mjs", "switches.mjs", "recorder.mjs", "probe-bridge.mjs",
    "trace-writer.mjs", "explain.mjs", "run.mjs",
}  # fmt: skip
"""jspiprof's own JS modules (the hook wraps Pyodide's entry points, so its frames sit among Pyodide's)."""


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
    """One traceback of a (possibly chained) Python exception: its frames and its `Type: message` line (with the
    lines the message went on over)."""

    frames: list[PyFrame]
    error_type: str
    message_lines: list[str]

    @property
    def message(self) -> str:
        return "\n".join(self.message_lines)


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


_TRACEBACK_START = re.compile(r"Traceback \(most recent call last\):\s*$")
_CHAIN = re.compile(r"^(The above exception was the direct cause|During handling of the above exception)")
_PY_FRAME = re.compile(r'^\s+File "(?P<file>.+)", line (?P<line>\d+), in (?P<function>.+?)\s*$')
_FIREFOX_FRAME = re.compile(r"^(?P<function>[^@\s]*)@(?P<where>\S+:\d+:\d+)\s*$")
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")
_JS_ERROR_LINE = re.compile(
    r"^(?:.*?Uncaught (?:\(in promise\) )?)?(?P<type>(?:[A-Za-z_$][\w$]*)?(?:Error|Exception)): (?P<message>.+)$"
)
_NODE_VERSION = re.compile(r"^Node\.js (v\d+\.\d+\.\d+)\s*$")
_LONG_LINE = 2000


def _v8_frame(line: str) -> tuple[str, str] | None:
    """(function, where) of a V8 stack line: `    at function (where)`, or `    at where` (a `{` may end it).

    Read by hand, not with a regular expression: one with `(.+?) \\((.+)\\)` took milliseconds per line on lines
    of nested parentheses, and a log may hold thousands of them."""
    stripped = line.lstrip()
    if stripped == line or not stripped.startswith("at "):
        return None
    body = stripped[3:].rstrip()
    body = body.removesuffix(" {")
    opening = body.find(" (", 1)
    if body.endswith(")") and opening != -1 and opening + 2 < len(body) - 1:
        return body[:opening], body[opening + 2 : -1]
    if body and not any(char.isspace() for char in body):
        return "", body
    return None


def _js_frame(line: str) -> JsFrame | None:
    v8 = _v8_frame(line)
    if v8 is not None:
        function, where = v8
    else:
        firefox = _FIREFOX_FRAME.match(line)
        if firefox is None:
            return None
        function, where = firefox["function"], firefox["where"]
    function = function.strip()
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
                current.parts.append(TracebackPart(frames, error_type, [message]))
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
                    current.parts[-1].message_lines.append(line.strip())
                    continue
                if not line.strip():
                    continue
            state = "outside"
            current = None
        js_error = _JS_ERROR_LINE.match(line.strip())
        if js_error and index + 1 < len(lines) and _js_frame(lines[index + 1]):
            current = ErrorReport(parts=[TracebackPart([], js_error["type"], [js_error["message"]])])
            reports.append(current)
            state = "after"
    return reports


def _looks_like_new_error(lines: list[str], index: int) -> bool:
    """A line after an exception line starts something else (a new error, a log line, a Node details block)."""
    line = lines[index].strip()
    return bool(
        _JS_ERROR_LINE.match(line) or _TRACEBACK_START.search(line) or line.startswith(("{", "}", "type:", "Node.js"))
    )
