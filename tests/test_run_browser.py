"""`jspiprof run --browser chromium|firefox [--worker]` runs a program in real Pyodide in a headless browser (Debian's
Chromium and Firefox ESR, JSPI on) as `jspiprof run` does under Node 26: the same argv, files, stdout, stderr, exit
status, and the same suspension sites and counts in `jspiprof stats --json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from jspiprof.cli import main
from jspiprof.trace import read_trace

FIXTURES = Path(__file__).parent / "fixtures"

EACH_PATH = """\
import asyncio, time
from pyodide.ffi import run_sync

async def pause():
    await asyncio.sleep(0.02)
    return "done"

def descend(n):
    if n == 0:
        return run_sync(pause())
    return descend(n - 1)

print(run_sync(pause()))
time.sleep(0.02)
print(asyncio.run(pause()))
print(asyncio.get_event_loop().run_until_complete(pause()))
for n in range(3):
    descend(n)
"""
"""One suspension per path at top level, then the same site at growing depth (tests/test_recording.py's)."""

REQUESTS_GET = """\
import requests

with open("server.txt") as file:
    server = file.read().strip()
reply = requests.get(server + "/slow?ms=30&n=7")
print(reply.json()["n"])
"""
"""A `requests.get` (urllib3's fetch backend, 2-3 suspensions) of a local server named in the current folder."""

SCENARIOS = {
    "small_app.py": ((FIXTURES / "small_app.py").read_text(), []),
    "each_path.py": (EACH_PATH, ["--sample-interval", "0.5"]),
    "requests_get.py": (REQUESTS_GET, ["--with", "requests"]),
}
"""Each scenario's source and the options it is run with, under Node and in the browsers."""


@dataclass
class Outcome:
    """What a run printed and left: its exit status, the program's stdout and stderr (without jspiprof's summary),
    the switches and sampling of its trace as `stats --json` counts them, and its failures as `diagnose --json`
    classes and locates them."""

    status: int
    stdout: str
    stderr: str
    switches: dict
    diagnoses: list[tuple[str, str | None]]


def jspiprof(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jspiprof", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def switches(trace: Path) -> dict:
    """Suspensions and failed switches, per path and per site (count, paths, deepest stack), and the sampling
    interval when CPU samples were taken, from `stats --json`."""
    stats = json.loads(CliRunner().invoke(main, ["stats", "--json", str(trace)]).stdout)
    return {
        "suspensions": stats["suspensions"],
        "failed_switches": stats["failed_switches"],
        "paths": {path: numbers["count"] for path, numbers in stats["paths"].items()},
        "sites": {site["site"]: (site["count"], site["paths"], site["max_depth"]) for site in stats["sites"]},
        "sample_interval_ms": stats["cpu"]["interval_ms"] if stats["cpu"]["samples"] > 0 else None,
    }


def run_scenario(folder: Path, scenario: str, *options: str) -> Outcome:
    trace = folder / f"{scenario}-{'-'.join(option.strip('-') for option in options) or 'node'}.jsonl"
    done = jspiprof("run", *options, *SCENARIOS[scenario][1], "-o", str(trace), scenario, cwd=folder)
    program_stderr = done.stderr.split("jspiprof: trace written to")[0]
    diagnoses = json.loads(CliRunner().invoke(main, ["diagnose", "--json", str(trace)]).stdout)
    return Outcome(
        done.returncode,
        done.stdout,
        program_stderr,
        switches(trace),
        [(diagnosis["class"], diagnosis["location"]) for diagnosis in diagnoses],
    )


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, jspiprof_runtime, http_server: str) -> Path:
    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "server.txt").write_text(http_server)  # it allows any origin (CORS), as a page's fetch needs
    for name, (source, _) in SCENARIOS.items():
        (folder / name).write_text(source)
    return folder


@pytest.fixture(scope="module")
def under_node(scenarios: Path) -> dict[str, Outcome]:
    return {name: run_scenario(scenarios, name) for name in SCENARIOS}


