"""`jspiprof compare BEFORE AFTER`: per site and function, what got faster or slower, what is new and what is gone,
with sites matched across code changes; numbers worked out by hand on tiny traces, then a real crawler run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chromium_pages import chromium, drawn_charts
from click.testing import CliRunner
from trace_files import write_trace

from jspiprof.analysis import insights, summary, tables
from jspiprof.analysis.compare import compare, differential_flame_graph, stack_cpu
from jspiprof.cli import main
from jspiprof.trace import read_trace

EXAMPLES = Path(__file__).parent.parent / "examples"


def _tables(path: Path):
    return tables(read_trace(path))


@pytest.fixture
def before_after(tmp_path: Path) -> tuple[Path, Path]:
    """fetch() waits 3 x 100 ms, then (two lines added above it) 10 ms; parse() is unchanged; old() is gone and
    new() appears."""
    before = write_trace(
        tmp_path / "before.jsonl",
        [("/app/main.py", 10, "fetch", 100.0)] * 3
        + [("/app/main.py", 20, "parse", 5.0), ("/app/old.py", 3, "old", 7.0)],
        window_ms=400.0,
    )
    after = write_trace(
        tmp_path / "after.jsonl",
        [("/app/main.py", 12, "fetch", 10.0), ("/app/main.py", 22, "parse", 5.0), ("/app/new.py", 5, "new", 3.0)],
        window_ms=100.0,
    )
    return before, after


def test_sites_are_matched_by_line_then_by_function_when_lines_moved(before_after: tuple[Path, Path]) -> None:
    result = compare(*map(_tables, before_after))
    by_function = {site["function"]: site for site in result["sites"]}

    fetch = by_function["fetch"]
    assert (fetch["site_before"], fetch["site"], fetch["match"]) == ("/app/main.py:10", "/app/main.py:12", "moved")
    assert (fetch["status"], fetch["count_before"], fetch["count_after"]) == ("faster", 3, 1)
    assert (fetch["wait_ms_before"], fetch["wait_ms_after"], fetch["wait_ms_saved"]) == (300.0, 10.0, 290.0)
    assert (by_function["parse"]["status"], by_function["parse"]["wait_ms_saved"]) == ("same", 0.0)
    assert (by_function["old"]["status"], by_function["old"]["wait_ms_saved"]) == ("gone", 7.0)
    assert (by_function["new"]["status"], by_function["new"]["wait_ms_saved"]) == ("new", -3.0)
    assert [site["function"] for site in result["sites"]] == ["fetch", "old", "new", "parse"]  # largest change first
    assert (result["wait_saved_ms"], result["window_saved_ms"]) == (312.0 - 18.0, 300.0)


def test_an_unchanged_line_matches_exactly_and_moved_sites_of_one_function_pair_in_line_order(tmp_path: Path) -> None:
    before = write_trace(
        tmp_path / "b.jsonl",
        [("/app/a.py", 10, "f", 1.0), ("/app/a.py", 14, "f", 20.0), ("/app/a.py", 30, "g", 4.0)],
    )
    after = write_trace(
        tmp_path / "a.jsonl",
        [("/app/a.py", 11, "f", 1.0), ("/app/a.py", 15, "f", 40.0), ("/app/a.py", 30, "g", 4.0)],
    )
    pairs = {
        (s["site_before"], s["site"], s["match"], s["status"])
        for s in compare(_tables(before), _tables(after))["sites"]
    }
    assert pairs == {
        ("/app/a.py:10", "/app/a.py:11", "moved", "same"),
        ("/app/a.py:14", "/app/a.py:15", "moved", "slower"),
        ("/app/a.py:30", "/app/a.py:30", "exact", "same"),
    }


def test_functions_sum_the_waits_of_their_sites(tmp_path: Path) -> None:
    before = write_trace(tmp_path / "b.jsonl", [("/app/a.py", 10, "f", 1.0), ("/app/a.py", 14, "f", 20.0)])
    after = write_trace(tmp_path / "a.jsonl", [("/app/a.py", 10, "f", 2.0)])
    (function,) = compare(_tables(before), _tables(after))["functions"]
    assert function == {
        "file": "/app/a.py",
        "function": "f",
        "status": "faster",
        "count_before": 2,
        "count_after": 1,
        "wait_ms_before": 21.0,
        "wait_ms_after": 2.0,
        "wait_ms_saved": 19.0,
    }


def test_the_differential_flame_graph_holds_each_stack_s_wait_before_and_after(before_after) -> None:
    nodes = {
        node.stack: (node.ms_before, node.ms_after) for node in differential_flame_graph(*map(_tables, before_after))
    }
    assert nodes[()] == (312.0, 18.0)
    assert nodes[("fetch (main.py)",)] == (300.0, 10.0)  # matched although its line moved
    assert nodes[("old (old.py)",)] == (7.0, 0.0) and nodes[("new (new.py)",)] == (0.0, 3.0)


def test_json_holds_the_stats_of_both_traces_and_html_draws_the_differential_flame_graph(
    before_after, tmp_path
) -> None:
    before, after = before_after
    report = tmp_path / "compare.html"
    done = CliRunner().invoke(main, ["compare", str(before), str(after), "--json", "-o", str(report)])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    for name, path in (("before", before), ("after", after)):
        stats = CliRunner().invoke(main, ["stats", "--json", str(path)])
        assert result[name] == json.loads(stats.stdout)
    page = report.read_text()
    assert '"type":"icicle"' in page and "fetch (main.py)" in page and "/app/main.py:12" in page


def test_the_terminal_table_shows_each_change(before_after) -> None:
    done = CliRunner().invoke(main, ["compare", *map(str, before_after)])
    assert done.exit_code == 0, done.output
    assert "total wait: 312.0 ms -> 18.0 ms (saved 294.0 ms)" in done.stdout
    assert "/app/main.py:12 (was :10)" in done.stdout and "+290.0" in done.stdout


def test_a_missing_trace_is_one_sentence(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["compare", str(tmp_path / "nope.jsonl"), str(tmp_path / "nope.jsonl")])
    assert (
        done.exit_code == 1
        and done.output.startswith("Error: Cannot read the trace")
        and "Traceback" not in done.output
    )


def test_the_concurrent_crawler_saves_the_wait_at_its_requests_get_site(run_cli, tmp_path: Path) -> None:
    for example in ("crawler.py", "crawler_concurrent.py"):
        done = run_cli("run", "--with", "requests", "-o", f"{example}.jsonl", str(EXAMPLES / example), "8", timeout=240)
        assert done.returncode == 0, done.stderr
    done = run_cli("compare", "crawler.py.jsonl", "crawler_concurrent.py.jsonl", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    line = next(
        n for n, text in enumerate((EXAMPLES / "crawler.py").read_text().splitlines(), 1) if "requests.get(" in text
    )
    top = result["sites"][0]
    assert top["site"] == f"{EXAMPLES / 'crawler.py'}:{line}" and top["function"] == "fetch"
    assert top["status"] == "faster" and top["count_before"] >= 9 * 2 and top["count_after"] <= 3  # only the index
    assert top["wait_ms_saved"] >= 8 * 40  # every article is served after 40-69 ms
    gather = next(s for s in result["sites"] if s["site"].startswith(f"{EXAMPLES / 'crawler_concurrent.py'}:"))
    assert gather["status"] == "new" and gather["count_after"] == 1
    assert result["wait_saved_ms"] >= 8 * 40 - gather["wait_ms_after"]
    # the run window also holds Pyodide's start and loading requests, which a loaded machine can slow down either way
    assert result["window_saved_ms"] == round(result["before"]["window_ms"] - result["after"]["window_ms"], 3)
    t = tables(read_trace(tmp_path / "crawler.py.jsonl"))
    assert result["before"] == json.loads(json.dumps(summary(t, insights(t))))


def test_the_html_report_draws_the_differential_flame_graph_in_chromium(before_after, tmp_path: Path) -> None:
    report = tmp_path / "compare.html"
    done = CliRunner().invoke(main, ["compare", *map(str, before_after), "-o", str(report)])
    assert done.exit_code == 0, done.output
    with chromium() as browser:
        assert drawn_charts(browser, report, at_least=1) == ["icicle"]


APP = "/app/app.py"


def _sampled(parse: int, old: int, new: int, render_line: int) -> list:
    """main() calling parse(), render() (10 samples, at `render_line`), old() and new(); 5 samples in main itself."""
    caller = [(APP, line, "main") for line in (5, 6, 7, 8, 9)]
    stacks = [
        ((caller[0], (APP, 20, "parse")), parse),
        ((caller[1], (APP, render_line, "render")), 10),
        ((caller[2],), 5),
        ((caller[3], (APP, 50, "old")), old),
        ((caller[4], (APP, 60, "new")), new),
    ]
    return [(stack, count) for stack, count in stacks if count]


@pytest.fixture
def cpu_before_after(tmp_path: Path) -> tuple[Path, Path]:
    """1 ms samples: parse() 30 -> 10, render() 10 -> 10 (its line moved), main() itself 5 -> 5, old() 4 -> gone,
    new() appears with 6; so main's total is 49 -> 31 ms."""
    wait = [(APP, 3, "main", 10.0)]
    before = write_trace(tmp_path / "cpu_before.jsonl", wait, samples=_sampled(30, 4, 0, 40))
    after = write_trace(tmp_path / "cpu_after.jsonl", wait, samples=_sampled(10, 0, 6, 41))
    return before, after


