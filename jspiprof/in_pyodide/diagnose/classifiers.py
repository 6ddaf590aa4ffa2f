"""Classifying one printed error: an ordered list of small classifiers, each next to the fix text of its class.

`diagnose_report(report)` asks each classifier of `CLASSIFIERS` in turn; the first that recognises the error gives
the problem. The order matters: a Pyodide bug or a missing JSPI explains everything after it, and a synchronous
entry is named last, once no more precise class (re-entry, a blocking API) applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from jspiprof.in_pyodide.diagnose.entry_point import EntryPoint, describe_entry, read_entry
from jspiprof.in_pyodide.diagnose.fixes import entry_fix, suggested_edit
from jspiprof.in_pyodide.diagnose.parsing import (
    NO_JSPI_TEXT,
    PYODIDE_BUG_TEXT,
    SYNC_ENTRY_TEXT,
    URLLIB3_TEXT,
    ErrorReport,
    PyFrame,
)
from jspiprof.in_pyodide.diagnose.problem import Problem
from jspiprof.in_pyodide.diagnose.python_stack import (
    blocking_api,
    entry_function,
    python_chain,
    reentry_boundary,
    user_site,
)


@dataclass
class Failure:
    """One printed error, read for the classifiers: its messages, how JS entered Python and the Python side."""

    report: ErrorReport
    text: str
    """The messages of its chained tracebacks, one per line."""
    entry: EntryPoint
    site: PyFrame | None
    chain: list[str]
    entered: PyFrame | None
    """The outermost user frame: the Python function JS called (`<module>` for runPython code)."""
    function: str
    """The name of that function, or "the function"."""

    @classmethod
    def read(cls, report: ErrorReport) -> Failure:
        frames = report.frames
        entry = read_entry(report.js_frames)
        if entry.kind == "unknown":  # no JS stack was printed: Pyodide's eval frames still tell runPython(Async)
            evaluators = {frame.function for frame in frames if "/_pyodide/" in frame.file}
            launched = any(frame.file.endswith("/jspiprof/in_pyodide/launcher.py") for frame in frames)
            if "eval_code_async" in evaluators or launched:  # `jspiprof run` enters through runPythonAsync
                entry.kind = "promising"
            elif "eval_code" in evaluators:
                entry.kind = "runPython"
        entered = entry_function(frames)
        function = entered.function if entered and entered.function != "<module>" else "the function"
        text = "\n".join(report.messages)
        return cls(report, text, entry, user_site(frames), python_chain(frames), entered, function)

    @property
    def site_text(self) -> str:
        return f"the call in {self.site.describe()}" if self.site else "the Python code"

    @property
    def where(self) -> str | None:
        """The user's Python line, else the JS caller."""
        if self.site is not None:
            return self.site.location
        return self.entry.caller.location if self.entry.caller else None

    @property
    def could_not_switch(self) -> bool:
        """The error says a stack switch was impossible in a synchronous entry (or urllib3 said so for it)."""
        return SYNC_ENTRY_TEXT in self.text or URLLIB3_TEXT in self.text


# --- pyodide-internal ------------------------------------------------------------------------------------

PYODIDE_INTERNAL_FIX = (
    "Report it at Pyodide's GitHub issues (it is a bug in Pyodide, not in your code) with: the Pyodide version "
    "(`pyodide.version`), the runtime and its version (`node --version` or the browser's user agent), how Python "
    "was entered (runPython, runPythonAsync, callPromising, a PyProxy call, an event handler), the full traceback "
    "with its JS stack, and a minimal script that reproduces it. Meanwhile, enter Python once through "
    "runPythonAsync or callPromising and avoid reaching into Pyodide's private `_module`/`_api` state."
)


