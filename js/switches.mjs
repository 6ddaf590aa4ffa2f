/**
 * Sees every stack switch: replaces the wasm imports `saveState`, `restoreState` and `syncifyHandler` that
 * Pyodide's C `JsvPromise_Syncify` calls (before suspending, while waiting, after resuming). Every path that
 * suspends ends there: run_sync, time.sleep, asyncio.run, run_until_complete, ssl, socket syscalls, urllib3.
 *
 * Order on one stack: saveState -> syncifyHandler (suspends until the promise settles) -> restoreState.
 * saveState returns `Module.error` when no switch is possible: that is a failed switch.
 */

import { now } from "./recorder.mjs";
import { heapReader } from "./wasm-heap.mjs";

const FAILED_SYNC_ENTRY =
  "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function. Use pyFunc.callPromising() to fix.";
const FAILED_NO_THREAD_STATE = "SystemError: Cannot stack switch: no thread state to hand control back to. This is a bug in Pyodide.";

/**
 * A suspension being recorded. saveState hands it to the wasm code instead of Pyodide's saved state, which it
 * holds: the wasm code only passes the value on to restoreState (an opaque reference), which takes it back apart.
 */
class SwitchRecord {
  /**
   * @param {any} state what Pyodide's saveState returned
   * @param {import("./recorder.mjs").Entry|null} entry @param {number} startMs @param {import("./recorder.mjs").StackInfo} info
   */
  constructor(state, entry, startMs, info) {
    this.state = state;
    this.entry = entry;
    this.startMs = startMs;
    this.settleMs = 0;
    this.info = info;
    /** @type {string|null} */
    this.awaitable = null;
    /** @type {any} */
    this.error = undefined;
    this.failed = false;
  }
}

/**
 * What a suspension awaits, described shortly: "Promise", the Python type of a PyProxy, else the JS class or type.
 * Asking a PyProxy for its type calls into Python and decodes a string, so names are cached by the address of
 * the Python type object (read from the object's header in wasm memory), checked against the address of the
 * type's name so that a type allocated where a freed one was is not mistaken for it. The header layout is
 * checked once on the first PyProxy; if it does not hold, every PyProxy is asked.
 * @param {any} Module Pyodide's Emscripten module
 * @returns {(awaited: any) => string|null}
 */
function awaitableDescriber(Module) {
  const API = Module.API;
  const getPtr = Module.PyProxy_getPtr;
  const heapNow = heapReader(Module);
  /** Python type address -> [address of its name, its name]. @type {Map<number, [number, string]>} */
  const typeNames = new Map();
  let headerChecked = false;
  let headerKnown = false;
  /** The last type seen (a loop awaits the same kind of thing): its address, its name's address, its name. */
  let lastType = 0;
  let lastName = 0;
  let lastDescribed = "";

  /** @param {any} proxy */
  function pythonType(proxy) {
    // wasm32 CPython: an object's type is at offset 4, a type's name (tp_name) at offset 12.
    const heap = heapNow();
    const type = heap[(getPtr(proxy) + 4) >>> 2];
    const name = heap[(type + 12) >>> 2];
    if (!headerChecked) {
      headerChecked = true;
      headerKnown = Module.UTF8ToString(name).split(".").pop() === proxy.type;
    }
    if (!headerKnown) return proxy.type;
    if (type === lastType && name === lastName) return lastDescribed;
    const cached = typeNames.get(type);
    let described;
    if (cached !== undefined && cached[0] === name) described = cached[1];
    else {
      described = proxy.type;
      typeNames.set(type, [name, described]);
    }
    lastType = type;
    lastName = name;
    lastDescribed = described;
    return described;
  }

  /** What the objects of a prototype are: 0 a JS Promise, 1 a PyProxy, 2 anything else (a loop awaits one kind). */
  const kinds = new Map();
  let lastPrototype = null;
  let lastKind = 2;

  return (awaited) => {
    if (awaited === null || awaited === undefined) return null;
    if (typeof awaited !== "object" && typeof awaited !== "function") return typeof awaited;
    const prototype = Object.getPrototypeOf(awaited);
    if (prototype !== lastPrototype) {
      let kind = kinds.get(prototype);
      if (kind === undefined) {
        kind = awaited instanceof Promise ? 0 : API.isPyProxy(awaited) ? 1 : 2;
        kinds.set(prototype, kind);
      }
      lastPrototype = prototype;
      lastKind = kind;
    }
    if (lastKind === 0) return "Promise";
    if (lastKind === 1) return pythonType(awaited);
    return awaited.constructor?.name ?? typeof awaited;
  };
}

