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
from jspiprof.analysis.compare import compare, differential_flame_graph
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
        node.stack: (node.ms_before, node.ms_after)
        for node in differential_flame_graph(*map(_tables, before_after))
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