def pyodide_internal(failure: Failure) -> Problem | None:
    """A SystemError that Pyodide's stack switching calls a bug in itself."""
    if PYODIDE_BUG_TEXT not in failure.text or "SystemError" not in {part.error_type for part in failure.report.parts}:
        return None
    first_line = failure.text.strip().splitlines()[0] if failure.text.strip() else ""
    return Problem(
        "pyodide-internal",
        f"Pyodide's stack switching hit an internal error it calls a bug: {first_line}"
        + (f" It happened at {failure.where}." if failure.where else ""),
        failure.where,
        PYODIDE_INTERNAL_FIX,
        failure.chain,
    )


# --- no-jspi ---------------------------------------------------------------------------------------------

NO_JSPI_ADVICE = (
    "Use a runtime with JSPI (WebAssembly JavaScript Promise Integration). Node: 24.20+, 25 and 26 have it on by "
    "default (Node 26 refuses --experimental-wasm-jspi with `bad option`: pass no flag); 24.0-24.19 need "
    "`node --experimental-wasm-jspi`; Node 22 and older have no standard JSPI: upgrade. Chrome/Chromium/Edge 137+ "
    "have it on by default. Firefox: set `javascript.options.wasm_js_promise_integration` to true in "
    "about:config. Safari has no JSPI: there use `await` (async def, runPythonAsync, pyfetch) instead of "
    'run_sync/time.sleep/requests. Check with `"Suspending" in WebAssembly`, or run `jspiprof doctor`.'
)


def _version(runtime: str) -> tuple[int, ...]:
    """The first two numbers of a runtime's version (at most 6 digits each: a version, not any number)."""
    return tuple(int(part) for part in re.findall(r"\d{1,6}", runtime)[:2])


def no_jspi_advice(runtime: str | None) -> str:
    """What to install or change to get JSPI, starting with the runtime that was seen (`node v20.1.0`, a user agent)."""
    if runtime and runtime.startswith("node "):
        version = _version(runtime)
        if version < (24, 0):
            first = f"This is Node {runtime[5:]}: upgrade to Node 24.20+ or 26 (JSPI on by default)."
        elif version < (24, 20):
            first = f"This is Node {runtime[5:]}: start it with `node --experimental-wasm-jspi`, or upgrade to 24.20+."
        else:
            first = (
                f"This is Node {runtime[5:]}, which has JSPI: check that no flag such as --no-experimental-wasm-jspi "
                "turns it off."
            )
        return first + " " + NO_JSPI_ADVICE
    chrome = re.search(r"Chrome/(\d{1,6})", runtime or "")
    if chrome:
        major = int(chrome[1])
        if major < 137:
            first = f"This is Chrome {major}: update to 137 or newer."
        else:
            first = (
                f"This is Chrome {major}, which has JSPI: check that it was not started with "
                "--js-flags=--no-experimental-wasm-jspi or --disable-features=WebAssemblyJSPromiseIntegration."
            )
        return first + " " + NO_JSPI_ADVICE
    if runtime and "Firefox/" in runtime:
        return (
            "This is Firefox: set `javascript.options.wasm_js_promise_integration` to true in about:config. "
            + NO_JSPI_ADVICE
        )
    return NO_JSPI_ADVICE


def no_jspi(failure: Failure) -> Problem | None:
    """The runtime has no JSPI: Pyodide said so, or urllib3 did where only a missing JSPI explains it."""
    runtime = failure.report.runtime
    old_node = bool(runtime and runtime.startswith("node ") and _version(runtime) < (24,))
    urllib3 = URLLIB3_TEXT in failure.text
    if NO_JSPI_TEXT not in failure.text and not (urllib3 and (failure.entry.kind == "promising" or old_node)):
        return None
    what = "urllib3 (requests) could not suspend" if urllib3 else "A stack switch was needed"
    site = failure.site
    return Problem(
        "no-jspi",
        f"{what}, but this JavaScript runtime{f' ({runtime})' if runtime else ''} has no "
        f"WebAssembly stack switching (JSPI)" + (f"; the call that needed it: {site.describe()}." if site else "."),
        failure.where,
        no_jspi_advice(runtime),
        failure.chain,
    )


