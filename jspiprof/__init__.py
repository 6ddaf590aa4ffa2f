"""jspiprof: a profiler and debugging toolkit for JSPI stack switching in Pyodide.

This package's top level imports only the standard library: it is also imported inside Pyodide. What runs in a host
Jupyter kernel (`dashboard`, `%load_ext jspiprof`) is imported when first called.
"""

__version__ = "0.1.0"

from typing import Any

from jspiprof.in_pyodide.probe import is_recording, profile, start, stop


def dashboard(trace: Any) -> Any:
    """An interactive view of a trace (a path, a `Trace` or its `Tables`) for Jupyter: filter by entry kind, path, site
    and time window, and the numbers, charts and tables follow (`jspiprof.notebook.dashboard`)."""
    from jspiprof.notebook.dashboard import dashboard as host_dashboard

    return host_dashboard(trace)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jspiprof`: adds `%jspiprof_report TRACE` and `%%jspiprof` (`jspiprof.notebook.magics`)."""
    from jspiprof.notebook.magics import load

    load(ipython)


__all__ = ["__version__", "dashboard", "is_recording", "load_ipython_extension", "profile", "start", "stop"]
