"""A trace as Parquet files (pyarrow), one table per event type, partitioned by run (see docs/parquet.md).

`write(t, folder, run)` writes `folder/<table>/run=<run>/part-0.parquet` for each of `runs`, `instances`,
`suspensions`, `entries`, `frames`, `failed_switches` and `samples` (CPU samples): exporting many traces into one
folder makes one dataset per table that DuckDB, pandas, Spark or any engine reading hive-partitioned Parquet queries
as a whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jspiprof.analysis.stats import time_accounting
from jspiprof.analysis.tables import NO_ENTRY, Tables

TABLES = ("runs", "instances", "suspensions", "entries", "frames", "failed_switches", "samples")


def _texts(values: Any) -> pa.Array:
    """Text values (a categorical or objects) as a string column, missing as null."""
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def _integers(values: Any) -> pa.Array:
    """A nullable integer column (pandas' Int64 or numpy) as int64."""
    return pa.array(values, type=pa.int64(), from_pandas=True)


def _runs(t: Tables) -> pa.Table:
    runtime = t.header.runtime
    return pa.table(
        {
            "program": [t.header.command_line or ""],
            "host": [runtime.host],
            "host_version": [runtime.host_version],
            "pyodide": [runtime.pyodide],
            "origin_unix_ms": [t.header.origin_unix_ms],
            "window_ms": [time_accounting(t).window_us / 1000],
            "suspensions": [len(t.arrays.suspensions["id"])],
            "failed_switches": [len(t.failed_switches)],
            "dropped": [t.dropped],
            "complete": [t.finished],
        }
    )


def _instances(t: Tables) -> pa.Table:
    return pa.table(
        {
            "instance": pa.array([i.instance for i in t.instances], type=pa.int64()),
            "where": pa.array([i.where for i in t.instances], type=pa.string()),
            "url": pa.array([i.url for i in t.instances], type=pa.string()),
            "host": pa.array([i.runtime.host for i in t.instances], type=pa.string()),
            "host_version": pa.array([i.runtime.host_version for i in t.instances], type=pa.string()),
            "start_us": pa.array([i.ts_us for i in t.instances], type=pa.float64()),
        }
    )


def _suspensions(t: Tables) -> pa.Table:
    s = t.arrays.suspensions
    entry = np.asarray(s["entry"])
    return pa.table(
        {
            "id": s["id"],
            "entry": pa.array(entry, type=pa.int64(), mask=entry == NO_ENTRY),
            "kind": _texts(s["kind"]),
            "path": _texts(s["path"]),
            "start_us": s["start_us"],
            "wait_us": s["wait_us"],
            "resume_us": s["resume_us"],
            "stack_bytes": s["stack_bytes"],
            "depth": s["depth"],
            "site": _texts(s["site"]),
            "awaitable": _texts(s["awaitable"]),
            "outcome": _texts(s["outcome"]),
            "error": _texts(s["error"]),
            "stack": pa.array([t.stacks[i] for i in s["stack_id"].tolist()], type=pa.list_(pa.int64())),
            "instance": s["instance"],
        }
    )


def _entries(t: Tables) -> pa.Table:
    e = t.arrays.entries
    return pa.table(
        {
            "id": e["id"],
            "kind": _texts(e["kind"]),
            "promising": e["promising"],
            "name": _texts(e["name"]),
            "caller": _texts(e["caller"]),
            "caller_sampled": e["caller_sampled"],
            "parent": _integers(e["parent"]),
            "start_us": e["start_us"],
            "end_us": e["end_us"],
            "finished": e["finished"],
            "duration_us": e["duration_us"],
            "outcome": _texts(e["outcome"]),
            "error": _texts(e["error"]),
            "registration_api": _texts(e["registration_api"]),
            "registration_event": _texts(e["registration_event"]),
            "registration_location": _texts(e["registration_location"]),
            "instance": e["instance"],
        }
    )


def _frames(t: Tables) -> pa.Table:
    f = t.arrays.frames
    return pa.table(
        {
            "id": f["id"],
            "file": _texts(f["file"]),
            "line": f["line"],
            "function": _texts(f["function"]),
            "library": f["library"],
        }
    )


def _failed_switches(t: Tables) -> pa.Table:
    f = t.failed_switches
    return pa.table(
        {
            "ts_us": pa.array(f["ts_us"].to_numpy(), type=pa.float64()),
            "entry": _integers(f["entry"]),
            "reason": _texts(f["reason"]),
            "path": _texts(f["path"]),
            "depth": pa.array(f["depth"].to_numpy(), type=pa.int64()),
            "site": _texts(f["site"]),
            "error": _texts(f["error"]),
            "instance": pa.array(f["instance"], type=pa.int64()),
        }
    )


def _samples(t: Tables) -> pa.Table:
    samples = t.samples
    return pa.table(
        {
            "ts_us": pa.array(samples.time_us, type=pa.float64()),
            "interval_us": pa.array([samples.interval_us] * len(samples), type=pa.int64()),
            "entry": pa.array(samples.entry, type=pa.int64()),
            "stack": pa.array([samples.stacks[i] for i in samples.stack], type=pa.list_(pa.int64())),
            "instance": pa.array(samples.instance, type=pa.int64()),
        }
    )


_BUILDERS = {
    "runs": _runs,
    "instances": _instances,
    "suspensions": _suspensions,
    "entries": _entries,
    "frames": _frames,
    "failed_switches": _failed_switches,
    "samples": _samples,
}


def write(t: Tables, folder: Path, run: str) -> list[Path]:
    """Write the trace's tables under `folder` as the partition `run=<run>` of each table; returns the files."""
    written = []
    for name in TABLES:
        path = folder / name / f"run={run}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_BUILDERS[name](t), path)
        written.append(path)
    return written
