// blocking-api-from-sync: loop.run_until_complete inside code run with runPython.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
pyodide.runPython( // <- location
  `
import asyncio

async def warm_up():
    await asyncio.sleep(0.01)

asyncio.get_event_loop().run_until_complete(warm_up())
`);
console.log("warm");
