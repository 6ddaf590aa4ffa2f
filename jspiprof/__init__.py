"""jspiprof: a profiler and debugging toolkit for JSPI stack switching in Pyodide.

This package's top level imports only the standard library: it is also imported inside Pyodide.
"""

__version__ = "0.1.0"

from jspiprof.in_pyodide.probe import is_recording, profile, start, stop

__all__ = ["__version__", "is_recording", "profile", "start", "stop"]
