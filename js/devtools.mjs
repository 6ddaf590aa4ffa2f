/**
 * The hook's `devtools: true` option: entries, suspensions and failed switches as a custom track group,
 * "Python (jspiprof)", in the Performance panel of Chrome's DevTools, by `console.timeStamp` with track arguments
 * (Chrome's performance extensibility API, made for hot paths: it records nothing while DevTools is not recording).
 * Times are `performance.now()` readings, the clock of the Network panel, so the spans line up with requests.
 *
 *   new DevToolsTrack(recorder.originMs).watch(writer);   // every event written to `writer` is drawn too
 */

export const TRACK_GROUP = "Python (jspiprof)";
export const ENTRIES_TRACK = "entries";
export const SUSPENSIONS_TRACK = "suspensions";
export const FAILED_SWITCHES_TRACK = "failed switches";

/**
 * @typedef {(label: string, start: number, end: number, track: string, trackGroup: string, color: string) => void} TimeStamp
 *   `console.timeStamp` with DevTools' track arguments
 */

export class DevToolsTrack {
  /**
   * @param {number} originMs the clock reading at the trace origin (trace times are microseconds after it)
   * @param {TimeStamp} [timeStamp] where spans go (default: `console.timeStamp`)
   */
  constructor(originMs, timeStamp = /** @type {TimeStamp} */ (console.timeStamp)) {
    this.originMs = originMs;
    this.timeStamp = timeStamp;
    /** Entries whose line was written before they ended: their label and start (ms), until they end. @type {Map<number, [string, number]>} */
    this.running = new Map();
  }

  /**
   * Draw every event written to `writer` from now on; returns `writer`.
   * @template {import("./recorder.mjs").Writer} W @param {W} writer @returns {W}
   */
  watch(writer) {
    const write = writer.write.bind(writer);
    const writeSuspension = writer.writeSuspension.bind(writer);
    const writeTaskStep = writer.writeTaskStep.bind(writer);
    let drawn = false; // the in-memory writer writes these two as objects: drawn once
    writer.write = (event) => {
      write(event);
      if (!drawn) this.observe(event);
    };
    writer.writeSuspension = (id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable) => {
      drawn = true;
      try {
        writeSuspension(id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable);
      } finally {
        drawn = false;
      }
      this.span(suspensionLabel(info.path, info.site), startMs, restoredMs, SUSPENSIONS_TRACK, "primary");
    };
    writer.writeTaskStep = (id, parent, startMs, endMs) => {
      drawn = true;
      try {
        writeTaskStep(id, parent, startMs, endMs);
      } finally {
        drawn = false;
      }
      this.span("task", startMs, endMs, ENTRIES_TRACK, "tertiary-light");
    };
    return writer;
  }

  /** Draw one event written as an object. @param {any} event */
  observe(event) {
    if (event.type === "entry") {
      const label = entryLabel(event);
      const startMs = this.ms(event.start_us);
      if (event.end_us === undefined) this.running.set(event.id, [label, startMs]);
      else this.span(label, startMs, this.ms(event.end_us), ENTRIES_TRACK, entryColor(event));
    } else if (event.type === "entry_end") {
      const running = this.running.get(event.id);
      if (running === undefined) return;
      this.running.delete(event.id);
      this.span(running[0], running[1], this.ms(event.end_us), ENTRIES_TRACK, entryColor(event));
    } else if (event.type === "suspension") {
      const startMs = this.ms(event.start_us);
      const endMs = this.ms(event.start_us + event.wait_us + event.resume_us);
      this.span(`${suspensionLabel(event.path, event.site)} (${event.error})`, startMs, endMs, SUSPENSIONS_TRACK, "error");
    } else if (event.type === "failed_switch") {
      const at = this.ms(event.ts_us);
      const where = event.site === null ? "" : ` at ${event.site}`;
      this.span(`failed switch: ${event.path}${where} (${event.reason})`, at, at, FAILED_SWITCHES_TRACK, "error");
    }
  }

  /** @param {string} label @param {number} startMs @param {number} endMs @param {string} track @param {string} color */
  span(label, startMs, endMs, track, color) {
    this.timeStamp(label, startMs, endMs, track, TRACK_GROUP, color);
  }

  /** A trace time as a clock reading. @param {number} us */
  ms(us) {
    return this.originMs + us / 1000;
  }
}

/** @param {string} path @param {string|null} site */
function suspensionLabel(path, site) {
  return site === null ? path : `${path} ${site}`;
}

/** "runPythonAsync", "call handle from app.js:12", ... @param {any} entry an `entry` line */
function entryLabel(entry) {
  const name = entry.name === null ? "" : ` ${entry.name}`;
  const caller = entry.caller === null ? "" : ` from ${entry.caller}`;
  return `${entry.kind}${name}${caller}`;
}

/** @param {any} end an `entry` line with its end, or an `entry_end` line */
function entryColor(end) {
  return end.outcome === "exception" ? "error" : "secondary";
}
