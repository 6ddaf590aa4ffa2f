"""Writes a synthetic trace (format version 1) of N suspensions that looks like a busy ported app.

    python benchmarks/synthetic_trace.py N OUT.jsonl

One runPythonAsync entry runs a loop over 12 call sites (requests, time.sleep, run_sync, asyncio.run) with
stacks 6 to 40 frames deep; every 50th suspension a webloop `task` entry runs; every 10,000th a failed switch.
Waits are log-normal (median ~2 ms). Deterministic for a given N.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

LIB = "/lib/python3.14/site-packages"
PATHS = ["urllib3", "time.sleep", "run_sync", "asyncio.run"]


def write(n: int, out: Path) -> None:
    rng = random.Random(n)
    lines = [
        json.dumps(
            {
                "type": "header",
                "schema": "jspiprof-trace",
                "version": 1,
                "origin_unix_ms": 1764000000000.0,
                "runtime": {
                    "host": "node",
                    "host_version": "v26.10.0",
                    "pyodide": "314.0.7",
                    "jspi": "WebAssembly.Suspending",
                },
                "program": {"argv": ["synthetic.py", str(n)], "mode": "script"},
            }
        )
    ]
    frames: dict[tuple[str, int, str], int] = {}

    def frame(file: str, line: int, function: str) -> int:
        if (file, line, function) not in frames:
            frames[(file, line, function)] = len(frames) + 1
            lines.append(
                json.dumps(
                    {
                        "type": "frame",
                        "id": frames[(file, line, function)],
                        "file": file,
                        "line": line,
                        "function": function,
                        "library": file.startswith("/lib/"),
                    }
                )
            )
        return frames[(file, line, function)]

    sites = []
    for k in range(12):
        user = [("/app/main.py", 100, "<module>"), ("/app/main.py", 20 + k, "handle")] + [
            ("/app/worker.py", 10 + d, f"step{d}") for d in range(k * 2)
        ]
        library = (
            [
                (f"{LIB}/requests/api.py", 73, "get"),
                (f"{LIB}/urllib3/connectionpool.py", 716, "urlopen"),
                (f"{LIB}/urllib3/contrib/emscripten/fetch.py", 500, "send_jspi_request"),
            ]
            if k % 4 == 0
            else []
        )
        stack = [frame(*f) for f in user + library]
        sites.append((stack, f"{user[-1][0]}:{user[-1][1]}", PATHS[k % 4]))
    lines.append(
        json.dumps(
            {
                "type": "entry",
                "id": 1,
                "kind": "runPythonAsync",
                "promising": True,
                "name": None,
                "caller": "js/run.mjs:40",
                "parent": None,
                "start_us": 1000.0,
            }
        )
    )
    t, next_entry = 1500.0, 2
    for i in range(1, n + 1):
        stack, site, path = sites[rng.randrange(len(sites))]
        wait = round(rng.lognormvariate(7.6, 1.0), 1)
        resume = round(20 + len(stack) * 2 + rng.random() * 10, 1)
        lines.append(
            json.dumps(
                {
                    "type": "suspension",
                    "id": i,
                    "entry": 1,
                    "path": path,
                    "start_us": round(t, 1),
                    "wait_us": wait,
                    "resume_us": resume,
                    "stack_bytes": 2048 + 900 * len(stack),
                    "stack": stack,
                    "depth": len(stack),
                    "site": site,
                    "awaitable": "Promise",
                    "outcome": "value",
                    "error": None,
                }
            )
        )
        if i % 50 == 0:
            start = t + wait / 2
            lines.append(
                json.dumps(
                    {
                        "type": "entry",
                        "id": next_entry,
                        "kind": "task",
                        "promising": True,
                        "name": "step",
                        "caller": None,
                        "parent": 1,
                        "start_us": round(start, 1),
                    }
                )
            )
            lines.append(
                json.dumps(
                    {
                        "type": "entry_end",
                        "id": next_entry,
                        "end_us": round(start + 30, 1),
                        "outcome": "return",
                        "error": None,
                    }
                )
            )
            next_entry += 1
        if i % 10_000 == 0:
            lines.append(
                json.dumps(
                    {
                        "type": "failed_switch",
                        "ts_us": round(t + wait + resume + 5, 1),
                        "entry": 1,
                        "reason": "sync-entry",
                        "path": "run_sync",
                        "stack": stack,
                        "depth": len(stack),
                        "site": site,
                        "error": (
                            "RuntimeError: Cannot stack switch because the Python entrypoint "
                            "was a synchronous function."
                        ),
                    }
                )
            )
        t += wait + resume + rng.uniform(50, 400)
    lines.append(json.dumps({"type": "entry_end", "id": 1, "end_us": round(t, 1), "outcome": "return", "error": None}))
    lines.append(json.dumps({"type": "end", "ts_us": round(t + 1000, 1), "dropped": 0, "exit_status": 0}))
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    write(int(sys.argv[1]), Path(sys.argv[2]))
