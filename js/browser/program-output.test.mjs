import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgramOutput, REQUEST_BYTES_AT_MOST } from "./program-output.mjs";

test("writes are numbered in write order over both streams and copied", async () => {
  const sent = [];
  const output = new ProgramOutput(async (sequence, stream, bytes) => sent.push([sequence, stream, bytes]));
  const buffer = new Uint8Array([104, 105]);
  assert.equal(output.write("stdout", buffer), 2);
  buffer[0] = 0; // Pyodide reuses its buffer for the next write
  output.writeText("stderr", "é\n");
  await output.settled();
  assert.deepEqual(sent, [
    [0, "stdout", new Uint8Array([104, 105])],
    [1, "stderr", new TextEncoder().encode("é\n")],
  ]);
});

test("settled waits for every write to reach the host, and a failed send does not reject it", async () => {
  const arrived = [];
  let failNext = true;
  const output = new ProgramOutput((sequence) => {
    if (failNext) {
      failNext = false;
      return Promise.reject(new Error("host gone"));
    }
    return new Promise((resolve) => setTimeout(() => resolve(arrived.push(sequence)), 20));
  });
  output.writeText("stdout", "a");
  output.writeText("stdout", "b");
  await output.settled();
  assert.deepEqual(arrived, [1]);
  assert.equal(output.sending, null);
});

test("an empty write sends nothing", async () => {
  const sent = [];
  const output = new ProgramOutput(async (...args) => sent.push(args));
  assert.equal(output.write("stdout", new Uint8Array()), 0);
  assert.deepEqual(sent, []);
});

test("one request is under way at a time, and the writes made meanwhile go out together, one request per stream run", async () => {
  const sent = [];
  let underWay = 0;
  let mostUnderWay = 0;
  const output = new ProgramOutput(async (sequence, stream, bytes) => {
    mostUnderWay = Math.max(mostUnderWay, ++underWay);
    await new Promise((resolve) => setTimeout(resolve, 5));
    sent.push([sequence, stream, new TextDecoder().decode(bytes)]);
    underWay--;
  });
  for (let line = 0; line < 10000; line++) output.writeText("stdout", `line ${line}\n`);
  output.writeText("stderr", "oops\n");
  output.writeText("stdout", "last\n");
  await output.settled();
  assert.equal(mostUnderWay, 1);
  assert.deepEqual(
    sent.map(([sequence, stream]) => [sequence, stream]),
    [[0, "stdout"], [1, "stdout"], [2, "stderr"], [3, "stdout"]],
  );
  const lines = Array.from({ length: 10000 }, (_, line) => `line ${line}\n`).join("");
  assert.equal(sent[0][2] + sent[1][2], lines);
  assert.deepEqual([sent[2][2], sent[3][2]], ["oops\n", "last\n"]);
});

test("a run of writes longer than a request's bound is sent as several requests", async () => {
  const sizes = [];
  const output = new ProgramOutput(async (sequence, stream, bytes) => sizes.push(bytes.length));
  const block = new Uint8Array(REQUEST_BYTES_AT_MOST / 4);
  for (let i = 0; i < 10; i++) output.write("stdout", block);
  await output.settled();
  assert.deepEqual(sizes, [block.length, REQUEST_BYTES_AT_MOST, REQUEST_BYTES_AT_MOST, block.length]);
});