/**
 * Replace the stack-switching imports in `imports.env` (called from `instantiateWasm`, before the wasm starts).
 * @param {any} env the wasm imports
 * @param {any} Module Pyodide's Emscripten module
 * @param {import("./recorder.mjs").Recorder} recorder
 */
export function hookSwitchImports(env, Module, recorder) {
  const saveState = env.saveState;
  const restoreState = env.restoreState;
  /** The record of the suspension between its saveState and its syncifyHandler call. */
  let saving = null;
  /** @type {((awaited: any) => string|null)|null} made on first use: Pyodide's API is not there yet */
  let describeAwaitable = null;
  /** Pyodide's `Module.validSuspender` and `Module.error`, looked up once (on the first switch: they come later). */
  let validSuspender = null;
  let errorValue = null;

  env.saveState = function jspiprofSaveState() {
    if (!recorder.recording) return saveState();
    const startMs = now();
    if (validSuspender === null) {
      validSuspender = Module.validSuspender;
      errorValue = Module.error;
    }
    const wasValid = validSuspender.value;
    if (wasValid) {
      recorder.switchesStarted++;
      // Ask the probe first: the Python frames are intact and the GIL is held.
      const info = recorder.stackAtSwitch();
      const state = saveState();
      if (state === errorValue) {
        recorder.writeFailedSwitch("no-thread-state", FAILED_NO_THREAD_STATE);
        return state;
      }
      const entry = recorder.current;
      saving = new SwitchRecord(state, entry, startMs, info);
      if (entry !== null) recorder.current = entry.outer;
      return saving;
    }
    const state = saveState();
    if (state === errorValue) {
      recorder.writeFailedSwitch(wasValid ? "no-thread-state" : "sync-entry", wasValid ? FAILED_NO_THREAD_STATE : FAILED_SYNC_ENTRY);
    }
    return state;
  };

  env.restoreState = function jspiprofRestoreState(state) {
    if (!(state instanceof SwitchRecord)) return restoreState(state);
    const record = state;
    restoreState(record.state);
    const restoredMs = now();
    const entry = record.entry;
    if (entry !== null) {
      entry.outer = recorder.current;
      recorder.current = entry;
    }
    recorder.writeSuspension(record, restoredMs, recorder.restoredBytes);
  };

  // Equivalent to Pyodide's own handler (same values, same Module.syncify_error), plus the settle time.
  async function settle(x, y) {
    const record = saving;
    saving = null;
    const awaited = x ?? y;
    if (record !== null) {
      describeAwaitable ??= awaitableDescriber(Module);
      record.awaitable = describeAwaitable(awaited);
    }
    try {
      const value = await awaited;
      if (record !== null) record.settleMs = now();
      return value;
    } catch (error) {
      if (record !== null) {
        record.settleMs = now();
        record.failed = true;
        record.error = error;
      }
      if (error && error.pyodide_fatal_error) throw error;
      Module.syncify_error = error;
      return Module.error;
    }
  }
  if (typeof WebAssembly.Suspending === "function") env.syncifyHandler = new WebAssembly.Suspending(settle);
}

/**
 * Make every `StackState.restore()` tell the recorder how many C-stack bytes it copied back, for `stack_bytes`.
 * @param {any} Module @param {import("./recorder.mjs").Recorder} recorder
 */
export function hookStackRestore(Module, recorder) {
  const restore = Module.StackState.prototype.restore;
  Module.StackState.prototype.restore = function jspiprofRestore() {
    const bytes = restore.call(this);
    recorder.restoredBytes = typeof bytes === "number" ? bytes : 0;
    return bytes;
  };
}
