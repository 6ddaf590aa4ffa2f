/**
 * Where trace events go: a file streamed from Node, or a bounded in-memory buffer (browser, or Node without a
 * file). Both take plain event objects, and the two most frequent events (resumed suspensions, task steps that
 * returned) as plain numbers. A streamed trace hands them, in batches, to a serialiser thread that writes the
 * JSON (`trace-records.mjs`, `trace-file-worker.mjs`), so the recording thread never serialises them.
 * The format is `docs/trace-format.md` (schema `jspiprof-trace`, version 2).
 */

import { RecordBatches, suspensionEvent, traceUs } from "./trace-records.mjs";

export const SCHEMA = "jspiprof-trace";
export const VERSION = 2;

/**
 * @typedef {{type: string, [field: string]: any}} TraceEvent
 * @typedef {{ts_us: number, dropped: number, exit_status: number|null}} EndFields
 */

/** Serialise events as JSON Lines (each line ends with "\n"). @param {TraceEvent[]} events */
export function toJSONLines(events) {
  let text = "";
  for (const event of events) text += JSON.stringify(event) + "\n";
  return text;
}

/**
 * Keeps events in memory, at most `capacity` of them after the header; later ones are counted, not kept,
 * and reported in a `dropped` line when the trace is exported.
 */
export class MemoryTraceWriter {
  /** @param {TraceEvent} header @param {number} capacity @param {number} originMs the clock reading at the trace origin */
  constructor(header, capacity, originMs) {
    /** @type {TraceEvent[]} */
    this.buffer = [header];
    this.capacity = capacity;
    this.originMs = originMs;
    this.dropped = 0;
    /** @type {TraceEvent|null} */
    this.endEvent = null;
    /** Called before the events are taken, to write what is still held back (the recorder's running entries). */
    this.beforeFlush = () => {};
  }

  /** @param {TraceEvent} event */
  write(event) {
    if (this.endEvent !== null) return;
    if (this.buffer.length > this.capacity) this.dropped++;
    else this.buffer.push(event);
  }

  /**
   * A resumed suspension whose awaitable settled with a value (times are clock readings: `traceUs`).
   * @param {number} id @param {number|null} entry @param {number} startMs @param {number} settleMs @param {number} restoredMs
   * @param {number} stackBytes @param {import("./recorder.mjs").StackInfo} info @param {string|null} awaitable
   */
  writeSuspension(id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable) {
    const origin = this.originMs;
    this.write(suspensionEvent(id, entry, traceUs(startMs, origin), traceUs(settleMs, origin), traceUs(restoredMs, origin), stackBytes, info, awaitable, null));
  }

  /** A task step that returned with nothing referring to it: its `entry` line, end included (clock readings). */
  writeTaskStep(/** @type {number} */ id, /** @type {number|null} */ parent, /** @type {number} */ startMs, /** @type {number} */ endMs) {
    const origin = this.originMs;
    this.write({ type: "entry", id, kind: "task", promising: true, name: null, caller: null, parent, start_us: traceUs(startMs, origin), end_us: traceUs(endMs, origin), outcome: "return", error: null });
  }

  /**
   * All lines of the trace so far: header first, a `dropped` line when events were dropped, then the `end` line once
   * closed, or else a `snapshot` line (a live export: complete up to `nowUs`). @param {number} nowUs
   */
  events(nowUs) {
    if (this.endEvent === null) this.beforeFlush();
    const lines = this.buffer.slice();
    if (this.dropped > 0) lines.push({ type: "dropped", count: this.dropped, ts_us: this.endEvent?.ts_us ?? nowUs });
    lines.push(this.endEvent ?? { type: "snapshot", ts_us: nowUs });
    return lines;
  }

  flush() {}

  /** Nothing to wait for: the events are in memory. */
  drain() {}

  /** @param {EndFields} end */
  close(end) {
    if (this.endEvent !== null) return;
    this.beforeFlush();
    this.endEvent = { type: "end", ...end, dropped: this.dropped };
  }
}

/**
 * Streams events to a file under Node: events are batched and handed to the serialiser thread at most
 * `flushIntervalMs` apart, and on process exit, SIGINT, SIGTERM and uncaught errors, so a killed app loses at
 * most that interval of events. The header and the `end` line are written by the recording thread itself (the
 * `end` line once the serialiser has written every batch).
 */
/** The trace file cannot be created or written (a missing folder, a full disk): its message is one sentence. */
export class TraceFileError extends Error {}

export class FileTraceWriter {
  /**
   * @param {string} path file to create (truncated if it exists)
   * @param {TraceEvent} header
   * @param {number} flushIntervalMs
   * @param {() => number} nowUs the trace clock, for the `end` line written at exit
   * @param {number} originMs the clock reading at the trace origin (the serialiser turns readings into trace time)
   */
  static async open(path, header, flushIntervalMs, nowUs, originMs) {
    const fs = await import("node:fs");
    const { Worker } = await import("node:worker_threads");
    return new FileTraceWriter(fs, Worker, path, header, flushIntervalMs, nowUs, originMs);
  }

