"""A local HTTP server on 127.0.0.1 for the examples, started from inside the profiled program.

Python inside Pyodide cannot listen on a socket, so the server is Node's own `http` module, started through
`pyodide.code.run_js`. Its request handlers are JavaScript, so they never appear in the profile: the trace
shows only the program's side of each request. The server and its connections are `unref()`-ed, so Node exits
as soon as the program ends (kept-alive connections would otherwise hold it for seconds).
"""

from pyodide.code import run_js
from pyodide.ffi import run_sync


def serve(handler_js: str) -> str:
    """Serve HTTP on 127.0.0.1 (a free port) with `handler_js`, a JS `(request, response) => ...`.

    Returns the base URL."""
    start = run_js(
        "(async () => {"
        ' const http = await import("node:http");'
        f" const server = http.createServer({handler_js});"
        ' server.on("connection", (socket) => socket.unref());'
        ' await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));'
        " server.unref();"
        ' return "http://127.0.0.1:" + server.address().port;'
        "})"
    )
    return run_sync(start())
