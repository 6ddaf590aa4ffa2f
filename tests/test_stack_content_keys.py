"""A page that runs `runPythonAsync(code)` per event gets new code objects every call; the hook recognises their
stacks by the code's content instead of asking the Python probe each time, and must never mistake code of other
lines for code seen before (real Pyodide under Node 26)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hook_scripts import node_script

from jspiprof.trace import read_trace

BODY = """\
await pyodide.runPythonAsync(
  "from pyodide.ffi import run_sync\\nasync def finished():\\n    return 1\\ndef handle(i):\\n    run_sync(finished())",
  { filename: "app.py" },
);
for (let i = 0; i < 30; i++) {
  await pyodide.runPythonAsync(`handle(${i})`, { filename: "event.py" });
  await pyodide.runPythonAsync(`\\n\\nhandle(${i})`, { filename: "event.py" });  // the same call, on line 3
}
"""


def test_code_compiled_per_event_keeps_its_own_lines(jspiprof_runtime, tmp_path: Path) -> None:
    script = tmp_path / "driver.mjs"
    script.write_text(node_script(jspiprof_runtime, tmp_path / "trace.jsonl", "{ sample: false }", BODY))
    done = subprocess.run([str(jspiprof_runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    trace = read_trace(tmp_path / "trace.jsonl")
    event_lines = [
        ([trace.frames[frame].line for frame in s.stack if trace.frames[frame].file == "event.py"], s.site, s.path)
        for s in trace.suspensions
    ]
    assert event_lines == [([1], "app.py:5", "run_sync"), ([3], "app.py:5", "run_sync")] * 30
