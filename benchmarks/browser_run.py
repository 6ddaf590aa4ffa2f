"""Wall time of `jspiprof run --no-trace tests/fixtures/small_app.py` under Node and with `--browser` in Chromium and
Firefox, on the page's main thread and in a module worker, next to Node's.

    python benchmarks/browser_run.py [--reps 3]

The runtimes are interleaved repetition after repetition; the figures are medians. A browser run includes starting
the browser (through `jspiprof record`'s driver) and closing it, which is most of the difference.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "small_app.py"
RUNTIMES = {
    "node": [],
    "chromium": ["--browser", "chromium"],
    "chromium --worker": ["--browser", "chromium", "--worker"],
    "firefox": ["--browser", "firefox"],
    "firefox --worker": ["--browser", "firefox", "--worker"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    reps = parser.parse_args().reps
    seconds: dict[str, list[float]] = {name: [] for name in RUNTIMES}
    for _ in range(reps):
        for name, options in RUNTIMES.items():
            started = time.monotonic()
            command = [sys.executable, "-m", "jspiprof", "run", *options, "--no-trace", str(SCRIPT)]
            subprocess.run(command, cwd=SCRIPT.parent, capture_output=True, check=True)
            seconds[name].append(time.monotonic() - started)
    node = statistics.median(seconds["node"])
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"{name:18} {median:6.2f} s   {median / node:4.2f}x Node")


if __name__ == "__main__":
    main()
