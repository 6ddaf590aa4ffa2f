"""`jspiprof fleet DIR`: many traces of one app summarised per site across runs, with the worst runs named; numbers
worked out by hand on three tiny traces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from chromium_pages import chromium, drawn_charts
from click.testing import CliRunner
from trace_files import write_trace

from jspiprof.analysis.fleet import fleet, read_run
from jspiprof.cli import main

BROKEN = Path(__file__).parent / "fixtures" / "broken"
X, Y = ("/app/main.py", 10, "fetch"), ("/app/main.py", 20, "parse")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """a: X waits 10 + 20 ms, Y 5 ms; b: X 100 ms; c: X 3 x 1 ms, Y 50 ms (in a subfolder)."""
    runs = tmp_path / "runs"
    (runs / "later").mkdir(parents=True)
    write_trace(runs / "a.jsonl", [(*X, 10.0), (*X, 20.0), (*Y, 5.0)], window_ms=50)
    write_trace(runs / "b.jsonl", [(*X, 100.0)], window_ms=120)
    write_trace(runs / "later" / "c.jsonl", [(*X, 1.0)] * 3 + [(*Y, 50.0)], window_ms=60)
    return runs


def test_each_site_s_count_and_wait_are_distributed_over_the_runs_it_appears_in(folder: Path) -> None:
    result = fleet(read_run(path, path.name) for path in sorted(folder.rglob("*.jsonl")))
    assert result["traces"] == 3
    x, y = result["sites"]  # largest wait p95 first
    assert x == {
        "site": "/app/main.py:10",
        "runs": 3,
        "count_p50": 2.0,
        "count_p95": 2.9,  # 2 + 0.9 x (3 - 2), between the sorted counts 1, 2, 3
        "count_max": 3,
        "wait_ms_p50": 30.0,
        "wait_ms_p95": 93.0,  # 30 + 0.9 x (100 - 30), between the sorted totals 3, 30, 100
        "wait_ms_max": 100.0,
        "worst_trace": "b.jsonl",
    }
    assert (y["site"], y["runs"], y["wait_ms_p50"], y["wait_ms_p95"], y["worst_trace"]) == (
        "/app/main.py:20",
        2,
        27.5,
        47.75,
        "c.jsonl",
    )
    assert [(r["trace"], r["total_wait_ms"], r["window_ms"]) for r in result["worst_runs"]] == [
        ("b.jsonl", 100.0, 120.0),
        ("c.jsonl", 53.0, 60.0),
        ("a.jsonl", 35.0, 50.0),
    ]


def test_json_names_runs_by_their_path_in_the_folder_and_skips_unreadable_traces(folder: Path) -> None:
    for broken in ("not_a_trace.jsonl", "corrupt_line.jsonl"):
        shutil.copy(BROKEN / broken, folder / broken)
    (folder / "notes.txt").write_text("not a trace, not read")
    done = CliRunner().invoke(main, ["fleet", str(folder), "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["traces"], result["skipped"]) == (3, 2)
    assert "jspiprof: skipped 2 unreadable traces, the first: corrupt_line.jsonl: " in done.stderr
    assert "Traceback" not in done.stderr
    assert [s["worst_trace"] for s in result["sites"]] == ["b.jsonl", "later/c.jsonl"]


def test_the_table_and_the_html_report_show_the_sites_and_the_worst_runs(folder: Path, tmp_path: Path) -> None:
    report = tmp_path / "fleet.html"
    done = CliRunner().invoke(main, ["fleet", str(folder), "-o", str(report)])
    assert done.exit_code == 0, done.output
    assert "traces: 3" in done.stdout and "/app/main.py:10" in done.stdout and "93.0" in done.stdout
    page = report.read_text()
    assert "later/c.jsonl" in page and '"type":"bar"' in page


def test_a_big_folder_shows_progress_on_stderr(tmp_path: Path) -> None:
    for number in range(50):
        write_trace(tmp_path / f"run{number:02}.jsonl", [(*X, float(number + 1))])
    done = CliRunner().invoke(main, ["fleet", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert f"reading {tmp_path}" in done.stderr
    assert "run49.jsonl" in done.stdout  # the worst run: 50 ms


def test_a_folder_without_traces_is_one_sentence(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["fleet", str(tmp_path)])
    assert done.exit_code == 1 and done.output == f"Error: No readable trace (*.jsonl) in {tmp_path}.\n"


def test_of_real_crawler_runs_the_one_fetching_most_pages_waits_most() -> None:
    shipped = Path(__file__).parent.parent / "dashboards" / "traces" / "fleet"  # crawler.py runs of 3, 6 and 10 pages
    done = CliRunner().invoke(main, ["fleet", str(shipped), "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert [run["trace"] for run in result["worst_runs"]] == [f"crawler-{n}-pages.jsonl" for n in (10, 6, 3)]
    top = result["sites"][0]
    assert top["site"].endswith("examples/crawler.py:43") and top["runs"] == 3
    assert top["worst_trace"] == "crawler-10-pages.jsonl" and top["count_max"] >= 11 * 2  # index + 10 articles


def test_the_html_report_draws_its_chart_in_chromium(folder: Path, tmp_path: Path) -> None:
    report = tmp_path / "fleet.html"
    done = CliRunner().invoke(main, ["fleet", str(folder), "-o", str(report)])
    assert done.exit_code == 0, done.output
    with chromium() as browser:
        assert drawn_charts(browser, report, at_least=1) == ["bar"]


def test_each_sampled_function_s_self_time_is_distributed_over_the_runs_it_was_sampled_in(tmp_path: Path) -> None:
    """1 ms samples: hot() on top 10, 20 and 40 times in three runs, main() itself 2 times in one; d has none."""
    main_frame, hot = ("/app/main.py", 5, "main"), ("/app/main.py", 30, "hot")
    for name, count in (("a", 10), ("b", 20), ("c", 40)):
        sampled = [((main_frame, hot), count)] + ([((main_frame,), 2)] if name == "a" else [])
        write_trace(tmp_path / f"{name}.jsonl", [(*X, 1.0)], samples=sampled)
    write_trace(tmp_path / "d.jsonl", [(*X, 1.0)])
    result = fleet(read_run(path, path.name) for path in sorted(tmp_path.glob("*.jsonl")))
    assert result["cpu_functions"] == [
        {
            "function": "hot",
            "file": "/app/main.py",
            "runs": 3,
            "self_ms_p50": 20.0,
            "self_ms_p95": 38.0,  # 20 + 0.9 x (40 - 20)
            "self_ms_max": 40.0,
            "worst_trace": "c.jsonl",
        },
        {
            "function": "main",
            "file": "/app/main.py",
            "runs": 1,
            "self_ms_p50": 2.0,
            "self_ms_p95": 2.0,
            "self_ms_max": 2.0,
            "worst_trace": "a.jsonl",
        },
    ]
    done = CliRunner().invoke(main, ["fleet", str(tmp_path)])
    assert done.exit_code == 0, done.output
    row = next(line for line in done.stdout.splitlines() if line.startswith("hot "))
    assert row.split() == ["hot", "/app/main.py", "3", "20.0", "38.0", "40.0", "c.jsonl"]
