/**
 * The watch thread of lifeline.mjs: when the pipe from `jspiprof run` ends (its process is gone), SIGTERM this
 * Node, then SIGKILL it `graceMs` later if it has not ended (the main thread may be running Python that never
 * yields, and a SIGTERM handler in JS runs only when it does).
 */
import net from "node:net";
import { workerData } from "node:worker_threads";

/** @type {{fd: number, graceMs: number}} */
const { fd, graceMs } = workerData;
let ended = false;

function stop() {
  if (ended) return;
  ended = true;
  process.kill(process.pid, "SIGTERM");
  setTimeout(() => process.kill(process.pid, "SIGKILL"), graceMs);
}

const pipe = new net.Socket({ fd, readable: true, writable: false });
pipe.on("data", () => {});
pipe.on("end", stop);
pipe.on("error", stop);
pipe.on("close", stop);
