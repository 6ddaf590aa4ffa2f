// sync-pyproxy-call: JS calls a Python function (taken from pyodide.globals) directly.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
pyodide.runPython(`
import asyncio
from pyodide.ffi import run_sync

async def read_setting(name):
    await asyncio.sleep(0.01)
    return name.upper()

def load_config(name):
    return run_sync(read_setting(name))
`);
const loadConfig = pyodide.globals.get("load_config");
const value = loadConfig("debug"); // <- location
console.log("config:", value);
