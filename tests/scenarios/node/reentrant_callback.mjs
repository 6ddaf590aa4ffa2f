// reentrant-sync-callback: Python (inside runPythonAsync) calls a JS helper that calls a Python callback back.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
globalThis.forEachItem = (items, callback) => { for (const item of items) callback(item); }; // <- location
await pyodide.runPythonAsync(`
import asyncio
import js
from pyodide.ffi import run_sync

def handle(item):
    run_sync(asyncio.sleep(0))
    print("handled", item)

js.forEachItem([1, 2], handle)
`);
