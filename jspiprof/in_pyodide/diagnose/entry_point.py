"""How JS entered Python, as a printed JS stack shows it: `runPython`, a promising call, a direct PyProxy call
or a callback, with the JS caller and the built-in code (`Array.map`, a Node timer) between them."""

from __future__ import annotations

from dataclasses import dataclass

from jspiprof.in_pyodide.diagnose.parsing import JsFrame

_PROMISING_ENTRY_FUNCTIONS = {
    "runPythonAsync",
    "callPromising",
    "callPromisingKwargs",
    "promisingApply",
    "callPyObjectKwargsPromising",
    "callPyObjectMaybePromising",
}


@dataclass(frozen=True)
class Registered:
    """Where JS code got the Python callable it called back: the API (`addEventListener`, `setTimeout`, `property`,
    ...), the event name (`click`), and the location of the registering call (JS, or the Python line that made it)."""

    api: str
    event: str | None
    location: str | None

    def describe(self) -> str:
        """The registering call, e.g. `addEventListener("click", ...)` or `setTimeout(...)`."""
        if self.api == "property":
            return f"`.on{self.event} = ...`"
        if self.api == "Promise.then":
            return "`promise.then(...)`"
        event = f'"{self.event}", ' if self.event else ""
        return f"`{self.api}({event}...)`"

    def by_python(self) -> bool:
        """Whether Python code registered it (`js.setTimeout(create_proxy(f), 0)`): its location is a Python line (a
        `.py` file, or `<exec>` for code run as a string), not a line of the page's or app's JS."""
        file = (self.location or "").rpartition(":")[0]
        return file.endswith(".py") or (file.startswith("<") and file.endswith(">"))


@dataclass
class EntryPoint:
    """How JS entered Python, as read from the JS stack: the kind, the JS caller and the native frame between."""

    kind: str  # runPython | runPythonAsync | promising | call | unknown
    caller: JsFrame | None
    via: JsFrame | None  # native frame between Pyodide and the caller (Array.map, a Node timer)
    registered: Registered | None = None
    """How JS got hold of the callable, when a trace knows it (a JS stack does not tell)."""


def read_entry(js_frames: list[JsFrame]) -> EntryPoint:
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
    return EntryPoint(kind, caller, via)


def _callback_source(entry: EntryPoint) -> str:
    """Who called the Python function when no user JS code did it directly."""
    if entry.via is not None:
        name = entry.via.function
        if "Timeout" in name or "processTimers" in name:
            return "a Node timer (setTimeout/setInterval)"
        if "Immediate" in name:
            return "Node's setImmediate"
        return f"the built-in {name}"
    return "the JS event loop (an event listener, a timer or another callback; no JS code of yours is on the stack)"


def describe_entry(entry: EntryPoint, function: str) -> str:
    """How the entry called the Python function `function`, in words (with the JS location when known)."""
    if entry.kind == "runPython":
        at = f" at {entry.caller.location}" if entry.caller else ""
        return f"`pyodide.runPython(...)`{at} runs code synchronously"
    if entry.kind == "call" and entry.caller is not None and entry.via is None:
        return (
            f"JS called the Python function `{function}` directly at {entry.caller.location} "
            "(a synchronous PyProxy call)"
        )
    if entry.kind == "call" and entry.registered is not None:
        registered = entry.registered
        at = f" at {registered.location}" if registered.location else ""
        return (
            f"`{function}` was registered as a JS callback with {registered.describe()}{at}, and JS called it "
            "back synchronously"
        )
    if entry.kind == "call":
        at = f" at {entry.caller.location}" if entry.caller and entry.via else ""
        return f"`{function}` was called synchronously as a JS callback by {_callback_source(entry)}{at}"
    return f"`{function}` was called synchronously from JS"
