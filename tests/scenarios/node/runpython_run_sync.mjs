// sync-runpython: top-level code run with runPython calls run_sync.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
const total = pyodide.runPython( // <- location
  `
import asyncio
from pyodide.ffi import run_sync

async def count_rows():
    await asyncio.sleep(0.01)
    return 3

run_sync(count_rows())
`);
console.log("rows:", total);
