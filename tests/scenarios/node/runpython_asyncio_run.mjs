// blocking-api-from-sync: asyncio.run inside code run with runPython.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
const result = pyodide.runPython( // <- location
  `
import asyncio

async def main():
    await asyncio.sleep(0.01)
    return "done"

def start():
    return asyncio.run(main())

start()
`);
console.log(result);
