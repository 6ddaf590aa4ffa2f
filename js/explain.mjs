/**
 * Explains a failed stack switch at the moment it happens: the class, what happened and where, and the fix.
 *
 * It reads the trace events as the recorder writes them (entries and frames, then the `failed_switch`), so it
 * knows the entry's kind, name, JS caller and parent chain and the Python stack. The same rules, with longer
 * texts, are in `jspiprof/analysis/diagnoses.py`; `jspiprof diagnose TRACE` gives the full explanation later.
 *
 *   const explainer = new FailureExplainer();            // prints to console.error
 *   explainer.watch(writer);                              // every event written to `writer` is seen
 */

/**
 * @typedef {object} Problem
 * @property {string} class one of the diagnosis class ids (sync-runpython, sync-pyproxy-call, ...)
 * @property {string} message what happened, in plain words
 * @property {string|null} location where to change the code (`file:line`)
 * @property {string} fix the code change
 */

const SYNC_ENTRY = "Cannot stack switch because the Python entrypoint was a synchronous function";
const NO_JSPI = "stack switching not supported in this JavaScript runtime";
const URLLIB3 = "urllib3 only works in Node.js with pyodide.runPythonAsync";
const BLOCKING_PATHS = { "asyncio.run": "asyncio.run", run_until_complete: "loop.run_until_complete", urllib3: "urllib3" };

/** Is `caller` real user code (not Node's own timers, which the recorder may report as `/timers:N`)? @param {string|null} caller */
function userCaller(caller) {
  return typeof caller === "string" && !caller.startsWith("node:") && !caller.startsWith("/timers:");
}

/** The JS stack here, all of it (the default limit of 10 frames is used up by Pyodide's wasm frames). */
function fullStack() {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  return stack;
}

/**
 * The built-in code that called into Python, read from the JS stack at the failed switch: the first frame after
 * Pyodide's and jspiprof's own frames, when it is native (`Array.map (<anonymous>)`, `node:internal/timers`).
 * @param {string} stack an Error's stack @returns {string|null}
 */
function nativeCaller(stack) {
  const frames = stack.split("\n").filter((line) => line.trimStart().startsWith("at "));
  const internal = /pyodide\.asm\.m?js|pyodide\.m?js|wasm:\/\/|wasm-function\[|\/_?js\/(hook|entries|registrations|switches|recorder|probe-bridge|trace-writer|explain)\.mjs/;
  const outside = frames.find((line) => !internal.test(line));
  if (!outside) return null;
  const native = /at ([\w$.]+) \((?:<anonymous>|native|node:internal\/[^)]*)\)/.exec(outside);
  return native ? native[1] : null;
}

/** " at FILE:LINE" for a JS caller location, or nothing when the JS stack showed none. @param {string|null|undefined} caller */
function at(caller) {
  return caller ? ` at ${caller}` : "";
}

/** The registering call of a callback, in words: `addEventListener("click", ...)`. @param {any} registration */
function registeringCall(registration) {
  if (registration.api === "property") return `.on${registration.event} = ...`;
  if (registration.api === "Promise.then") return "promise.then(...)";
  return `${registration.api}(${registration.event ? `"${registration.event}", ` : ""}...)`;
}

/** The fix for a synchronous entry, by its kind. @param {any} entry */
function entryFix(entry) {
  const name = entry?.name ?? "pyFunc";
  if (entry?.registration) {
    return (
      `Make the handler \`async def ${name}(...)\` (Pyodide runs it as an asyncio task, where run_sync, time.sleep ` +
      `and await work), or register (...args) => ${name}.callPromising(...args).catch(console.error) in place of ` +
      `it with ${registeringCall(entry.registration)}${at(entry.registration.location)}.`
    );
  }
  if (entry?.via?.startsWith("Array.")) {
    return `${entry.via} calls ${name} synchronously${at(entry.caller)}: await Promise.all(items.map((item) => ${name}.callPromising(item))) instead.`;
  }
  if (entry?.kind === "runPython") {
    return `Replace pyodide.runPython(code)${at(entry.caller)} with await pyodide.runPythonAsync(code).`;
  }
  if (entry?.kind === "call" && userCaller(entry.caller)) {
    return (
      `Call it promising${at(entry.caller)}: ${name}(...) -> await ${name}.callPromising(...) ` +
      "(a Promise of the result: await it and .catch() its errors); for an array method: " +
      `await Promise.all(items.map((item) => ${name}.callPromising(item))).`
    );
  }
  return (
    `Make the handler \`async def ${name}(...)\` (Pyodide runs it as an asyncio task, where run_sync, time.sleep ` +
    `and await work), or register (...args) => ${name}.callPromising(...args).catch(console.error) as the callback.`
  );
}

