// sync-js-callback: JS hands a Python function to setTimeout; Node's timer calls it synchronously.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
pyodide.runPython(`
from pyodide.ffi import run_sync
from js import fetch

def poll():
    response = run_sync(fetch("http://127.0.0.1:9/status"))  # <- location
    print("status", response.status)
`);
const poll = pyodide.globals.get("poll");
setTimeout(poll, 10);
