// sync-js-callback: a Python function registered on a Node EventEmitter; emit() calls it synchronously.
import { EventEmitter } from "node:events";
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
pyodide.runPython(`
import asyncio
from pyodide.ffi import run_sync

def on_data(chunk):
    run_sync(asyncio.sleep(0))
    print("got", chunk)
`);
const stream = new EventEmitter();
stream.on("data", pyodide.globals.get("on_data"));
stream.emit("data", "first chunk"); // <- location
