"""`jspiprof record URL`: pages served from 127.0.0.1, unchanged, recorded in real Chromium and Firefox.

Each page loads Pyodide its own way (a classic pyodide.js, an ES-module import on the main thread and in a module
worker, the jsDelivr CDN) and GETs /done when its program is over, which stops the recording (`record_page`'s
`stop`). What the trace holds is checked with `jspiprof stats --json` and `diagnose --json`.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jspiprof.browser import RecordedPage, record_page
from jspiprof.runtime.install import cache_home, cached_pyodide

PAGES = Path(__file__).parent / "record_site"
PYODIDE_FILES = (
    "pyodide.js",
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
BROWSERS = ("chromium", "firefox")


class Site:
    """The test pages and a copy of the cached Pyodide, served from 127.0.0.1; a GET of /done sets `done`."""

    def __init__(self, folder: Path) -> None:
        self.done = threading.Event()
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                if self.path == "/done":
                    site.done.set()
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def record(self, page: str, browser: str, trace: Path) -> tuple[RecordedPage, list[str]]:
        """Record `page` in `browser` until it GETs /done (at most 90 s); what it recorded, and what was said."""
        self.done.clear()
        said: list[str] = []
        recorded = record_page(
            f"{self.url}/{page}", trace, browser=browser, stop=self.done, seconds=90, home=cache_home(), say=said.append
        )
        return recorded, said


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    shutil.copytree(PAGES, folder, dirs_exist_ok=True)
    (folder / "done").write_text("done\n")
    (folder / "pyodide").mkdir()
    for name in PYODIDE_FILES:
        shutil.copy(cached_pyodide(cache_home()) / name, folder / "pyodide" / name)
    served = Site(folder)
    yield served
    served.server.shutdown()


def stats(run_cli, trace: Path) -> dict:
    done = run_cli("stats", "--json", str(trace))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sites(numbers: dict) -> dict[str, tuple[int, list[str]]]:
    """Each site's suspension count and paths."""
    return {site["site"]: (site["count"], site["paths"]) for site in numbers["sites"]}


def instances(trace: Path) -> list[dict]:
    """The trace's `instance` lines."""
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    return [line for line in lines if line["type"] == "instance"]


@pytest.mark.parametrize("browser", BROWSERS)
def test_a_page_that_loads_pyodide_js_is_recorded_with_its_sites_and_failed_switch(site, browser, tmp_path, run_cli):
    recorded, said = site.record("classic.html", browser, tmp_path / "trace.jsonl")
    assert (recorded.instances, recorded.reason, said) == (1, "stopped", [])
    numbers = stats(run_cli, recorded.trace)
    assert sites(numbers) == {"/home/pyodide/app.py:6": (5, ["run_sync"])}
    assert numbers["entries"]["runPythonAsync"] == 1
    assert numbers["failed_switches"] == 1
    done = run_cli("diagnose", "--json", str(recorded.trace))
    problems = json.loads(done.stdout)
    # the page's runPython call, line 21 of classic.html, is where the fix goes
    assert [(problem["class"], problem["location"]) for problem in problems] == [
        ("sync-runpython", f"{site.url}/classic.html:21")
    ]
    [instance] = instances(recorded.trace)
    assert (instance["where"], instance["url"]) == ("page", f"{site.url}/classic.html")


@pytest.mark.parametrize("browser", BROWSERS)
def test_the_main_thread_and_a_module_worker_are_two_instances_of_one_trace(site, browser, tmp_path, run_cli):
    recorded, said = site.record("workers.html", browser, tmp_path / "trace.jsonl")
    assert (recorded.instances, said) == (2, [])
    numbers = stats(run_cli, recorded.trace)
    assert sites(numbers) == {
        "/home/pyodide/main.py:6": (3, ["run_sync"]),
        "/home/pyodide/work.py:5": (4, ["time.sleep"]),
    }
    assert numbers["entries"]["runPythonAsync"] == 2
    where = {line["where"]: line["url"] for line in instances(recorded.trace)}
    assert where == {"page": f"{site.url}/workers.html", "worker": f"{site.url}/worker.mjs"}
    lines = [json.loads(line) for line in recorded.trace.read_text().splitlines()]
    by_site = {}
    for line in lines:
        if line["type"] == "suspension":
            by_site.setdefault(line["site"], set()).add(line["instance"])
    worker = next(line["instance"] for line in instances(recorded.trace) if line["where"] == "worker")
    assert by_site == {"/home/pyodide/main.py:6": {1 - worker}, "/home/pyodide/work.py:5": {worker}}


@pytest.mark.parametrize("browser", BROWSERS)
def test_pyodide_from_jsdelivr_is_served_from_the_cache_and_a_page_leaving_mid_run_keeps_its_trace(
    site, browser, tmp_path, run_cli
):
    recorded, said = site.record("cdn.html", browser, tmp_path / "trace.jsonl")
    assert (recorded.instances, said) == (1, [])
    numbers = stats(run_cli, recorded.trace)
    # The third sleep resumed just before the page left: only the batch sent on pagehide holds it.
    assert sites(numbers) == {"/home/pyodide/leaving.py:6": (3, ["time.sleep"])}
    [instance] = instances(recorded.trace)
    assert instance["runtime"]["pyodide"] == "314.0.7"


def test_record_stops_after_seconds_and_prints_the_summary(site, tmp_path, run_cli):
    done = run_cli("record", f"{site.url}/forever.html", "--seconds", "12", "-o", "trace.jsonl", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "recording ended (12 s passed): 1 Pyodide instance recorded." in done.stderr
    assert "/home/pyodide/forever.py:5" in done.stderr  # the summary's top site
    assert (tmp_path / "trace.html").is_file()
    numbers = stats(run_cli, tmp_path / "trace.jsonl")
    assert numbers["complete"] is True
    [(count, paths)] = sites(numbers).values()
    assert count >= 3 and paths == ["time.sleep"]


def test_a_recording_killed_mid_run_leaves_a_trace_that_loads(site, tmp_path, run_cli):
    trace = tmp_path / "trace.jsonl"
    command = [
        sys.executable,
        "-m",
        "jspiprof",
        "record",
        f"{site.url}/forever.html",
        "--browser",
        "firefox",
        "--seconds",
        "60",
        "-o",
        str(trace),
    ]
    process = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline and (not trace.is_file() or trace.read_text().count('"suspension"') < 3):
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    numbers = stats(run_cli, trace)
    assert numbers["complete"] is False
    [(count, _)] = sites(numbers).values()
    assert count >= 3
