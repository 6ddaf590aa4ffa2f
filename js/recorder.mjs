/**
 * The recorder: owns the trace clock, the ids, the entry that is running now, and turns what the hooks see
 * into trace events (`docs/trace-format.md`). The hooks (`entries.mjs`, `switches.mjs`) only call it.
 */

import { suspensionEvent, traceUs } from "./trace-records.mjs";

/** The recorder's clock: a `performance.now()` reading in milliseconds (trace time is made of it where written). */
export const now = performance.now.bind(performance);

/**
 * @typedef {object} Entry
 * @property {number} id
 * @property {string} kind
 * @property {boolean} promising
 * @property {string|null} name
 * @property {string|null|undefined} caller undefined: not read (the hook samples callers)
 * @property {Entry|null} parent
 * @property {import("./registrations.mjs").Registration|null} registration how JS registered the callable it
 *   called, for a callback
 * @property {number} startMs clock reading (`now()`)
 * @property {boolean} ended
 * @property {boolean} written whether its `entry` line is in the trace already
 * @property {Entry|null} outer the entry that was running before this one was resumed or entered
 * @property {Promise<any>|null} promise a task's promise, when its end is recorded once it settles
 * @property {Entry|null} previous the next newer entry still running (the recorder's list of running entries)
 * @property {Entry|null} next the next older entry still running
 *
 * @typedef {object} StackInfo what the Python probe found at a switch
 * @property {number[]} stack frame ids, outermost first
 * @property {number} depth
 * @property {string|null} site
 * @property {string} path
 * @property {string} json the `path`, `stack`, `depth` and `site` fields as JSON text
 * @property {number} sampleStack its id among the sample stacks, once sampled (0 before)
 *
 * @typedef {object} Writer
 * @property {(event: object) => void} write
 * @property {(id: number, entry: number|null, startMs: number, settleMs: number, restoredMs: number, stackBytes: number, info: StackInfo, awaitable: string|null) => void} writeSuspension
 *   times are clock readings (`now()`)
 * @property {(id: number, parent: number|null, startMs: number, endMs: number) => void} writeTaskStep
 * @property {() => void} flush hand what is buffered on to be written
 * @property {() => void} drain flush, and return once it is written
 * @property {(end: {ts_us: number, exit_status: number|null}) => void} close
 * @property {(nowUs: number) => object[]} events
 */

/**
 * @param {number[]} stack @param {number} depth @param {string|null} site @param {string} path
 * @returns {StackInfo}
 */
export function stackInfo(stack, depth, site, path) {
  const json = `"path":${JSON.stringify(path)},"stack":${JSON.stringify(stack)},"depth":${depth},"site":${JSON.stringify(site)}`;
  return { stack, depth, site, path, json, sampleStack: 0 };
}

const NO_STACK = stackInfo([], 0, null, "other");

/** A stack frame's file that can be a caller: a URL or an absolute path (not `node:internal/...`, not wasm). */
const CALLER_FILE = /^(?:(?!wasm:)[a-z][a-z0-9+.-]*:\/\/|\/)/i;

/**
 * A frame of a stack as text, its file (URL or path) and line: V8's "    at fn (FILE:line:column)" or
 * "    at FILE:line:column", and Firefox's "fn@FILE:line:column" (not node:internal/... frames).
 */
export const STACK_LINE = /(?:\(|at |@)((?:[a-z][a-z0-9+.-]*:\/\/|\/)[^\s()]*):(\d+):\d+\)?\s*$/i;

/** V8's structured stack (Node, Chrome): the frames as call sites, not formatted as text. */
const callSites = (/** @type {Error} */ _error, /** @type {any[]} */ sites) => sites;

/**
 * The finder of an entry's caller: the first JS stack frame outside Pyodide's and jspiprof's files.
 * On V8 it reads the stack's call sites (formatting the whole stack as text cost ~40 µs an entry with Pyodide
 * loaded); elsewhere it parses the stack text.
 * @param {string[]} skipPrefixes files whose frames are never the caller
 */
