/**
 * The sampling CPU profiler: while Python runs, the Python stack about every `intervalMs`, on the trace's clock.
 *
 * CPython on Emscripten calls the wasm import `_Py_CheckEmscriptenSignals_Helper` from its eval loop (every 50th
 * eval-breaker check, once signal handling is on: about every 50 iterations of a plain loop), on the main thread,
 * with the GIL held and the frames intact. The hook replaces that import at instantiation: the new helper reads the
 * clock, and when the interval has passed asks the recorder for the Python stack (read from wasm memory; the probe
 * is called only for a stack never seen before). Calling out of wasm ~170,000 times a second is most of what
 * sampling costs, so the helper also sets the countdown CPython keeps to its next call (`_Py_emscripten_signal_clock`)
 * to about `CALLS_PER_INTERVAL` calls per interval. It still serves Pyodide's interrupt buffer
 * (`setInterruptBuffer`), so KeyboardInterrupt keeps working.
 *
 * Samples are kept as columns and written as one `samples` line per flush (`docs/trace-format.md`).
 */

import { now } from "./recorder.mjs";
import { heapReader } from "./wasm-heap.mjs";

/**
 * Samples in one `samples` line at most (~17 bytes each: a line stays far below the reader's 1 MiB bound). Python
 * that runs for minutes without letting the flush timer run leaves more: they go out as several lines.
 */
export const SAMPLES_PER_LINE = 20000;

/**
 * Calls of the helper per sampling interval that the hook aims at: a sample is due at most an eighth of an interval
 * late, and a plain loop calls out of wasm every ~0.1 ms instead of every ~6 µs.
 */
export const CALLS_PER_INTERVAL = 8;

/** What CPython sets its countdown to before each call of the helper from the eval loop. */
const CPYTHON_CHECKS_PER_CALL = 50;

/** Eval-breaker checks between two calls at most (a plain loop passes one every ~0.1 µs: a call every ~6 ms). */
export const MAX_CHECKS_PER_CALL = 65536;

/**
 * The eval-breaker checks to let pass before the next call of the helper, from the checks before this call and the
 * time since the last one: doubled while calls come more than twice too often, halved while they come more than
 * twice too rarely (after a pause too: the schedule then settles again within a few calls).
 * @param {number} checks @param {number} sinceMs @param {number} spacingMs the time wanted between two calls
 */
export function nextChecks(checks, sinceMs, spacingMs) {
  if (sinceMs < spacingMs / 2) return Math.min(2 * checks, MAX_CHECKS_PER_CALL);
  if (sinceMs > 2 * spacingMs) return Math.max(checks >> 1, 1);
  return checks;
}

/**
 * The samples taken since the last flush, as columns, and the sample stacks named so far (a stack's frame ids,
 * outermost first, get a small id when first sampled; its definition goes out with the first batch that uses it).
 */
export class SampleColumns {
  /** @param {number} intervalMs */
  constructor(intervalMs) {
    this.intervalUs = Math.round(intervalMs * 1000);
    /** @type {number[]} trace times, whole microseconds */
    this.times = [];
    /** @type {number[]} */
    this.stacks = [];
    /** @type {(number|null)[]} */
    this.entries = [];
    /** Stack id of each frame-id list sampled so far (the list joined by commas). @type {Map<string, number>} */
    this.stackIds = new Map();
    /** @type {{id: number, frames: number[]}[]} stacks first sampled since the last batch */
    this.newStacks = [];
  }

  /**
   * Add one sample.
   * @param {number} timeUs trace time @param {{stack: number[], sampleStack: number}} info the stack (frame ids,
   *   outermost first); its sample stack id is kept in `sampleStack` (0 until first sampled)
   * @param {number|null} entry
   */
  add(timeUs, info, entry) {
    let id = info.sampleStack;
    if (id === 0) {
      const key = info.stack.join(",");
      id = this.stackIds.get(key) ?? 0;
      if (id === 0) {
        id = this.stackIds.size + 1;
        this.stackIds.set(key, id);
        this.newStacks.push({ id, frames: info.stack });
      }
      info.sampleStack = id;
    }
    this.times.push(Math.round(timeUs));
    this.stacks.push(id);
    this.entries.push(entry);
  }

