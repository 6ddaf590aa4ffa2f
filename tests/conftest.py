"""Shared fixtures: the real runtime (Node 26 + Pyodide from the cache), the CLI as a subprocess, a local HTTP server.

Tests inside real Pyodide use pytest-pyodide: write `@run_in_pyodide def test_x(selenium): ...` (the body runs
inside Pyodide under `runPythonAsync`), or call `selenium.run_js(...)` / `selenium.run_async(...)` with the
`selenium` fixture. Such a test (any test using pytest-pyodide's `runtime` fixture, which `selenium` does)
runs once per runtime of `--runtime` (default here: `node,chrome`, see pyproject's addopts): `node` is the
cached Node 26, put first on PATH, with JSPI on; `chrome` is Debian's headless Chromium via chromium-driver.
Never use `selenium_jspi`: it passes a flag that Node 26 refuses. `--dist-dir` defaults to the offline dist
folder built by `tests/pyodide_dist.py` (npm pyodide + wheels for pytest, tblib, urllib3); `selenium.load_package
("urllib3")` loads from it. A missing runtime is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from pyodide_dist import build_dist
from pytest_pyodide.config import get_global_config

from jspiprof.runtime.install import Runtime, cache_home, install

RunCli = Callable[..., subprocess.CompletedProcess[str]]


CHROME_FLAGS = [
    "--js-flags=--expose-gc",  # pytest-pyodide's default, kept
    "--headless",
    "--no-sandbox",  # needed when running as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Point pytest-pyodide at the cached Node 26 and the offline dist folder; check Chromium is there if asked for."""
    home = cache_home()
    runtime = install(home, quiet=True)
    os.environ["PATH"] = f"{runtime.node.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    if Path(config.option.dist_dir) == Path("pyodide"):
        config.option.dist_dir = build_dist(runtime, home)
    get_global_config().set_flags("chrome", CHROME_FLAGS)
    if "chrome" in str(config.option.runtime) and not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise pytest.UsageError(
            "--runtime chrome needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver "
            "(or run `make test`), or pass --runtime node."
        )


@pytest.fixture(scope="session")
def jspiprof_runtime() -> Runtime:
    """The cached Node 26 and Pyodide (installed on first use, as `jspiprof setup` does).

    Named so because pytest-pyodide owns the fixture name `runtime` (the runtime name, "node" or "chrome").
    """
    return install(cache_home(), quiet=True)


@pytest.fixture
def run_cli(jspiprof_runtime: Runtime, tmp_path: Path) -> RunCli:
    """Run `jspiprof ARGS...` as a user would (in `tmp_path` unless `cwd=` is given); returns the finished process.

    `env=` adds or overrides environment variables (e.g. `{"JSPIPROF_HOME": ...}`) for that one run.
    """

    def run(
        *args: str,
        cwd: Path | None = None,
        timeout: float = 120,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jspiprof", *args],
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env={**os.environ, **(env or {})},
        )

    return run


class _Handler(BaseHTTPRequestHandler):
    """`/json?n=N` answers `{"n": N}`; `/slow?ms=M` answers after M ms; `/text` answers a short text."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        url = urlparse(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == "/slow":
            time.sleep(int(query.get("ms", "100")) / 1000)
        if url.path in ("/json", "/slow"):
            body, content_type = (
                json.dumps({"n": int(query.get("n", "0")), "path": url.path}).encode(),
                "application/json",
            )
        elif url.path == "/text":
            body, content_type = b"hello from 127.0.0.1\n", "text/plain"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_server() -> Iterator[str]:
    """The base URL of a local HTTP server on 127.0.0.1 (see `_Handler` for its routes)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
