/**
 * Makes Pyodide's start-up snapshot: the memory of a freshly loaded Pyodide, which `run.mjs` hands to
 * `loadPyodide({_loadSnapshot})` so that a run skips initialising Python (most of the start-up time).
 *
 * Usage: node snapshot.mjs PYODIDE_DIR OUT [MODULE]...   (OUT is written whole or not at all)
 * The standard-library MODULEs (those jspiprof's own in-Pyodide modules import) are imported first, so runs
 * do not pay for them again. The snapshot belongs to that Pyodide folder and to run.mjs's loadPyodide options
 * (only indexURL).
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, out, ...modules] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep, _makeSnapshot: true });
pyodide.runPython(
  `import importlib\nfor name in ${JSON.stringify(modules)}:\n    try:\n        importlib.import_module(name)\n    except ImportError:\n        pass\n`,
);
fs.writeFileSync(`${out}.partial`, pyodide.makeMemorySnapshot());
fs.renameSync(`${out}.partial`, out);
