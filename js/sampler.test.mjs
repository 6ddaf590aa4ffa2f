import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_CHECKS_PER_CALL, SAMPLES_PER_LINE, SampleColumns, hookSignalsHelper, nextChecks, sampleClock } from "./sampler.mjs";

test("a batch holds the samples as columns, times as whole-microsecond deltas, each new stack defined once", () => {
  const columns = new SampleColumns(1);
  const first = { stack: [1, 2], sampleStack: 0 };
  const second = { stack: [1, 3], sampleStack: 0 };
  columns.add(1000.4, first, 7);
  columns.add(2001.6, first, 7);
  columns.add(3000, second, null);
  assert.deepEqual(columns.takeBatch(), {
    type: "samples",
    interval_us: 1000,
    stacks: [{ id: 1, frames: [1, 2] }, { id: 2, frames: [1, 3] }],
    start_us: 1000,
    dt_us: [0, 1002, 998],
    stack: [1, 1, 2],
    entry: [7, 7, null],
  });
  columns.add(4000, { stack: [1, 3], sampleStack: 0 }, 8); // another description of the same stack
  const next = columns.takeBatch();
  assert.deepEqual(next.stacks, []); // defined in the batch before
  assert.deepEqual(next.stack, [2]);
  assert.equal(columns.takeBatch(), null);
});

test("many samples taken between two flushes go out as several lines, none over SAMPLES_PER_LINE", () => {
  const columns = new SampleColumns(1);
  const info = { stack: [1], sampleStack: 0 };
  const count = 2 * SAMPLES_PER_LINE + 5;
  for (let i = 0; i < count; i++) columns.add(1000 * (i + 1), info, 3);
  const batches = [];
  for (let batch = columns.takeBatch(); batch !== null; batch = columns.takeBatch()) batches.push(batch);
  assert.deepEqual(batches.map((batch) => batch.stack.length), [SAMPLES_PER_LINE, SAMPLES_PER_LINE, 5]);
  assert.deepEqual(batches.map((batch) => batch.start_us), [1000, 1000 * (SAMPLES_PER_LINE + 1), 1000 * (2 * SAMPLES_PER_LINE + 1)]);
  assert.deepEqual(batches.map((batch) => batch.stacks.length), [1, 0, 0]); // the stack is defined in the first line
  assert.ok(batches.every((batch) => JSON.stringify(batch).length < 2 ** 20));
});

test("samples are due an interval apart on average, and after a pause at once", () => {
  const clock = sampleClock(1);
  const due = [0.1, 0.5, 1.05, 1.9, 2.02, 50, 50.5, 51.01].filter((t) => clock.due(t));
  assert.deepEqual(due, [0.1, 1.05, 2.02, 50, 51.01]);
});

test("calls of the helper are spaced out while they come too often, and drawn closer while they come too rarely", () => {
  assert.equal(nextChecks(50, 0.004, 0.125), 100); // a plain loop: a call every 4 µs, 0.125 ms wanted
  assert.equal(nextChecks(1600, 0.1, 0.125), 1600); // close enough: kept
  assert.equal(nextChecks(1600, 0.3, 0.125), 800);
  assert.equal(nextChecks(1, 5, 0.125), 1); // a check at least before each call
  assert.equal(nextChecks(MAX_CHECKS_PER_CALL, 0, 0.125), MAX_CHECKS_PER_CALL);
  let checks = 50;
  for (let call = 0; call < 10; call++) checks = nextChecks(checks, (checks / 50) * 0.004, 0.125);
  assert.equal(checks, 800); // settles: a call every 0.064 ms, within half to twice the 0.125 ms wanted
});

test("the helper samples when due, sets CPython's countdown to its next call, and serves the interrupt buffer", async () => {
  const env = {};
  const taken = [];
  const start = hookSignalsHelper(env, 0.000001, (t) => taken.push(t));
  const heap = new Uint32Array(4);
  const Module = {
    _Py_EMSCRIPTEN_SIGNAL_HANDLING: 3,
    __Py_emscripten_signal_clock: 8,
    HEAP8: new Int8Array(heap.buffer),
    HEAPU32: heap,
    Py_EmscriptenSignalBuffer: undefined,
  };
  start(Module);
  assert.equal(Module.HEAP8[3], 1); // signal handling on: CPython calls the helper
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    heap[2] = 50; // as CPython does before each call
    assert.equal(env._Py_CheckEmscriptenSignals_Helper(), 0);
    assert.notEqual(heap[2], 50); // calls came rarely for this tiny interval: fewer checks until the next one
  }
  assert.equal(taken.length, 3);
  heap[2] = 7; // a call from PyErr_CheckSignals, not from the countdown: left alone
  env._Py_CheckEmscriptenSignals_Helper();
  assert.equal(heap[2], 7);
  const buffer = new Int32Array(1);
  Module.HEAP8[3] = 0; // as setInterruptBuffer does before setting the buffer
  Module.Py_EmscriptenSignalBuffer = buffer;
  assert.equal(Module.HEAP8[3], 1); // kept on for sampling
  buffer[0] = 2;
  assert.equal(env._Py_CheckEmscriptenSignals_Helper(), 2); // SIGINT handed over once, then cleared
  assert.equal(env._Py_CheckEmscriptenSignals_Helper(), 0);
  assert.equal(Module.Py_EmscriptenSignalBuffer, buffer);
});
