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
 *   entries apart;
 * - `_ensure_future` of the coroutine an `async def` entered promising returns, so that its task steps belong
 *   to that entry;
 * - the JS APIs that register callbacks (`registrations.mjs`): a PyProxy's entry as a callback says where it was
 *   registered.
 */

import { heapReader } from "./wasm-heap.mjs";
import { hookRegistrations, registrationLocator } from "./registrations.mjs";
import { errorSince } from "./python-errors.mjs";
import { hookCodeURL } from "./one-file.mjs";

const CALLABLE_FLAG = 256;
const AWAITABLE_FLAG = 64;
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
   * Without a `kind`, it is a `callback` when JS registered the callable as one (`registration`) or when it runs
   * inside another entry (Python -> JS -> Python), else a direct `call`.
   * @param {string|null} kind @param {string|null} name @param {() => any} call
   * @param {import("./registrations.mjs").Registration|null} [registration]
   */
  function runSync(kind, name, call, registration = null) {
    const callback = registration !== null || recorder.current !== null;
    const entry = recorder.startEntry(kind ?? (callback ? "callback" : "call"), false, name, kind !== "task");
    if (entry !== null) entry.registration = registration;
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

  /**
   * The entry that entered an `async def` promising, by the coroutine it returned: Pyodide then runs it as a
   * task (`_ensure_future`), whose steps belong to that entry. @type {WeakMap<object, import("./recorder.mjs").Entry>}
   */
  const coroutineOwners = new WeakMap();

  /** `result` (the promise of a promising call's Python call), remembering `entry` as the owner of a coroutine it returns. */
  function ownCoroutine(entry, result) {
    return result.then((returned) => {
      if (API.isPyProxy(returned?.[0])) coroutineOwners.set(returned[0], entry);
      return returned;
    });
  }

  const promisingApply = Module.promisingApply;
  // Pyodide 314 calls it as promisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot).
  Module.promisingApply = function jspiprofPromisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot) {
    const task = args[TASK_ENTRY];
    const entry = task ?? applying;
    if (entry === null) return promisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot);
    if (task === undefined) applying = null;
    const outer = recorder.current;
    entry.outer = outer;
    recorder.current = entry;
    const switchesBefore = recorder.switchesStarted;
    try {
      const result = promisingApply(callable, args, nargs, kwargNames, nkwargs, exceptionSlot);
      if (task === undefined) return ownCoroutine(entry, result);
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
  // Once-callables, JS callbacks Pyodide made (a direct call of a PyProxy comes here too, as the inner call of its `apply`).
  Module.callPyObject = function jspiprofCallPyObject(ptr, args) {
    if (notAnEntry()) return callPyObject(ptr, args);
    return runSync("callback", nameOf(ptr), () => callPyObject(ptr, args));
  };

  /**
   * A direct call of a callable PyProxy with `args`: an entry unless nothing is recorded or it is an inner call;
   * a callback when JS registered it as one (`registration`, else found from a listener's event).
   */
  function runDirectCall(proxy, args, call, registration = listenerRegistration(proxy, args)) {
    // The inner Module.callPyObject uses up `innerCall` when this call is an inner call itself.
    if (innerCall || !recorder.recording) return call();
    const inner = () => {
      innerCall = true;
      try {
        return call();
      } finally {
        innerCall = false;
      }
    };
    return runSync(null, nameOfProxy(proxy), inner, registration);
  }

  /** The location of a registration being made now: the JS line, or the Python line when Python made it. */
  const hookCode = hookCodeURL(); // jspiprof's frames: never where a callback was registered
  const locate = registrationLocator(
    hookCode,
    recorder.skipCallerPrefixes.filter((prefix) => prefix !== hookCode),
    () => (recorder.current === null ? null : recorder.stackBy(recorder.captureSample).site),
  );
  const listenerRegistration = hookRegistrations(globalThis, {
    isPyProxy: (value) => typeof value === "function" && API.isPyProxy(value),
    identity: (proxy) => Module.PyProxy_getAttrsQuiet(proxy),
    register: (api, event) => ({ api, event, location: locate() }),
    call: (proxy, registration, thisArg, args) =>
      runDirectCall(proxy, args, () => Reflect.apply(proxy, thisArg, args), registration),
  });

  const patched = new WeakSet();
  /** Wrap the entry methods of one callable PyProxy class prototype. */
  function patchCallable(proto) {
    if (patched.has(proto)) return;
    patched.add(proto);
    const { apply, call, callKwargs, callWithOptions, callPromising, callPromisingKwargs } = proto;
    // A direct call `f(x)` is `apply` (or `call`), whose own Module.callPyObject is then not an entry of its own.
    proto.apply = function (thisArg, args) {
      return runDirectCall(this, args, () => apply.call(this, thisArg, args));
    };
    proto.call = function (thisArg, ...args) {
      return runDirectCall(this, args, () => call.call(this, thisArg, ...args));
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

  /** Wrap `_ensure_future` of one awaitable PyProxy class prototype: a coroutine's task belongs to its owner. */
  function patchAwaitable(proto) {
    if (patched.has(proto)) return;
    patched.add(proto);
    const ensureFuture = proto._ensure_future;
    proto._ensure_future = function () {
      const owner = coroutineOwners.get(this);
      if (owner === undefined || owner.ended) return ensureFuture.call(this);
      // The task's first step is scheduled now: the webloop's scheduleCallback makes `owner` its parent.
      const outer = recorder.current;
      recorder.current = owner;
      try {
        return ensureFuture.call(this);
      } finally {
        recorder.current = outer;
      }
    };
  }

  const getPyProxyClass = Module.getPyProxyClass;
  Module.getPyProxyClass = function jspiprofGetPyProxyClass(flags) {
    const cls = getPyProxyClass(flags);
    if (flags & CALLABLE_FLAG) patchCallable(cls.prototype);
    if (flags & AWAITABLE_FLAG) patchAwaitable(cls.prototype);
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
