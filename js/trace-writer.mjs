/**
 * Where trace events go: a file streamed from Node, or a bounded in-memory buffer (browser, or Node without a
 * file). Both take plain event objects on the hot path (no JSON there) and serialise them in batches.
 * The format is `docs/trace-format.md` (schema `jspiprof-trace`, version 1).
 */

export const SCHEMA = "jspiprof-trace";
export const VERSION = 1;

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
  /** @param {TraceEvent} header @param {number} capacity */
  constructor(header, capacity) {
    /** @type {TraceEvent[]} */
    this.buffer = [header];
    this.capacity = capacity;
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

  /** All lines of the trace so far (header first; a `dropped` line and the `end` line when there are some). @param {number} nowUs */
  events(nowUs) {
    if (this.endEvent === null) this.beforeFlush();
    const lines = this.buffer.slice();
    if (this.dropped > 0) lines.push({ type: "dropped", count: this.dropped, ts_us: this.endEvent?.ts_us ?? nowUs });
    if (this.endEvent !== null) lines.push(this.endEvent);
    return lines;
  }

  flush() {}

  /** @param {EndFields} end */
  close(end) {
    if (this.endEvent !== null) return;
    this.beforeFlush();
    this.endEvent = { type: "end", ...end, dropped: this.dropped };
  }
}

/**
 * Streams events to a file under Node: events are buffered and appended at most `flushIntervalMs` apart, and on
 * process exit, SIGINT, SIGTERM and uncaught errors, so a killed app loses at most that interval of events.
 */
export class FileTraceWriter {
  /**
   * @param {string} path file to create (truncated if it exists)
   * @param {TraceEvent} header
   * @param {number} flushIntervalMs
   * @param {() => number} nowUs the trace clock, for the `end` line written at exit
   */
  static async open(path, header, flushIntervalMs, nowUs) {
    const fs = await import("node:fs");
    return new FileTraceWriter(fs, path, header, flushIntervalMs, nowUs);
  }

  constructor(fs, path, header, flushIntervalMs, nowUs) {
    this.fs = fs;
    this.path = path;
    this.fd = fs.openSync(path, "w");
    this.dropped = 0;
    /** @type {TraceEvent[]} */
    this.pending = [];
    this.closed = false;
    /** Called before each flush, to write what is still held back (the recorder's running entries). */
    this.beforeFlush = () => {};
    this.writeText(toJSONLines([header]));
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
    if (!this.closed) this.pending.push(event);
  }

  /** Append the buffered events to the file now. */
  flush() {
    if (this.closed) return;
    this.beforeFlush();
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writeText(toJSONLines(batch));
  }

  /** @param {string} text */
  writeText(text) {
    const data = Buffer.from(text);
    let offset = 0;
    while (offset < data.length) offset += this.fs.writeSync(this.fd, data, offset, data.length - offset);
  }

  /** Flush, write the `end` line and close the file (later events are ignored). @param {EndFields} end */
  close(end) {
    if (this.closed) return;
    this.flush();
    this.writeText(toJSONLines([{ type: "end", ...end, dropped: this.dropped }]));
    this.closed = true;
    this.fs.closeSync(this.fd);
    clearInterval(this.timer);
    process.off("exit", this.onExit);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    process.off("uncaughtExceptionMonitor", this.onUncaught);
  }

  /** The trace as written so far (read back from the file). */
  events() {
    this.flush();
    return this.fs
      .readFileSync(this.path, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line));
  }
}