def test_cpu_moved_per_function_is_self_and_total_time_before_and_after(cpu_before_after) -> None:
    result = compare(*map(_tables, cpu_before_after))
    assert result["cpu_note"] is None and result["cpu_python_ms"] == {"before": 49.0, "after": 31.0}
    rows = {row["function"]: row for row in result["cpu_functions"]}
    assert rows["parse"] == {
        "file": APP,
        "function": "parse",
        "status": "faster",
        "self_ms_before": 30.0,
        "self_ms_after": 10.0,
        "self_ms_change": -20.0,
        "total_ms_before": 30.0,
        "total_ms_after": 10.0,
        "total_ms_change": -20.0,
    }
    caller = rows["main"]
    assert (caller["status"], caller["self_ms_before"], caller["self_ms_after"]) == ("same", 5.0, 5.0)
    assert (caller["total_ms_before"], caller["total_ms_after"], caller["total_ms_change"]) == (49.0, 31.0, -18.0)
    assert (rows["render"]["status"], rows["render"]["self_ms_change"]) == ("same", 0.0)  # matched though it moved
    assert (rows["old"]["status"], rows["old"]["self_ms_before"], rows["old"]["self_ms_change"]) == ("gone", 4.0, -4.0)
    assert (rows["new"]["status"], rows["new"]["self_ms_after"], rows["new"]["total_ms_change"]) == ("new", 6.0, 6.0)
    # largest change in self time first, then in total time
    assert [row["function"] for row in result["cpu_functions"]] == ["parse", "new", "old", "main", "render"]


