/**
 * Streams the trace of a Pyodide in a page or a worker to `jspiprof record`'s collector on 127.0.0.1: the events
 * are kept as `MemoryTraceWriter` keeps them and POSTed in batches every `flushIntervalMs` (and, in a page, on
 * `pagehide`, by `navigator.sendBeacon`, which outlives the page), so a page that crashes or closes loses at most
 * that interval. The collector merges the streams of every instance into one trace (`jspiprof/browser/`).
 *
 * A batch is text: one line of JSON saying whose stream it is (`stream`, `where`, `url`) and its number (`seq`,
 * from 0: batches may arrive out of order), then the trace lines (the header first in batch 0), JSON Lines.
 */

import { MemoryTraceWriter, toJSONLines } from "./trace-writer.mjs";

/**
 * @typedef {import("./trace-writer.mjs").TraceEvent} TraceEvent
 * @typedef {{where: "page"|"worker", url: string|null}} Source where the instance runs
 * @typedef {(collector: string, body: string, last: boolean) => void} Send
 */

/** POST `body` to `collector`; the `last` one (the page is going away) as a beacon when the browser takes it. @type {Send} */
export function sendBatch(collector, body, last) {
  if (last && globalThis.navigator?.sendBeacon?.(collector, body)) return;
  const keepalive = body.length < 60000; // browsers refuse a keepalive body over 64 KiB
  fetch(collector, { method: "POST", body, keepalive, headers: { "content-type": "text/plain" } }).catch((error) => {
    if (warned) return;
    warned = true; // once: a page whose policy blocks the collector would warn at every flush
    console.warn(`jspiprof: could not send the trace to ${collector} (${error.message}).`);
  });
}

let warned = false;

/** Where this instance runs: a page (a document) or a worker, and its URL. @returns {Source} */
export function thisSource() {
  return {
    where: typeof document === "object" ? "page" : "worker",
    url: globalThis.location?.href ?? null,
  };
}

export class PostTraceWriter extends MemoryTraceWriter {
  /**
   * @param {TraceEvent} header
   * @param {number} capacity events kept while waiting to be sent; more are counted as dropped
   * @param {number} originMs the clock reading at the trace origin
   * @param {string} collector the URL batches are POSTed to
   * @param {number} flushIntervalMs
   * @param {Source} source
   * @param {() => number} nowUs the trace clock (for `dropped` lines)
   * @param {Send} [send]
   */
  constructor(header, capacity, originMs, collector, flushIntervalMs, source, nowUs, send = sendBatch) {
    super(header, capacity, originMs);
    this.nowUs = nowUs;
    this.collector = collector;
    this.send = send;
    this.stream = { stream: crypto.randomUUID(), ...source };
    this.sequence = 0;
    this.droppedSent = 0;
    this.timer = setInterval(() => this.flush(), flushIntervalMs);
    if (source.where === "page") globalThis.addEventListener?.("pagehide", () => this.flush(true));
  }

  /** POST what was written since the last batch (`last`: the page is going away). */
  flush(last = false) {
    if (this.endEvent !== null) return;
    this.beforeFlush();
    this.post(this.take(), last);
  }

  /** The lines not sent yet (the header in the first batch, a `dropped` line for events lost since the last one). */
  take() {
    const lines = this.buffer.splice(this.sequence === 0 ? 0 : 1);
    if (this.sequence === 0) this.buffer.push(lines[0]); // kept: `events()` starts with it
    if (this.dropped > this.droppedSent) {
      lines.push({ type: "dropped", count: this.dropped - this.droppedSent, ts_us: this.nowUs() });
      this.droppedSent = this.dropped;
    }
    return lines;
  }

  /** @param {TraceEvent[]} lines @param {boolean} last */
  post(lines, last) {
    if (lines.length === 0) return;
    const body = JSON.stringify({ ...this.stream, seq: this.sequence++ }) + "\n" + toJSONLines(lines);
    this.send(this.collector, body, last);
  }

  /** Send the rest and the `end` line; later events are ignored. @param {import("./trace-writer.mjs").EndFields} end */
  close(end) {
    if (this.endEvent !== null) return;
    super.close(end);
    this.post([...this.take(), /** @type {TraceEvent} */ (this.endEvent)], false);
    clearInterval(this.timer);
  }
}
