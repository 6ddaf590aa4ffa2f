"""The host's server on 127.0.0.1 for a recorded page: it serves jspiprof's one-file hook (`jspiprof hook`: the hook
and its Python probe as one ES module) and collects the instances' trace batches into a `TraceMerger`.

Pages of any origin may use it (CORS), and it serves nothing else.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from jspiprof.browser.merger import TraceMerger

BATCH_BYTES_AT_MOST = 16 * 1024 * 1024
"""A POSTed batch's size at most (a page's batch of 100 ms is a few KB to a few MB)."""

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "content-type",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "no-store",
}
HOOK_PATH = "/jspiprof-hook.mjs"
COLLECT_PATH = "/jspiprof/trace"


class HookServer:
    """Serves the one-file hook `hook_module` and collects traces into `merger` on 127.0.0.1, on a free port, from
    a thread of its own."""

    def __init__(self, merger: TraceMerger, hook_module: Path) -> None:
        self.merger = merger
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(merger, hook_module.read_bytes()))
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, name="jspiprof-hook-server", daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    @property
    def hook_url(self) -> str:
        """The URL of the hook module, `wrapLoadPyodide`'s home."""
        return self.origin + HOOK_PATH

    @property
    def collector_url(self) -> str:
        """Where the instances POST their trace batches."""
        return self.origin + COLLECT_PATH

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def _handler(merger: TraceMerger, hook: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # the recording's own output stays readable

        def answer(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
            self.send_response(status)
            for name, value in CORS_HEADERS.items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:
            self.answer(204)

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == HOOK_PATH:
                self.answer(200, hook, "text/javascript; charset=utf-8")
            else:
                self.answer(404)

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != COLLECT_PATH:
                self.answer(404)
                return
            length = self.headers.get("Content-Length", "")
            if not length.isdigit() or int(length) > BATCH_BYTES_AT_MOST:
                self.answer(413)
                self.close_connection = True
                return
            merger.add(self.rfile.read(int(length)))
            self.answer(204)

    return Handler
