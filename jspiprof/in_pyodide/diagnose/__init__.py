"""Explains stack-switching failures in plain words, with the exact code change that fixes each one.

Input is plain error text (a Python traceback and/or a JS stack as a browser console or a Node log prints
it), or an exception object inside Pyodide. Standard library only, so it also runs inside Pyodide.

The class of a problem comes from the structure of what was printed (`parsing`): the family of the error message,
the Pyodide JS frames that show how JavaScript entered Python (`entry_point`: `runPython`, a PyProxy call, a
promising call), the JS frame that called them (user code, a native `Array.map`, a Node timer, nothing = the
browser's event loop), JS frames inside the Python traceback (Python -> JS -> Python), and the Python frames
(`python_stack`: `asyncio.run`, `run_until_complete`, urllib3's emscripten fetch). `classifiers` holds the ordered
list of classifiers, each with its fix text; `fixes` the fixes shared by the synchronous-entry classes.
"""

from __future__ import annotations

import re
import traceback

from jspiprof.in_pyodide.diagnose.classifiers import diagnose_report
from jspiprof.in_pyodide.diagnose.parsing import parse_text
from jspiprof.in_pyodide.diagnose.problem import CLASSES, Problem, merge_repeats

__all__ = ["CLASSES", "Problem", "add_notes", "diagnose_text", "explain"]

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


def explain(error: BaseException) -> list[Problem]:
    """The stack-switching problems an exception shows (use inside Pyodide on a caught exception)."""
    return diagnose_text("".join(traceback.format_exception(error)))


def add_notes(error: BaseException) -> list[Problem]:
    """Attach the diagnosis to `error` as notes (shown under its traceback); returns the problems found."""
    problems = explain(error)
    for problem in problems:
        error.add_note("jspiprof diagnose: " + problem.render())
    return problems
