/**
 * Keeps jspiprof invisible in stacks. When a JS error enters Python, Pyodide's `Module.handle_js_error` copies the
 * JS stack frames that are not its own into the traceback; the hook's wrappers would show up there (e.g. between
 * `run_sync` and the coroutine that raised). While Pyodide reads the stack, the error's `stack` is shown without
 * jspiprof's lines, then put back as it was. Errors on their way to the app lose jspiprof's lines for good
 * (`withoutHookFrames`).
 */

/**
 * Give `error` a `stack` without the lines of jspiprof's code, so the app sees its own stack (nothing for an error
 * whose stack has none, or that does not let its stack be set).
 * @param {any} error @param {string} hookURL URL prefix of jspiprof's own JS code
 */
export function withoutHookFrames(error, hookURL) {
  const stack = error !== null && typeof error === "object" ? error.stack : undefined;
  if (typeof stack !== "string" || !stack.includes(hookURL)) return;
  try {
    Object.defineProperty(error, "stack", {
      value: stack.split("\n").filter((line) => !line.includes(hookURL)).join("\n"),
      configurable: true,
      writable: true,
    });
  } catch {
    // a frozen error keeps its stack
  }
}

/**
 * @param {any} Module Pyodide's Emscripten module
 * @param {string} hookDir URL prefix of jspiprof's JS files
 */
export function hideHookFrames(Module, hookDir) {
  const handleJsError = Module.handle_js_error;
  Module.handle_js_error = function jspiprofHandleJsError(error) {
    const stack = error !== null && typeof error === "object" ? error.stack : undefined;
    if (typeof stack !== "string" || !stack.includes(hookDir)) return handleJsError(error);
    const descriptor = Object.getOwnPropertyDescriptor(error, "stack");
    try {
      Object.defineProperty(error, "stack", {
        value: stack.split("\n").filter((line) => !line.includes(hookDir)).join("\n"),
        configurable: true,
        writable: true,
      });
    } catch {
      return handleJsError(error);
    }
    try {
      return handleJsError(error);
    } finally {
      if (descriptor === undefined) delete error.stack;
      else Object.defineProperty(error, "stack", descriptor);
    }
  };
}
