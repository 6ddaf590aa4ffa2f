"""Explains the stack-switching failures a jspiprof trace recorded (standard library only).

Each `failed_switch` is read with its entry: the entry's kind says how JS entered Python (runPython, a direct
PyProxy call, a JS callback), its `parent` chain says whether a promising entry was running around it (then
Python -> JS -> Python re-entered synchronously), its `caller` is the JS location, a callback's `registration` is
where JS code got it (the line to change: two registrations of one function are two problems), the `path` names a
blocking API, the `reason` says when the runtime had no JSPI, and the `stack` is the Python chain. Entries that ended
with an error no failed switch explains (urllib3's own check, `run_sync(42)`, no JSPI) are read from their
error text. `time.sleep` calls that busy-waited show up as failed switches with the `busy-wait` reason.
"""

from __future__ import annotations

import re

from jspiprof.in_pyodide.diagnose import Problem
from jspiprof.in_pyodide.diagnose.classifiers import (
    NOT_AWAITABLE_FIX,
    PYODIDE_INTERNAL_FIX,
    fix_reentrant,
    no_jspi_advice,
)
from jspiprof.in_pyodide.diagnose.entry_point import EntryPoint, Registered, describe_entry
from jspiprof.in_pyodide.diagnose.fixes import entry_fix, suggested_edit
from jspiprof.in_pyodide.diagnose.parsing import NO_JSPI_TEXT, PYODIDE_BUG_TEXT, URLLIB3_TEXT, JsFrame
from jspiprof.in_pyodide.diagnose.problem import merge_repeats
from jspiprof.trace import SCHEMA, Entry, FailedSwitch, Frame, Trace

BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_BLOCKING_PATHS = {"asyncio.run": "asyncio.run", "run_until_complete": "loop.run_until_complete", "urllib3": "urllib3"}


def _js_frame(location: str | None) -> JsFrame | None:
    """A trace `caller` ("file:line") as a JS frame; None for Node's own timers and other built-in code, and when the
    line is not a line number (1 to 9 ASCII digits)."""
    if not location:
        return None
    file, _, line = location.rpartition(":")
    if not re.fullmatch(r"[0-9]{1,9}", line) or file.startswith("node:") or file in ("/timers", "<anonymous>"):
        return None
    return JsFrame("", file, int(line))


def _entry_point(entry: Entry) -> tuple[EntryPoint, str]:
    """How JS entered Python (in the text diagnosis' terms) and the Python function's name."""
    caller = _js_frame(entry.caller)
    function = entry.name or "the function"
    if entry.kind == "runPython":
        return EntryPoint("runPython", caller, None), function
    if entry.registration is not None:
        registration = entry.registration
        registered = Registered(registration.api, registration.event, registration.location)
        return EntryPoint("call", None, None, registered), function
    if entry.kind == "callback" or (entry.kind == "call" and caller is None):
        return EntryPoint("call", None, None), function
    if entry.kind == "call":
        return EntryPoint("call", caller, None), function
    return EntryPoint("promising", caller, None), function


class _Ancestry:
    """The entries around each entry (its `parent` chain), each chain walked once however many failures ask: a trace
    may nest entries thousands deep and fail thousands of times at the bottom."""

    def __init__(self, trace: Trace) -> None:
        self.entries = trace.entries
        self.outermost: dict[int, Entry | None] = {}
        self.explained: set[int] = set()

    def outermost_promising(self, entry: Entry) -> Entry | None:
        """The outermost promising entry around `entry` (None: no promising entry runs around it)."""
        chain: list[Entry] = []
        current: Entry | None = entry
        while current is not None and current.id not in self.outermost:
            chain.append(current)
            current = self.entries.get(current.parent) if current.parent is not None else None
        found = self.outermost[current.id] if current is not None else None
        for inner in reversed(chain):  # from the outermost down: each inner entry sees its parent's answer
            parent = self.entries.get(inner.parent) if inner.parent is not None else None
            found = found or (parent if parent is not None and parent.promising else None)
            self.outermost[inner.id] = found
        return self.outermost[entry.id]

    def explain(self, entry: Entry) -> None:
        """Mark `entry` and the entries around it as explained (their errors are the same failure)."""
        current: Entry | None = entry
        while current is not None and current.id not in self.explained:
            self.explained.add(current.id)
            current = self.entries.get(current.parent) if current.parent is not None else None


def _chain(frames: list[Frame]) -> list[str]:
    """The frames from the first user frame (where the entry's own code starts) down to the switch."""
    first_user = next((position for position, frame in enumerate(frames) if not frame.library), 0)
    return [f"{frame.function} ({frame.location})" for frame in frames[first_user:] if "/jspiprof/" not in frame.file]


def _location(frame: Frame | None) -> str | None:
    return frame.location if frame else None


