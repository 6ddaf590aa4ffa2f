// The trace writers: what is on disk (or in memory) after writes, a flush, the end, and a crash.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { FileTraceWriter, MemoryTraceWriter, SCHEMA, VERSION } from "./trace-writer.mjs";
import { stackInfo } from "./recorder.mjs";

const ORIGIN_MS = 1000;
const HEADER = { type: "header", schema: SCHEMA, version: VERSION, origin_unix_ms: 0, runtime: {}, program: null };
const INFO = stackInfo([1], 1, "app.py:2", "run_sync");
const folder = fs.mkdtempSync(path.join(os.tmpdir(), "jspiprof-writer-"));
after(() => fs.rmSync(folder, { recursive: true, force: true }));
let traces = 0;

/** A new trace file's path. */
function tracePath() {
  return path.join(folder, `trace-${++traces}.jsonl`);
}

/** The trace file's lines, parsed (each one must be complete JSON). @param {string} file */
function linesOf(file) {
  const text = fs.readFileSync(file, "utf8");
  assert.ok(text === "" || text.endsWith("\n"), "the file ends with a whole line");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

/**
 * `promise`, or a failure after `ms` (the timer also keeps the process alive while the worker is unref'd).
 * @template T @param {Promise<T>} promise @param {number} [ms] @returns {Promise<T>}
 */
async function within(promise, ms = 20000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing happened within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("MemoryTraceWriter", () => {
  test("keeps the header and events in order, then a dropped line and the end line", () => {
    const writer = new MemoryTraceWriter(HEADER, 2, ORIGIN_MS);
    writer.write({ type: "frame", id: 1 });
    writer.writeSuspension(1, null, 1001, 1002, 1003, 0, INFO, null);
    writer.writeTaskStep(2, null, 1004, 1005);
    writer.write({ type: "frame", id: 2 });
    writer.close({ ts_us: 9000, exit_status: 0 });
    writer.write({ type: "frame", id: 3 });
    const events = writer.events(10000);
    assert.deepEqual(
      events.map((event) => event.type),
      ["header", "frame", "suspension", "dropped", "end"],
    );
    assert.deepEqual(events[3], { type: "dropped", count: 2, ts_us: 9000 });
    assert.deepEqual(events[4], { type: "end", ts_us: 9000, exit_status: 0, dropped: 2 });
  });

  test("ends a live export with a snapshot line, and the closed trace with its end line only", () => {
    const writer = new MemoryTraceWriter(HEADER, 100, ORIGIN_MS);
    writer.write({ type: "frame", id: 1 });
    assert.deepEqual(writer.events(2500), [HEADER, { type: "frame", id: 1 }, { type: "snapshot", ts_us: 2500 }]);
    writer.close({ ts_us: 3000, exit_status: 0 });
    assert.deepEqual(
      writer.events(4000).map((event) => event.type),
      ["header", "frame", "end"],
    );
  });

  test("asks for what is held back before it hands out events or closes", () => {
    const writer = new MemoryTraceWriter(HEADER, 100, ORIGIN_MS);
    let held = 1;
    writer.beforeFlush = () => {
      if (held > 0) writer.write({ type: "entry", id: held-- });
    };
    assert.deepEqual(writer.events(0)[1], { type: "entry", id: 1 });
    assert.equal(writer.events(0).at(-1).type, "snapshot");
    held = 2;
    writer.close({ ts_us: 1, exit_status: 0 });
    assert.deepEqual(
      writer.events(2).map((event) => event.type),
      ["header", "entry", "entry", "end"],
    );
  });
});

describe("FileTraceWriter", () => {
  test("has the header on disk at once, events after a flush, and the end line after close", async () => {
    const file = tracePath();
    const writer = await FileTraceWriter.open(file, HEADER, 60000, () => 42, ORIGIN_MS);
    assert.deepEqual(linesOf(file), [HEADER]);
    writer.write({ type: "frame", id: 1, file: "app.py", line: 2, function: "<module>", library: false });
    writer.writeSuspension(1, null, 1001, 1002.5, 1003, 64, INFO, "<Task>");
    writer.writeTaskStep(1, null, 1004, 1005);
    assert.equal(linesOf(file).length, 1, "nothing but the header before a flush");
    writer.drain();
    const lines = linesOf(file);
    assert.deepEqual(
      lines.map((line) => line.type),
      ["header", "frame", "suspension", "entry"],
    );
    assert.equal(lines[2].wait_us, 1500);
    assert.equal(lines[2].awaitable, "<Task>");
    assert.deepEqual(writer.events(45).at(-1), { type: "snapshot", ts_us: 45 }, "a live export is a snapshot");
    assert.equal(linesOf(file).length, 4, "the snapshot line is not written to the file");
    writer.close({ ts_us: 50, exit_status: 3 });
    writer.write({ type: "frame", id: 2 });
    writer.drain();
    assert.deepEqual(linesOf(file).at(-1), { type: "end", ts_us: 50, exit_status: 3, dropped: 0 });
    assert.equal(linesOf(file).length, 5, "nothing is written after the end line");
    assert.equal(writer.events(60).at(-1).type, "end", "a closed trace is no snapshot");
  });

  test("calls beforeFlush at each flush, so running entries reach the file", async () => {
    const file = tracePath();
    const writer = await FileTraceWriter.open(file, HEADER, 60000, () => 0, ORIGIN_MS);
    writer.beforeFlush = () => writer.write({ type: "entry", id: 1 });
    writer.drain();
    assert.deepEqual(linesOf(file)[1], { type: "entry", id: 1 });
    writer.close({ ts_us: 1, exit_status: 0 });
  });

  test("writes a full batch without waiting for a flush", async () => {
    const file = tracePath();
    const writer = await FileTraceWriter.open(file, HEADER, 60000, () => 0, ORIGIN_MS);
    const written = once(writer.serializer, "message");
    let id = 0;
    while (writer.posted === 0) writer.writeSuspension(++id, null, 1001, 1002, 1003, 0, INFO, null);
    writer.writeTaskStep(1, null, 1004, 1005);
    await within(written);
    assert.equal(linesOf(file).length, 1 + id, "the header and the whole full batch, not the record after it");
    writer.close({ ts_us: 1, exit_status: 0 });
    assert.equal(linesOf(file).length, 1 + id + 2);
  });

  test("fills the buffers the serialiser hands back instead of allocating new ones", async () => {
    const file = tracePath();
    const writer = await FileTraceWriter.open(file, HEADER, 60000, () => 0, ORIGIN_MS);
    const batches = writer.batches;
    writer.writeTaskStep(1, null, 1001, 1002);
    let returned = once(writer.serializer, "message");
    writer.flush();
    await within(returned);
    assert.equal(batches.spare.length, 1, "the first batch's buffer came back");
    const spare = batches.spare[0];
    writer.writeTaskStep(2, null, 1003, 1004);
    returned = once(writer.serializer, "message");
    writer.flush();
    assert.equal(batches.current.data, spare, "the batch after the flush fills the returned buffer");
    await within(returned);
    writer.close({ ts_us: 1, exit_status: 0 });
    assert.deepEqual(
      linesOf(file).map((line) => line.id),
      [undefined, 1, 2, undefined],
    );
  });
});

/**
 * Run `body` in a child Node process (a script file: the serialiser thread gets the child's Node options) with a
 * trace writer `writer` open on `file`, flushed every `intervalMs`; the child prints "ready" once `body` ran, then
 * idles. Returns the child, `ready` and `exited` (its code and signal).
 * @param {string} file @param {number} intervalMs @param {string} body JS run with `writer` and `info` in scope
 */
function childWriting(file, intervalMs, body) {
  const writerUrl = new URL("./trace-writer.mjs", import.meta.url).href;
  const recorderUrl = new URL("./recorder.mjs", import.meta.url).href;
  const script = `${file}.mjs`;
  fs.writeFileSync(
    script,
    `import fs from "node:fs";
    import { FileTraceWriter } from ${JSON.stringify(writerUrl)};
    import { stackInfo } from ${JSON.stringify(recorderUrl)};
    const info = stackInfo([1], 1, "app.py:2", "run_sync");
    const writer = await FileTraceWriter.open(${JSON.stringify(file)}, ${JSON.stringify(HEADER)}, ${intervalMs}, () => 77, 0);
    ${body}
    console.log("ready");
    setInterval(() => {}, 1000);
    `,
  );
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "ignore"] });
  children.push(child);
  const exited = once(child, "exit");
  const ready = new Promise((resolve) => child.stdout.on("data", (data) => data.includes("ready") && resolve()));
  return { child, ready: within(Promise.race([ready, exited])), exited };
}

