"""Time and peak memory of `jspiprof fleet` over a folder of many traces.

    python benchmarks/fleet.py [TRACES] [SUSPENSIONS] [FOLDER]

Writes TRACES traces of SUSPENSIONS suspensions each (default 10,000 of 1,000) with benchmarks/synthetic_trace.py:
50 distinct runs (each its own seed), copied to fill the folder, then runs `jspiprof fleet FOLDER --json` in a
child process and prints its wall time, the time per trace, and its peak memory (maximum resident set size).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import synthetic_trace

DISTINCT = 50


def make_folder(folder: Path, traces: int, suspensions: int) -> int:
    """Fill `folder` with `traces` trace files; returns their total size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    distinct = [folder / f"run{number:05}.jsonl" for number in range(min(DISTINCT, traces))]
    for number, path in enumerate(distinct):
        synthetic_trace.write(suspensions + number, path)  # the seed is the count: each run differs
    for number in range(len(distinct), traces):
        shutil.copyfile(distinct[number % len(distinct)], folder / f"run{number:05}.jsonl")
    return sum(path.stat().st_size for path in folder.iterdir())


def main() -> None:
    traces = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    suspensions = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(scratch) / "fleet"
        size = make_folder(folder, traces, suspensions)
        print(f"{traces:,} traces of {suspensions:,} suspensions: {size / 1e9:.2f} GB")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "jspiprof", "fleet", str(folder), "--json"], capture_output=True, text=True
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(done.stderr)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"jspiprof fleet: {elapsed:.1f} s ({1000 * elapsed / traces:.1f} ms a trace), peak memory {peak_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