@pytest.mark.parametrize(
    ("scenario", "browser", "worker"),
    [
        ("small_app.py", "chromium", False),
        ("small_app.py", "firefox", True),
        ("each_path.py", "firefox", False),
        ("each_path.py", "chromium", True),
        ("requests_get.py", "chromium", False),  # Firefox preflights requests' User-Agent: the server has no OPTIONS
    ],
)
def test_a_scenario_prints_exits_and_switches_in_the_browser_as_under_node(
    scenarios: Path, under_node: dict[str, Outcome], scenario: str, browser: str, worker: bool
) -> None:
    in_browser = run_scenario(scenarios, scenario, "--browser", browser, *(["--worker"] if worker else []))
    node = under_node[scenario]
    assert (in_browser.status, in_browser.stdout, in_browser.stderr) == (node.status, node.stdout, node.stderr)
    assert in_browser.switches == node.switches
    assert in_browser.diagnoses == node.diagnoses
    assert in_browser.switches["suspensions"] >= 2


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(("browser", "worker"), [("chromium", True), ("firefox", False)])
def test_argv_and_the_files_of_the_current_and_script_folders_reach_the_program_and_its_writes_come_back(
    tmp_path: Path, jspiprof_runtime, browser: str, worker: bool
) -> None:
    work = tmp_path / "work"
    _write(work / "data" / "input.txt", "from the current folder\n")
    _write(work / "big.bin", "")
    os.truncate(work / "big.bin", 17 * 1024 * 1024)
    _write(tmp_path / "scripts" / "next_to.txt", "next to the script\n")
    script = _write(
        tmp_path / "scripts" / "app.py",
        """\
        import json, os, sys
        import js
        here = os.path.dirname(__file__)
        print(json.dumps(sys.argv))
        print(os.getcwd(), hasattr(js, "document"))
        print(open("data/input.txt").read(), end="")
        print(open(os.path.join(here, "next_to.txt")).read(), end="")
        print(os.path.exists("big.bin"))
        for number in range(100):
            print(number, flush=True)  # a hundred writes, sent as a hundred requests, kept in order
        os.makedirs("out")
        with open("out/result.txt", "w") as result:
            result.write("written in the page\\n")
        with open(os.path.join(here, "next_to.txt"), "a") as log:
            log.write(os.getcwd() + "\\n")
        """,
    )
    args = [str(script), "a", "--flag", "two words", "-c"]
    done = jspiprof("run", "--no-trace", "--browser", browser, *(["--worker"] if worker else []), *args, cwd=work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        json.dumps(args),
        f"{work} {not worker}",  # a module worker has no document
        "from the current folder",
        "next to the script",
        "False",
        *map(str, range(100)),
    ]
    assert done.stderr == f"jspiprof: left out of the page: {work / 'big.bin'} (17 MB, over 16 MB)\n"
    assert (work / "out" / "result.txt").read_text() == "written in the page\n"
    assert (tmp_path / "scripts" / "next_to.txt").read_text() == f"next to the script\n{work}\n"
    assert (work / "big.bin").stat().st_size == 17 * 1024 * 1024  # left out of the page, so left as it was


@pytest.mark.parametrize(("browser", "worker"), [("chromium", False), ("firefox", True)])
def test_a_failing_script_exits_1_with_its_traceback_on_stderr_and_in_its_trace(
    tmp_path: Path, jspiprof_runtime, browser: str, worker: bool
) -> None:
    script = _write(
        tmp_path / "app.py",
        """\
        def parse(text):
            return int(text)

        print("parsing")
        parse("not a number")
        """,
    )
    where = ["--worker"] if worker else []
    done = jspiprof("run", "--browser", browser, *where, "-o", "trace.jsonl", "app.py", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "parsing\n")
    trace = read_trace(tmp_path / "trace.jsonl")
    assert (trace.header.program, trace.end.exit_status) == ({"argv": ["app.py"], "mode": "script"}, 1)
    assert [instance.where for instance in trace.instances.values()] == ["worker" if worker else "page"]
    assert done.stderr.split("jspiprof: trace written to")[0].splitlines() == [
        "Traceback (most recent call last):",
        f'  File "{script}", line 5, in <module>',
        '    parse("not a number")',
        "    ~~~~~^^^^^^^^^^^^^^^^",
        f'  File "{script}", line 2, in parse',
        "    return int(text)",
        "ValueError: invalid literal for int() with base 10: 'not a number'",
    ]


def _descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs, and so on."""
    try:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return children + [grandchild for child in children for grandchild in _descendants(child)]


def _is_running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_output_comes_while_the_program_runs_and_sigterm_ends_the_run_and_its_browser(
    tmp_path: Path, jspiprof_runtime
) -> None:
    _write(tmp_path / "app.py", "import time\nprint('running', flush=True)\ntime.sleep(60)\n")
    command = [sys.executable, "-m", "jspiprof", "run", "--no-trace", "--browser", "chromium", "app.py"]
    started_at = time.monotonic()
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "running\n"
        assert time.monotonic() - started_at < 45, "the output arrived only after the program's 60 s sleep"
        started = _descendants(process.pid)
        assert any(b"chromium" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 10
        while any(map(_is_running, started)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_is_running, started)), "a browser process outlived jspiprof run"
    finally:
        process.kill()
        process.communicate()


@pytest.mark.parametrize(("browser", "worker"), [("chromium", False), ("firefox", True)])
def test_a_program_printing_100000_lines_prints_every_one_in_order(
    tmp_path: Path, jspiprof_runtime, browser: str, worker: bool
) -> None:
    # One request per write made the browser fail some of them (and everything after waited for them): line 1303
    # was the last one out, after 146 s.
    code = "import sys\nfor i in range(100000):\n    print('line', i)\nprint('done', file=sys.stderr)\nprint('end')"
    options = ["--browser", browser, *(["--worker"] if worker else []), "--no-trace", "--no-sample"]
    done = jspiprof("run", *options, "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "".join(f"line {i}\n" for i in range(100000)) + "end\n"
    assert done.stderr.startswith("done\n")


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        (["--worker"], "Error: --worker runs the program in a browser's module worker: give --browser too."),
        (["--browser", "firefox", "--node", sys.executable], "Error: Give either --browser or --node, not both."),
    ],
)
def test_options_that_do_not_go_together_are_one_sentence(tmp_path: Path, options: list[str], sentence: str) -> None:
    (tmp_path / "app.py").write_text("print('ran')\n")
    done = jspiprof("run", *options, "app.py", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr.splitlines()[-1]) == (2, "", sentence)
