"""The analysis numbers equal those derived by hand from the fixture traces in tests/fixtures/analysis/."""

from __future__ import annotations

from pathlib import Path

import pytest

from jspiprof.analysis import (
    LIBRARY_SITE,
    insights,
    kind_stats,
    path_stats,
    site_stats,
    summary,
    tables,
    time_accounting,
)
from jspiprof.render import console
from jspiprof.trace import read_trace as load

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"


@pytest.fixture
def small():
    """small_app.jsonl: entry 1 (runPythonAsync, 1000-101000 µs) with 3 urllib3 waits at app.py:4
    (10, 20, 30 ms; resume 100, 200, 300 µs; 4096, 4096, 8192 bytes; depth 4) and one time.sleep at app.py:12
    (25 ms, resume 1000 µs, depth 1); entry 2 (call, 95000-96000 µs) with one failed switch; trace end 110000 µs."""
    return tables(load(FIXTURES / "small_app.jsonl"))


def test_per_site_numbers_match_hand_computation(small):
    sites = site_stats(small)
    assert list(sites.index) == ["/home/app/app.py:4", "/home/app/app.py:12"]  # 60 ms before 25 ms
    a = sites.loc["/home/app/app.py:4"]
    assert a["count"] == 3
    assert a["wait_total_us"] == 60000  # 10000 + 20000 + 30000
    assert a["wait_mean_us"] == 20000
    assert a["wait_p50_us"] == 20000  # middle of 3 values
    assert a["wait_p95_us"] == pytest.approx(29000)  # rank 0.95 * 2 = 1.9: 20000 + 0.9 * 10000
    assert a["wait_p99_us"] == pytest.approx(29800)  # rank 1.98: 20000 + 0.98 * 10000
    assert a["wait_max_us"] == 30000
    assert a["resume_total_us"] == 600 and a["resume_mean_us"] == 200
    assert a["depth_max"] == 4
    assert a["stack_bytes_mean"] == pytest.approx(16384 / 3) and a["stack_bytes_max"] == 8192
    b = sites.loc["/home/app/app.py:12"]
    assert (b["count"], b["wait_total_us"], b["wait_p95_us"], b["depth_max"]) == (1, 25000, 25000, 1)


def test_breakdowns_per_entry_kind_and_per_path(small):
    kinds = kind_stats(small)
    assert kinds.loc["runPythonAsync", "entries"] == 1 and kinds.loc["runPythonAsync", "suspensions"] == 4
    assert kinds.loc["runPythonAsync", "wait_total_us"] == 85000  # 60000 + 25000
    assert kinds.loc["call", "suspensions"] == 0 and kinds.loc["call", "entry_total_us"] == 1000
    paths = path_stats(small)
    assert paths.loc["urllib3", "count"] == 3 and paths.loc["time.sleep", "wait_total_us"] == 25000


def test_time_accounting_splits_the_window(small):
    accounting = time_accounting(small)
    assert accounting.window_us == 109000  # first entry start 1000 -> end line 110000
    # suspended: (10000+100) + (20000+200) + (30000+300) + (25000+1000) = 86600;
    # entry 2 runs while entry 1 is not suspended
    assert accounting.suspended_us == 86600
    assert accounting.running_us == 13400  # entry 1 lasts 100000, minus 86600 suspended
    assert accounting.other_us == 9000  # 110000 - 101000 after entry 1 returned


def test_an_end_line_earlier_than_the_events_it_ends_does_not_shrink_the_window(tmp_path):
    lines = (FIXTURES / "small_app.jsonl").read_text().splitlines()
    assert '"type":"end"' in lines[-1].replace(" ", "")
    early_end = tmp_path / "early_end.jsonl"
    early_end.write_text("\n".join([*lines[:-1], '{"type": "end", "ts_us": 5, "dropped": 0, "exit_status": 0}']) + "\n")
    accounting = time_accounting(tables(load(early_end)))
    assert accounting.window_us == 100000  # first entry start 1000 -> last event, entry 1's end at 101000
    assert (accounting.running_us, accounting.suspended_us, accounting.other_us) == (13400, 86600, 0)


def test_summary_is_the_stats_json(small):
    result = summary(small)
    assert result["suspensions"] == 4 and result["failed_switches"] == 1
    assert result["total_wait_ms"] == 85.0
    assert result["entries"] == {"call": 1, "runPythonAsync": 1}
    assert result["sites"][0] == {
        "site": "/home/app/app.py:4",
        "count": 3,
        "wait_ms_total": 60.0,
        "wait_ms_mean": 20.0,
        "wait_ms_p50": 20.0,
        "wait_ms_p95": 29.0,
        "wait_ms_p99": 29.8,
        "wait_ms_max": 30.0,
        "resume_ms_total": 0.6,
        "max_depth": 4,
        "stack_bytes_max": 8192,
        "paths": ["urllib3"],
    }
    assert [s["site"] for s in result["sites"]] == ["/home/app/app.py:4", "/home/app/app.py:12"]
    assert (result["running_ms"], result["suspended_ms"], result["other_ms"]) == (13.4, 86.6, 9.0)


def test_suspensions_with_only_library_frames_are_grouped_under_one_label():
    t = tables(load(FIXTURES / "small_app.jsonl"))
    t.suspensions.loc[0, "site"] = LIBRARY_SITE
    assert LIBRARY_SITE in site_stats(t).index


def test_an_entry_waiting_for_its_child_entries_is_not_running_python():
    """nested_tasks.jsonl: runPythonAsync entry 1 (0-10000 µs) runs task 2 (1000-9000), which suspends at
    2000-7000 while task 3 (3000-4000) runs; the end line is at 11000."""
    accounting = time_accounting(tables(load(FIXTURES / "nested_tasks.jsonl")))
    # entry 1 itself: 0-1000 and 9000-10000; task 2 itself: 1000-2000 and 7000-9000; task 3: 3000-4000
    assert accounting.running_us == 6000
    assert accounting.suspended_us == 4000  # 2000-7000 minus task 3's 1000
    assert accounting.other_us == 1000  # 10000-11000


def test_the_numbers_read_the_tables_arrays_and_never_make_their_dataframes(small):
    """The DataFrames of `Tables` are for notebooks; `jspiprof stats` and `jspiprof run` read the columns."""
    summary(small, insights(small))
    assert not {"suspensions", "entries", "frames", "failed_switches"} & set(vars(small))  # made when first used


def test_the_summary_at_the_end_of_a_run_shows_the_analysis_numbers():
    """tests/fixtures/small.jsonl was recorded from a real run; what `jspiprof run` prints at its end is the analysis'
    summary: the same counts, total wait, suspensions per path and top sites, in the same order."""
    result = summary(tables(load(Path(__file__).parent / "fixtures" / "small.jsonl")))
    headline, by_path, title, *site_lines = console.render_at_exit(result).splitlines()
    assert headline.startswith(
        f"suspensions: {result['suspensions']}   failed switches: {result['failed_switches']}   "
        f"total wait: {result['total_wait_ms']:.1f} ms"
    )
    assert by_path == "by path: " + ", ".join(f"{path} {numbers['count']}" for path, numbers in result["paths"].items())
    assert title == f"top sites by total wait ({len(site_lines)} of {len(result['sites'])}):"
    assert [line.split("x  ", 1)[1] for line in site_lines] == [site["site"] for site in result["sites"]][:8]
    assert [int(line.split("x  ", 1)[0].split()[-1]) for line in site_lines] == [
        site["count"] for site in result["sites"]
    ][:8]
