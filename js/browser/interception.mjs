/**
 * What `jspiprof record` answers in place of a page's requests, so the page is profiled unchanged: Pyodide's
 * loader (`pyodide.js`, `pyodide.mjs`) becomes one whose `loadPyodide` is the hook's `wrapLoadPyodide(...)`, and
 * the jsDelivr CDN's copy of the cached Pyodide version is answered from the cache (the machine may be offline).
 */

/** The query that marks a request for the real loader, which the wrapper imports: it passes through. */
export const REAL_MARK = "jspiprof=real";

/**
 * Which Pyodide loader `url` asks for: "classic" (`pyodide.js`), "module" (`pyodide.mjs`), or null for anything
 * else, the real loader the wrapper imports included.
 * @param {string} url
 * @returns {"classic"|"module"|null}
 */
export function pyodideLoader(url) {
  const parsed = new URL(url);
  if (parsed.search.includes(REAL_MARK)) return null;
  if (parsed.pathname.endsWith("/pyodide.js")) return "classic";
  if (parsed.pathname.endsWith("/pyodide.mjs")) return "module";
  return null;
}

/** The URL the wrapper loads the real loader from. @param {string} url */
export function realURL(url) {
  const parsed = new URL(url);
  parsed.search = parsed.search ? `${parsed.search}&${REAL_MARK}` : `?${REAL_MARK}`;
  return parsed.href;
}

/**
 * The file of the Pyodide folder that `url` names when it is under `cdnPrefix` (query left out), else null.
 * Only plain file names: nothing outside the folder.
 * @param {string} url @param {string} cdnPrefix
 * @returns {string|null}
 */
export function cdnFile(url, cdnPrefix) {
  if (!url.startsWith(cdnPrefix)) return null;
  const name = new URL(url).pathname.slice(new URL(cdnPrefix).pathname.length);
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) ? name : null;
}

const CONTENT_TYPES = { ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".zip": "application/zip" };

/** The Content-Type of a Pyodide file. @param {string} name */
export function contentType(name) {
  const dot = name.lastIndexOf(".");
  return CONTENT_TYPES[/** @type {keyof typeof CONTENT_TYPES} */ (name.slice(dot))] ?? "application/octet-stream";
}

/**
 * The module answered for `pyodide.mjs`: Pyodide's own exports, with `loadPyodide` wrapped by the hook (the real
 * one, with a warning, when the page cannot load the hook, e.g. under a Content-Security-Policy).
 * @param {string} real the real loader's URL (`realURL`)
 * @param {string} hook the hook's URL (`hook.mjs` on the host's server)
 * @param {object} options the hook's options
 */
export function moduleWrapper(real, hook, options) {
  return [
    `import { loadPyodide as realLoadPyodide } from ${JSON.stringify(real)};`,
    `export * from ${JSON.stringify(real)};`,
    `export const loadPyodide = await ${hooked("realLoadPyodide", hook, options)};`,
    "",
  ].join("\n");
}

/**
 * The script answered for `pyodide.js`: the real one, then a global `loadPyodide` that calls the real one through
 * the hook (pyodide.js finds its folder from its own URL, so it is answered at that URL).
 * @param {string} realText the real pyodide.js
 * @param {string} hook @param {object} options
 */
export function classicWrapper(realText, hook, options) {
  return `${realText}
;(() => {
  const realLoadPyodide = globalThis.loadPyodide;
  const hooked = ${hooked("realLoadPyodide", hook, options)};
  globalThis.loadPyodide = async (options) => (await hooked)(options);
})();
`;
}

/**
 * JS text: a promise of `real` wrapped by the hook, or of `real` itself when the hook cannot be loaded.
 * @param {string} real @param {string} hook @param {object} options
 */
function hooked(real, hook, options) {
  return `import(${JSON.stringify(hook)}).then(
    (hook) => hook.wrapLoadPyodide(${real}, ${JSON.stringify(options)}),
    (error) => {
      console.warn(\`jspiprof: this Pyodide is not recorded: the page could not load jspiprof's hook (\${error}).\`);
      return ${real};
    },
  )`;
}
