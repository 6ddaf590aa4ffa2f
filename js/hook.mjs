/**
 * jspiprof JS hook: a drop-in `loadPyodide` that records every stack switch, entry and failed switch of the
 * Pyodide it loads into a trace (`docs/trace-format.md`).
 *
 *   import { wrapLoadPyodide } from "jspiprof/hook.mjs";
 *   const pyodide = await wrapLoadPyodide(loadPyodide, { trace: "trace.jsonl" })({ indexURL });
 *   ...
 *   pyodide.jspiprof.close();   // or let Node's exit close it
 *
 * Under Node with `trace: PATH` the trace is streamed to PATH (flushed every ~100 ms and on exit, SIGINT,
 * SIGTERM and uncaught errors). With `collector: URL` (what `jspiprof record` injects into a page or worker) it is
 * POSTed to that URL in batches, every ~100 ms and on `pagehide`. Otherwise (a browser page, or Node without `trace`) it is kept in a bounded
 * in-memory buffer: `pyodide.jspiprof.toJSONL()`, `.events()` (for postMessage) or `.download(filename)`.
 */

import { FileTraceWriter, MemoryTraceWriter, SCHEMA, VERSION, toJSONLines } from "./trace-writer.mjs";
import { PostTraceWriter, thisSource } from "./post-trace-writer.mjs";
import { Recorder } from "./recorder.mjs";
import { hookStackRestore, hookSwitchImports } from "./switches.mjs";
import { hookEntries } from "./entries.mjs";
import { installProbe } from "./probe-bridge.mjs";
import { hideHookFrames } from "./tracebacks.mjs";
import { FailureExplainer } from "./explain.mjs";
import { SampleColumns, hookSignalsHelper } from "./sampler.mjs";
import { hookCodeURL } from "./one-file.mjs";
import { hookPythonErrors } from "./python-errors.mjs";
import { DevToolsTrack } from "./devtools.mjs";

const IS_NODE = typeof process !== "undefined" && typeof process.versions?.node === "string";

/**
 * @typedef {object} ProfilerOptions
 * @property {string} [trace] Node only: stream the trace to this file (created or truncated)
 * @property {string} [collector] stream the trace to this URL, a collector of `jspiprof record`
 * @property {number} [bufferSize] events kept in memory when not streaming (default 200000); more are counted as dropped
 * @property {number} [flushIntervalMs] how often a streamed trace is appended to (default 100)
 * @property {boolean} [record] record from the start (default true); Python's `jspiprof.start()`/`stop()` switch it
 * @property {object|null} [program] the header's `program` field (what ran)
 * @property {(event: object) => void} [onFailedSwitch] called with each `failed_switch` event as it happens
 * @property {boolean} [explain] print the diagnosis of each failed switch to console.error as it happens (default false)
 * @property {boolean} [sample] sample the Python stack while Python runs, for CPU time by function and line (default true)
 * @property {number} [sampleIntervalMs] time between two samples (default 1)
 * @property {boolean} [devtools] also draw entries, suspensions and failed switches on a "Python (jspiprof)" track
 *   group in Chrome DevTools' Performance panel (default false)
 */

/**
 * The profiler handle found at `pyodide.jspiprof`.
 * @typedef {object} ProfilerHandle
 * @property {() => object[]} events the trace so far, header first (plain objects, fit for postMessage)
 * @property {() => string} toJSONL the trace so far as JSON Lines text
 * @property {(filename?: string) => void} download browser: save the trace as a file
 * @property {() => void} flush write buffered events to the trace file now (returns once they are written)
 * @property {(exitStatus?: number|null) => Promise<unknown>|void} close write the `end` line; later events are ignored
 * (streamed to a collector: a promise that settles once the last batch was sent)
 * @property {() => void} start record from now on
 * @property {() => void} stop stop recording
 * @property {string|null} path the trace file, when streaming
 */

/** The URL (or file URL) of a file Pyodide's `locateFile` names. @param {string} located */
function importable(located) {
  if (IS_NODE && located.startsWith("/")) return `file://${encodeURI(located)}`;
  return located;
}

/** @param {any} Module */
function jspiApi(Module) {
  if (Module.newJspiSupported) return "WebAssembly.Suspending";
  if (Module.oldJspiSupported) return "WebAssembly.Function";
  return "none";
}

/**
 * Wrap Pyodide's own `loadPyodide` (default: `globalThis.loadPyodide`, as a page that loaded pyodide.js has).
 * @param {(options?: object) => Promise<any>} [loadPyodide]
 * @param {ProfilerOptions} [profilerOptions]
 * @returns {(options?: object) => Promise<any>} a loadPyodide with the same options and result, plus `.jspiprof`
 */
