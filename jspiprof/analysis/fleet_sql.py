"""The fleet queries (`jspiprof.analysis.fleet`) in SQL, run by DuckDB over the Parquet export of many traces.

`jspiprof export TRACE --format parquet -o FOLDER` for each trace makes one hive-partitioned dataset per table under
FOLDER (docs/parquet.md); `SITES_SQL` and `WORST_RUNS_SQL` read it as standard SQL, so the same queries run on a
laptop (DuckDB) or on any engine that reads Parquet. Runs are named by their partition (`run=<trace name>`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from jspiprof.analysis.fleet import WORST_RUNS

SITES_SQL = """
WITH per_run AS (
    SELECT site, run, count(*) AS count, sum(wait_us) / 1000 AS wait_ms
    FROM suspensions
    GROUP BY site, run
)
SELECT
    site,
    count(*) AS runs,
    quantile_cont(count, 0.5) AS count_p50,
    quantile_cont(count, 0.95) AS count_p95,
    max(count) AS count_max,
    quantile_cont(wait_ms, 0.5) AS wait_ms_p50,
    quantile_cont(wait_ms, 0.95) AS wait_ms_p95,
    max(wait_ms) AS wait_ms_max,
    arg_max(run, wait_ms) AS worst_trace
FROM per_run
GROUP BY site
ORDER BY round(wait_ms_p95, 3) DESC, runs DESC, site
"""
"""Per site across runs: in how many runs it appears, and its count and total wait per run at p50, p95 and max."""

WORST_RUNS_SQL = """
SELECT
    runs.run AS trace,
    coalesce(sum(suspensions.wait_us), 0) / 1000 AS total_wait_ms,
    any_value(runs.window_ms) AS window_ms,
    any_value(runs.suspensions) AS suspensions,
    any_value(runs.failed_switches) AS failed_switches
FROM runs LEFT JOIN suspensions USING (run)
GROUP BY runs.run
ORDER BY round(total_wait_ms, 3) DESC, trace
LIMIT $worst
"""
"""The runs with the most total wait."""


def connect(folder: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where each table of the Parquet export under `folder` is a view (with its `run` column)."""
    connection = duckdb.connect()
    for table in ("runs", "suspensions"):
        files = (folder / table).as_posix() + "/*/*.parquet"
        connection.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files.replace(chr(39), chr(39) * 2)}', "
            "hive_partitioning = true)"
        )
    return connection


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in row.items()}


def fleet_from_parquet(folder: Path, worst: int = WORST_RUNS) -> dict[str, Any]:
    """`jspiprof.analysis.fleet.fleet` of the traces exported to Parquet under `folder`, computed by DuckDB.
    `cpu_functions` is left empty (the export's `samples` table answers it in SQL: docs/parquet.md)."""
    connection = connect(folder)

    def rows(sql: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        result = connection.execute(sql, parameters)
        names = [column[0] for column in result.description]
        return [_rounded(dict(zip(names, row))) for row in result.fetchall()]

    (traces,) = connection.execute("SELECT count(*) FROM runs").fetchone()
    return {
        "traces": traces,
        "sites": rows(SITES_SQL, {}),
        "worst_runs": rows(WORST_RUNS_SQL, {"worst": worst}),
        "cpu_functions": [],
    }
