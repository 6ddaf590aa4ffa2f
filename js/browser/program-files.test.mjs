import { test } from "node:test";
import assert from "node:assert/strict";
import { writeProgramFiles } from "./program-files.mjs";

/** A stand-in for Pyodide's FS that remembers folders and files. */
function memoryFS() {
  const fs = { folders: new Set(), files: new Map() };
  return {
    ...fs,
    mkdirTree: (path) => fs.folders.add(path),
    writeFile: (path, data) => fs.files.set(path, new TextDecoder().decode(data)),
  };
}

test("each file gets its slice of the bundle at its path, its folder and the given folders created", () => {
  const FS = memoryFS();
  const files = [
    { path: "/work/app.py", size: 5 },
    { path: "/work/data/empty.txt", size: 0 },
    { path: "/work/data/in.txt", size: 3 },
  ];
  writeProgramFiles(FS, ["/work", "/scripts"], files, new TextEncoder().encode("print123"));
  assert.deepEqual([...FS.files], [["/work/app.py", "print"], ["/work/data/empty.txt", ""], ["/work/data/in.txt", "123"]]);
  assert.deepEqual([...FS.folders].sort(), ["/scripts", "/work", "/work/data"]);
});

test("a bundle of the wrong size is refused before anything is written", () => {
  const FS = memoryFS();
  assert.throws(
    () => writeProgramFiles(FS, ["/work"], [{ path: "/work/a", size: 4 }], new Uint8Array(3)),
    /came to 3 bytes instead of 4/,
  );
  assert.equal(FS.files.size, 0);
});
