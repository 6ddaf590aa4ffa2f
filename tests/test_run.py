"""`jspiprof run` runs a program inside real Pyodide under Node 26 with JSPI, like `python` would."""

from pathlib import Path


def test_time_sleep_stack_switches_at_top_level(run_cli, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("from pyodide.ffi import can_run_sync\nimport time\ntime.sleep(0.01)\nprint(can_run_sync())\n")
    done = run_cli("run", str(script))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"
