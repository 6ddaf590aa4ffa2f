import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgramOutput } from "./program-output.mjs";

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
  assert.equal(output.pending.size, 0);
});

test("an empty write sends nothing", async () => {
  const sent = [];
  const output = new ProgramOutput(async (...args) => sent.push(args));
  assert.equal(output.write("stdout", new Uint8Array()), 0);
  assert.deepEqual(sent, []);
});
