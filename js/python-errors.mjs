/**
 * Python exceptions on their way to JS. Pyodide makes each one a `PythonError` in its wasm import `new_error`,
 * which the hook wraps at instantiation: the error's stack loses jspiprof's frames there, and the latest one is
 * kept, counted, so that an entry that ends by throwing knows its error without catching it. (A catch that
 * rethrows would make the console point at jspiprof's line instead of where the error came from.)
 */

import { withoutHookFrames } from "./tracebacks.mjs";

/**
 * @typedef {object} PythonErrors
 * @property {number} count how many PythonErrors Pyodide has made
 * @property {Error|null} latest the last one
 */

/**
 * Wrap `env.new_error` (Pyodide's wasm imports, at instantiation).
 * @param {Record<string, any>} env @param {string} hookURL URL prefix of jspiprof's own JS code
 * @returns {PythonErrors}
 */
export function hookPythonErrors(env, hookURL) {
  /** @type {PythonErrors} */
  const errors = { count: 0, latest: null };
  const newError = env.new_error;
  env.new_error = function jspiprofNewError(type, message, address) {
    const error = newError(type, message, address);
    withoutHookFrames(error, hookURL);
    errors.count++;
    errors.latest = error;
    return error;
  };
  return errors;
}

/**
 * The PythonError an entry ended with: the latest one, if Pyodide made it since `countBefore` (null when the entry
 * threw something else, which it could not see).
 * @param {PythonErrors} errors @param {number} countBefore
 */
export function errorSince(errors, countBefore) {
  return errors.count > countBefore ? errors.latest : null;
}
