"""`jspiprof record URL`: pages served from 127.0.0.1, unchanged, recorded in real Chromium and Firefox.

Each page loads Pyodide its own way (a classic pyodide.js from jsDelivr or from 127.0.0.1, an ES-module import on the
main thread, in a module worker that another module worker started, and in a popup the page opened with window.open
or by clicking a target=_blank link) and GETs /done when its program is over, which stops the recording
(`record_page`'s `stop`). What the trace holds is checked with `jspiprof stats --json` and `diagnose --json`.
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
from jspiprof.trace import read_trace

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

    def record(self, page: str, browser: str, trace: Path, seconds: float = 60) -> tuple[RecordedPage, list[str]]:
        """Record `page` in `browser` until it GETs /done (at most `seconds`); what it recorded, and what was said."""
        self.done.clear()
        said: list[str] = []
        recorded = record_page(
            f"{self.url}/{page}",
            trace,
            browser=browser,
            stop=self.done,
            seconds=seconds,
            home=cache_home(),
            say=said.append,
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


def instances(numbers: dict) -> list[tuple[str, str, int]]:
    """Each instance's where, URL and suspension count."""
    return [(instance["where"], instance["url"], instance["suspensions"]) for instance in numbers["instances"]]


@pytest.mark.parametrize("browser", BROWSERS)
def test_pyodide_js_from_jsdelivr_is_served_from_the_cache_and_a_page_leaving_mid_run_keeps_its_trace(
    site, browser, tmp_path, run_cli
):
    recorded, said = site.record("jsdelivr.html", browser, tmp_path / "trace.jsonl")
    assert (recorded.instances, recorded.reason, said) == (1, "stopped", [])
    numbers = stats(run_cli, recorded.trace)
    # The last sleep resumed just before the page left, while Python was still running.
    assert sites(numbers) == {
        "/home/pyodide/app.py:8": (5, ["run_sync"]),
        "/home/pyodide/app.py:15": (3, ["time.sleep"]),
    }
    assert numbers["entries"]["runPythonAsync"] == 2
    assert numbers["failed_switches"] == 1
    assert instances(numbers) == [("page", f"{site.url}/jsdelivr.html", 8)]
    done = run_cli("diagnose", "--json", str(recorded.trace))
    problems = json.loads(done.stdout)
    # the page's runPython call, line 30 of jsdelivr.html, is where the fix goes
    assert [(problem["class"], problem["location"]) for problem in problems] == [
        ("sync-runpython", f"{site.url}/jsdelivr.html:30")
    ]


@pytest.mark.parametrize("browser", BROWSERS)
def test_the_main_thread_and_a_nested_module_worker_are_two_instances_of_one_trace(site, browser, tmp_path, run_cli):
    recorded, said = site.record("workers.html", browser, tmp_path / "trace.jsonl")
    assert recorded.instances == 2
    # the two callbacks' errors reach the page uncaught, as without jspiprof, and are said as they happen
    assert sorted(line for error in said for line in error.splitlines() if "main.py" in line) == [
        '  File "/home/pyodide/main.py", line 10, in on_click',
        '  File "/home/pyodide/main.py", line 13, in tick',
    ]
    numbers = stats(run_cli, recorded.trace)
    assert sites(numbers) == {
        "/home/pyodide/main.py:7": (3, ["run_sync"]),
        "/home/pyodide/work.py:5": (4, ["time.sleep"]),
    }
    assert numbers["entries"]["runPythonAsync"] == 2
    assert sorted(instances(numbers)) == [
        ("page", f"{site.url}/workers.html", 3),
        ("worker", f"{site.url}/worker.mjs", 4),
    ]
    assert {instance["where"]: sites(instance) for instance in numbers["instances"]} == {
        "page": {"/home/pyodide/main.py:7": (3, ["run_sync"])},
        "worker": {"/home/pyodide/work.py:5": (4, ["time.sleep"])},
    }
    assert numbers["failed_switches"] == 2
    # Python registered both callbacks: each failure is located at its registering line, two problems.
    done = run_cli("diagnose", "--json", str(recorded.trace))
    assert sorted((problem["class"], problem["location"]) for problem in json.loads(done.stdout)) == [
        ("sync-js-callback", "/home/pyodide/main.py:16"),
        ("sync-js-callback", "/home/pyodide/main.py:17"),
    ]


