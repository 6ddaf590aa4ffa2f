"""The JS caller of an entry costs ~10-30 µs to read, so the hook reads it for a sample of the entries from each kind
and callable, and always where a diagnosis needs it: at a failed switch, or when a synchronous entry throws. The
trace says which entries were not read, and `stats` says the callers are a sample (real Pyodide under Node 26)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hook_scripts import node_script

from jspiprof.trace import read_trace

BODY = """\
for (let i = 0; i < 600; i++) await pyodide.runPythonAsync("1");  // per event
pyodide.runPython("import asyncio\\nfrom pyodide.ffi import run_sync\\ndef wait():\\n    run_sync(asyncio.sleep(0))");
for (let i = 0; i < 200; i++) pyodide.runPython("1");
for (let i = 0; i < 5; i++) try { pyodide.runPython("wait()"); } catch {}  // failed switch
pyodide.runPython("def square(x):\\n    if x < 0:\\n        raise ValueError(x)\\n    return x * x");
const square = pyodide.globals.get("square");
for (let i = 0; i < 200; i++) square(i);
for (let i = 0; i < 5; i++) try { square(-1); } catch {}  // threw
"""


def line_in(script: Path, marker: str) -> str:
    """`file-URL:line` of the script line that ends with `// marker`."""
    for number, text in enumerate(script.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"// {marker}"):
            return f"{script.as_uri()}:{number}"
    raise AssertionError(f"no line marked {marker}")


def test_callers_are_read_for_a_sample_of_entries_and_for_every_failure(
    jspiprof_runtime, tmp_path: Path, run_cli
) -> None:
    script = tmp_path / "driver.mjs"
    script.write_text(node_script(jspiprof_runtime, tmp_path / "trace.jsonl", "{}", BODY))
    done = subprocess.run([str(jspiprof_runtime.node), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    trace = read_trace(tmp_path / "trace.jsonl")
    entries = list(trace.entries.values())

    per_event = [entry for entry in entries if entry.kind == "runPythonAsync"]
    read = [entry for entry in per_event if entry.caller_sampled]
    assert len(per_event) == 600
    assert {entry.caller for entry in read} == {line_in(script, "per event")}
    assert 16 <= len(read) <= 16 + 30, "the first 16, then about one in 64 of the 584 others"
    assert {entry.caller for entry in per_event if not entry.caller_sampled} == {None}

    failed_entries = [trace.entries[failed.entry] for failed in trace.failed_switches]
    assert [entry.caller for entry in failed_entries] == [line_in(script, "failed switch")] * 5
    threw = [entry for entry in entries if entry.name == "square" and entry.outcome == "exception"]
    assert [entry.caller for entry in threw] == [line_in(script, "threw")] * 5

    not_sampled = sum(not entry.caller_sampled for entry in entries)
    assert not_sampled >= 584 - 30 + 2 * (200 - 30)
    stats = run_cli("stats", str(tmp_path / "trace.jsonl"), "--json")
    assert json.loads(stats.stdout)["callers_not_sampled"] == not_sampled
    text = run_cli("stats", str(tmp_path / "trace.jsonl")).stdout
    assert f"JS callers are sampled: {not_sampled:,} entries have theirs unknown" in text
