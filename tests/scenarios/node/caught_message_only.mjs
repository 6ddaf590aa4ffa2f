// sync-pyproxy-call as users often log it: only error.message (the Python traceback), no JS stack.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
pyodide.runPython(`
import asyncio
from pyodide.ffi import run_sync

def refresh():
    run_sync(asyncio.sleep(0.01))  # <- location
`);
const refresh = pyodide.globals.get("refresh");
try {
  refresh();
} catch (error) {
  console.error(`refresh failed: ${error.message}`);
}
