// sync-js-callback: Python hands a create_proxy'd function to setTimeout; Node's timer calls it.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
await pyodide.runPythonAsync(`
import asyncio
from js import setTimeout
from pyodide.ffi import create_proxy, run_sync

def tick():
    run_sync(asyncio.sleep(0))  # <- location
    print("tick")

setTimeout(create_proxy(tick), 10)
`);
