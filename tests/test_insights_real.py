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
