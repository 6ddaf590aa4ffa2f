"""`jspiprof export --format parquet`: one Parquet table per event type, partitioned by run; `jspiprof fleet` over
such an export runs its queries on DuckDB and finds the same numbers as over the trace files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
from click.testing import CliRunner
from instance_traces import PAGE_AND_CALLBACKS, write_merged
from trace_files import write_trace

from jspiprof.analysis import summary, tables
from jspiprof.cli import main
from jspiprof.trace import read_trace

FIXTURES = Path(__file__).parent / "fixtures"
X, Y = ("/app/main.py", 10, "fetch"), ("/app/main.py", 20, "parse")


def _invoke(*args: str) -> str:
    done = CliRunner().invoke(main, list(args))
    assert done.exit_code == 0, done.output
    return done.stdout


def test_every_event_type_is_a_table_partitioned_by_run(tmp_path: Path) -> None:
    folder = tmp_path / "fleet.parquet"
    _invoke("export", str(FIXTURES / "small.jsonl"), "--format", "parquet", "-o", str(folder))
    expected = summary(tables(read_trace(FIXTURES / "small.jsonl")))

    def table(name: str) -> dict[str, list]:
        return ds.dataset(folder / name, format="parquet", partitioning="hive").to_table().to_pydict()

    suspensions = table("suspensions")
    assert set(suspensions["run"]) == {"small"} and len(suspensions["id"]) == expected["suspensions"]
    assert round(sum(suspensions["wait_us"]) / 1000, 3) == expected["total_wait_ms"]
    assert [len(stack) for stack in suspensions["stack"]] == suspensions["depth"]
    assert len(table("failed_switches")["reason"]) == expected["failed_switches"] == 1
    assert len(table("samples")["ts_us"]) == expected["cpu"]["samples"]
    assert len(table("entries")["id"]) == sum(expected["entries"].values())
    runs = table("runs")
    assert (runs["run"], runs["suspensions"], runs["complete"]) == (["small"], [expected["suspensions"]], [True])
    assert round(runs["window_ms"][0], 3) == expected["window_ms"]
    frames = table("frames")
    assert {f"{file}:{line}" for file, line in zip(frames["file"], frames["line"])} >= {
        site["site"] for site in expected["sites"]
    }


def test_each_event_names_its_instance_and_each_entry_its_registration_and_whether_its_caller_was_read(
    tmp_path: Path,
) -> None:
    merged = write_merged(tmp_path / "page_and_worker.jsonl", PAGE_AND_CALLBACKS)
    folder = tmp_path / "fleet.parquet"
    _invoke("export", str(merged), "--format", "parquet", "-o", str(folder))
    alone = [tables(read_trace(part.trace)) for part in PAGE_AND_CALLBACKS]

    def table(name: str) -> dict[str, list]:
        return ds.dataset(folder / name, format="parquet", partitioning="hive").to_table().to_pydict()

    instances = table("instances")
    assert list(zip(instances["instance"], instances["where"], instances["url"])) == [
        (0, "page", "http://127.0.0.1:8000/index.html"),
        (1, "worker", "http://127.0.0.1:8000/js/callbacks.mjs"),
    ]
    suspensions, entries, failed = table("suspensions"), table("entries"), table("failed_switches")
    for number, own in enumerate(alone):
        assert suspensions["instance"].count(number) == len(own.arrays.suspensions["id"])
        assert entries["instance"].count(number) == len(own.arrays.entries["id"])
        assert failed["instance"].count(number) == len(own.arrays.failed_switches["ts_us"])
    assert (suspensions["instance"].count(0), suspensions["instance"].count(1), failed["instance"]) == (3, 2, [0])

    registered = [
        (name, instance, api, event, location)
        for name, instance, api, event, location in zip(
            entries["name"],
            entries["instance"],
            entries["registration_api"],
            entries["registration_event"],
            entries["registration_location"],
        )
        if api is not None
    ]
    # Python registered it: its location is the Python line, as the worker's run recorded it
    assert registered == [("tick", 1, "setTimeout", None, "/work/wt-rest/tests/fixtures/instances/callbacks.py:19")]
    unread = [
        (name, instance)
        for name, instance, read in zip(entries["name"], entries["instance"], entries["caller_sampled"])
        if not read
    ]
    assert unread == [("helper", 1)] * 23

    import duckdb

    by_where = duckdb.sql(
        f"""
        SELECT i."where", count(*) AS suspensions
        FROM read_parquet('{folder}/suspensions/*/*.parquet', hive_partitioning = true) s
        JOIN read_parquet('{folder}/instances/*/*.parquet', hive_partitioning = true) i USING (run, instance)
        GROUP BY i."where" ORDER BY i."where"
        """
    ).fetchall()
    assert by_where == [("page", 3), ("worker", 2)]


SELF_TIME_SQL = """
SELECT f.function, sum(s.interval_us) / 1000 AS self_ms
FROM read_parquet('{folder}/samples/*/*.parquet', hive_partitioning = true) s
JOIN read_parquet('{folder}/frames/*/*.parquet', hive_partitioning = true) f ON f.run = s.run AND f.id = s.stack[-1]
GROUP BY f.function
ORDER BY self_ms DESC
"""


def test_each_cpu_sample_is_a_row_whose_stack_joins_the_frames_and_sql_finds_the_hot_function(tmp_path: Path) -> None:
    trace = FIXTURES / "cpu" / "batches.jsonl"  # recorded from tests/fixtures/cpu/batches.py: crunch is hot
    folder = tmp_path / "fleet.parquet"
    _invoke("export", str(trace), "--format", "parquet", "-o", str(folder))
    samples = tables(read_trace(trace)).samples

    exported = ds.dataset(folder / "samples", format="parquet", partitioning="hive").to_table().to_pydict()
    assert len(samples) > 100 and len(exported["ts_us"]) == len(samples)
    assert exported["ts_us"] == list(samples.time_us) and exported["entry"] == samples.entry
    assert exported["stack"] == [list(samples.stacks[stack]) for stack in samples.stack]
    assert set(exported["interval_us"]) == {samples.interval_us} and set(exported["instance"]) == {0}

    import duckdb

    self_ms = duckdb.sql(SELF_TIME_SQL.format(folder=folder)).fetchall()
    assert self_ms[0][0] == "crunch" and self_ms[0][1] > 0.8 * len(samples) * samples.interval_us / 1000
    assert sum(ms for _, ms in self_ms) == len(samples) * samples.interval_us / 1000


def test_fleet_over_the_parquet_export_finds_what_it_finds_over_the_traces(tmp_path: Path) -> None:
    traces, exported = tmp_path / "traces", tmp_path / "fleet.parquet"
    traces.mkdir()
    write_trace(traces / "a.jsonl", [(*X, 10.0), (*X, 20.0), (*Y, 5.0)], window_ms=50)
    write_trace(traces / "b.jsonl", [(*X, 100.0)], window_ms=120)
    write_trace(traces / "c.jsonl", [(*X, 1.0)] * 3 + [(*Y, 50.0)], window_ms=60)
    write_trace(traces / "d.jsonl", [], window_ms=10)  # no suspension: still a run
    for trace in sorted(traces.iterdir()):
        _invoke("export", str(trace), "--format", "parquet", "-o", str(exported))

    from_traces = json.loads(_invoke("fleet", str(traces), "--json"))
    from_parquet = json.loads(_invoke("fleet", str(exported), "--json"))

    def named_by_run(result: dict) -> dict:
        for row in result["sites"]:
            row["worst_trace"] = row["worst_trace"].removesuffix(".jsonl")
        for row in result["worst_runs"]:
            row["trace"] = row["trace"].removesuffix(".jsonl")
        return result

    assert from_parquet["traces"] == 4 and from_parquet["sites"][0]["wait_ms_p95"] == 93.0
    assert from_parquet == named_by_run(from_traces)


def test_a_broken_parquet_export_is_one_sentence(tmp_path: Path) -> None:
    for table in ("runs", "suspensions"):
        (tmp_path / table / "run=x").mkdir(parents=True)
        (tmp_path / table / "run=x" / "part-0.parquet").write_text("not parquet")
    done = CliRunner().invoke(main, ["fleet", str(tmp_path)])
    assert done.exit_code == 1 and done.output.startswith(f"Error: Cannot query the Parquet export in {tmp_path}")
    assert "Traceback" not in done.output
