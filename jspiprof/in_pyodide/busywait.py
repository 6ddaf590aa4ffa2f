"""Reports each `time.sleep` that could not stack switch and busy-waited instead (standard library and pyodide only).

Pyodide's `time.sleep` suspends with JSPI when the entry is promising; otherwise (a synchronous entry, or no
JSPI) it falls back to the original sleep, which spins and blocks the JS event loop for the whole sleep. That
fallback is `pyodide.webloop._orig_sleep`, looked up at each call, so wrapping it sees every busy wait.
"""

from collections.abc import Callable

from pyodide import webloop


def install(report: Callable[[float], None]) -> None:
    """Call `report(seconds)` just before each busy-waiting `time.sleep(seconds)`; installing twice is harmless."""
    busy_wait = webloop._orig_sleep
    if getattr(busy_wait, "reports_busy_wait", False):
        return

    def reported_busy_wait(seconds: float) -> None:
        report(seconds)
        busy_wait(seconds)

    reported_busy_wait.reports_busy_wait = True  # type: ignore[attr-defined]
    webloop._orig_sleep = reported_busy_wait
