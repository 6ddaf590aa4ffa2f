/**
 * Sees every entry (JavaScript calling into Python) by wrapping the functions Pyodide reads at call time:
 * - `pyodide.runPython` / `runPythonAsync`;
 * - the callable PyProxy methods `apply`/`call` (a direct call `f(x)` goes through `apply`), `callKwargs`,
 *   `callWithOptions`, `callPromising`, `callPromisingKwargs` (patched on every PyProxy class as Pyodide
 *   creates it through `Module.getPyProxyClass`);
 * - `Module.callPyObject` (once-callables) and `Module.callPyObjectMaybePromising` (every webloop handle: a task);
 * - `Module.promisingApply`, where a promising entry's Python code actually starts running. A promising call
 *   reaches it after `API.scheduleCallback`, so the entry is handed over through the scheduled callback; a
 *   webloop handle's entry rides on the arguments array Pyodide passes along. This keeps concurrent promising
 *   entries apart.
 */

import { heapReader } from "./wasm-heap.mjs";
import { errorSince } from "./python-errors.mjs";

const CALLABLE_FLAG = 256;
/** The task entry a webloop handle's arguments carry from `callPyObjectMaybePromising` to `promisingApply`. */
const TASK_ENTRY = Symbol("jspiprof.taskEntry");

/**
 * @param {any} pyodide the object loadPyodide returned
 * @param {import("./recorder.mjs").Recorder} recorder
 * @param {import("./python-errors.mjs").PythonErrors} pythonErrors the PythonErrors Pyodide makes
 */
