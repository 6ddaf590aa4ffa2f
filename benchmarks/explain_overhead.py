"""What the failure explainer (`explain: true`, on in `jspiprof run`) costs a recorded program: prints the ratio.

    python benchmarks/explain_overhead.py [--reps 11] [--n 5000]

One Node process loads Pyodide twice through the jspiprof hook, both recording into a trace file, one with
`explain: true`. The loops (run_sync of a finished coroutine N times, and N task entries via asyncio.gather)
run on both, interleaved repetition after repetition (alternating which goes first); the figure is the median
time of each and the ratio.
The explainer sees every event the recorder writes, so these event-heavy loops are its worst case.
Goal: explain/plain <= 1.02.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from jspiprof.runtime.install import cache_home, ensure_runtime, js_dir

LOOPS = """
import asyncio, time
from pyodide.ffi import run_sync

async def finished():
    return 1

def switches(n):
    for _ in range(n):
        run_sync(finished())

async def tasks(n):
    await asyncio.gather(*(finished() for _ in range(n)))
"""

SCRIPT = """
import { loadPyodide } from "PYODIDE";
import { wrapLoadPyodide } from "HOOK";
const [n, reps, dir] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const load = (explain) => wrapLoadPyodide(loadPyodide, { trace: `${dir}/${explain}.jsonl`, explain })();
const modes = { plain: await load(false), explain: await load(true) };
for (const pyodide of Object.values(modes)) await pyodide.runPythonAsync(LOOPS);
const times = { switches: { plain: [], explain: [] }, tasks: { plain: [], explain: [] } };
for (let rep = 0; rep < reps; rep++) {
  for (const mode of rep % 2 ? ["explain", "plain"] : ["plain", "explain"]) {
    const pyodide = modes[mode];
    let start = performance.now();
    await pyodide.runPythonAsync(`switches(${n})`);
    times.switches[mode].push(performance.now() - start);
    start = performance.now();
    await pyodide.runPythonAsync(`await tasks(${n})`);
    times.tasks[mode].push(performance.now() - start);
  }
}
console.log(JSON.stringify(times));
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    runtime = ensure_runtime(cache_home())
    with tempfile.TemporaryDirectory(prefix="jspiprof-bench-") as scratch:
        script = Path(scratch) / "bench.mjs"
        script.write_text(
            SCRIPT.replace("PYODIDE", (runtime.pyodide_dir / "pyodide.mjs").as_uri())
            .replace("HOOK", (js_dir() / "hook.mjs").as_uri())
            .replace("LOOPS", json.dumps(LOOPS))
        )
        command = [str(runtime.node), *runtime.node_flags, str(script), str(args.n), str(args.reps), scratch]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    times = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"median ms over {args.reps} interleaved reps, n={args.n}")
    for loop, modes in times.items():
        plain, explain = statistics.median(modes["plain"]), statistics.median(modes["explain"])
        print(f"  {loop:<9} plain {plain:8.1f}   explain {explain:8.1f}   explain/plain {explain / plain:.3f}")


if __name__ == "__main__":
    main()