export class FailureExplainer {
  /** @param {(text: string, problem: Problem) => void} [print] where explanations go (default: console.error) */
  constructor(print = (text) => console.error(text)) {
    this.print = print;
    /** @type {Map<number, any>} */
    this.entries = new Map();
    /** @type {Map<number, any>} */
    this.frames = new Map();
    this.runtime = null;
    /** @type {Map<number, {error: string, parent: number|null}>} entries that ended with an error, until their parent ends */
    this.errors = new Map();
  }

  /**
   * See every event a trace writer writes.
   * @template {{write: (event: object) => void}} W
   * @param {W} writer @returns {W} the same writer
   */
  watch(writer) {
    const write = writer.write.bind(writer);
    writer.write = (event) => {
      write(event);
      this.observe(event);
    };
    return writer;
  }

  /** @param {any} event one trace event */
  observe(event) {
    if (event.type === "header") this.runtime = event.runtime;
    else if (event.type === "entry") {
      this.entries.set(event.id, event);
      if (event.end_us !== undefined) this.endEntry(event); // an entry that ended before its line was written
    }
    else if (event.type === "frame") this.frames.set(event.id, event);
    else if (event.type === "failed_switch") this.report(this.explainFailedSwitch(event, nativeCaller(fullStack())));
    else if (event.type === "entry_end") this.endEntry(event);
  }

  /**
   * Explain an entry's error that no failed switch explained, then forget the entry (memory stays bounded by
   * the entries running at once). An error passes up through the entries around it: it is explained once, at
   * the innermost entry that had it.
   * @param {any} end an `entry_end` event, or an `entry` line with its end fields
   */
  endEntry(end) {
    const entry = this.entries.get(end.id);
    this.entries.delete(end.id);
    let passedUp = false;
    for (const [id, child] of this.errors) {
      if (child.parent !== end.id) continue;
      passedUp ||= child.error === end.error;
      this.errors.delete(id);
    }
    if (end.outcome !== "exception" || entry === undefined) return;
    if (entry.parent !== null) this.errors.set(end.id, { error: end.error, parent: entry.parent });
    const problem = passedUp ? null : this.explainEntryError(entry, end.error ?? "");
    if (problem) this.report(problem);
  }

  /** @param {Problem} problem */
  report(problem) {
    const text =
      `jspiprof: [${problem.class}] ${problem.message}` +
      (problem.location ? `\n  where: ${problem.location}` : "") +
      `\n  fix: ${problem.fix}`;
    this.print(text, problem);
  }

  /** The Python chain of a stack, from the first user frame down. @param {number[]} stack */
  chain(stack) {
    const frames = stack.map((id) => this.frames.get(id)).filter((frame) => frame && !frame.file.includes("/jspiprof/"));
    const first = Math.max(0, frames.findIndex((frame) => !frame.library));
    return frames.slice(first).map((frame) => `${frame.function} (${frame.file}:${frame.line})`).join(" -> ");
  }

  /**
   * Where Python called the JS code that called the Python function `name` back: the frame just outside that
   * function's outermost frame, as `file:line` (the same rule as `jspiprof diagnose`).
   * @param {number[]} stack @param {string|null} name @returns {string|null}
   */
  callIntoJs(stack, name) {
    const position = stack.findIndex((id) => this.frames.get(id)?.function === name);
    const outside = position > 0 ? this.frames.get(stack[position - 1]) : undefined;
    return outside ? `${outside.file}:${outside.line}` : null;
  }

