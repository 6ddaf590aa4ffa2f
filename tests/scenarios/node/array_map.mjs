// sync-js-callback: Array.prototype.map calls a Python function for each item.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
pyodide.runPython(`
import asyncio
from pyodide.ffi import run_sync

def double(x, *rest):
    run_sync(asyncio.sleep(0))
    return 2 * x
`);
const double = pyodide.globals.get("double");
const doubled = [1, 2].map(double); // <- location
console.log(doubled);
