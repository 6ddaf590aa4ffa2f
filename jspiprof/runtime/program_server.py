"""The host server of `jspiprof run --browser`, on 127.0.0.1: it serves the harness page, Pyodide from the cache,
the harness's modules and the program's files and wheels, and takes back the program's output, the files it wrote
and its exit status (the trace goes to `jspiprof record`'s collector, which serves the hook too).

Every URL starts with a random secret segment, so other users of the machine cannot read the program's files
through it. What the page posts is written to this process's stdout and stderr in the order the program wrote it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

from jspiprof.runtime.install import js_dir
from jspiprof.runtime.program_files import ProgramFiles, file_bundle, write_back

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".zip": "application/zip",
    ".whl": "application/zip",
}

HARNESS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>jspiprof run</title>
<script type="module" src="js/run-program.mjs"></script>
</head><body></body></html>
"""


@dataclass
class ProgramEnd:
    """How the program in the page ended: its exit status, or why it could not run."""

    status: int | None = None
    error: str | None = None


class OrderedOutput:
    """Writes numbered chunks of the program's stdout and stderr in number order, each as soon as all before it are
    written."""

    def __init__(self, streams: dict[str, BinaryIO]) -> None:
        self.streams = streams
        self.next_sequence = 0
        self.waiting: dict[int, tuple[str, bytes]] = {}
        self.lock = threading.Lock()

    def add(self, sequence: int, stream: str, data: bytes) -> None:
        with self.lock:
            if sequence < self.next_sequence or stream not in self.streams:
                return
            self.waiting[sequence] = (stream, data)
            while self.next_sequence in self.waiting:
                name, chunk = self.waiting.pop(self.next_sequence)
                self.next_sequence += 1
                self._write(name, chunk)

    def finish(self) -> None:
        """Write the chunks still waiting for an earlier one that never came (a request the page could not send), in
        number order: what did arrive is not lost."""
        with self.lock:
            for sequence in sorted(self.waiting):
                self._write(*self.waiting.pop(sequence))

    def _write(self, stream: str, chunk: bytes) -> None:
        try:
            self.streams[stream].write(chunk)
            self.streams[stream].flush()
        except OSError:  # closed by its reader (`| head`): the program runs on
            pass


class ProgramServer(ThreadingHTTPServer):
    """Serves one run of a program to one page; `ended` is set when the page reports the program's end."""

    daemon_threads = True

    def __init__(self, config: dict[str, object], files: ProgramFiles, pyodide_dir: Path, wheels: list[Path]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secrets.token_urlsafe(16)
        self.config = config
        self.files = files
        self.roots = {"pyodide": pyodide_dir, "js": js_dir() / "browser"}
        self.wheels = {wheel.name: wheel for wheel in wheels}
        self.output = OrderedOutput({"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer})
        self.opened = threading.Event()
        """Set when the page asked for the program: the harness runs."""
        self.ended = threading.Event()
        self.end = ProgramEnd()

    @property
    def url(self) -> str:
        """The harness page."""
        return f"http://127.0.0.1:{self.server_address[1]}/{self.secret}/"

    def static_file(self, root: str, relative: str) -> Path | None:
        """The file at `relative` under the served folder `root`, if it is one the page may load."""
        folder = self.roots.get(root)
        if folder is None or not relative:
            return None
        path = (folder / relative).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            return None
        if root == "js" and path.suffix != ".mjs":
            return None
        return path


class _Handler(BaseHTTPRequestHandler):
    server: ProgramServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _route(self) -> str | None:
        """The path after the secret segment, or None for a request without it."""
        prefix = f"/{self.server.secret}/"
        path = self.path.split("?", 1)[0]
        return path[len(prefix) :] if path.startswith(prefix) else None

    def _send(self, body: bytes | Iterator[bytes], content_type: str, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if isinstance(body, bytes) else length))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if isinstance(body, bytes):
            self.wfile.write(body)
        else:
            for chunk in body:
                self.wfile.write(chunk)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        route = self._route()
        server = self.server
        if route == "":
            self._send(HARNESS_PAGE.encode(), CONTENT_TYPES[".html"])
        elif route == "program/config":
            server.opened.set()
            self._send(json.dumps(server.config).encode(), CONTENT_TYPES[".json"])
        elif route == "program/files":
            self._send(file_bundle(server.files.files), "application/octet-stream", server.files.total_bytes)
        elif route is not None and (wheel := server.wheels.get(route.removeprefix("program/wheels/"))) is not None:
            self._send(wheel.read_bytes(), CONTENT_TYPES[".whl"])
        elif route is not None and (path := server.static_file(*route.partition("/")[::2])) is not None:
            with path.open("rb") as source:
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
                self.send_header("Content-Length", str(path.stat().st_size))
                self.end_headers()
                shutil.copyfileobj(source, self.wfile)
        else:
            self.send_error(404)

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        route = self._route()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server = self.server
        if route == "program/output" and (self.headers.get("X-Sequence") or "").isdigit():
            server.output.add(int(self.headers["X-Sequence"]), self.headers.get("X-Stream") or "", body)
        elif route == "program/written":
            for problem in write_back(body, server.files.folders):
                print(f"jspiprof: not written back: {problem}.", file=sys.stderr)
        elif route == "program/exit":
            self._end(body)
        else:
            self.send_error(404)
            return
        self.send_response(204)
        self.end_headers()

    def _end(self, body: bytes) -> None:
        try:
            result = json.loads(body)
        except ValueError:
            result = {}
        status, error = result.get("status"), result.get("error")
        if isinstance(status, int) and not isinstance(status, bool):
            self.server.end = ProgramEnd(status=status)
        else:
            self.server.end = ProgramEnd(error=str(error or "the page reported an end without an exit status"))
        self.server.ended.set()