# --- not-awaitable ---------------------------------------------------------------------------------------

NOT_AWAITABLE_FIX = (
    "Pass run_sync something it can wait for: a coroutine object (`run_sync(load())`, not `run_sync(load)`), "
    "an asyncio Future/Task, or a JS Promise (`run_sync(fetch(url))`). If the value is already computed, use it "
    "directly without run_sync."
)


def not_awaitable(failure: Failure) -> Problem | None:
    """run_sync was given something it cannot wait for."""
    given = re.search(r"^object (.+) is not awaitable$", failure.text, re.MULTILINE)
    if failure.report.error_type != "TypeError" or given is None:
        return None
    site = failure.site
    return Problem(
        "not-awaitable",
        f"run_sync was given an object of type {given[1]}, which is not awaitable"
        + (f", in {site.describe()}." if site else "."),
        site.location if site else None,
        NOT_AWAITABLE_FIX,
        failure.chain,
    )


# --- reentrant-sync-callback -----------------------------------------------------------------------------


def fix_reentrant(js_function: str | None, function: str) -> str:
    """The fix when JS code (the JS function `js_function`, if known) called the Python callback `function` back."""
    if js_function is None:
        return (
            f"The JS code that calls the Python callback `{function}` calls it synchronously, so that callback is a "
            "new synchronous entry. Either make that JS function async and have it "
            "`await callback.callPromising(...)`, "
            f"then `await` it from Python; or make `{function}` an `async def` and have JS collect and await the "
            "Promises it returns; or guard the blocking call in the callback: `if can_run_sync(): run_sync(aw)` else "
            "schedule it with `asyncio.ensure_future(aw)`."
        )
    js_name = js_function.rsplit(".", 1)[-1]
    return (
        f"The JS function `{js_function}` calls the Python callback `{function}` synchronously, so that callback is a "
        f"new synchronous entry. Either make JS wait for it: in `{js_function}` call "
        f"`await callback.callPromising(item)` (making `{js_function}` async) and in Python `await js.{js_name}(...)`; "
        "or make "
        f"`{function}` an `async def` and have JS collect and await the Promises it returns; or guard the blocking "
        "call in the callback: `if can_run_sync(): run_sync(aw)` else schedule it with `asyncio.ensure_future(aw)`."
    )


def reentrant_through_js_frame(failure: Failure) -> Problem | None:
    """The traceback shows Python calling a JS function that called a Python function back synchronously."""
    frames = failure.report.frames
    js_in_python = [position for position, frame in enumerate(frames) if frame.is_js]
    if not failure.could_not_switch or not js_in_python:
        return None
    after_js = frames[js_in_python[-1] + 1 :]
    if all(frame.is_js for frame in after_js):
        return None
    js_frame = frames[js_in_python[-1]]
    callback = entry_function(after_js)
    callback_name = callback.function if callback else "the callback"
    return Problem(
        "reentrant-sync-callback",
        f"Python called the JS function `{js_frame.function}` ({js_frame.location}), which called the Python "
        f"function `{callback_name}` back synchronously; that inner call is a synchronous entry, so "
        f"{failure.site_text} could not stack switch even though the outer code was entered promising.",
        js_frame.location,
        fix_reentrant(js_frame.function, callback_name),
        failure.chain,
    )


def reentrant_in_promising_entry(failure: Failure) -> Problem | None:
    """Entered promising, yet a synchronous entry failed: Python called JS (here with no JS frame in the traceback,
    e.g. a function made by run_js), which called a Python function back synchronously."""
    if failure.entry.kind != "promising" or SYNC_ENTRY_TEXT not in failure.text:
        return None
    frames = failure.report.frames
    boundary = reentry_boundary(frames)
    outer, callback = (frames[boundary - 1], frames[boundary]) if boundary else (None, failure.entered)
    callback_name = callback.function if callback else "the callback"
    where = f" at {outer.describe()}" if outer else ""
    return Problem(
        "reentrant-sync-callback",
        f"Python was entered promising, but the Python function `{callback_name}` was called back synchronously by "
        f"JS code that Python called{where}; that inner call is a synchronous entry, so {failure.site_text} could "
        "not stack switch.",
        outer.location if outer else (failure.site.location if failure.site else None),
        fix_reentrant(None, callback_name),
        failure.chain,
    )


