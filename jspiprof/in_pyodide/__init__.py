"""What runs inside Pyodide: the probe the hook asks for Python stacks, busy-wait detection, the launcher of
`jspiprof run` and the explanations of failed switches.

Standard library and `pyodide` only. The hook copies this whole folder (with `jspiprof/__init__.py`) into
Pyodide's site-packages; nothing here imports the host-side packages of jspiprof.
"""
