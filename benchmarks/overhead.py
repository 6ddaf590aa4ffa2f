"""How much jspiprof slows a program down, next to cProfile: prints medians and the ratios to raw.

    python benchmarks/overhead.py [--reps 15] [--n 2000]

One Node process holding two Pyodides: a plain one (Pyodide's own loadPyodide: "raw") and one loaded
through the jspiprof hook. Each loop runs raw, under the idle hook (loaded, recording off), under
jspiprof (recording into a trace file) and under cProfile (plain Pyodide), the four modes interleaved
repetition after repetition. Times are the median of each mode; a ratio is the median over repetitions of
mode/raw within one repetition (run back to back, so both share that moment's noise from other programs). Loops:
- worst case: `run_sync` of an already-finished coroutine, N times (the cheapest possible switch, so the
  profiler's fixed cost per switch shows most);
- app: a small app mixing CPU work with waits (run_sync of asyncio.sleep, time.sleep, asyncio.run).
Goals: jspiprof/raw <= 1.05 on the worst case and <= 1.02 on the app.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from jspiprof.runtime import cache_home, ensure_runtime, js_dir

PYTHON_LOOPS = """
import asyncio, cProfile, time
from pyodide.ffi import run_sync

async def finished():
    return 1

def worst_case(n):
    for _ in range(n):
        run_sync(finished())

def cpu(k):
    total = 0
    for i in range(k):
        total += i * i % 7
    return total

async def fetch(delay):
    await asyncio.sleep(delay)
    return cpu(200)

def app(n):
    for i in range(n // 30):
        cpu(5000)
        run_sync(fetch(0.002))
        if i % 3 == 0:
            time.sleep(0.001)
        if i % 5 == 0:
            asyncio.run(fetch(0))

def timed(name, n, profiled):
    loop = globals()[name]
    profiler = cProfile.Profile() if profiled else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    loop(n)
    if profiler:
        profiler.disable()
    return time.perf_counter() - start
"""

DRIVER = """
import { pathToFileURL } from "node:url";
const [hookPath, pyodideDir, tracePath, loops, reps, n] = process.argv.slice(2);
const { wrapLoadPyodide } = await import(pathToFileURL(hookPath).href);
const { loadPyodide } = await import(pathToFileURL(pyodideDir + "/pyodide.mjs").href);
const plain = await loadPyodide({ indexURL: pyodideDir + "/" });
const pyodide = await wrapLoadPyodide(loadPyodide, { trace: tracePath, record: false })({ indexURL: pyodideDir + "/" });
await plain.runPythonAsync(loops);
await pyodide.runPythonAsync(loops);
const modes = { raw: plain, idle_hook: pyodide, jspiprof: pyodide, cProfile: plain };
const results = {};
for (const loop of ["worst_case", "app"]) {
  results[loop] = Object.fromEntries(Object.keys(modes).map((mode) => [mode, []]));
  for (const py of [plain, pyodide]) await py.runPythonAsync(`timed("${loop}", 300, False)`);  // warm up
  for (let rep = 0; rep < Number(reps); rep++) {
    for (const [mode, py] of Object.entries(modes)) {
      if (mode === "jspiprof") pyodide.jspiprof.start();
      const seconds = await py.runPythonAsync(`timed("${loop}", ${n}, ${mode === "cProfile" ? "True" : "False"})`);
      pyodide.jspiprof.stop();
      results[loop][mode].push(seconds);
    }
  }
}
pyodide.jspiprof.close(0);
console.log(JSON.stringify(results));
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15, help="repetitions of each mode (interleaved)")
    parser.add_argument("--n", type=int, default=2000, help="switches per worst-case loop (the app loop scales with it)")
    args = parser.parse_args()
    runtime = ensure_runtime(cache_home())
    with tempfile.TemporaryDirectory(prefix="jspiprof-bench-") as scratch:
        driver = Path(scratch) / "driver.mjs"
        driver.write_text(DRIVER)
        trace = Path(scratch) / "trace.jsonl"
        command = [str(runtime.node), *runtime.node_flags, str(driver), str(js_dir() / "hook.mjs"), str(runtime.pyodide_dir),
                   str(trace), PYTHON_LOOPS, str(args.reps), str(args.n)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results = json.loads(done.stdout.strip().splitlines()[-1])
        suspensions = sum(1 for line in trace.open() if line.startswith('{"type":"suspension"'))
    print(f"median of {args.reps} interleaved repetitions; N = {args.n}; jspiprof recorded {suspensions} suspensions")
    print(f"{'loop':<12}{'raw':>9}{'idle hook':>11}{'jspiprof':>10}{'cProfile':>10}"
          f"{'idle/raw':>10}{'jspiprof/raw':>14}{'cProfile/raw':>14}  goal")
    for loop, goal in (("worst_case", 1.05), ("app", 1.02)):
        times = results[loop]
        medians = {mode: statistics.median(mode_times) for mode, mode_times in times.items()}
        ratios = {mode: statistics.median(t / raw for t, raw in zip(mode_times, times["raw"])) for mode, mode_times in times.items()}
        print(
            f"{loop:<12}{medians['raw']:>8.3f}s{medians['idle_hook']:>10.3f}s{medians['jspiprof']:>9.3f}s{medians['cProfile']:>9.3f}s"
            f"{ratios['idle_hook']:>10.3f}{ratios['jspiprof']:>14.3f}{ratios['cProfile']:>14.3f}"
            f"  <= {goal} {'met' if ratios['jspiprof'] <= goal else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
