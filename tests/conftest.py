"""Shared fixtures: the real runtime (Node 26 + Pyodide from the cache), the CLI as a subprocess, a local HTTP server.

Tests inside real Pyodide use pytest-pyodide, set up for JSPI by jspiprof's own pytest plugin
(`jspiprof.pytest_plugin`): write `@run_in_pyodide def test_x(selenium): ...` (the body runs inside Pyodide under
`runPythonAsync`), or call `selenium.run_js(...)` / `selenium.run_async(...)` with the `selenium` fixture. Such a
test runs once per runtime of `--runtime` (here `node,chrome`, see pyproject's addopts): `node` is the cached
Node 26, which the plugin puts first on PATH; `chrome` is Debian's headless Chromium via chromium-driver.
`--dist-dir` defaults to the offline dist folder the plugin builds in the cache (`jspiprof setup --pytest`);
`selenium.load_package("urllib3")` loads from it. A missing runtime is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from jspiprof.runtime.install import Runtime, cache_home, install

RunCli = Callable[..., subprocess.CompletedProcess[str]]


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