export function wrapLoadPyodide(loadPyodide = globalThis.loadPyodide, profilerOptions = {}) {
  if (typeof loadPyodide !== "function") {
    throw new TypeError("jspiprof: wrapLoadPyodide needs Pyodide's loadPyodide: pass it, or load pyodide.js first.");
  }
  return async (options = {}) => {
    const recorder = new Recorder(null, {
      skipCallerPrefixes: [hookCodeURL()],
      onFailedSwitch: profilerOptions.onFailedSwitch,
      recording: false,
    });
    const sampling = profilerOptions.sample ?? true;
    const intervalMs = profilerOptions.sampleIntervalMs ?? 1;
    if (sampling) recorder.samples = new SampleColumns(intervalMs);
    /** @type {((Module: any) => void)|null} */
    let startSampling = null;
    let Module = null;
    /** @type {import("./python-errors.mjs").PythonErrors} */
    let pythonErrors = { count: 0, latest: null };
    const createPyodideModule = async (settings) => {
      const create =
        options.createPyodideModule ?? (await import(importable(settings.locateFile("pyodide.asm.mjs")))).default;
      const instantiateWasm = settings.instantiateWasm;
      if (typeof instantiateWasm === "function") {
        settings.instantiateWasm = (imports, onInstance) => {
          hookSwitchImports(imports.env, settings, recorder);
          pythonErrors = hookPythonErrors(imports.env, hookCodeURL());
          if (sampling) startSampling = hookSignalsHelper(imports.env, intervalMs, (t) => recorder.sampleAt(t));
          return instantiateWasm(imports, onInstance);
        };
      }
      Module = await create(settings);
      hookStackRestore(Module, recorder);
      return Module;
    };
    const pyodide = await loadPyodide({ ...options, createPyodideModule });
    // Once loaded: a start-up snapshot, restored while loading, brings back the memory as it was, signal flag included.
    startSampling?.(Module ?? pyodide._module);
    const indexURL = String(pyodide._api.config?.indexURL ?? "");
    recorder.skipCallerPrefixes.push(importable(indexURL), indexURL);

    const header = {
      type: "header",
      schema: SCHEMA,
      version: VERSION,
      origin_unix_ms: performance.timeOrigin + recorder.originMs, // high resolution: two threads' traces line up
      runtime: {
        host: IS_NODE ? "node" : "browser",
        host_version: IS_NODE ? process.version : globalThis.navigator?.userAgent ?? "unknown",
        pyodide: pyodide.version,
        jspi: jspiApi(Module ?? pyodide._module),
      },
      program: profilerOptions.program ?? null,
    };
    const flushIntervalMs = profilerOptions.flushIntervalMs ?? 100;
    const bufferSize = profilerOptions.bufferSize ?? 200000;
    const nowUs = () => recorder.nowUs();
    const writer =
      IS_NODE && profilerOptions.trace
        ? await FileTraceWriter.open(profilerOptions.trace, header, flushIntervalMs, nowUs, recorder.originMs)
        : profilerOptions.collector
          ? new PostTraceWriter(header, bufferSize, recorder.originMs, profilerOptions.collector, flushIntervalMs, thisSource(), nowUs)
          : new MemoryTraceWriter(header, bufferSize, recorder.originMs);
    recorder.writer = profilerOptions.explain ? new FailureExplainer().watch(writer) : writer;
    if (profilerOptions.devtools) new DevToolsTrack(recorder.originMs).watch(writer);
    writer.beforeFlush = () => recorder.writeHeldBack();

    const control = {
      start: () => {
        recorder.recording = true;
      },
      stop: () => {
        recorder.recording = false;
      },
      isRecording: () => recorder.recording,
    };
    const callPyObject = pyodide._module.callPyObject;
    await installProbe(pyodide, recorder, control, callPyObject);
    hookEntries(pyodide, recorder, pythonErrors);
    hideHookFrames(pyodide._module, hookCodeURL());
    recorder.recording = profilerOptions.record ?? true;

    /** @type {ProfilerHandle} */
    const handle = {
      path: writer instanceof FileTraceWriter ? writer.path : null,
      events: () => writer.events(recorder.nowUs()),
      toJSONL: () => toJSONLines(writer.events(recorder.nowUs())),
      download: (filename = "jspiprof-trace.jsonl") => {
        const blob = new Blob([handle.toJSONL()], { type: "application/x-ndjson" });
        const link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = filename;
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 0);
      },
      flush: () => writer.drain(),
      close: (exitStatus = null) => {
        recorder.recording = false;
        return writer.close({ ts_us: recorder.nowUs(), exit_status: exitStatus });
      },
      start: control.start,
      stop: control.stop,
    };
    pyodide.jspiprof = handle;
    return pyodide;
  };
}