  /**
   * The `samples` line of the oldest samples not taken yet (`SAMPLES_PER_LINE` at most), or null when there are
   * none: call it until null to take them all.
   */
  takeBatch() {
    const times = this.times.splice(0, SAMPLES_PER_LINE);
    if (times.length === 0) return null;
    const deltas = times.map((time, i) => (i === 0 ? 0 : time - times[i - 1]));
    const batch = {
      type: "samples",
      interval_us: this.intervalUs,
      stacks: this.newStacks,
      start_us: times[0],
      dt_us: deltas,
      stack: this.stacks.splice(0, SAMPLES_PER_LINE),
      entry: this.entries.splice(0, SAMPLES_PER_LINE),
    };
    this.newStacks = [];
    return batch;
  }
}

/**
 * When to sample: on a clock reading `t` (ms), `due(t)` is true once `intervalMs` has passed since the last sample
 * was due. Samples stay `intervalMs` apart on average although the clock is read only every few calls; after a
 * pause (Python suspended, JS running, a long C call) the next one is due at once and the schedule restarts from it.
 * @param {number} intervalMs
 */
export function sampleClock(intervalMs) {
  let nextMs = 0;
  return {
    /** @param {number} t */
    due(t) {
      if (t < nextMs) return false;
      nextMs = t - nextMs < intervalMs ? nextMs + intervalMs : t + intervalMs;
      return true;
    },
  };
}

/**
 * Replace `_Py_CheckEmscriptenSignals_Helper` in `env` (called from `instantiateWasm`, before the wasm starts).
 * `takeSample(t)` is called with the clock reading each time a sample is due. Returns `start(Module)`, to call once
 * the module exists: it turns CPython's signal handling on (and keeps it on whatever `setInterruptBuffer` is given).
 * @param {any} env the wasm imports
 * @param {number} intervalMs
 * @param {(t: number) => void} takeSample
 * @returns {(Module: any) => void}
 */
export function hookSignalsHelper(env, intervalMs, takeSample) {
  const clock = sampleClock(intervalMs);
  const spacingMs = intervalMs / CALLS_PER_INTERVAL;
  /** Pyodide's interrupt buffer (`Module.Py_EmscriptenSignalBuffer`), held here: looking it up on Module is slow. */
  let signalBuffer;
  /** @type {() => Uint32Array} */
  let heap = () => new Uint32Array(0);
  /** Where CPython keeps its countdown to the next call, as an index into `heap()` (-1: not exported, left alone). */
  let countdownAt = -1;
  let checks = CPYTHON_CHECKS_PER_CALL;
  let lastCallMs = 0;

  env._Py_CheckEmscriptenSignals_Helper = function jspiprofSignalsHelper() {
    const t = now();
    // A call from the eval loop's countdown finds it just reset; other calls (PyErr_CheckSignals, in time.sleep
    // and C loops) come whenever they come, and leave the countdown alone.
    if (countdownAt >= 0 && heap()[countdownAt] === CPYTHON_CHECKS_PER_CALL) {
      checks = nextChecks(checks, t - lastCallMs, spacingMs);
      lastCallMs = t;
      heap()[countdownAt] = checks;
    }
    if (clock.due(t)) takeSample(t);
    // What Pyodide's own helper does: hand over and clear a pending signal (2 is SIGINT: KeyboardInterrupt).
    if (!signalBuffer) return 0;
    try {
      const signal = signalBuffer[0];
      signalBuffer[0] = 0;
      return signal;
    } catch {
      return 0;
    }
  };

  return (Module) => {
    const flag = Module._Py_EMSCRIPTEN_SIGNAL_HANDLING;
    const countdown = Module.__Py_emscripten_signal_clock;
    if (typeof countdown === "number") {
      heap = heapReader(Module);
      countdownAt = countdown >>> 2;
    }
    signalBuffer = Module.Py_EmscriptenSignalBuffer;
    Object.defineProperty(Module, "Py_EmscriptenSignalBuffer", {
      configurable: true,
      get: () => signalBuffer,
      set: (buffer) => {
        signalBuffer = buffer;
        Module.HEAP8[flag] = 1; // setInterruptBuffer(undefined) turns signal handling off: sampling needs it on
      },
    });
    Module.HEAP8[flag] = 1;
  };
}