/** @type {import("node:child_process").ChildProcess[]} */
const children = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

describe("a streamed trace when the app dies", () => {
  test("keeps every flushed event after a kill, and loses only what was not flushed yet", async () => {
    const file = tracePath();
    const { child, ready, exited } = childWriting(
      file,
      60000,
      `for (let id = 1; id <= 100; id++) writer.writeSuspension(id, null, 1, 2, 3, 0, info, null);
       writer.drain();
       for (let id = 101; id <= 110; id++) writer.writeSuspension(id, null, 1, 2, 3, 0, info, null);`,
    );
    await ready;
    child.kill("SIGKILL");
    await within(exited);
    const lines = linesOf(file);
    assert.equal(lines[0].type, "header");
    assert.deepEqual(
      lines.slice(1).map((line) => line.id),
      Array.from({ length: 100 }, (_, i) => i + 1),
      "the flushed suspensions, whole, and no end line",
    );
  });

  test("has the events on disk after the flush interval, without any flush by the app", async () => {
    const file = tracePath();
    const { child, ready, exited } = childWriting(
      file,
      20,
      `writer.writeTaskStep(1, null, 1, 2);
       const until = performance.now() + 3000; // the serialiser thread may be slow to start on a loaded machine
       while (fs.readFileSync(writer.path, "utf8").split("\\n").length < 3 && performance.now() < until) {
         await new Promise((resolve) => setTimeout(resolve, 20));
       }`,
    );
    await ready;
    child.kill("SIGKILL");
    await within(exited);
    assert.deepEqual(
      linesOf(file).map((line) => line.type),
      ["header", "entry"],
    );
  });

  test("writes everything and an end line with the signal's exit status on SIGTERM", async () => {
    const file = tracePath();
    const { child, ready, exited } = childWriting(file, 60000, `writer.writeTaskStep(1, null, 1, 2);`);
    await ready;
    child.kill("SIGTERM");
    const [, signal] = await within(exited);
    assert.equal(signal, "SIGTERM", "the app still dies of the signal");
    const lines = linesOf(file);
    assert.deepEqual(
      lines.map((line) => line.type),
      ["header", "entry", "end"],
    );
    assert.deepEqual(lines[2], { type: "end", ts_us: 77, exit_status: 143, dropped: 0 });
  });

  test("writes everything and an end line with the exit code when the app exits", async () => {
    const file = tracePath();
    const { exited } = childWriting(file, 60000, `writer.writeTaskStep(1, null, 1, 2); process.exit(5);`);
    const [code] = await within(exited);
    assert.equal(code, 5);
    assert.deepEqual(linesOf(file).at(-1), { type: "end", ts_us: 77, exit_status: 5, dropped: 0 });
  });

  test("writes everything and an end line with status 1 when an uncaught error ends the app", async () => {
    const file = tracePath();
    const { exited } = childWriting(file, 60000, `writer.writeTaskStep(1, null, 1, 2); throw new Error("boom");`);
    const [code] = await within(exited);
    assert.equal(code, 1);
    assert.deepEqual(
      linesOf(file).map((line) => line.type),
      ["header", "entry", "end"],
    );
    assert.equal(linesOf(file)[2].exit_status, 1);
  });
});