def _site_frame(frames: list[Frame]) -> Frame | None:
    return next((frame for frame in reversed(frames) if not frame.library), None)


def _call_into_js(frames: list[Frame], callback: str | None) -> Frame | None:
    """The frame whose line called the JS code that called the Python function `callback` back: the frame just outside
    that function's outermost frame."""
    position = next((position for position, frame in enumerate(frames) if frame.function == callback), None)
    return frames[position - 1] if position else None


def _runtime(trace: Trace) -> str:
    runtime = trace.header.runtime
    return f"node {runtime.host_version}" if runtime.host == "node" else runtime.host_version


def _failed_switch(trace: Trace, ancestry: _Ancestry, failed: FailedSwitch) -> Problem:
    frames = trace.stack_frames(failed.stack)
    chain = _chain(frames)
    site = _site_frame(frames)
    site_text = f"the call in {site.function} ({site.location})" if site else "the Python code"
    entry = trace.entries.get(failed.entry) if failed.entry is not None else None
    if failed.reason == "no-jspi":
        return Problem(
            "no-jspi",
            f"{site_text.capitalize()} needed a stack switch ({failed.path}), "
            f"but this runtime ({_runtime(trace)}) has no JSPI.",
            failed.site,
            no_jspi_advice(_runtime(trace)),
            chain,
        )
    if failed.reason not in ("sync-entry", "busy-wait"):
        return Problem(
            "pyodide-internal",
            f"Pyodide's stack switching failed with an error it calls a bug ({failed.error}) at {site_text}.",
            failed.site,
            PYODIDE_INTERNAL_FIX,
            chain,
        )
    if entry is None:
        entry_point, function = EntryPoint("unknown", None, None), "the function"
    else:
        entry_point, function = _entry_point(entry)
    entered_by = describe_entry(entry_point, function)
    location = _entry_location(entry_point) or failed.site
    outer = ancestry.outermost_promising(entry) if entry is not None else None
    reentered = outer is not None and entry is not None and not entry.promising
    if failed.reason == "busy-wait":
        if reentered:
            entered_by = (
                f"Python code running in a promising entry called JS, which called `{function}` back synchronously"
            )
        fix = fix_reentrant(None, function) if reentered else entry_fix(entry_point, function)
        return Problem(
            "busy-wait-sleep",
            f"time.sleep in {site_text.removeprefix('the call in ')} could not stack switch, so it busy-waited and "
            f"blocked the JS event loop for the whole sleep ({failed.error}); "
            f"Python was entered synchronously: {entered_by}.",
            location,
            fix + " Inside async code, use `await asyncio.sleep(t)` instead of time.sleep(t).",
            chain,
            None if reentered else suggested_edit(entry_point, function),
        )
    if reentered and entry is not None and outer is not None:
        outer_at = f" at {outer.caller}" if outer.caller else ""
        js_at = f" at {entry.caller}" if entry.caller else ""
        return Problem(
            "reentrant-sync-callback",
            f"Python code running in a promising entry ({outer.kind}{outer_at}) "
            f"called JS, and the JS code{js_at} called the Python function `{function}` back synchronously; "
            f"that inner call is a synchronous entry, so {site_text} could not stack switch ({failed.path}).",
            entry.caller or _location(_call_into_js(frames, entry.name)) or failed.site,
            fix_reentrant(None, function),
            chain,
        )
    api = _BLOCKING_PATHS.get(failed.path)
    if api is not None:
        return Problem(
            "blocking-api-from-sync",
            f"{api} in {site_text.removeprefix('the call in ')} needs to suspend until the JS event loop delivers the "
            f"result, but Python was entered synchronously: {entered_by}.",
            location,
            entry_fix(entry_point, function)
            + (" Inside async code, replace `" + api + "(coro)` with `await coro`." if api != "urllib3" else ""),
            chain,
            suggested_edit(entry_point, function),
        )
    class_id = {"runPython": "sync-runpython"}.get(entry_point.kind) or (
        "sync-pyproxy-call" if entry_point.caller is not None and entry_point.via is None else "sync-js-callback"
    )
    return Problem(
        class_id,
        f"{site_text.capitalize()} needed to stack switch ({failed.path}), "
        f"but Python was entered synchronously: {entered_by}.",
        location,
        entry_fix(entry_point, function),
        chain,
        suggested_edit(entry_point, function),
    )


def _entry_location(entry_point: EntryPoint) -> str | None:
    """Where the entry is made: its JS caller, else where JS code registered the callback."""
    if entry_point.caller is not None:
        return entry_point.caller.location
    return entry_point.registered.location if entry_point.registered else None


