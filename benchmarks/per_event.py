"""What recording costs a page that runs Python once per event, in Node and in headless Chromium: prints the ratios to
raw per event, with 95% intervals.

    python benchmarks/per_event.py [--processes 3] [--pages 2] [--reps 60] [--events 40]

The workload (`benchmarks/per_event.mjs`) is what a page that handles each event with
`await pyodide.runPythonAsync(`handle(${event})`)` does: Pyodide compiles new code for every call, and `handle` makes
one stack switch (`run_sync` of a finished coroutine). One Node process, or one page served from 127.0.0.1 in
headless Chromium, holds three Pyodides side by side: raw (Pyodide's own loadPyodide), hooked (loaded through the
jspiprof hook with its defaults: recording, CPU sampling every 1 ms; in Node streamed to a trace file, in the page
kept in memory) and hooked with `devtools: true`. The modes take turns repetition after repetition, in an order that
rotates; a ratio is the median over repetitions of mode/raw within one repetition (both run back to back, so they
share that moment's noise from other programs), pooled over processes (or pages). The 95% interval resamples the
processes, then their repetitions (`overhead.py`'s `median_ratio`): as wide as a rerun's result may move. Times are
wall time per event, and in Node also the process's CPU time (all its threads), which other programs on a busy
machine disturb less.
Goals: hooked/raw <= 1.10 in both runtimes; devtools adds at most 0.02 (hooked+devtools/raw - hooked/raw).
Measured (December 2026, 2 cores, a quiet machine; 3 processes / 2 pages x 60): Node 1.115 (1.098-1.128) by wall
time, 1.132 by CPU time, Chromium 1.102 (1.089-1.119) (1.093 and 1.112 in earlier runs); devtools added 0.011 (Node)
and 0.003 (Chromium). The goal is not met in Node and only at its edge in Chromium. Where Node's cost goes (variants
side by side in one process, 6 processes x 100, +-0.01): recording without sampling is 1.06-1.07; sampling adds
0.03-0.05, all of it in capturing the samples' stacks (adding samples with a fixed stack costs nothing, neither does
the replaced signals helper). Timed over a whole run, warm-up included, capturing costs ~7 µs per event: a stack
known as a whole ~4 µs per sample; a new combination of known frames ~45 µs (JS that runs too rarely to be compiled
well); a frame at a line never sampled before ~160 µs (~90 µs calling the probe). The last two fade as the page runs
(after 2,400 warm-up events instead of 400: 1.097), so what would reach the goal is naming a new line's frame in JS
without calling the probe (reading the code's file and name strings and line table from wasm memory, with the frame
ids shared between the hook and the probe).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from overhead import median_ratio
from selenium import webdriver

from jspiprof.pytest_plugin.environment import CHROME_FLAGS
from jspiprof.runtime.install import cache_home, ensure_runtime

HERE = Path(__file__).parent
REPO = HERE.parent
GOAL = 1.10
DEVTOOLS_GOAL = 0.02
WARMUP_REPS = 10
"""Repetitions not counted: V8 still compiles the hot paths of Pyodide and of the hook into faster tiers."""

NODE_DRIVER = """
import { pathToFileURL } from "node:url";
const [hookPath, workloadPath, pyodideDir, scratch, sizes] = process.argv.slice(2);
const { wrapLoadPyodide } = await import(pathToFileURL(hookPath).href);
const { timeEvents } = await import(pathToFileURL(workloadPath).href);
const { loadPyodide } = await import(pathToFileURL(pyodideDir + "/pyodide.mjs").href);
const indexURL = pyodideDir + "/";
const pyodides = {
  raw: await loadPyodide({ indexURL }),
  hooked: await wrapLoadPyodide(loadPyodide, { trace: scratch + "/hooked.jsonl" })({ indexURL }),
  devtools: await wrapLoadPyodide(loadPyodide, { trace: scratch + "/devtools.jsonl", devtools: true })({ indexURL }),
};
// CPU time of the whole process: the hook's serialiser thread too.
const cpu = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000; };
console.log(JSON.stringify(await timeEvents(pyodides, JSON.parse(sizes), { wall: () => performance.now(), cpu })));
pyodides.hooked.jspiprof.close(0);
pyodides.devtools.jspiprof.close(0);
"""

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>jspiprof per-event benchmark</title>
<script src="/pyodide/pyodide.js"></script>
<script type="module">
import { wrapLoadPyodide } from "/js/hook.mjs";
import { timeEvents } from "/benchmarks/per_event.mjs";
window.measure = async (sizes) => {
  const indexURL = "/pyodide/";
  const pyodides = {
    raw: await loadPyodide({ indexURL }),
    hooked: await wrapLoadPyodide(loadPyodide, {})({ indexURL }),
    devtools: await wrapLoadPyodide(loadPyodide, { devtools: true })({ indexURL }),
  };
  return JSON.stringify(await timeEvents(pyodides, sizes));
};
window.pageReady = true;
</script></head><body></body></html>
"""


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


