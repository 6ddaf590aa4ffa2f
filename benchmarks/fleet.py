"""Time and peak memory of `jspiprof fleet` over a folder of many traces.

    python benchmarks/fleet.py [TRACES] [SUSPENSIONS] [FOLDER]

Writes TRACES traces of SUSPENSIONS suspensions each (default 10,000 of 1,000) with benchmarks/synthetic_trace.py:
50 distinct runs (each its own seed), copied to fill the folder, then runs `jspiprof fleet FOLDER --json` in a
child process and prints its wall time, the time per trace, and its peak memory (maximum resident set size).
Then the same runs as a Parquet export (`jspiprof export --format parquet` of the 50, their partitions copied) and
`jspiprof fleet` over it, where DuckDB runs the queries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import synthetic_trace

from jspiprof.analysis import tables
from jspiprof.exporters import parquet
from jspiprof.trace import read_trace

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


def make_parquet(traces_folder: Path, folder: Path, traces: int) -> int:
    """Export the distinct traces of `traces_folder` to Parquet under `folder`, their partitions copied to make
    `traces` runs; returns the export's size in bytes."""
    distinct = sorted(traces_folder.iterdir())[: min(DISTINCT, traces)]
    for path in distinct:
        parquet.write(tables(read_trace(path)), folder, path.stem)
    for number in range(len(distinct), traces):
        source = distinct[number % len(distinct)].stem
        for table in parquet.TABLES:
            shutil.copytree(folder / table / f"run={source}", folder / table / f"run=run{number:05}")
    return sum(path.stat().st_size for path in folder.rglob("*.parquet"))


def timed_fleet(folder: Path, traces: int) -> str:
    """`jspiprof fleet FOLDER --json` in a child process: its time, time per trace and peak memory."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "jspiprof", "fleet", str(folder), "--json"], stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        if status != 0:
            errors.seek(0)
            sys.exit(errors.read().decode())
    return f"{elapsed:.1f} s ({1000 * elapsed / traces:.1f} ms a trace), peak memory {usage.ru_maxrss / 1024:.0f} MB"


def main() -> None:
    traces = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    suspensions = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(scratch) / "fleet"
        size = make_folder(folder, traces, suspensions)
        print(f"{traces:,} traces of {suspensions:,} suspensions: {size / 1e9:.2f} GB")
        print(f"jspiprof fleet over the traces: {timed_fleet(folder, traces)}")
        exported = Path(scratch) / "fleet.parquet"
        size = make_parquet(folder, exported, traces)
        print(f"Parquet export of the same runs: {size / 1e9:.2f} GB")
        print(f"jspiprof fleet over the Parquet export (DuckDB): {timed_fleet(exported, traces)}")


if __name__ == "__main__":
    main()
