// not-awaitable: run_sync given a plain value.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
await pyodide.runPythonAsync(`
from pyodide.ffi import run_sync

def compute():
    return run_sync(42)  # <- location

print(compute())
`);