function callerFinder(skipPrefixes) {
  const structured = typeof Error.captureStackTrace === "function";
  /** @param {string} file */
  const skipped = (file) => skipPrefixes.some((prefix) => file.startsWith(prefix));

  /**
   * The first call site outside Pyodide and jspiprof among the innermost `limit` frames: "file:line", null when
   * there is none, undefined when the frames may go on past the limit.
   * @param {number} limit @returns {string|null|undefined}
   */
  function fromCallSites(limit) {
    const prepare = Error.prepareStackTrace;
    const stackLimit = Error.stackTraceLimit;
    Error.prepareStackTrace = callSites;
    Error.stackTraceLimit = limit;
    /** @type {{stack?: any}} */
    const holder = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack; // read while callSites is the formatter
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = stackLimit;
    if (!Array.isArray(sites)) return fromText();
    for (const site of sites) {
      const file = site.getFileName();
      if (typeof file !== "string" || !CALLER_FILE.test(file) || skipped(file)) continue;
      const line = site.getLineNumber(); // asked only here: working a line number out costs more than the file
      if (line !== null) return `${file}:${line}`;
    }
    return sites.length < limit ? null : undefined;
  }

  /**
   * The caller, from the innermost 12 frames first: the caller is nearly always among them, and with Pyodide
   * loaded a capture of up to `limit` frames costs ~10 times more (~30 µs for 60) even when the stack holds only a
   * few. @param {number} [limit] @returns {string|null}
   */
  function fromCallSitesNear(limit = 60) {
    const near = fromCallSites(12);
    return near !== undefined ? near : (fromCallSites(limit) ?? null);
  }

  /** @param {number} [limit] @returns {string|null} the same, from the stack as text */
  function fromText(limit = 60) {
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = limit;
    const stack = new Error().stack ?? "";
    Error.stackTraceLimit = stackLimit;
    for (const line of stack.split("\n").slice(1)) {
      const match = STACK_LINE.exec(line);
      if (match === null) continue;
      const file = match[1];
      if (skipped(file)) continue;
      return `${file}:${match[2]}`;
    }
    return null;
  }

  return structured ? fromCallSitesNear : fromText;
}

/** Entries of each kind and callable whose caller is read before the hook samples them. */
export const CALLERS_READ_FIRST = 16;
/** After those, the caller of about one entry in this many is read (the gap between two is drawn at random). */
export const CALLER_SAMPLE_GAP = 64;

/** Whether to read an entry's caller, for entries of one kind and callable. */
class CallerSampler {
  constructor() {
    this.entries = 0;
    this.nextRead = CALLERS_READ_FIRST;
  }

  /** Whether to read the caller of the next entry. @returns {boolean} */
  read() {
    const entry = this.entries++;
    if (entry < CALLERS_READ_FIRST) return true;
    if (entry < this.nextRead) return false;
    // A gap drawn at random, not a fixed stride: callers that take turns are sampled in their true shares.
    this.nextRead = entry + 1 + Math.floor(Math.random() * 2 * CALLER_SAMPLE_GAP);
    return true;
  }
}

/** `type: message` (first line) of a thrown JS or Python error. @param {any} error */
export function describeError(error) {
  if (error === null || typeof error !== "object") return `Error: ${String(error)}`;
  const type = error.type ?? error.name ?? "Error";
  let message = String(error.message ?? "");
  if (error.type !== undefined) {
    // A PythonError's message is the whole traceback; its last line is "Type: message".
    const lines = message.trimEnd().split("\n");
    const last = lines[lines.length - 1] ?? "";
    message = last.startsWith(`${type}: `) ? last.slice(type.length + 2) : last === type ? "" : last;
  } else {
    message = message.split("\n")[0];
  }
  return message === "" ? type : `${type}: ${message}`;
}

