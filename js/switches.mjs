/**
 * Sees every stack switch: replaces the wasm imports `saveState`, `restoreState` and `syncifyHandler` that
 * Pyodide's C `JsvPromise_Syncify` calls (before suspending, while waiting, after resuming). Every path that
 * suspends ends there: run_sync, time.sleep, asyncio.run, run_until_complete, ssl, socket syscalls, urllib3.
 *
 * Order on one stack: saveState -> syncifyHandler (suspends until the promise settles) -> restoreState.
 * saveState returns `Module.error` when no switch is possible: that is a failed switch.
 */

const FAILED_SYNC_ENTRY =
  "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function. Use pyFunc.callPromising() to fix.";
const FAILED_NO_THREAD_STATE = "SystemError: Cannot stack switch: no thread state to hand control back to. This is a bug in Pyodide.";

/** Symbol under which a saved state carries its suspension record. */
const RECORD = Symbol("jspiprof.suspension");

/**
 * A short description of what a suspension awaits: the Python type of a PyProxy, else the JS class or type.
 * @param {any} awaited @param {any} API Pyodide's internal API
 */
function describeAwaitable(awaited, API) {
  if (awaited === null || awaited === undefined) return null;
  if (awaited instanceof Promise) return "Promise";
  if (API.isPyProxy(awaited)) return awaited.type;
  if (typeof awaited === "object" || typeof awaited === "function") return awaited.constructor?.name ?? typeof awaited;
  return typeof awaited;
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

  env.saveState = function jspiprofSaveState() {
    if (!recorder.recording) return saveState();
    const startUs = recorder.nowUs();
    const wasValid = Module.validSuspender.value;
    if (wasValid) {
      recorder.switchesStarted++;
      // Ask the probe first: the Python frames are intact and the GIL is held.
      const info = recorder.stackAtSwitch();
      const state = saveState();
      if (state === Module.error) {
        recorder.writeFailedSwitch("no-thread-state", FAILED_NO_THREAD_STATE);
        return state;
      }
      const entry = recorder.current;
      saving = { entry, startUs, settleUs: 0, info, awaitable: null, error: undefined, failed: false };
      state[RECORD] = saving;
      if (entry !== null) recorder.current = entry.outer;
      return state;
    }
    const state = saveState();
    if (state === Module.error) {
      recorder.writeFailedSwitch(wasValid ? "no-thread-state" : "sync-entry", wasValid ? FAILED_NO_THREAD_STATE : FAILED_SYNC_ENTRY);
    }
    return state;
  };

  env.restoreState = function jspiprofRestoreState(state) {
    const record = state[RECORD];
    if (record === undefined) return restoreState(state);
    restoreState(state);
    const restoredUs = recorder.nowUs();
    const entry = record.entry;
    if (entry !== null) {
      entry.outer = recorder.current;
      recorder.current = entry;
    }
    recorder.writeSuspension(record, restoredUs, recorder.restoredBytes);
  };

  // Equivalent to Pyodide's own handler (same values, same Module.syncify_error), plus the settle time.
  async function settle(x, y) {
    const record = saving;
    saving = null;
    const awaited = x ?? y;
    if (record !== null) record.awaitable = describeAwaitable(awaited, Module.API);
    try {
      const value = await awaited;
      if (record !== null) record.settleUs = recorder.nowUs();
      return value;
    } catch (error) {
      if (record !== null) {
        record.settleUs = recorder.nowUs();
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
