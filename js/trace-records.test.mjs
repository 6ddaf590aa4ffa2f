// The numeric record batches: what the serialiser thread writes must be exactly the lines the in-memory writer
// would have written for the same events, across batches, with the string tables sent only once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RecordBatches, batchText, suspensionEvent, traceUs } from "./trace-records.mjs";
import { stackInfo } from "./recorder.mjs";

const ORIGIN_MS = 1000;
const INFO = stackInfo([1, 2], 2, "app.py:3", "run_sync");
const OTHER_INFO = stackInfo([1, 4], 2, "app.py:9", "time.sleep");

/** @param {string} text JSON Lines @returns {object[]} */
function parseLines(text) {
  assert.ok(text.endsWith("\n"), "every line ends with a newline");
  return text
    .slice(0, -1)
    .split("\n")
    .map((line) => JSON.parse(line));
}

function newTables() {
  return { stacks: [], awaitables: [], originMs: ORIGIN_MS };
}

describe("traceUs", () => {
  test("is microseconds since the origin, to the nanosecond", () => {
    assert.equal(traceUs(1000.0015004, ORIGIN_MS), 1.5);
    assert.equal(traceUs(1002.25, ORIGIN_MS), 2250);
    assert.equal(traceUs(ORIGIN_MS, ORIGIN_MS), 0);
  });
});

describe("batchText", () => {
  test("writes records and objects as JSON Lines in the order they were recorded", () => {
    const batches = new RecordBatches();
    batches.object({ type: "frame", id: 1, file: "app.py", line: 3, function: "<module>", library: false });
    batches.suspension(1, 7, 1001, 1003.5, 1003.75, 4096, INFO, "<Future pending>");
    batches.taskStep(8, 7, 1004, 1004.5);
    batches.object({ type: "entry_end", id: 7, end_us: 5000, outcome: "return", error: null });
    const lines = parseLines(batchText(batches.take(), newTables()));
    assert.deepEqual(
      lines.map((line) => line.type),
      ["frame", "suspension", "entry", "entry_end"],
    );
    assert.deepEqual(lines[1], suspensionEvent(1, 7, 1000, 3500, 3750, 4096, INFO, "<Future pending>", null));
    assert.deepEqual(lines[2], {
      type: "entry",
      id: 8,
      kind: "task",
      promising: true,
      name: null,
      caller: null,
      parent: 7,
      start_us: 4000,
      end_us: 4500,
      outcome: "return",
      error: null,
    });
  });

  test("writes a suspension outside any entry and a task step without parent with null", () => {
    const batches = new RecordBatches();
    batches.suspension(1, null, 1001, 1002, 1003, 0, INFO, null);
    batches.taskStep(2, null, 1004, 1005);
    const [suspension, step] = parseLines(batchText(batches.take(), newTables()));
    assert.equal(suspension.entry, null);
    assert.equal(suspension.awaitable, null);
    assert.equal(step.parent, null);
  });

  test("sends each stack and awaitable text once, and later batches refer to it", () => {
    const batches = new RecordBatches();
    const tables = newTables();
    batches.suspension(1, 1, 1001, 1002, 1003, 0, INFO, "a");
    batches.suspension(2, 1, 1004, 1005, 1006, 0, INFO, "a");
    batches.suspension(3, 1, 1007, 1008, 1009, 0, OTHER_INFO, "b");
    const first = batches.take();
    assert.equal(first.stacks.length, 2);
    assert.deepEqual(first.awaitables, ['"a"', '"b"']);
    parseLines(batchText(first, tables));

    batches.suspension(4, 1, 1010, 1011, 1012, 0, INFO, "b");
    const second = batches.take();
    assert.deepEqual(second.stacks, [], "a stack seen in an earlier batch is not sent again");
    assert.deepEqual(second.awaitables, []);
    const [line] = parseLines(batchText(second, tables));
    assert.equal(line.site, "app.py:3");
    assert.deepEqual(line.stack, [1, 2]);
    assert.equal(line.awaitable, "b");
  });
});

describe("RecordBatches", () => {
  test("is full before a record would overflow the batch, and take() starts an empty one", () => {
    const batches = new RecordBatches();
    assert.ok(batches.empty);
    let records = 0;
    while (!batches.full) {
      batches.suspension(records + 1, 1, 1001, 1002, 1003, 0, INFO, null);
      records++;
    }
    assert.ok(records > 6000, `a batch holds thousands of records (${records})`);
    const full = batches.take();
    assert.equal(parseLines(batchText(full, newTables())).length, records);
    assert.ok(batches.empty);
    assert.ok(!batches.full);
  });

  test("fills a returned buffer again instead of allocating a new one, keeping at most two", () => {
    const batches = new RecordBatches();
    const taken = [batches.take(), batches.take(), batches.take()];
    for (const batch of taken) batches.recycle(batch.data.buffer);
    assert.equal(batches.spare.length, 2);
    const reused = batches.newBatch();
    assert.equal(reused.data.buffer, taken[1].data.buffer);
    assert.equal(reused.length, 0);
    assert.deepEqual(reused.objects, []);
  });

  test("does not reuse a buffer of another size", () => {
    const batches = new RecordBatches();
    batches.recycle(new ArrayBuffer(64));
    assert.equal(batches.spare.length, 0);
  });
});
