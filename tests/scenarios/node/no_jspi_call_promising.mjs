// no-jspi: run under a Node without JSPI (the system Node 20); callPromising throws a JS Error.
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
pyodide.runPython(`
def handler():
    return 3
`);
const handler = pyodide.globals.get("handler");
console.log(await handler.callPromising()); // <- location
