"""Start-up time of `jspiprof run` for an empty script, next to the floor (Node loading Pyodide, nothing else).

    python benchmarks/startup.py [--reps 7] [--cold]

Warm (everything cached), the modes interleaved repetition after repetition; the figures are medians of the
wall time and of the CPU time of the child processes (the CPU time is steadier on a busy machine):
- floor: Node 26 importing pyodide.mjs and awaiting loadPyodide(), nothing else;
- floor, from the snapshot: the same, loading from jspiprof's start-up snapshot (as `jspiprof run` does);
- run --no-trace: `jspiprof run --no-trace empty.py` (CLI, runtime check, Node, Pyodide, launcher);
- run: `jspiprof run empty.py`, which also records a trace and writes the report.
`--cold` also times one `jspiprof run --no-trace empty.py` with an empty JSPIPROF_HOME (npm installs Node and
Pyodide; npm's own download cache, if warm, makes this faster than a first install on a new machine).
Goal: run --no-trace / floor <= 1.0 (the snapshot more than pays for the CLI and the launcher).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jspiprof.runtime.install import SNAPSHOT_FILE, cache_home, ensure_runtime

FLOOR_JS = """
import fs from "node:fs";
const [pyodideDir, snapshot] = process.argv.slice(2);
const { loadPyodide } = await import(pyodideDir + "/pyodide.mjs");
await loadPyodide({ indexURL: pyodideDir + "/", ...(snapshot ? { _loadSnapshot: fs.readFileSync(snapshot) } : {}) });
"""


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--cold", action="store_true", help="also time one run with an empty cache")
    args = parser.parse_args()
    runtime = ensure_runtime(cache_home())
    snapshot = runtime.pyodide_dir / SNAPSHOT_FILE
    jspiprof = [sys.executable, "-m", "jspiprof", "run"]
    with tempfile.TemporaryDirectory(prefix="jspiprof-startup-") as scratch:
        folder = Path(scratch)
        (folder / "empty.py").write_text("")
        floor_file = folder / "floor.mjs"
        floor_file.write_text(FLOOR_JS)
        modes = {
            "floor": ([str(runtime.node), str(floor_file), str(runtime.pyodide_dir)], None),
            "floor, from the snapshot": (
                [str(runtime.node), str(floor_file), str(runtime.pyodide_dir), str(snapshot)],
                None,
            ),
            "run --no-trace": ([*jspiprof, "--no-trace", "empty.py"], None),
            "run": ([*jspiprof, "empty.py"], None),
        }
        for command, env in modes.values():  # fill the caches
            timed(command, folder, env)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
        for _ in range(args.reps):
            for name, (command, env) in modes.items():
                results[name].append(timed(command, folder, env))
        floor_wall = statistics.median(wall for wall, _ in results["floor"])
        floor_cpu = statistics.median(cpu for _, cpu in results["floor"])
        print(f"warm start-up, median of {args.reps} (wall s, CPU s, ratios to the floor):")
        for name, samples in results.items():
            wall = statistics.median(w for w, _ in samples)
            cpu = statistics.median(c for _, c in samples)
            ratios = f"wall x{wall / floor_wall:4.2f}  cpu x{cpu / floor_cpu:4.2f}"
            print(f"  {name:34} wall {wall:5.2f}  cpu {cpu:5.2f}   {ratios}")
        if args.cold:
            env = {"JSPIPROF_HOME": str(folder / "empty-home")}
            wall, cpu = timed([*jspiprof, "--no-trace", "empty.py"], folder, env)
            print(f"cold start-up (empty JSPIPROF_HOME, npm install included): wall {wall:5.2f}  cpu {cpu:5.2f}")


if __name__ == "__main__":
    main()
