/**
 * Makes Pyodide's start-up snapshot: the memory of a freshly loaded Pyodide, which `run.mjs` hands to
 * `loadPyodide({_loadSnapshot})` so that a run skips initialising Python (most of the start-up time).
 *
 * Usage: node snapshot.mjs PYODIDE_DIR OUT   (OUT is written whole or not at all)
 * The snapshot belongs to that Pyodide folder and to run.mjs's loadPyodide options (only indexURL).
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, out] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep, _makeSnapshot: true });
fs.writeFileSync(`${out}.partial`, pyodide.makeMemorySnapshot());
fs.renameSync(`${out}.partial`, out);