/** An entry while the recorder keeps it: one class, so that every entry has the same shape. @implements {Entry} */
class RunningEntry {
  /**
   * @param {number} id @param {string} kind @param {boolean} promising @param {string|null} name
   * @param {string|null|undefined} caller @param {Entry|null} parent @param {number} startMs
   */
  constructor(id, kind, promising, name, caller, parent, startMs) {
    this.id = id;
    this.kind = kind;
    this.promising = promising;
    this.name = name;
    this.caller = caller;
    this.parent = parent;
    this.startMs = startMs;
    /** @type {import("./registrations.mjs").Registration|null} */
    this.registration = null;
    this.ended = false;
    this.written = false;
    /** @type {Entry|null} */
    this.outer = null;
    /** @type {Promise<any>|null} */
    this.promise = null;
    /** @type {Entry|null} */
    this.previous = null;
    /** @type {Entry|null} */
    this.next = null;
  }
}

export class Recorder {
  /**
   * @param {Writer|null} writer where events go (set before recording starts)
   * @param {object} options
   * @param {string[]} options.skipCallerPrefixes JS files that are never an entry's caller
   * @param {(event: object) => void} [options.onFailedSwitch]
   * @param {boolean} options.recording whether to record from the start
   */
  constructor(writer, { skipCallerPrefixes, onFailedSwitch, recording }) {
    this.writer = writer;
    /** The clock reading at the trace origin. */
    this.originMs = now();
    /** JS files that are never an entry's caller (more are added once Pyodide's folder is known). */
    this.skipCallerPrefixes = [...skipCallerPrefixes];
    this.findCaller = callerFinder(this.skipCallerPrefixes);
    /** Per entry kind, per callable name: whose callers are read. @type {Map<string, Map<string|null, CallerSampler>>} */
    this.callerSamplers = new Map();
    this.onFailedSwitch = onFailedSwitch;
    this.recording = recording;
    /** @type {Entry|null} the entry whose Python code runs now */
    this.current = null;
    this.nextEntryId = 1;
    this.nextSuspensionId = 1;
    /** Suspensions started so far (a promising call that started none ran to its end without suspending). */
    this.switchesStarted = 0;
    /** C-stack bytes the last stack restore copied back (set by the hook on `StackState.restore`). */
    this.restoredBytes = 0;
    /**
     * The newest of the entries running now; the others follow it through `next` (a list: starting and ending
     * an entry are a few stores, where a Set would hash each entry). @type {Entry|null}
     */
    this.running = null;
    /** Asks the Python probe for the stack at a switch; set once the probe is installed. @type {(() => StackInfo)|null} */
    this.captureStack = null;
    /** The same for a CPU sample (no path worked out). @type {(() => StackInfo)|null} */
    this.captureSample = null;
    /** Whether the stack is being captured now (Python runs meanwhile: a sample due then is skipped). */
    this.capturing = false;
    /** The samples not written yet, when sampling. @type {import("./sampler.mjs").SampleColumns|null} */
    this.samples = null;
  }

  /** Trace time now: microseconds since the trace origin. */
  nowUs() {
    return traceUs(now(), this.originMs);
  }

  /**
   * Record that JS entered Python. Returns null when not recording.
   *
   * The entry's line is written lazily: when something refers to it (a suspension, a failed switch, an entry
   * inside it), when the trace is flushed while it still runs, or else once it ends, as one `entry` line with
   * its end fields. Most entries (event-loop task steps) start and end between two flushes: one line each.
   *
   * Reading the JS caller costs ~10-30 µs, so with `withCaller` it is read for a sample of the entries of each kind
   * and callable (`CallerSampler`), and for every entry with a failed switch or a synchronous error (`readCaller`).
   * @param {string} kind @param {boolean} promising @param {string|null} name @param {boolean} withCaller
   * @param {Entry|null} [parent] default: the entry running now
   * @returns {Entry|null}
   */
  startEntry(kind, promising, name, withCaller, parent = this.current) {
    if (!this.recording) return null;
    const caller = withCaller ? this.sampledCaller(kind, name) : null;
    return this.track(new RunningEntry(this.nextEntryId++, kind, promising, name, caller, parent, now()));
  }

