/**
 * The trace's two most frequent lines (resumed suspensions, and task steps that returned) as numbers in a
 * Float64Array batch, so that writing one costs the recording thread a few stores instead of an object and its
 * JSON. A batch also carries every other event as an object, in order, and the strings its records refer to
 * for the first time; `batchText` turns a batch into JSON Lines (on the serialiser thread, `trace-file-worker.mjs`).
 */

const SUSPENSION = 1;
const TASK_STEP = 2;
const OBJECT = 3;
const SUSPENSION_SIZE = 9;
const TASK_STEP_SIZE = 5;
/** Doubles in one batch: at ~10 per event, some 6,000 events. */
const BATCH_DOUBLES = 1 << 16;

/**
 * @typedef {object} BatchMessage what crosses to the serialiser (the data buffer is transferred, not copied)
 * @property {Float64Array} data
 * @property {number} length doubles used in `data`
 * @property {object[]} objects the events written as objects, in order
 * @property {string[]} stacks JSON of the stacks first used in this batch (appended to the stack table)
 * @property {string[]} awaitables JSON of the awaitable descriptions first used in this batch
 *
 * @typedef {{stacks: string[], awaitables: string[], originMs: number}} Tables every stack and awaitable JSON seen
 *   so far, by index, and the clock reading at the trace origin
 */

/** Numbers the recorder writes, and the string tables their indices point into (kept across batches). */
export class RecordBatches {
  constructor() {
    /** @type {Map<object, number>} stack info -> index */
    this.stackIndex = new Map();
    /** @type {Map<string|null, number>} awaitable description -> index */
    this.awaitableIndex = new Map();
    /** The last suspension's stack info and awaitable and their indices: a loop switches from one place. */
    this.lastInfo = null;
    this.lastStack = -1;
    /** @type {string|null|undefined} */
    this.lastAwaitable = undefined;
    this.lastDescribed = -1;
    /** Buffers of written batches, to fill again: a new one would cost page faults as it is first filled. @type {Float64Array[]} */
    this.spare = [];
    this.current = this.newBatch();
  }

  /** @returns {BatchMessage} */
  newBatch() {
    const data = this.spare.pop() ?? new Float64Array(BATCH_DOUBLES);
    return { data, length: 0, objects: [], stacks: [], awaitables: [] };
  }

  /** Take back the buffer of a batch that has been written (at most two are kept). @param {ArrayBuffer} buffer */
  recycle(buffer) {
    if (this.spare.length < 2 && buffer.byteLength === BATCH_DOUBLES * 8) this.spare.push(new Float64Array(buffer));
  }

  /** True when the current batch has no room for another record. */
  get full() {
    return this.current.length > BATCH_DOUBLES - SUSPENSION_SIZE;
  }

  get empty() {
    return this.current.length === 0;
  }

  /** Hand over the current batch and start a new one. @returns {BatchMessage} */
  take() {
    const batch = this.current;
    this.current = this.newBatch();
    return batch;
  }

  /** @param {object} event */
  object(event) {
    const batch = this.current;
    batch.objects.push(event);
    batch.data[batch.length++] = OBJECT;
  }

  /**
   * A resumed suspension whose awaitable settled with a value (times are clock readings, see `traceUs`).
   * @param {number} id @param {number|null} entry @param {number} startMs @param {number} settleMs @param {number} restoredMs
   * @param {number} stackBytes @param {{json: string}} info @param {string|null} awaitable
   */
  suspension(id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable) {
    const batch = this.current;
    if (info !== this.lastInfo) {
      let stack = this.stackIndex.get(info);
      if (stack === undefined) {
        stack = this.stackIndex.size;
        this.stackIndex.set(info, stack);
        batch.stacks.push(info.json);
      }
      this.lastInfo = info;
      this.lastStack = stack;
    }
    if (awaitable !== this.lastAwaitable) {
      let described = this.awaitableIndex.get(awaitable);
      if (described === undefined) {
        described = this.awaitableIndex.size;
        this.awaitableIndex.set(awaitable, described);
        batch.awaitables.push(JSON.stringify(awaitable));
      }
      this.lastAwaitable = awaitable;
      this.lastDescribed = described;
    }
    const stack = this.lastStack;
    const described = this.lastDescribed;
    const data = batch.data;
    let i = batch.length;
    data[i++] = SUSPENSION;
    data[i++] = id;
    data[i++] = entry === null ? -1 : entry;
    data[i++] = startMs;
    data[i++] = settleMs;
    data[i++] = restoredMs;
    data[i++] = stackBytes;
    data[i++] = stack;
    data[i++] = described;
    batch.length = i;
  }

