/**
 * Sees every entry (JavaScript calling into Python) by wrapping the functions Pyodide reads at call time:
 * - `pyodide.runPython` / `runPythonAsync`;
 * - the callable PyProxy methods `apply`/`call` (a direct call `f(x)` goes through `apply`), `callKwargs`,
 *   `callWithOptions`, `callPromising`, `callPromisingKwargs` (patched on every PyProxy class as Pyodide
 *   creates it through `Module.getPyProxyClass`);
 * - `Module.callPyObject` (once-callables) and `Module.callPyObjectMaybePromising` (every webloop handle: a task);
 * - `Module.promisingApply`, where a promising entry's Python code actually starts running. A promising call
 *   reaches it after `API.scheduleCallback`, so the entry is handed over through the scheduled callback; this
 *   keeps concurrent promising entries apart.
 */

const CALLABLE_FLAG = 256;

/**
 * @param {any} pyodide the object loadPyodide returned
 * @param {import("./recorder.mjs").Recorder} recorder
 */
export function hookEntries(pyodide, recorder) {
  const Module = pyodide._module;
  const API = pyodide._api;
  /** One-shot: the next Python call is the inner call of an entry already recorded (runPython's eval_code). */
  let innerCall = false;
  /** The promising entry being set up synchronously (between its start and its scheduleCallback). */
  let scheduling = null;
  /** The promising entry whose `promisingApply` runs next (set when its scheduled callback fires). */
  let applying = null;

  /** The Python callable's `__qualname__` (or `__name__`) for a PyObject pointer. @param {number} ptr */
  function nameOf(ptr) {
    let proxy;
    try {
      proxy = Module.pyproxy_new(ptr, { gcRegister: false });
      const name = proxy.__qualname__ ?? proxy.__name__;
      return typeof name === "string" ? name : proxy.type;
    } catch {
      return null;
    } finally {
      proxy?.destroy();
    }
  }

  /** Run a synchronous entry `call()` as the current entry, recording its end. */
  function runSync(kind, ptr, call) {
    if (innerCall || !recorder.recording) {
      innerCall = false;
      return call();
    }
    const entry = recorder.startEntry(kind ?? (recorder.current === null ? "call" : "callback"), false, nameOf(ptr), kind !== "task");
    const outer = recorder.current;
    recorder.current = entry;
    try {
      const result = call();
      recorder.endEntry(entry);
      return result;
    } catch (error) {
      recorder.endEntry(entry, error);
      throw error;
    } finally {
      recorder.current = outer;
    }
  }

  /**
   * Start a promising entry whose Python code will run in `promisingApply`; `call()` returns its promise.
   * `parent` defaults to the entry running now (a webloop task's is the entry that scheduled it).
   */
  function runPromising(kind, name, withCaller, call, parent = recorder.current) {
    if (innerCall || !recorder.recording) {
      innerCall = false;
      return call();
    }
    const entry = recorder.startEntry(kind, true, name, withCaller, parent);
    scheduling = entry;
    let promise;
    try {
      promise = call();
    } catch (error) {
      recorder.endEntry(entry, error);
      throw error;
    } finally {
      scheduling = null;
    }
    if (kind === "task") {
      // Its end is recorded where its Python code runs (promisingApply): most steps never suspend.
      entry.promise = promise;
      return promise;
    }
    return endWhenSettled(entry, promise);
  }

  /**
   * `promise`, settled the same way once the end of `entry` is recorded. A rejection stays unhandled unless
   * the caller handles it, as without the hook.
   */
  function endWhenSettled(entry, promise) {
    return promise.then(
      (value) => {
        recorder.endEntry(entry);
        return value;
      },
      (error) => {
        recorder.endEntry(entry, error);
        throw error;
      },
    );
  }

  const scheduleCallback = API.scheduleCallback;

  // The webloop schedules each handle (task step) with scheduleCallback: a task's parent is the entry that
  // scheduled it, if still running (so a run_sync's inner task steps nest under the entry that called run_sync).
  /** The entry that scheduled the webloop handle about to run. @type {import("./recorder.mjs").Entry|null} */
  let scheduledBy = null;
  const webloop = pyodide.pyimport("pyodide.webloop");
  webloop.scheduleCallback = function jspiprofWebloopSchedule(callback, delay) {
    const parent = recorder.current;
    if (parent === null) return scheduleCallback(callback, delay);
    return scheduleCallback(() => {
      scheduledBy = parent;
      try {
        callback();
      } finally {
        scheduledBy = null;
      }
    }, delay);
  };
  webloop.destroy();
  API.scheduleCallback = function jspiprofScheduleCallback(callback, delay) {
    const entry = scheduling;
    if (entry === null) return scheduleCallback(callback, delay);
    scheduling = null;
    // `callback` resumes Pyodide's async call, whose next step (a microtask) is that entry's promisingApply.
    return scheduleCallback(() => {
      applying = entry;
      callback();
    }, delay);
  };

  /**
   * Record the end of a task whose Python code just returned to JS: now, if it ran to its end without
   * suspending and without raising (Pyodide sets the exception slot, promisingApply's last argument, to the
   * exception raised or to 0); otherwise when its promise settles.
   */
  function endTask(entry, switchesBefore, exceptionSlot) {
    if (recorder.switchesStarted === switchesBefore && Module.HEAPU32[exceptionSlot >>> 2] === 0) {
      recorder.endEntry(entry);
      return;
    }
    endWhenSettled(entry, entry.promise);
  }

  const promisingApply = Module.promisingApply;
  Module.promisingApply = function jspiprofPromisingApply(...args) {
    const entry = applying;
    if (entry === null) return promisingApply(...args);
    applying = null;
    const outer = recorder.current;
    entry.outer = outer;
    recorder.current = entry;
    const switchesBefore = recorder.switchesStarted;
    try {
      const result = promisingApply(...args);
      if (entry.promise !== null) endTask(entry, switchesBefore, args[args.length - 1]);
      return result;
    } finally {
      recorder.current = outer;
    }
  };

  const callPyObjectMaybePromising = Module.callPyObjectMaybePromising;
  Module.callPyObjectMaybePromising = function jspiprofCallMaybePromising(ptr, args) {
    if (!Module.jspiSupported) return runSync("task", ptr, () => callPyObjectMaybePromising(ptr, args));
    // A task step scheduled by a step that has ended since belongs to that step's parent: chains of steps
    // collapse onto the entry still waiting for them (runPythonAsync, or the task that called run_sync).
    let parent = scheduledBy;
    scheduledBy = null;
    while (parent !== null && parent.ended) parent = parent.parent;
    return runPromising("task", null, false, () => callPyObjectMaybePromising(ptr, args), parent);
  };

  const callPyObject = Module.callPyObject;
  Module.callPyObject = function jspiprofCallPyObject(ptr, args) {
    return runSync(null, ptr, () => callPyObject(ptr, args));
  };

  const patched = new WeakSet();
  /** Wrap the entry methods of one callable PyProxy class prototype. */
  function patchCallable(proto) {
    if (patched.has(proto)) return;
    patched.add(proto);
    // apply and call (a direct call `f(x)`) go through Module.callPyObject, which records them.
    const { callKwargs, callWithOptions, callPromising, callPromisingKwargs } = proto;
    const getPtr = Module.PyProxy_getPtr;
    proto.callKwargs = function (...args) {
      return runSync(null, getPtr(this), () => callKwargs.apply(this, args));
    };
    proto.callWithOptions = function (options, ...args) {
      if (options?.promising) {
        return runPromising("callWithOptions", nameOf(getPtr(this)), true, () => callWithOptions.call(this, options, ...args));
      }
      return runSync(null, getPtr(this), () => callWithOptions.call(this, options, ...args));
    };
    proto.callPromising = function (...args) {
      return runPromising("callPromising", nameOf(getPtr(this)), true, () => callPromising.apply(this, args));
    };
    proto.callPromisingKwargs = function (...args) {
      return runPromising("callPromisingKwargs", nameOf(getPtr(this)), true, () => callPromisingKwargs.apply(this, args));
    };
  }

  const getPyProxyClass = Module.getPyProxyClass;
  Module.getPyProxyClass = function jspiprofGetPyProxyClass(flags) {
    const cls = getPyProxyClass(flags);
    if (flags & CALLABLE_FLAG) patchCallable(cls.prototype);
    return cls;
  };
  for (const callable of [API.pyodide_code.eval_code, API.pyodide_code.eval_code_async]) {
    patchCallable(Object.getPrototypeOf(callable));
  }

  /** Run `call` with `entry` as the running entry; the promising call it makes inside is not an entry of its own. */
  function asCurrent(entry, call) {
    const outer = recorder.current;
    recorder.current = entry;
    innerCall = true;
    try {
      return call();
    } finally {
      innerCall = false;
      recorder.current = outer;
    }
  }

  const runPython = pyodide.runPython;
  pyodide.runPython = function (code, options) {
    if (!recorder.recording) return runPython.call(this, code, options);
    const entry = recorder.startEntry("runPython", false, null, true);
    try {
      const result = asCurrent(entry, () => runPython.call(this, code, options));
      recorder.endEntry(entry);
      return result;
    } catch (error) {
      recorder.endEntry(entry, error);
      throw error;
    }
  };

  const runPythonAsync = pyodide.runPythonAsync;
  pyodide.runPythonAsync = function (code, options) {
    if (!recorder.recording) return runPythonAsync.call(this, code, options);
    const entry = recorder.startEntry("runPythonAsync", true, null, true);
    const promise = asCurrent(entry, () => runPythonAsync.call(this, code, options));
    return endWhenSettled(entry, promise);
  };
}
