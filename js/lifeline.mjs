/**
 * The pipe from `jspiprof run` (the Python process that started this Node): it first carries the run's settings
 * as one line of JSON, then stays open, unwritten, for as long as that process lives. The kernel closes it when
 * the process ends in any way, kill -9 included, so its end means "your parent is gone": this Node then stops
 * as on SIGTERM (the trace gets its end line), and is killed 5 s later if it has not ended, even while Python
 * runs a loop that never yields (the watch runs on a thread of its own).
 */
import { once } from "node:events";
import fs from "node:fs";
import { Worker } from "node:worker_threads";

export const GRACE_MS = 5000;

/**
 * Read the first line of the pipe `fd`: the run's settings, as JSON.
 * @param {number} fd @returns {any}
 */
export function readSettings(fd) {
  const chunks = [];
  const chunk = Buffer.alloc(65536);
  for (;;) {
    const size = fs.readSync(fd, chunk, 0, chunk.length, null);
    if (size === 0) throw new Error("jspiprof run ended before it sent the run's settings");
    const newline = chunk.subarray(0, size).indexOf(10);
    chunks.push(Buffer.from(chunk.subarray(0, newline === -1 ? size : newline)));
    if (newline !== -1) return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  }
}

/**
 * End this process when the pipe `fd` ends (see the module's comment). The watch never keeps Node alive.
 * @param {number} fd @returns {Promise<void>} settled once the watch has begun
 */
export async function endWithParent(fd) {
  const watch = new Worker(new URL("./lifeline-watch.mjs", import.meta.url), {
    workerData: { fd, graceMs: GRACE_MS },
    execArgv: [], // none of the app's own Node flags (--input-type, ...), which may not apply to a file
  });
  await once(watch, "online");
  watch.unref(); // only now: until it is online, nothing else may keep Node waiting for it
}
