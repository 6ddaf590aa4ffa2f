/**
 * What the one-file build of the hook (`jspiprof hook`, `jspiprof/runtime/hook_files.py`) puts in: the Python files
 * of the probe, embedded, and the URL of the one file, whose frames are jspiprof's own. Loaded from `js/`, nothing
 * is put in: the Python files are read or fetched next to it, and jspiprof's frames are those of the `js/` folder.
 */

/** @type {Record<string, string>|null} each Python file's path in the `jspiprof` package, and its text */
let embeddedFiles = null;
/** @type {string|null} */
let oneFileURL = null;

/**
 * Called once by the one file, before any Pyodide loads.
 * @param {Record<string, string>} files the Python files, by path in the `jspiprof` package
 * @param {string} url the one file's own URL
 */
export function embed(files, url) {
  embeddedFiles = files;
  oneFileURL = url;
}

/** The embedded Python files (null when the hook runs from `js/`). */
export function embeddedPythonFiles() {
  return embeddedFiles;
}

/** The URL prefix of jspiprof's own JS code: the one file, or the `js/` folder. */
export function hookCodeURL() {
  return oneFileURL ?? new URL("./", import.meta.url).href;
}
