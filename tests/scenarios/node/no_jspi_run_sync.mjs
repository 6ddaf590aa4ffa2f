// no-jspi: run under a Node without JSPI (the system Node 20); run_sync inside runPythonAsync.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
await pyodide.runPythonAsync(`
import asyncio
from pyodide.ffi import run_sync

async def load():
    await asyncio.sleep(0.01)
    return 3

def fetch_all():
    return run_sync(load())  # <- location

print(fetch_all())
`);
