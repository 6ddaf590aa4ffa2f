"""How fast `jspiprof report` turns a trace into its HTML report, against merely parsing the trace's JSON.

    python benchmarks/report_speed.py [--rounds 5] [SIZES...]  # default: 10000 100000 1000000 suspensions

For each size, a synthetic trace (synthetic_trace.py) is written once into a temporary folder, then, in rounds,
each in a fresh Python process, side by side:
- parse: read the file and parse every line into Python objects with the fastest JSON parser, the cyclic garbage
  collector off (the floor: any reader must at least do this; with the collector on, parsing 10^5-10^6 lines takes
  twice as long): orjson (`loads` line by line) and msgspec (untyped `decode_lines` of the whole file) are both
  timed, and the faster is the round's floor;
- report: `jspiprof report TRACE -o report.html` in-process (read_trace, tables, insights, render, write),
  timed after the imports (difflib's too, which click imports when it parses "-o"), with its peak memory (max RSS
  of the process) and the report's size.
A round runs the three in an order that rotates from round to round. The ratio printed is the median over rounds
of report / floor within one round (run back to back, the two share that moment's speed of this noisy machine),
with the lowest and highest round; the goal is <= 3. Also printed: the median times, the time
`jspiprof.trace.read_trace` alone takes (the part of the report spent reading and checking every line, measured
once), and the command's wall time (Python start-up and the imports of pandas and plotly included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
GOAL = 3.0

_PARSE = """
import gc, sys, time
gc.disable()  # as jspiprof's reader does: the cyclic collector's passes over millions of new objects find nothing
if sys.argv[2] == "orjson":
    from orjson import loads
    start = time.perf_counter()
    with open(sys.argv[1], "rb") as file:
        events = [loads(line) for line in file]
else:
    from msgspec.json import Decoder
    start = time.perf_counter()
    with open(sys.argv[1], "rb") as file:
        events = Decoder().decode_lines(file.read())
print(time.perf_counter() - start)
"""
PARSERS = ("orjson", "msgspec")
"""The fastest JSON parsers for Python: orjson line by line, msgspec a whole file of lines at once (untyped)."""

_READ = """
import sys, time
from jspiprof.trace import read_trace
start = time.perf_counter()
read_trace(sys.argv[1])
print(time.perf_counter() - start)
"""

_REPORT = """
import sys, time
# click imports difflib on parsing "-o" (its parser tries "-o" as a long option first, and its error suggests names)
import difflib
from click.testing import CliRunner
from jspiprof.cli import main
start = time.perf_counter()
result = CliRunner().invoke(main, ["report", sys.argv[1], "-o", sys.argv[2]])
assert result.exit_code == 0, result.output
print(time.perf_counter() - start)
"""


def _child(code: str, *args: str) -> tuple[str, float, float]:
    """Run `code` in a fresh Python; returns (its stdout, wall seconds, peak RSS in MiB)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"benchmark child failed with status {process.returncode}")
    return output, time.perf_counter() - started, usage.ru_maxrss / 1024


def main(sizes: list[int], rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="jspiprof-bench-") as folder:
        print(
            f"{'suspensions':>12} {'trace MB':>9} {'parse s':>8} {'read s':>7} {'report s':>9} {'ratio':>6} "
            f"{'range':>11} {'command s':>10} {'peak MiB':>9} {'report MB':>10}"
        )
        for size in sizes:
            trace = Path(folder) / f"trace-{size}.jsonl"
            # in its own process: a child's peak memory counts its parent's at the fork (a 10^6 trace is ~1 GB of lines)
            subprocess.run([sys.executable, str(HERE / "synthetic_trace.py"), str(size), str(trace)], check=True)
            output = Path(folder) / f"report-{size}.html"
            floors, reports, ratios, walls, peaks = [], [], [], [], []
            for round_ in range(rounds):
                times: dict[str, float] = {}
                for job in _rotated(["report", *PARSERS], round_):
                    if job == "report":
                        output.unlink(missing_ok=True)  # each round writes a new file, as the command does
                        report_out, wall, peak = _child(_REPORT, str(trace), str(output))
                        times[job] = float(report_out)
                        walls.append(wall)
                        peaks.append(peak)
                    else:
                        times[job] = float(_child(_PARSE, str(trace), job)[0])
                floor = min(times[parser] for parser in PARSERS)
                floors.append(floor)
                reports.append(times["report"])
                ratios.append(times["report"] / floor)
            read_out, _, _ = _child(_READ, str(trace))
            ratio_range = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(
                f"{size:>12,} {trace.stat().st_size / 1e6:>9.1f} {statistics.median(floors):>8.3f} "
                f"{float(read_out):>7.2f} {statistics.median(reports):>9.2f} {statistics.median(ratios):>6.2f} "
                f"{ratio_range:>11} "
                f"{statistics.median(walls):>10.2f} {max(peaks):>9.0f} {output.stat().st_size / 1e6:>10.1f}",
                flush=True,
            )
        print(
            f"median of {rounds} rounds; parse: the faster of {' and '.join(PARSERS)} (untyped) in each round; "
            f"goal: report / parse <= {GOAL:g}"
        )


def _rotated(jobs: list[str], by: int) -> list[str]:
    """`jobs` in an order that changes from round to round, so that none always runs first."""
    by %= len(jobs)
    return jobs[by:] + jobs[:by]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="report time / parse time, on synthetic traces")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of side-by-side runs per size (default: 5)")
    parser.add_argument(
        "sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000], help="suspensions per trace"
    )
    args = parser.parse_args()
    main(args.sizes, args.rounds)
