"""Provisioning and running: Node with JSPI and Pyodide from npm in the cache, PyPI wheels, `jspiprof run`'s child
process, and `jspiprof doctor`'s checks."""