  /**
   * The caller of a new entry of `kind` calling `name` when it is sampled, else undefined.
   * @param {string} kind @param {string|null} name @returns {string|null|undefined}
   */
  sampledCaller(kind, name) {
    let byName = this.callerSamplers.get(kind);
    if (byName === undefined) {
      byName = new Map();
      this.callerSamplers.set(kind, byName);
    }
    let sampler = byName.get(name);
    if (sampler === undefined) {
      sampler = new CallerSampler();
      byName.set(name, sampler);
    }
    return sampler.read() ? this.findCaller(60) : undefined;
  }

  /**
   * Read the caller of `entry` now if it was not sampled, while its JS caller is still on the stack (a failed
   * switch, or a synchronous entry that threw) and before its line is written. @param {Entry|null} entry
   */
  readCaller(entry) {
    if (entry !== null && entry.caller === undefined && !entry.written) entry.caller = this.findCaller(200);
  }

  /**
   * Record that a webloop handle (a task step) started, while recording: the most frequent entry.
   * @param {Entry|null} parent @returns {Entry}
   */
  startTask(parent) {
    return this.track(new RunningEntry(this.nextEntryId++, "task", true, null, null, parent, now()));
  }

  /** Add `entry` to the running entries. @param {Entry} entry @returns {Entry} */
  track(entry) {
    const newest = this.running;
    entry.next = newest;
    if (newest !== null) newest.previous = entry;
    this.running = entry;
    return entry;
  }

  /** Take `entry`, which ended, off the running entries. @param {Entry} entry */
  untrack(entry) {
    entry.ended = true;
    const { previous, next } = entry;
    if (previous === null) this.running = next;
    else previous.next = next;
    if (next !== null) next.previous = previous;
  }

  /** Write the `entry` line of `entry` (and of its unwritten parents) if not written yet. @param {Entry|null} entry */
  writeEntry(entry) {
    if (entry === null || entry.written) return;
    this.writeEntry(entry.parent);
    entry.written = true;
    this.writer.write(this.entryLine(entry));
  }

  /** @param {Entry} entry @returns {Record<string, any>} */
  entryLine(entry) {
    const line = {
      type: "entry",
      id: entry.id,
      kind: entry.kind,
      promising: entry.promising,
      name: entry.name,
      caller: entry.caller ?? null,
      parent: entry.parent === null ? null : entry.parent.id,
      start_us: traceUs(entry.startMs, this.originMs),
    };
    if (entry.registration !== null) line.registration = entry.registration;
    if (entry.caller === undefined) line.caller_sampled = false;
    return line;
  }

  /** Write the lines of the running entries not in the trace yet (the writer calls it before each flush). */
  writeRunningEntries() {
    for (let entry = this.running; entry !== null; entry = entry.next) this.writeEntry(entry);
  }

  /** @param {Entry} entry @param {any} [error] present when the entry threw: what it threw, null when unknown */
  endEntry(entry, error) {
    const failed = arguments.length > 1;
    if (failed && !entry.promising) this.readCaller(entry); // still called from its caller: the stack is there
    this.untrack(entry);
    // A promising entry's last part ran from a microtask after a resume: it no longer runs.
    if (this.current === entry) this.current = entry.outer;
    const endMs = now();
    const described = failed && error !== null ? describeError(error) : null;
    if (entry.written) {
      this.writer.write({ type: "entry_end", id: entry.id, end_us: traceUs(endMs, this.originMs), outcome: failed ? "exception" : "return", error: described });
      return;
    }
    if (!failed && entry.kind === "task" && entry.promising) {
      this.writeEndedTaskStep(entry, endMs);
      return;
    }
    this.writeEntry(entry.parent);
    entry.written = true;
    const line = this.entryLine(entry); // one line, with its end
    line.end_us = traceUs(endMs, this.originMs);
    line.outcome = failed ? "exception" : "return";
    line.error = described;
    this.writer.write(line);
  }