Runs = list[dict[str, dict[str, list[float]]]]
"""Each process's (or page's) milliseconds per event by clock ("wall", "cpu"), mode and repetition."""


def node_runs(runtime, processes: int, sizes: dict[str, int]) -> Runs:
    """Each Node process's milliseconds per event, by the wall clock and by the process's CPU time."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="jspiprof-bench-") as scratch:
        driver = Path(scratch) / "driver.mjs"
        driver.write_text(NODE_DRIVER)
        for _ in range(processes):
            command = [str(runtime.node), *runtime.node_flags, str(driver), str(REPO / "js" / "hook.mjs")]
            command += [str(HERE / "per_event.mjs"), str(runtime.pyodide_dir), scratch, json.dumps(sizes)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs


def chromium_runs(runtime, pages: int, sizes: dict[str, int]) -> Runs:
    """Each page's milliseconds per event by the wall clock (a fresh headless Chromium per page)."""
    with tempfile.TemporaryDirectory(prefix="jspiprof-bench-") as scratch:
        site = Path(scratch)
        (site / "pyodide").symlink_to(runtime.pyodide_dir)
        (site / "js").symlink_to(REPO / "js")
        (site / "jspiprof").symlink_to(REPO / "jspiprof")
        (site / "benchmarks").symlink_to(HERE)
        (site / "index.html").write_text(PAGE)
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=scratch))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        runs = []
        try:
            for _ in range(pages):
                options = webdriver.ChromeOptions()
                options.binary_location = "/usr/bin/chromium"
                for flag in CHROME_FLAGS:
                    options.add_argument(flag)
                browser = webdriver.Chrome(options=options, service=webdriver.ChromeService("/usr/bin/chromedriver"))
                browser.set_script_timeout(1800)
                try:
                    browser.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
                    browser.execute_async_script(
                        "const done = arguments[0];"
                        " const wait = () => window.pageReady ? done() : setTimeout(wait, 20); wait();"
                    )
                    script = "window.measure(arguments[0]).then(arguments[1], (e) => arguments[1]('ERROR ' + e));"
                    result = browser.execute_async_script(script, sizes)
                finally:
                    browser.quit()
                if result.startswith("ERROR"):
                    raise SystemExit(f"the benchmark page failed: {result}")
                runs.append(json.loads(result))  # {"wall": {mode: [...]}}
        finally:
            server.shutdown()
    return runs


def report(label: str, runs: list[dict[str, list[float]]]) -> None:
    """One line: the medians per event of each mode, the ratios to raw with their 95% intervals, the goals."""
    raw = [run["raw"] for run in runs]
    modes = ("raw", "hooked", "devtools")
    medians = {mode: statistics.median([t for run in runs for t in run[mode]]) for mode in modes}
    hooked, hooked_low, hooked_high = median_ratio([run["hooked"] for run in runs], raw)
    devtools, devtools_low, devtools_high = median_ratio([run["devtools"] for run in runs], raw)
    added = devtools - hooked
    print(
        f"{label:<15}{medians['raw'] * 1000:>8.0f} µs{medians['hooked'] * 1000:>9.0f} µs"
        f"{medians['devtools'] * 1000:>9.0f} µs{hooked:>10.3f} ({hooked_low:.3f}-{hooked_high:.3f})"
        f"{devtools:>10.3f} ({devtools_low:.3f}-{devtools_high:.3f}){added:>8.3f}"
        f"  <= {GOAL} {'met' if hooked <= GOAL else 'NOT met'}; added <= {DEVTOOLS_GOAL} "
        f"{'met' if added <= DEVTOOLS_GOAL else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3, help="Node processes, each with its three Pyodides")
    parser.add_argument("--pages", type=int, default=2, help="Chromium pages, each with its three Pyodides")
    parser.add_argument("--reps", type=int, default=60, help="repetitions of each mode (interleaved)")
    parser.add_argument("--events", type=int, default=40, help="events per repetition")
    args = parser.parse_args()
    runtime = ensure_runtime(cache_home())
    sizes = {"warmup": WARMUP_REPS, "reps": args.reps, "events": args.events}
    node = node_runs(runtime, args.processes, sizes)
    chromium = chromium_runs(runtime, args.pages, sizes)
    print(
        f"per event, medians of {args.processes} Node processes / {args.pages} Chromium pages x {args.reps} "
        f"interleaved repetitions of {args.events} events; hooked: the hook's defaults (recording, CPU sampling)"
    )
    print(
        f"{'runtime':<15}{'raw':>11}{'hooked':>12}{'devtools':>12}{'hooked/raw (95%)':>24}"
        f"{'devtools/raw (95%)':>24}{'added':>8}  goal"
    )
    report("Node, wall", [run["wall"] for run in node])
    report("Node, CPU", [run["cpu"] for run in node])
    report("Chromium, wall", [run["wall"] for run in chromium])


if __name__ == "__main__":
    main()
