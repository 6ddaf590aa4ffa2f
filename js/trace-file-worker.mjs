/**
 * The serialiser thread of a streamed trace (Node): turns the record batches the recording thread posts into
 * JSON Lines and appends them to the trace file, then counts the batch as written (the recording thread waits
 * on that count before it writes the `end` line).
 */

import fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { batchText } from "./trace-records.mjs";

/** @type {{path: string, written: SharedArrayBuffer, originMs: number}} */
const { path, written, originMs } = workerData;
const count = new Int32Array(written);
const fd = fs.openSync(path, "a");
/** @type {import("./trace-records.mjs").Tables} */
const tables = { stacks: [], awaitables: [], originMs };

parentPort.on("message", (batch) => {
  const data = Buffer.from(batchText(batch, tables));
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
  Atomics.add(count, 0, 1);
  Atomics.notify(count, 0);
  parentPort.postMessage(batch.data.buffer, [batch.data.buffer]); // back, to be filled again
});
