"""Reading the Python side of a traceback: the user's site, the chain of calls, the function JS called, the blocking
API that needed to suspend, and where Python was re-entered from JS."""

from __future__ import annotations

import re

from jspiprof.in_pyodide.diagnose.parsing import URLLIB3_TEXT, PyFrame


def blocking_api(frames: list[PyFrame], messages: list[str]) -> tuple[str, PyFrame | None] | None:
    """The blocking API that needed to suspend (asyncio.run, run_until_complete, urllib3) and the user frame that
    called it."""
    for position, frame in enumerate(frames):
        name = frame.function.rsplit(".", 1)[-1]
        is_asyncio_run = (frame.file.endswith("webloop.py") and name == "_run") or (
            frame.file.endswith("asyncio/runners.py") and name == "run"
        )
        if is_asyncio_run:
            return "asyncio.run", user_frame_before(frames, position)
        if name == "run_until_complete" and frame.library:
            return "loop.run_until_complete", user_frame_before(frames, position)
        if "urllib3/" in frame.file or "requests/" in frame.file:
            return ("requests" if "requests/" in frame.file else "urllib3"), user_frame_before(frames, position)
    if any(URLLIB3_TEXT in message for message in messages):
        return "urllib3", user_frame_before(frames, len(frames))
    return None


def user_frame_before(frames: list[PyFrame], position: int) -> PyFrame | None:
    return next((frame for frame in reversed(frames[:position]) if not frame.library and not frame.is_js), None)


def python_chain(frames: list[PyFrame]) -> list[str]:
    """The Python frames from the entry down to the call that needed to suspend, without Pyodide's and jspiprof's
    machinery."""
    return [frame.describe() for frame in frames if "/_pyodide/" not in frame.file and "/jspiprof/" not in frame.file]


def reentry_boundary(frames: list[PyFrame]) -> int | None:
    """The index of the innermost frame that its caller did not call directly (its source line does not name it).

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


def user_site(frames: list[PyFrame]) -> PyFrame | None:
    """The deepest frame of user code (the line that led to the failure)."""
    return next((frame for frame in reversed(frames) if not frame.library and not frame.is_js), None)


def entry_function(frames: list[PyFrame]) -> PyFrame | None:
    """The outermost user frame: the Python function JS called (`<module>` for runPython code)."""
    return next(
        (frame for frame in frames if not frame.library and not frame.is_js and "/_pyodide/" not in frame.file), None
    )
