"""`jspiprof stats`, `report` and `export` as a user runs them: numbers from the trace, one-sentence errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"


def jspiprof(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jspiprof", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_stats_json_is_one_object_with_hand_computed_numbers(tmp_path: Path):
    done = jspiprof("stats", "--json", str(FIXTURES / "small_app.jsonl"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert result["suspensions"] == 4 and result["failed_switches"] == 1
    assert result["total_wait_ms"] == 85.0  # 10 + 20 + 30 + 25
    assert result["entries"] == {"call": 1, "runPythonAsync": 1}
    first, second = result["sites"]
    assert {k: first[k] for k in ("site", "count", "wait_ms_total", "wait_ms_p50", "wait_ms_p95", "max_depth")} == {
        "site": "/home/app/app.py:4",
        "count": 3,
        "wait_ms_total": 60.0,
        "wait_ms_p50": 20.0,
        "wait_ms_p95": 29.0,  # 20 + 0.9 * (30 - 20), linear between ranks
        "max_depth": 4,
    }
    assert (second["site"], second["count"], second["wait_ms_total"], second["max_depth"]) == (
        "/home/app/app.py:12",
        1,
        25.0,
        1,
    )
    # its one failed switch, in entry 2 (95 to 96 ms): that entry's 1 ms at stake
    ((insight),) = result["insights"]
    assert (insight["kind"], insight["site"], insight["at_stake_ms"]) == ("failed-switches", "/home/app/app.py:20", 1.0)


def test_stats_table_names_the_top_site_and_the_insight(tmp_path: Path):
    done = jspiprof("stats", str(FIXTURES / "polling.jsonl"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "suspensions: 20" in done.stdout and "total wait: 2,050.0 ms" in done.stdout  # 10 x 200 ms + 10 x 5 ms
    assert "/app/poller.py:18" in done.stdout.splitlines()[6]  # first row of the site table
    assert "Polling with time.sleep at /app/poller.py:18 (about 201.0 ms at stake)" in done.stdout


def test_report_writes_one_html_file_next_to_the_trace_by_default(tmp_path: Path):
    trace = tmp_path / "run.jsonl"
    trace.write_bytes((FIXTURES / "sequential.jsonl").read_bytes())
    done = jspiprof("report", str(trace), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "run.html").read_text()
    assert "20 waits one after the other at /app/crawler.py:25" in html and "460.0 ms" in html


@pytest.mark.parametrize("format_, key", [("chrome", "traceEvents"), ("speedscope", "profiles")])
def test_export_writes_the_format(tmp_path: Path, format_: str, key: str):
    out = tmp_path / f"out.{format_}.json"
    done = jspiprof("export", str(FIXTURES / "small_app.jsonl"), "--format", format_, "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert key in json.loads(out.read_text())


@pytest.mark.parametrize("command", [["stats"], ["stats", "--json"], ["report"], ["export", "--format", "chrome"]])
@pytest.mark.parametrize(
    "content, message",
    [
        (None, "Cannot read the trace"),
        ("not json at all\n", "this is not a jspiprof trace"),
        (
            '{"type": "header", "schema": "jspiprof-trace", "version": 9, '
            '"origin_unix_ms": 0, "runtime": {}, "program": null}\n',
            "newer than this jspiprof reads",
        ),
    ],
)
def test_bad_input_is_one_sentence_not_a_traceback(
    tmp_path: Path, command: list[str], content: str | None, message: str
):
    trace = tmp_path / "trace.jsonl"
    if content is not None:
        trace.write_text(content)
    done = jspiprof(command[0], str(trace), *command[1:], cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_trace_cut_mid_line_is_read_up_to_its_last_whole_line_with_a_warning(tmp_path: Path):
    trace = tmp_path / "cut.jsonl"
    trace.write_bytes((FIXTURES / "small_app.jsonl").read_bytes()[:-30])  # the end line is cut in the middle
    done = jspiprof("stats", "--json", str(trace), cwd=tmp_path)
    assert done.returncode == 0 and "last line (line 18) is truncated" in done.stderr
    result = json.loads(done.stdout)
    assert result["suspensions"] == 4 and result["complete"] is False
    assert result["window_ms"] == 100.0  # no end line: the window ends with entry 1 at 101000 µs


@pytest.mark.parametrize("command", [["stats"], ["report"], ["export", "--format", "chrome"]])
def test_progress_bars_show_for_big_traces_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]):
    from click.testing import CliRunner

    from jspiprof import cli
    from jspiprof.cli import common

    trace = tmp_path / "run.jsonl"
    trace.write_bytes((FIXTURES / "sequential.jsonl").read_bytes())
    size = trace.stat().st_size
    shown = {}
    for threshold in (size, size + 1):  # a trace of PROGRESS_BYTES shows progress; a byte smaller, none
        monkeypatch.setattr(common, "PROGRESS_BYTES", threshold)
        done = CliRunner().invoke(cli.main, [command[0], str(trace), *command[1:]])
        assert done.exit_code == 0, done.output
        shown[threshold] = done.stderr
    assert f"reading {trace}" in shown[size] and f"reading {trace}" not in shown[size + 1]
    writes = command[0] != "stats"
    assert ("writing " in shown[size]) == writes and "writing " not in shown[size + 1]
