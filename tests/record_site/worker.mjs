// The module worker that relay.mjs starts for workers.html.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const pyodide = await loadPyodide();
pyodide.FS.writeFile("/home/pyodide/work.py", [
  "import time",
  "",
  "def main():",
  "    for i in range(4):",
  "        time.sleep(0.01)",
].join("\n"));
await pyodide.runPythonAsync("import work; work.main()");
postMessage("done");