def _entry_error(trace: Trace, entry: Entry, known_sites: dict[int, str]) -> Problem | None:
    """A problem shown only by an entry's error (no failed switch was recorded for it)."""
    error = entry.error or ""
    entry_point, function = _entry_point(entry)
    location = _entry_location(entry_point) or entry.caller or known_sites.get(entry.id)
    if NO_JSPI_TEXT in error or (URLLIB3_TEXT in error and entry.promising):
        return Problem(
            "no-jspi",
            f"{error.splitlines()[0]} (runtime: {_runtime(trace)}).",
            location,
            no_jspi_advice(_runtime(trace)),
        )
    if URLLIB3_TEXT in error:
        return Problem(
            "blocking-api-from-sync",
            f"requests/urllib3 needs to suspend for its fetch (urllib3 said: {URLLIB3_TEXT} ...), but Python was "
            f"entered synchronously: {describe_entry(entry_point, function)}.",
            location,
            entry_fix(entry_point, function)
            + " Or use the async API directly: `await pyodide.http.pyfetch(url)` in an async def.",
            [],
            suggested_edit(entry_point, function),
        )
    awaitable = re.search(r"object (.+) is not awaitable", error)
    if awaitable and error.startswith("TypeError"):
        return Problem(
            "not-awaitable",
            f"run_sync was given an object of type {awaitable[1]}, which is not awaitable, "
            f"in the Python code entered at {location}.",
            location,
            NOT_AWAITABLE_FIX,
        )
    if PYODIDE_BUG_TEXT in error:
        return Problem(
            "pyodide-internal",
            f"Pyodide's stack switching failed with an error it calls a bug: {error}",
            location,
            PYODIDE_INTERNAL_FIX,
        )
    return None


def failed_switch_problems(trace: Trace, ancestry: _Ancestry | None = None) -> list[Problem]:
    """One problem per failed switch of the trace, in the trace's order (repeats not merged): what `diagnose_trace`
    says of each, for the insights on failed switches to reuse its class and fix."""
    ancestry = ancestry or _Ancestry(trace)
    problems: list[Problem] = []
    for failed in trace.failed_switches:
        problems.append(_failed_switch(trace, ancestry, failed))
        if failed.entry is not None and failed.reason != "busy-wait":
            ancestry.explain(trace.entries[failed.entry])
    return problems


def known_sites(trace: Trace) -> dict[int, str]:
    """For each entry, the first site known inside it (its own or a nested entry's suspensions and failed switches):
    where its Python code was, for an error that names no line."""
    sites: dict[int, str] = {}
    events = sorted(
        [(event.start_us, event.entry, event.site) for event in trace.suspensions]
        + [(failed.ts_us, failed.entry, failed.site) for failed in trace.failed_switches]
    )
    for _, entry_id, site in events:
        # Each chain is walked up to the first entry that has a site already (its outer entries have one too).
        while entry_id is not None and site is not None and entry_id not in sites:
            sites[entry_id] = site
            entry = trace.entries.get(entry_id)
            entry_id = entry.parent if entry is not None else None
    return sites


def diagnose_trace(trace: Trace) -> list[Problem]:
    """The stack-switching problems a trace shows, each once (repeats are counted in the message). Each names a
    location whenever the trace knows a site."""
    ancestry = _Ancestry(trace)
    problems = failed_switch_problems(trace, ancestry)
    sites = known_sites(trace)
    errors = [
        entry for entry in trace.entries.values() if entry.outcome == "exception" and entry.id not in ancestry.explained
    ]
    passed_up = {(inner.parent, inner.error) for inner in errors}
    for entry in errors:
        # An error passes up through the entries around it: keep only the innermost entry that had it.
        if (entry.id, entry.error) in passed_up:
            continue
        problem = _entry_error(trace, entry, sites)
        already_no_jspi = any(found.class_id == "no-jspi" for found in problems)  # one runtime, one advice
        if problem is not None and not (problem.class_id == "no-jspi" and already_no_jspi):
            problems.append(problem)
    if (
        trace.header.runtime.jspi == "none"
        and not any(problem.class_id == "no-jspi" for problem in problems)
        and problems
    ):
        problems.append(
            Problem("no-jspi", f"This runtime ({_runtime(trace)}) has no JSPI.", None, no_jspi_advice(_runtime(trace)))
        )
    known = (event.site for event in (*trace.failed_switches, *trace.suspensions) if event.site is not None)
    first_site = next(known, None)
    for problem in problems:
        problem.location = problem.location or first_site
    return merge_repeats(problems)


def is_trace(start: bytes) -> bool:
    """True when `start`, a file's first bytes (a UTF-8 byte order mark allowed), begins with a trace header line."""
    first = start.removeprefix(BYTE_ORDER_MARK).split(b"\n", 1)[0]
    return first.startswith(b"{") and b'"header"' in first and SCHEMA.encode() in first