  constructor(fs, Worker, path, header, flushIntervalMs, nowUs, originMs) {
    this.fs = fs;
    this.path = path;
    try {
      fs.writeFileSync(path, toJSONLines([header]));
    } catch (error) {
      fs.rmSync(path, { force: true }); // no empty trace left behind (a full disk)
      throw new TraceFileError(`Cannot write the trace to ${path}: ${error.message}.`);
    }
    this.dropped = 0;
    this.closed = false;
    /** Called before each flush, to write what is still held back (the recorder's running entries). */
    this.beforeFlush = () => {};
    this.batches = new RecordBatches();
    /** Batches posted to the serialiser, and (shared with it) how many it has written. */
    this.posted = 0;
    this.written = new Int32Array(new SharedArrayBuffer(4));
    this.serializer = new Worker(new URL("./trace-file-worker.mjs", import.meta.url), {
      workerData: { path, written: this.written.buffer, originMs },
      execArgv: [], // not the app's Node options: `--input-type=module -e ...` would make the serialiser fail to start
    });
    this.serializer.on("message", (/** @type {ArrayBuffer} */ buffer) => this.batches.recycle(buffer));
    this.serializer.unref(); // after the listener, which would keep the process alive otherwise
    this.serializer.on("error", (error) => {
      console.error(`jspiprof: the trace ${path} is incomplete: writing it failed (${error.message}).`);
      this.serializer = null;
    });
    this.timer = setInterval(() => this.flush(), flushIntervalMs);
    this.timer.unref();
    this.onExit = () => this.close({ ts_us: nowUs(), exit_status: process.exitCode ?? 0 });
    this.onSignal = (/** @type {NodeJS.Signals} */ signal) => {
      this.close({ ts_us: nowUs(), exit_status: 128 + (signal === "SIGINT" ? 2 : 15) });
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    this.onUncaught = () => this.flush();
    process.on("exit", this.onExit);
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
    process.on("uncaughtExceptionMonitor", this.onUncaught);
  }

  /** @param {TraceEvent} event */
  write(event) {
    if (this.closed) return;
    this.batches.object(event);
    if (this.batches.full) this.post();
  }

  /**
   * Same as `MemoryTraceWriter.writeSuspension`, as numbers.
   * @param {number} id @param {number|null} entry @param {number} startMs @param {number} settleMs @param {number} restoredMs
   * @param {number} stackBytes @param {import("./recorder.mjs").StackInfo} info @param {string|null} awaitable
   */
  writeSuspension(id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable) {
    if (this.closed) return;
    this.batches.suspension(id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable);
    if (this.batches.full) this.post();
  }

  /** Same as `MemoryTraceWriter.writeTaskStep`, as numbers. @param {number} id @param {number|null} parent @param {number} startMs @param {number} endMs */
  writeTaskStep(id, parent, startMs, endMs) {
    if (this.closed) return;
    this.batches.taskStep(id, parent, startMs, endMs);
    if (this.batches.full) this.post();
  }

  /** Hand the events batched so far to the serialiser now. */
  flush() {
    if (this.closed) return;
    this.beforeFlush();
    if (!this.batches.empty) this.post();
  }

  post() {
    const batch = this.batches.take();
    if (this.serializer === null) return;
    this.serializer.postMessage(batch, [batch.data.buffer]);
    this.posted++;
  }

  /** Flush, and wait (up to 10 s) until the serialiser has written every batch. */
  drain() {
    this.flush();
    const deadline = performance.now() + 10000;
    let written = Atomics.load(this.written, 0);
    while (this.serializer !== null && written < this.posted && performance.now() < deadline) {
      Atomics.wait(this.written, 0, written, 100);
      written = Atomics.load(this.written, 0);
    }
  }

  /** Write everything, then the `end` line, and stop (later events are ignored). @param {EndFields} end */
  close(end) {
    if (this.closed) return;
    this.drain();
    try {
      this.fs.appendFileSync(this.path, toJSONLines([{ type: "end", ...end, dropped: this.dropped }]));
    } catch (error) {
      console.error(`jspiprof: the trace ${this.path} is incomplete: writing its end failed (${error.message}).`);
    }
    this.closed = true;
    clearInterval(this.timer);
    this.serializer?.terminate();
    process.off("exit", this.onExit);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    process.off("uncaughtExceptionMonitor", this.onUncaught);
  }

  /** The trace as written so far (read back from the file), ending with a `snapshot` line while not closed. @param {number} nowUs */
  events(nowUs) {
    if (!this.closed) this.drain();
    const lines = this.fs
      .readFileSync(this.path, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line));
    if (!this.closed) lines.push({ type: "snapshot", ts_us: nowUs });
    return lines;
  }
}