  /**
   * @param {any} failed a `failed_switch` event
   * @param {string|null} [native] the built-in JS code that called Python (`Array.map`, a Node timer), if any
   * @returns {Problem}
   */
  explainFailedSwitch(failed, native = null) {
    const recorded = failed.entry === null ? undefined : this.entries.get(failed.entry);
    const entry = native && recorded?.kind === "call" ? { ...recorded, kind: "callback", via: native } : recorded;
    const chain = this.chain(failed.stack);
    const chainText = chain ? ` (Python chain: ${chain})` : "";
    if (failed.reason === "no-jspi") {
      return { class: "no-jspi", message: `${failed.path} needed a stack switch, but this runtime has no JSPI${chainText}.`, location: failed.site, fix: NO_JSPI_FIX };
    }
    if (failed.reason !== "sync-entry" && failed.reason !== "busy-wait") {
      return {
        class: "pyodide-internal",
        message: `Pyodide's stack switching failed with an error it calls a bug: ${failed.error}${chainText}.`,
        location: failed.site,
        fix: "Report it to Pyodide's GitHub issues with the Pyodide version, the runtime version, how Python was entered, the full traceback and a minimal script that reproduces it.",
      };
    }
    const callerIsTheFix = entry && userCaller(entry.caller) && (entry.kind !== "callback" || entry.via?.startsWith("Array."));
    // A callback JS code registered: the registering call is the line to change.
    const location = (callerIsTheFix ? entry.caller : entry?.registration?.location) ?? failed.site;
    if (failed.reason === "busy-wait") {
      return {
        class: "busy-wait-sleep",
        message: `time.sleep at ${failed.site} could not stack switch, so it busy-waited and blocked the JS event loop (${failed.error})${chainText}.`,
        location,
        fix: `${entryFix(entry)} In async code use await asyncio.sleep(t).`,
      };
    }
    let outer = entry?.parent == null ? undefined : this.entries.get(entry.parent);
    while (outer && !outer.promising) outer = outer.parent == null ? undefined : this.entries.get(outer.parent);
    if (recorded && !recorded.promising && outer) {
      return {
        class: "reentrant-sync-callback",
        message: `Python running in a promising entry called JS, and the JS code${at(entry.caller)} called the Python function ${entry.name} back synchronously, so it could not stack switch${chainText}.`,
        location: entry.caller ?? this.callIntoJs(failed.stack, entry.name) ?? failed.site,
        fix: `Make that JS function async and have it await callback.callPromising(...) (and await it from Python), or make ${entry.name} an async def, or guard: if can_run_sync(): run_sync(aw) else asyncio.ensure_future(aw).`,
      };
    }
    const api = BLOCKING_PATHS[failed.path];
    const registered = entry?.registration ? ` registered with ${registeringCall(entry.registration)}${at(entry.registration.location)}` : "";
    const entered = entry ? `${entry.kind}${entry.name ? ` of ${entry.name}` : ""}${registered} at ${userCaller(entry.caller) ? entry.caller : "a JS callback"}` : "a synchronous entry";
    if (api) {
      return { class: "blocking-api-from-sync", message: `${api} needs to suspend, but Python was entered synchronously (${entered})${chainText}.`, location, fix: entryFix(entry) };
    }
    const kind = entry?.kind === "runPython" ? "sync-runpython" : entry?.kind === "call" && userCaller(entry.caller) ? "sync-pyproxy-call" : "sync-js-callback";
    return { class: kind, message: `${failed.path} at ${failed.site} needed to stack switch, but Python was entered synchronously (${entered})${chainText}.`, location, fix: entryFix(entry) };
  }

  /** A problem only an entry's error shows (no failed switch). @param {any} entry @param {string} error @returns {Problem|null} */
  explainEntryError(entry, error) {
    if (!entry || error.includes(SYNC_ENTRY)) return null;
    if (error.includes(NO_JSPI) || (error.includes(URLLIB3) && entry.promising)) {
      return { class: "no-jspi", message: `${error.split("\n")[0]}.`, location: entry.caller, fix: NO_JSPI_FIX };
    }
    if (error.includes(URLLIB3)) {
      return { class: "blocking-api-from-sync", message: `requests/urllib3 could not suspend for its fetch: Python was entered synchronously (${entry.kind}${at(entry.caller)}).`, location: entry.caller, fix: entryFix(entry) };
    }
    const notAwaitable = /^TypeError: object (.+) is not awaitable/.exec(error);
    if (notAwaitable) {
      return { class: "not-awaitable", message: `run_sync was given an object of type ${notAwaitable[1]}, which is not awaitable.`, location: entry.caller, fix: "Pass run_sync a coroutine object (run_sync(load()), not run_sync(load)), a Future or a JS Promise." };
    }
    return null;
  }
}

const NO_JSPI_FIX =
  "Use a runtime with JSPI: Node 24.20+, 25 or 26 (no flag; Node 26 refuses --experimental-wasm-jspi), Node 24.0-24.19 with " +
  "--experimental-wasm-jspi, Chrome/Chromium 137+, or Firefox with javascript.options.wasm_js_promise_integration; run `jspiprof doctor`.";
