/**
 * Pyodide's wasm memory as 32-bit words, for the hot paths that read CPython's structures. Emscripten's
 * `Module` holds thousands of properties (a slow dictionary to look things up in), so the view is kept here and
 * looked up again only after the memory grew (growing detaches the old buffer: the old view is then empty).
 */

/**
 * @param {any} Module Pyodide's Emscripten module
 * @returns {() => Uint32Array} the current `Module.HEAPU32`
 */
export function heapReader(Module) {
  /** @type {Uint32Array|null} */
  let heap = null;
  return () => (heap !== null && heap.length !== 0 ? heap : (heap = Module.HEAPU32));
}
