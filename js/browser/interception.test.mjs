// What record answers for a page's requests: which URLs are Pyodide's loader, the CDN's files, the wrappers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cdnFile, classicWrapper, contentType, moduleWrapper, pyodideLoader, realURL } from "./interception.mjs";

const CDN = "https://cdn.jsdelivr.net/pyodide/v314.0.7/full/";

test("pyodide.js and pyodide.mjs anywhere are the loader; the real one the wrapper imports is not", () => {
  assert.equal(pyodideLoader("http://127.0.0.1:8000/static/pyodide.js"), "classic");
  assert.equal(pyodideLoader(`${CDN}pyodide.mjs?v=2`), "module");
  assert.equal(pyodideLoader(realURL(`${CDN}pyodide.mjs?v=2`)), null);
  assert.equal(pyodideLoader("http://127.0.0.1:8000/pyodide.asm.mjs"), null);
  assert.equal(pyodideLoader("http://127.0.0.1:8000/my-pyodide.js"), null);
});

test("the real loader keeps the page's query", () => {
  assert.equal(realURL("http://h/pyodide.mjs"), "http://h/pyodide.mjs?jspiprof=real");
  assert.equal(realURL("http://h/pyodide.mjs?v=2"), "http://h/pyodide.mjs?v=2&jspiprof=real");
});

test("only plain file names of the cached version's CDN folder are answered from the cache", () => {
  assert.equal(cdnFile(`${CDN}pyodide.asm.wasm`, CDN), "pyodide.asm.wasm");
  assert.equal(cdnFile(`${CDN}pyodide.mjs?jspiprof=real`, CDN), "pyodide.mjs");
  assert.equal(cdnFile("https://cdn.jsdelivr.net/pyodide/v0.27.0/full/pyodide.mjs", CDN), null);
  assert.equal(cdnFile(`${CDN}..%2F..%2Fetc%2Fpasswd`, CDN), null);
  assert.equal(cdnFile(`${CDN}sub/file.whl`, CDN), null);
  assert.equal(contentType("pyodide.asm.wasm"), "application/wasm");
  assert.equal(contentType("python_stdlib.zip"), "application/zip");
});

test("the module wrapper re-exports Pyodide with loadPyodide wrapped by the hook", () => {
  const text = moduleWrapper("http://h/pyodide.mjs?jspiprof=real", "http://127.0.0.1:9/jspiprof/_js/hook.mjs", { collector: "c" });
  assert.match(text, /import \{ loadPyodide as realLoadPyodide \} from "http:\/\/h\/pyodide.mjs\?jspiprof=real";/);
  assert.match(text, /export \* from "http:\/\/h\/pyodide.mjs\?jspiprof=real";/);
  assert.match(text, /export const loadPyodide = wrapLoadPyodide\(realLoadPyodide, \{"collector":"c"\}\);/);
});

test("the classic wrapper replaces the global loadPyodide by one that goes through the hook", async () => {
  const calls = [];
  const realText = "globalThis.loadPyodide = async (options) => ({ real: options });";
  const hookURL = `data:text/javascript,${encodeURIComponent(
    "export const wrapLoadPyodide = (load, options) => async (o) => ({ hooked: options, ...(await load(o)) });",
  )}`;
  const saved = globalThis.loadPyodide;
  try {
    new Function(classicWrapper(realText, hookURL, { collector: "c" }))();
    calls.push(await globalThis.loadPyodide({ indexURL: "x" }));
  } finally {
    globalThis.loadPyodide = saved;
  }
  assert.deepEqual(calls, [{ hooked: { collector: "c" }, real: { indexURL: "x" } }]);
});