export function hookEntries(pyodide, recorder, pythonErrors) {
  const Module = pyodide._module;
  const API = pyodide._api;
  const jspiSupported = Module.jspiSupported;
  const heapNow = heapReader(Module);
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

  /** Names of callables entered through their PyProxy, kept per proxy (asking Python costs ~10 µs). @type {WeakMap<object, string|null>} */
  const proxyNames = new WeakMap();
  const getPtr = Module.PyProxy_getPtr;

  /** The Python callable's name for a callable PyProxy. @param {object} proxy */
  function nameOfProxy(proxy) {
    let name = proxyNames.get(proxy);
    if (name === undefined) {
      name = nameOf(getPtr(proxy));
      proxyNames.set(proxy, name);
    }
    return name;
  }

  /**
   * True when a call is not an entry of its own: nothing is recorded, or it is the inner call of an entry
   * recorded already (which it uses up).
   */
  function notAnEntry() {
    if (innerCall || !recorder.recording) {
      innerCall = false;
      return true;
    }
    return false;
  }

  /**
   * Run a synchronous entry `call()` (a call of the callable `name`) as the current entry, recording its end. What it
   * throws goes on untouched (no catch and rethrow): the console then points where the error came from.
   */
  function runSync(kind, name, call) {
    const entry = recorder.startEntry(kind ?? (recorder.current === null ? "call" : "callback"), false, name, kind !== "task");
    const outer = recorder.current;
    recorder.current = entry;
    const errorsBefore = pythonErrors.count;
    let returned = false;
    try {
      const result = call();
      returned = true;
      recorder.endEntry(entry);
      return result;
    } finally {
      recorder.current = outer;
      if (!returned) recorder.endEntry(entry, errorSince(pythonErrors, errorsBefore));
    }
  }

  /**
   * Start a promising call's entry, whose Python code will run in `promisingApply`; `call()` returns its promise.
   */
  function runPromising(kind, name, withCaller, call) {
    const entry = recorder.startEntry(kind, true, name, withCaller);
    scheduling = entry;
    API.scheduleCallback = handOver; // only while the call is set up: task steps never pass through it
    let promise;
    try {
      promise = call();
    } catch (error) {
      recorder.endEntry(entry, error);
      throw error;
    } finally {
      scheduling = null;
      API.scheduleCallback = scheduleCallback;
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
  /** API.scheduleCallback while a promising call is set up: hands its entry over to its promisingApply. */
  function handOver(callback, delay) {
    const entry = scheduling;
    if (entry === null) return scheduleCallback(callback, delay);
    scheduling = null;
    // `callback` resumes Pyodide's async call, whose next step (a microtask) is that entry's promisingApply.
    return scheduleCallback(() => {
      applying = entry;
      callback();
    }, delay);
  }

  const promisingApply = Module.promisingApply;
  // Pyodide 314 calls it as promisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot).
  Module.promisingApply = function jspiprofPromisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot) {
    let entry = args[TASK_ENTRY];
    if (entry === undefined) {
      entry = applying;
      if (entry === null) return promisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot);
      applying = null;
    }
    const outer = recorder.current;
    entry.outer = outer;
    recorder.current = entry;
    const switchesBefore = recorder.switchesStarted;
    try {
      const result = promisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot);
      if (entry.promise !== null) {
        // A task step whose Python code returned to JS: it ended now if it ran to its end without suspending
        // and without raising (Pyodide sets the exception slot to the exception raised, or to 0); otherwise
        // it ends when its promise settles.
        if (recorder.switchesStarted === switchesBefore && heapNow()[exceptionSlot >>> 2] === 0) recorder.endTaskStep(entry);
        else endWhenSettled(entry, entry.promise);
      }
      return result;
    } finally {
      recorder.current = outer;
    }
  };

  const callPyObjectMaybePromising = Module.callPyObjectMaybePromising;
  Module.callPyObjectMaybePromising = function jspiprofCallMaybePromising(ptr, args) {
    if (!jspiSupported) {
      if (notAnEntry()) return callPyObjectMaybePromising(ptr, args);
      return runSync("task", nameOf(ptr), () => callPyObjectMaybePromising(ptr, args));
    }
    // A task step scheduled by a step that has ended since belongs to that step's parent: chains of steps
    // collapse onto the entry still waiting for them (runPythonAsync, or the task that called run_sync).
    let parent = scheduledBy;
    scheduledBy = null;
    if (notAnEntry()) return callPyObjectMaybePromising(ptr, args);
    while (parent !== null && parent.ended) parent = parent.parent;
    const entry = recorder.startTask(parent);
    // Pyodide hands this same array to promisingApply, where the step's Python code runs: the entry rides on it
    // (cheaper than a scheduled callback of our own for each of the many task steps).
    args[TASK_ENTRY] = entry;
    // Its end is recorded where its Python code returns (promisingApply): most steps never suspend.
    entry.promise = callPyObjectMaybePromising(ptr, args);
    return entry.promise;
  };

  const callPyObject = Module.callPyObject;
  // Once-callables (a direct call of a PyProxy comes here too, as the inner call of its `apply`).
  Module.callPyObject = function jspiprofCallPyObject(ptr, args) {
    if (notAnEntry()) return callPyObject(ptr, args);
    return runSync(null, nameOf(ptr), () => callPyObject(ptr, args));
  };

  /** A direct call of a callable PyProxy: an entry unless nothing is recorded or it is an inner call. */
  function runDirectCall(proxy, call) {
    // The inner Module.callPyObject uses up `innerCall` when this call is an inner call itself.
    if (innerCall || !recorder.recording) return call();
    return runSync(null, nameOfProxy(proxy), () => {
      innerCall = true;
      try {
        return call();
      } finally {
        innerCall = false;
      }
    });
  }

  const patched = new WeakSet();
  /** Wrap the entry methods of one callable PyProxy class prototype. */
  function patchCallable(proto) {
    if (patched.has(proto)) return;
    patched.add(proto);
    const { apply, call, callKwargs, callWithOptions, callPromising, callPromisingKwargs } = proto;
    // A direct call `f(x)` is `apply` (or `call`), whose own Module.callPyObject is then not an entry of its own.
    proto.apply = function (thisArg, args) {
      return runDirectCall(this, () => apply.call(this, thisArg, args));
    };
    proto.call = function (thisArg, ...args) {
      return runDirectCall(this, () => call.call(this, thisArg, ...args));
    };
    proto.callKwargs = function (...args) {
      if (notAnEntry()) return callKwargs.apply(this, args);
      return runSync(null, nameOfProxy(this), () => callKwargs.apply(this, args));
    };
    proto.callWithOptions = function (options, ...args) {
      if (notAnEntry()) return callWithOptions.call(this, options, ...args);
      if (options?.promising) {
        return runPromising("callWithOptions", nameOfProxy(this), true, () => callWithOptions.call(this, options, ...args));
      }
      return runSync(null, nameOfProxy(this), () => callWithOptions.call(this, options, ...args));
    };
    proto.callPromising = function (...args) {
      if (notAnEntry()) return callPromising.apply(this, args);
      return runPromising("callPromising", nameOfProxy(this), true, () => callPromising.apply(this, args));
    };
    proto.callPromisingKwargs = function (...args) {
      if (notAnEntry()) return callPromisingKwargs.apply(this, args);
      return runPromising("callPromisingKwargs", nameOfProxy(this), true, () => callPromisingKwargs.apply(this, args));
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
    const errorsBefore = pythonErrors.count;
    let returned = false;
    try {
      const result = asCurrent(entry, () => runPython.call(this, code, options));
      returned = true;
      recorder.endEntry(entry);
      return result;
    } finally {
      if (!returned) recorder.endEntry(entry, errorSince(pythonErrors, errorsBefore)); // as runSync: no rethrow
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
