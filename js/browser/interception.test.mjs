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

/** Evaluate a module's text (as a data: URL) and return its namespace. @param {string} text */
const evaluate = (text) => import(`data:text/javascript,${encodeURIComponent(text)}`);
const realModule = `data:text/javascript,${encodeURIComponent("export const loadPyodide = async (o) => ({ real: o }); export const version = '314.0.7';")}`;
const hookModule = `data:text/javascript,${encodeURIComponent(
  "export const wrapLoadPyodide = (load, options) => async (o) => ({ hooked: options, ...(await load(o)) });",
)}`;

test("the module wrapper re-exports Pyodide with loadPyodide wrapped by the hook", async () => {
  const module = await evaluate(moduleWrapper(realModule, hookModule, { collector: "c" }));
  assert.equal(module.version, "314.0.7");
  assert.deepEqual(await module.loadPyodide({ indexURL: "x" }), { hooked: { collector: "c" }, real: { indexURL: "x" } });
});

test("a hook the page cannot load leaves Pyodide's own loadPyodide, with a warning", async (context) => {
  const warn = context.mock.method(console, "warn", () => {});
  const module = await evaluate(moduleWrapper(realModule, "data:text/javascript,throw new Error('blocked')", {}));
  assert.deepEqual(await module.loadPyodide({ indexURL: "x" }), { real: { indexURL: "x" } });
  assert.match(warn.mock.calls[0].arguments[0], /^jspiprof: this Pyodide is not recorded: .*blocked/);
});

test("the classic wrapper replaces the global loadPyodide by one that goes through the hook", async () => {
  const realText = "globalThis.loadPyodide = async (options) => ({ real: options });";
  const saved = globalThis.loadPyodide;
  try {
    new Function(classicWrapper(realText, hookModule, { collector: "c" }))();
    assert.deepEqual(await globalThis.loadPyodide({ indexURL: "x" }), { hooked: { collector: "c" }, real: { indexURL: "x" } });
  } finally {
    globalThis.loadPyodide = saved;
  }
});