  /** A task step that returned, with nothing referring to it: one `entry` line with its end (clock readings). */
  taskStep(/** @type {number} */ id, /** @type {number|null} */ parent, /** @type {number} */ startMs, /** @type {number} */ endMs) {
    const batch = this.current;
    const data = batch.data;
    let i = batch.length;
    data[i++] = TASK_STEP;
    data[i++] = id;
    data[i++] = parent === null ? -1 : parent;
    data[i++] = startMs;
    data[i++] = endMs;
    batch.length = i;
  }
}

/** A time difference to the nanosecond, as the shortest text. @param {number} us */
function rounded(us) {
  return Math.round(us * 1000) / 1000;
}

/**
 * A clock reading (`performance.now()` milliseconds) as trace time: microseconds since the trace origin, to the
 * nanosecond (short numbers are quicker to write). The recorder stores raw readings; they are turned into trace
 * time only where they are written.
 * @param {number} ms @param {number} originMs the reading at the trace origin
 */
export function traceUs(ms, originMs) {
  return Math.round((ms - originMs) * 1e6) / 1000;
}

/**
 * A resumed suspension as a trace event: its awaitable settled with a value (`error` null) or threw `error`.
 * @param {number} id @param {number|null} entry @param {number} startUs @param {number} settleUs @param {number} restoredUs
 * @param {number} stackBytes @param {{stack: number[], depth: number, site: string|null, path: string}} info
 * @param {string|null} awaitable @param {string|null} error `type: message` of what the awaitable threw
 */
export function suspensionEvent(id, entry, startUs, settleUs, restoredUs, stackBytes, info, awaitable, error) {
  return {
    type: "suspension",
    id,
    entry,
    path: info.path,
    start_us: startUs,
    wait_us: rounded(settleUs - startUs),
    resume_us: rounded(restoredUs - settleUs),
    stack_bytes: stackBytes,
    stack: info.stack,
    depth: info.depth,
    site: info.site,
    awaitable,
    outcome: error === null ? "value" : "exception",
    error,
  };
}

/**
 * The JSON Lines of a batch; the strings it uses for the first time are added to `tables` (batches must come in order).
 * @param {BatchMessage} batch @param {Tables} tables
 */
export function batchText(batch, tables) {
  tables.stacks.push(...batch.stacks);
  tables.awaitables.push(...batch.awaitables);
  const { data, length, objects } = batch;
  const originMs = tables.originMs;
  let text = "";
  let object = 0;
  for (let i = 0; i < length; ) {
    const tag = data[i];
    if (tag === SUSPENSION) {
      const entry = data[i + 2] < 0 ? "null" : data[i + 2];
      const startUs = traceUs(data[i + 3], originMs);
      const settleUs = traceUs(data[i + 4], originMs);
      const restoredUs = traceUs(data[i + 5], originMs);
      text +=
        `{"type":"suspension","id":${data[i + 1]},"entry":${entry},${tables.stacks[data[i + 7]]},"start_us":${startUs},` +
        `"wait_us":${rounded(settleUs - startUs)},"resume_us":${rounded(restoredUs - settleUs)},"stack_bytes":${data[i + 6]},` +
        `"awaitable":${tables.awaitables[data[i + 8]]},"outcome":"value","error":null}\n`;
      i += SUSPENSION_SIZE;
    } else if (tag === TASK_STEP) {
      const parent = data[i + 2] < 0 ? "null" : data[i + 2];
      text +=
        `{"type":"entry","id":${data[i + 1]},"kind":"task","promising":true,"name":null,"caller":null,"parent":${parent},` +
        `"start_us":${traceUs(data[i + 3], originMs)},"end_us":${traceUs(data[i + 4], originMs)},"outcome":"return","error":null}\n`;
      i += TASK_STEP_SIZE;
    } else {
      text += JSON.stringify(objects[object++]) + "\n";
      i += 1;
    }
  }
  return text;
}
