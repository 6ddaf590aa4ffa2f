// pyodide-internal: Pyodide's own "This is a bug in Pyodide" SystemError, provoked by flipping Pyodide's
// private `validSuspender` flag from JS so that its state is inconsistent (no user would do this; it is the
// only reliable way found to make Pyodide 314.0.7 raise one of these errors).
import { loadPyodide } from "pyodide";

const pyodide = await loadPyodide();
globalThis.breakSuspender = () => { pyodide._module.validSuspender.value = true; };
pyodide.runPython(`
import asyncio
import js
from pyodide.ffi import run_sync

js.breakSuspender()
run_sync(asyncio.sleep(0))  # <- location
`);
