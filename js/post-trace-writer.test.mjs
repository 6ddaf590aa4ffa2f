// The writer that streams a page's trace to `jspiprof record`: what each POSTed batch holds, and when it is sent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PostTraceWriter } from "./post-trace-writer.mjs";
import { SCHEMA, VERSION } from "./trace-writer.mjs";
import { stackInfo } from "./recorder.mjs";

const HEADER = { type: "header", schema: SCHEMA, version: VERSION, origin_unix_ms: 0, runtime: {}, program: null };
const SOURCE = { where: "worker", url: "http://127.0.0.1:1/worker.mjs" };

/** A writer that keeps its batches, parsed: [{meta, lines, last}]. */
function recordingWriter(capacity = 100) {
  /** @type {{meta: any, lines: any[], last: boolean}[]} */
  const batches = [];
  const send = (/** @type {string} */ collector, /** @type {string} */ body, /** @type {boolean} */ last) => {
    assert.equal(collector, "http://127.0.0.1:2/trace");
    assert.ok(body.endsWith("\n"));
    const [meta, ...lines] = body.trimEnd().split("\n").map((line) => JSON.parse(line));
    batches.push({ meta, lines, last });
  };
  const writer = new PostTraceWriter(HEADER, capacity, 1000, "http://127.0.0.1:2/trace", 60000, SOURCE, () => 77, send);
  return { writer, batches };
}

test("the first batch starts with the header; later ones hold only what was written since", () => {
  const { writer, batches } = recordingWriter();
  writer.write({ type: "frame", id: 1 });
  writer.flush();
  writer.writeSuspension(1, null, 1001, 1002, 1003, 0, stackInfo([1], 1, "app.py:2", "run_sync"), null);
  writer.flush();
  writer.flush(); // nothing new: nothing sent
  writer.close({ ts_us: 9000, exit_status: null });
  assert.deepEqual(batches.map((batch) => batch.lines.map((line) => line.type)), [["header", "frame"], ["suspension"], ["end"]]);
  assert.deepEqual(batches.map((batch) => batch.meta.seq), [0, 1, 2]);
  assert.equal(batches[1].lines[0].start_us, 1000);
});

test("every batch names its stream, where it runs and its URL", () => {
  const { writer, batches } = recordingWriter();
  writer.flush();
  writer.close({ ts_us: 1, exit_status: null });
  const [first, second] = batches.map((batch) => batch.meta);
  assert.equal(first.where, "worker");
  assert.equal(first.url, SOURCE.url);
  assert.match(first.stream, /^[0-9a-f-]{36}$/);
  assert.equal(second.stream, first.stream);
});

test("events beyond the buffer are counted in a dropped line of the next batch, and in the end line", () => {
  const { writer, batches } = recordingWriter(2);
  for (let id = 1; id <= 5; id++) writer.write({ type: "frame", id });
  writer.flush();
  writer.write({ type: "frame", id: 6 });
  writer.close({ ts_us: 9, exit_status: null });
  assert.deepEqual(batches[0].lines.at(-1), { type: "dropped", count: 3, ts_us: 77 });
  assert.deepEqual(batches[1].lines.map((line) => line.type), ["frame", "end"]);
  assert.equal(batches[1].lines[1].dropped, 3);
});

test("a flush as the page goes away is sent as the last one; after the end nothing is sent", () => {
  const { writer, batches } = recordingWriter();
  writer.write({ type: "frame", id: 1 });
  writer.flush(true);
  writer.close({ ts_us: 9, exit_status: null });
  writer.write({ type: "frame", id: 2 });
  writer.flush();
  assert.deepEqual(batches.map((batch) => batch.last), [true, false]);
});

test("in a page, pagehide sends what was written since the last batch, as the last one", () => {
  /** @type {Map<string, () => void>} */
  const listeners = new Map();
  const saved = globalThis.addEventListener;
  globalThis.addEventListener = (/** @type {string} */ type, /** @type {() => void} */ listener) => listeners.set(type, listener);
  /** @type {boolean[]} */
  const sent = [];
  try {
    const writer = new PostTraceWriter(HEADER, 100, 1000, "http://127.0.0.1:2/trace", 60000, { where: "page", url: null }, () => 0, (_c, _b, last) => sent.push(last));
    writer.write({ type: "frame", id: 1 });
    listeners.get("pagehide")?.();
    writer.close({ ts_us: 1, exit_status: null });
  } finally {
    globalThis.addEventListener = saved;
  }
  assert.deepEqual(sent, [true, false]);
});