def test_a_change_in_cpu_time_within_its_sampling_error_is_the_same(tmp_path: Path) -> None:
    # 4 samples then 9: each count is give or take its square root, so 5 ms more is no evidence of slower code.
    wait = [(APP, 3, "main", 10.0)]
    before = write_trace(tmp_path / "before.jsonl", wait, samples=_sampled(4, 0, 0, 40))
    after = write_trace(tmp_path / "after.jsonl", wait, samples=_sampled(9, 0, 0, 40))
    parse = {row["function"]: row for row in compare(_tables(before), _tables(after))["cpu_functions"]}["parse"]
    assert (parse["status"], parse["self_ms_change"]) == ("same", 5.0)
    much_later = write_trace(tmp_path / "much_later.jsonl", wait, samples=_sampled(40, 0, 0, 40))
    parse = {row["function"]: row for row in compare(_tables(before), _tables(much_later))["cpu_functions"]}["parse"]
    assert (parse["status"], parse["self_ms_change"]) == ("slower", 36.0)


def test_the_cpu_differential_flame_graph_holds_each_sampled_stack_s_time_before_and_after(cpu_before_after) -> None:
    nodes = {
        node.stack: (node.ms_before, node.ms_after)
        for node in differential_flame_graph(*map(_tables, cpu_before_after), stack_cpu)
    }
    top = "main (app.py)"
    assert nodes[()] == (49.0, 31.0) and nodes[(top,)] == (49.0, 31.0)
    assert nodes[(top, "parse (app.py)")] == (30.0, 10.0) and nodes[(top, "render (app.py)")] == (10.0, 10.0)
    assert nodes[(top, "old (app.py)")] == (4.0, 0.0) and nodes[(top, "new (app.py)")] == (0.0, 6.0)


def test_cpu_moved_is_in_the_json_and_the_terminal_table(cpu_before_after) -> None:
    done = CliRunner().invoke(main, ["compare", *map(str, cpu_before_after), "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert [row["function"] for row in result["cpu_functions"]] == ["parse", "new", "old", "main", "render"]
    assert result["cpu_functions"][0]["self_ms_change"] == -20.0
    done = CliRunner().invoke(main, ["compare", *map(str, cpu_before_after)])
    assert done.exit_code == 0, done.output
    assert "CPU (sampled Python): 49.0 ms -> 31.0 ms" in done.stdout
    parse = next(line for line in done.stdout.splitlines() if line.startswith("parse "))
    assert parse.split() == ["parse", APP, "faster", "30.0", "10.0", "-20.0", "30.0", "10.0", "-20.0"]


def test_without_samples_the_cpu_part_is_empty_and_said_in_one_line(before_after, cpu_before_after) -> None:
    neither = compare(*map(_tables, before_after))
    assert neither["cpu_functions"] == [] and neither["cpu_note"].startswith("No CPU samples in either trace")
    one = compare(_tables(cpu_before_after[0]), _tables(before_after[1]))
    assert one["cpu_functions"] == [] and one["cpu_note"].startswith("No CPU samples in the AFTER trace")
    done = CliRunner().invoke(main, ["compare", *map(str, before_after)])
    assert [line for line in done.stdout.splitlines() if "CPU" in line] == [f"CPU: {neither['cpu_note']}"]


def test_the_html_report_draws_the_cpu_differential_flame_graph_in_chromium(cpu_before_after, tmp_path) -> None:
    report = tmp_path / "compare.html"
    done = CliRunner().invoke(main, ["compare", *map(str, cpu_before_after), "-o", str(report)])
    assert done.exit_code == 0, done.output
    page = report.read_text()
    assert "Differential flame graph of CPU" in page and "all sampled Python" in page and "parse (app.py)" in page
    with chromium() as browser:
        assert drawn_charts(browser, report, at_least=2) == ["icicle", "icicle"]
