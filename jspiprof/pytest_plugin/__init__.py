"""jspiprof's pytest plugin for pytest-pyodide: a trace per test, stack-switching budgets, JSPI set up.

The plugin itself is `plugin.py` (registered as the `pytest11` entry point `jspiprof`).
"""
