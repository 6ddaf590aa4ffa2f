"""Insights on traces recorded for real (Pyodide under Node 26), for patterns the examples do not show."""

from __future__ import annotations

from pathlib import Path

from jspiprof.analysis import insights, tables
from jspiprof.trace import read_trace

HOT_LOOP = """\
import time

def tick():
    time.sleep(0)

for i in range(500):
    tick()
time.sleep(0.05)
"""


def test_a_loop_of_time_sleep_0_is_a_hot_loop_and_one_real_sleep_is_not(run_cli, tmp_path: Path):
    (tmp_path / "hot.py").write_text(HOT_LOOP)
    done = run_cli("run", "hot.py")
    assert done.returncode == 0, done.stderr
    found = insights(tables(read_trace(tmp_path / "jspiprof-trace.jsonl")))
    assert [(i.kind, i.site) for i in found] == [("hot-loop", f"{tmp_path}/hot.py:4")]
    assert "500 suspensions" in found[0].evidence[0]
    assert "finding: 500 tiny stack switches" in done.stderr


FETCH_THEN_READ = """\
from pyodide.code import run_js
from pyodide.ffi import run_sync
from pyodide.http import pyfetch

port = run_sync(run_js('''(async () => {
  const http = await import("node:http");
  const server = http.createServer((request, response) => setTimeout(() => response.end("{}"), 20));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return server.address().port;
})()'''))

for i in range(8):
    response = run_sync(pyfetch(f"http://127.0.0.1:{port}/item/{i}"))  # fetch
    run_sync(response.json())  # read the body
"""


def test_a_loop_that_fetches_then_reads_each_body_is_told_its_fetches_could_overlap(run_cli, tmp_path: Path):
    """The fetch waits alternate with body reads at another line: still one wait after another at the fetch line."""
    (tmp_path / "fetch.py").write_text(FETCH_THEN_READ)
    done = run_cli("run", "fetch.py")
    assert done.returncode == 0, done.stderr
    found = insights(tables(read_trace(tmp_path / "jspiprof-trace.jsonl")))
    fetch_line = next(
        number for number, line in enumerate(FETCH_THEN_READ.splitlines(), start=1) if line.endswith("# fetch")
    )
    fetches = [i for i in found if i.site == f"{tmp_path}/fetch.py:{fetch_line}"]
    assert [i.kind for i in fetches] == ["sequential-waits"]
    assert "8 suspensions (run_sync)" in fetches[0].evidence[0]
    assert fetches[0].at_stake_us >= 7 * 20_000 * 0.9  # all but the longest of 8 waits of >= 20 ms