@pytest.mark.parametrize("browser", BROWSERS)
def test_a_popup_the_page_opens_is_recorded_with_its_own_pyodide(site, browser, tmp_path, run_cli):
    recorded, said = site.record("opener.html", browser, tmp_path / "trace.jsonl")
    assert (recorded.instances, said) == (1, [])
    numbers = stats(run_cli, recorded.trace)
    assert instances(numbers) == [("page", f"{site.url}/popup.html", 2)]
    assert sites(numbers) == {"/home/pyodide/popup.py:4": (2, ["time.sleep"])}
    # The program ran to its end: every entry, task steps included, is recorded as ended.
    assert [entry for entry in read_trace(recorded.trace).entries.values() if entry.end_us is None] == []


def test_a_page_a_target_blank_link_opens_is_recorded_with_its_own_pyodide(site, tmp_path, run_cli):
    # Chromium only: the link differs from window.open in how the page is opened, not in how record follows it.
    recorded, said = site.record("blank_link.html", "chromium", tmp_path / "trace.jsonl")
    assert (recorded.instances, said) == (1, [])
    numbers = stats(run_cli, recorded.trace)
    assert instances(numbers) == [("page", f"{site.url}/popup.html", 2)]
    assert sites(numbers) == {"/home/pyodide/popup.py:4": (2, ["time.sleep"])}


@pytest.mark.parametrize("browser", BROWSERS)
def test_what_a_page_says_is_shown_escaped_and_a_page_not_found_is_said(site, browser, tmp_path):
    recorded, said = site.record("escapes.html", browser, tmp_path / "trace.jsonl")
    assert recorded.instances == 0
    [error] = [line for line in said if "boom" in line]
    assert error.endswith("boom \\x1b[2J\\x1b]0;retitled\\x07 end")  # Firefox puts "Error: " before the message
    assert not any("\x1b" in line or "\x07" in line for line in said)
    recorded, said = site.record("missing.html", browser, tmp_path / "missing.jsonl", seconds=3)  # never GETs /done
    assert (recorded.instances, said) == (0, [f"jspiprof: page error: {site.url}/missing.html answered HTTP 404"])


def test_record_of_a_page_loading_pyodide_js_stops_after_seconds_and_prints_the_summary(site, tmp_path, run_cli):
    done = run_cli("record", f"{site.url}/forever.html", "--seconds", "12", "-o", "trace.jsonl", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "recording ended (12 s passed): 1 Pyodide instance recorded." in done.stderr, done.stderr
    assert "/home/pyodide/forever.py:5" in done.stderr  # the summary's top site
    assert (tmp_path / "trace.html").is_file()
    numbers = stats(run_cli, tmp_path / "trace.jsonl")
    assert numbers["complete"] is True
    [(count, paths)] = sites(numbers).values()
    assert count >= 3 and paths == ["time.sleep"]


def descendants(pid: int) -> set[int]:
    """The processes `pid` started, and theirs, as /proc shows them now."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, new = set(), {pid}
    while new:
        new = {child for child, parent in parents.items() if parent in new} - found
        found |= new
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_recording_killed_mid_run_leaves_a_trace_that_loads_and_no_process(site, tmp_path, run_cli):
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
        started = descendants(process.pid)  # the browser driver and the browser
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert len(started) > 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.2)
    assert not [pid for pid in started if alive(pid)], "the driver closes the browser and ends with the recorder"
    numbers = stats(run_cli, trace)
    assert numbers["complete"] is False
    [(count, _)] = sites(numbers).values()
    assert count >= 3


def test_a_url_that_is_not_http_or_cannot_be_opened_is_one_sentence(run_cli, tmp_path):
    done = run_cli("record", "file:///srv/app.html")
    assert done.returncode == 2 and "Give an http:// or https:// URL" in done.stderr
    done = run_cli("record", "http://127.0.0.1:9/app.html", "-o", "trace.jsonl")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("Error: Cannot record the page: cannot open http://127.0.0.1:9/")
    assert "Traceback" not in done.stderr and not (tmp_path / "trace.jsonl").exists()
