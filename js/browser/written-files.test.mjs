import { test } from "node:test";
import assert from "node:assert/strict";
import { fileTimes, writtenFiles } from "./written-files.mjs";

const DIR = 1;
const FILE = 2;
const LINK = 3;

/** A stand-in for Pyodide's FS: `entries` maps a path to a folder, a link or a file's [text, mtime]. */
function memoryFS(entries) {
  return {
    entries,
    lstat: (path) => {
      const entry = entries[path];
      if (entry === "dir") return { mode: DIR, mtime: new Date(0) };
      if (entry === "link") return { mode: LINK, mtime: new Date(0) };
      return { mode: FILE, mtime: new Date(entry[1]) };
    },
    readdir: (path) => [".", "..", ...Object.keys(entries).filter((p) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes("/")).map((p) => p.slice(path.length + 1))],
    isDir: (mode) => mode === DIR,
    isFile: (mode) => mode === FILE,
    readFile: (path) => new TextEncoder().encode(entries[path][0]),
    analyzePath: (path) => ({ exists: path in entries }),
  };
}

test("files are found under the folders with their times, links not followed", () => {
  const FS = memoryFS({ "/w": "dir", "/w/a.txt": ["a", 5], "/w/sub": "dir", "/w/sub/b.txt": ["b", 6], "/w/up": "link" });
  assert.deepEqual([...fileTimes(FS, ["/w", "/missing"])], [["/w/a.txt", 5], ["/w/sub/b.txt", 6]]);
});

test("only new and modified files are sent back: their paths and sizes, then their bytes", () => {
  const FS = memoryFS({ "/w": "dir", "/w/same.txt": ["same", 5], "/w/changed.txt": ["old", 5] });
  const before = fileTimes(FS, ["/w"]);
  FS.entries["/w/changed.txt"] = ["newer", 9];
  FS.entries["/w/new.txt"] = ["é", 9];
  const body = new TextDecoder().decode(writtenFiles(FS, ["/w"], before));
  const [listing, bytes] = [body.slice(0, body.indexOf("\n")), body.slice(body.indexOf("\n") + 1)];
  assert.deepEqual(JSON.parse(listing), [{ path: "/w/changed.txt", size: 5 }, { path: "/w/new.txt", size: 2 }]);
  assert.equal(bytes, "neweré");
});

test("nothing written: an empty listing", () => {
  const FS = memoryFS({ "/w": "dir", "/w/a": ["a", 1] });
  assert.equal(new TextDecoder().decode(writtenFiles(FS, ["/w"], fileTimes(FS, ["/w"]))), "[]\n");
});