# --- blocking-api-from-sync ------------------------------------------------------------------------------


def blocking_api_from_sync(failure: Failure) -> Problem | None:
    """asyncio.run, run_until_complete or urllib3 (requests) needed to suspend in a synchronous entry."""
    if not failure.could_not_switch:
        return None
    report = failure.report
    blocking = blocking_api(report.frames, report.messages) or blocking_api(
        [frame for part in report.parts for frame in part.frames], report.messages
    )
    if blocking is None:
        return None
    api, caller = blocking
    entry, function = failure.entry, failure.function
    extra = f" ({URLLIB3_TEXT} ...)" if api in ("urllib3", "requests") else ""
    call_site = f" in {caller.describe()}" if caller else ""
    fix = entry_fix(entry, function)
    if api in ("asyncio.run", "loop.run_until_complete"):
        fix += f" Inside async code, replace `{api}(coro)` with `await coro`."
    else:
        fix += " Or use the async API directly: `await pyodide.http.pyfetch(url)` in an async def."
    return Problem(
        "blocking-api-from-sync",
        f"{api}{call_site} needs to suspend until the JS event loop delivers the result{extra}, but Python was "
        f"entered synchronously: {describe_entry(entry, function)}.",
        _entry_location(failure) or (caller.location if caller else None),
        fix,
        failure.chain,
        suggested_edit(entry, function),
    )


# --- sync-runpython, sync-pyproxy-call, sync-js-callback -------------------------------------------------


def _entry_location(failure: Failure) -> str | None:
    """Where the entry is made: the JS caller, else the Python function JS called."""
    if failure.entry.caller is not None:
        return failure.entry.caller.location
    return failure.entered.location if failure.entered else None


def _sync_class(failure: Failure) -> str:
    entry = failure.entry
    if entry.kind == "runPython":
        return "sync-runpython"
    if entry.kind == "call" and entry.caller is not None and entry.via is None:
        return "sync-pyproxy-call"
    if entry.kind == "call":
        return "sync-js-callback"
    if failure.entered is not None and failure.entered.function == "<module>":
        return "sync-runpython"  # no JS stack printed; top-level code that was run synchronously
    return "sync-pyproxy-call" if entry.kind == "unknown" else "sync-js-callback"


def sync_entry(failure: Failure) -> Problem | None:
    """A stack switch was needed where JS entered Python synchronously (the fix: see `fixes.entry_fix`)."""
    if not failure.could_not_switch:
        return None
    entry, function = failure.entry, failure.function
    return Problem(
        _sync_class(failure),
        f"{failure.site_text.capitalize()} needed to stack switch, but Python was entered synchronously: "
        f"{describe_entry(entry, function)}.",
        _entry_location(failure),
        entry_fix(entry, function),
        failure.chain,
        suggested_edit(entry, function),
    )


CLASSIFIERS: tuple[Callable[[Failure], Problem | None], ...] = (
    pyodide_internal,
    no_jspi,
    not_awaitable,
    reentrant_through_js_frame,
    reentrant_in_promising_entry,
    blocking_api_from_sync,
    sync_entry,
)
"""The classifiers, in the order they are asked."""


def diagnose_report(report: ErrorReport) -> Problem | None:
    """The problem one printed error shows, or None when it is not a stack-switching failure."""
    failure = Failure.read(report)
    for classify in CLASSIFIERS:
        problem = classify(failure)
        if problem is not None:
            return problem
    return None
