"""How accurately the CPU samples split Python's time: prints, for an app whose CPU time splits in known proportions,
each function's sampled share, the true share and the error, per run.

    python benchmarks/accuracy.py [--runs 3] [--interval 1]

The app runs under `jspiprof run` (sampling every `--interval` ms): three functions with identical loop bodies and
iteration counts in the proportions 50 : 30 : 20, called in turn for many rounds. A function's sampled share is its
total time (`jspiprof stats --json`, `cpu.functions`) over the three functions' sum. Goal: every share within 3 points.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TRUE_SHARES = {"half": 0.5, "three_tenths": 0.3, "one_fifth": 0.2}
GOAL_POINTS = 3.0

APP = """
def half(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

def three_tenths(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

def one_fifth(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

for _ in range(40):
    half(50000)
    three_tenths(30000)
    one_fifth(20000)
"""


def sampled_shares(folder: Path, interval_ms: float) -> tuple[dict[str, float], int]:
    """Run the app under jspiprof in `folder`; each function's share of the three's sampled time, and the samples."""
    jspiprof = [sys.executable, "-m", "jspiprof"]
    subprocess.run(
        [*jspiprof, "run", "--sample-interval", str(interval_ms), "app.py"], cwd=folder, check=True, capture_output=True
    )
    done = subprocess.run(
        [*jspiprof, "stats", "--json", "jspiprof-trace.jsonl"], cwd=folder, check=True, capture_output=True, text=True
    )
    cpu = json.loads(done.stdout)["cpu"]
    totals = {f["function"]: f["total_ms"] for f in cpu["functions"] if f["function"] in TRUE_SHARES}
    whole = sum(totals.values()) or 1.0
    return {name: totals.get(name, 0.0) / whole for name in TRUE_SHARES}, cpu["samples"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the app, each in a fresh jspiprof run")
    parser.add_argument("--interval", type=float, default=1.0, help="sampling interval in ms")
    args = parser.parse_args()
    worst = 0.0
    print(f"sampling every {args.interval:g} ms; machine load average {os.getloadavg()[0]:.1f}")
    print(f"{'run':<5}{'samples':>9}" + "".join(f"{name:>24}" for name in TRUE_SHARES))
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="jspiprof-accuracy-") as scratch:
            (Path(scratch) / "app.py").write_text(APP)
            shares, samples = sampled_shares(Path(scratch), args.interval)
        cells = []
        for name, truth in TRUE_SHARES.items():
            error = 100 * (shares[name] - truth)
            worst = max(worst, abs(error))
            cells.append(f"{100 * shares[name]:5.1f}% (true {100 * truth:.0f}%, {error:+.1f})")
        print(f"{run:<5}{samples:>9}" + "".join(f"{cell:>24}" for cell in cells))
    verdict = "met" if worst <= GOAL_POINTS else "NOT met"
    print(f"largest error: {worst:.1f} points; goal <= {GOAL_POINTS:g} points: {verdict}")


if __name__ == "__main__":
    main()
