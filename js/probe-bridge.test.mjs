// What is shipped into Pyodide: a browser fetches the files named in IN_PYODIDE_FILES (it cannot list a folder),
// Node reads the folder; both must be the whole of jspiprof/in_pyodide/.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { IN_PYODIDE_FILES, packageFiles } from "./probe-bridge.mjs";

const IN_PYODIDE = new URL("../jspiprof/in_pyodide/", import.meta.url);

/** The `.py` files under jspiprof/in_pyodide/, as paths relative to it, at any depth. */
function pythonFilesOnDisk() {
  return fs
    .readdirSync(IN_PYODIDE, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".py"))
    .sort();
}

test("IN_PYODIDE_FILES names every Python file of jspiprof/in_pyodide/, at any depth, and nothing else", () => {
  assert.deepEqual([...IN_PYODIDE_FILES].sort(), pythonFilesOnDisk());
});

test("Node ships the package's __init__.py and the same files a browser fetches", async () => {
  const shipped = (await packageFiles()).map(([name]) => name).sort();
  const fetched = ["__init__.py", ...IN_PYODIDE_FILES.map((name) => `in_pyodide/${name}`)].sort();
  assert.deepEqual(shipped, fetched);
});