  /**
   * Record that a task step returned to JS without suspending and without raising, where it returned (the
   * common case): its one `entry` line, end included, unless something wrote its line already.
   * @param {Entry} entry
   */
  endTaskStep(entry) {
    if (entry.written) {
      this.endEntry(entry);
      return;
    }
    this.untrack(entry);
    this.writeEndedTaskStep(entry, now());
  }

  /** Write the one line of a task step that returned, its end (`endMs`, a clock reading) included. @param {Entry} entry @param {number} endMs */
  writeEndedTaskStep(entry, endMs) {
    const parent = entry.parent;
    this.writeEntry(parent);
    entry.written = true;
    this.writer.writeTaskStep(entry.id, parent === null ? null : parent.id, entry.startMs, endMs);
  }

  /** The Python stack at a switch, or an empty one when the probe is not there (or failed). @returns {StackInfo} */
  stackAtSwitch() {
    return this.stackBy(this.captureStack);
  }

  /**
   * The Python stack by `capture`, or an empty one when there is none yet, the probe failed, or a stack is being
   * captured already (the probe's own Python code is running). @param {(() => StackInfo)|null} capture
   * @returns {StackInfo}
   */
  stackBy(capture) {
    if (capture === null || this.capturing) return NO_STACK;
    this.capturing = true;
    try {
      return capture();
    } catch {
      return NO_STACK;
    } finally {
      this.capturing = false;
    }
  }

  /**
   * Record a sample of the Python stack (the sampler calls it while Python runs; `t` is a clock reading). Skipped
   * when not recording, while a stack is being captured, and outside the program's own frames.
   * @param {number} t
   */
  sampleAt(t) {
    if (!this.recording || this.capturing || this.samples === null) return;
    const info = this.stackBy(this.captureSample);
    if (info.depth === 0) return;
    this.samples.add(traceUs(t, this.originMs), info, this.current === null ? null : this.current.id);
  }

  /** Write what is held back before a flush: the lines of the running entries, then the samples taken so far. */
  writeHeldBack() {
    this.writeRunningEntries();
    for (let batch = this.samples?.takeBatch() ?? null; batch !== null; batch = this.samples?.takeBatch() ?? null) {
      this.writer.write(batch);
    }
  }

  /**
   * Write a suspension that has been resumed (times are clock readings, `now()`).
   * @param {{entry: Entry|null, startMs: number, settleMs: number, info: StackInfo, awaitable: string|null, error: any, failed: boolean}} s
   * @param {number} restoredMs @param {number} stackBytes
   */
  writeSuspension(s, restoredMs, stackBytes) {
    const settleMs = s.settleMs > 0 ? s.settleMs : restoredMs;
    this.writeEntry(s.entry);
    const id = this.nextSuspensionId++;
    const entry = s.entry === null ? null : s.entry.id;
    if (!s.failed) {
      this.writer.writeSuspension(id, entry, s.startMs, settleMs, restoredMs, stackBytes, s.info, s.awaitable);
      return;
    }
    const us = (/** @type {number} */ ms) => traceUs(ms, this.originMs);
    this.writer.write(suspensionEvent(id, entry, us(s.startMs), us(settleMs), us(restoredMs), stackBytes, s.info, s.awaitable, describeError(s.error)));
  }

  /** @param {string} reason @param {string} error @param {string|null} [path] when the caller knows it better than the stack */
  writeFailedSwitch(reason, error, path = null) {
    const info = this.stackAtSwitch();
    this.readCaller(this.current);
    this.writeEntry(this.current);
    const event = {
      type: "failed_switch",
      ts_us: this.nowUs(),
      entry: this.current === null ? null : this.current.id,
      reason,
      path: path ?? info.path,
      stack: info.stack,
      depth: info.depth,
      site: info.site,
      error,
    };
    this.writer.write(event);
    if (this.onFailedSwitch) {
      try {
        this.onFailedSwitch(event);
      } catch (callbackError) {
        console.error("jspiprof: the onFailedSwitch callback threw:", callbackError);
      }
    }
  }

  /** Write a frame line (from the probe) straight to the trace. @param {object} frame */
  writeFrame(frame) {
    this.writer.write(frame);
  }
}
