// The recorder's lazy entry lines, seen through a fake writer: an entry's line is written once, before any line
// that refers to it, and carries its end when nothing referred to it while it ran.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Recorder, STACK_LINE, describeError, stackInfo } from "./recorder.mjs";

/** A writer that keeps what the recorder hands it, as `[method, value]` pairs, in order. */
class FakeWriter {
  constructor() {
    /** @type {Array<[string, any]>} */
    this.calls = [];
  }

  /** @param {object} event */
  write(event) {
    this.calls.push(["write", event]);
  }

  /** @type {import("./recorder.mjs").Writer["writeSuspension"]} */
  writeSuspension(id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable) {
    this.calls.push(["writeSuspension", { id, entry, startMs, settleMs, restoredMs, stackBytes, info, awaitable }]);
  }

  /** @type {import("./recorder.mjs").Writer["writeTaskStep"]} */
  writeTaskStep(id, parent, startMs, endMs) {
    this.calls.push(["writeTaskStep", { id, parent, startMs, endMs }]);
  }

  /** What was written, one short text per line: `entry 1`, `entry 1 ended`, `entry_end 1`, `suspension of 1`... */
  get summary() {
    return this.calls.map(([method, value]) => {
      if (method === "writeTaskStep") return `task step ${value.id} ended`;
      if (method === "writeSuspension") return `suspension of ${value.entry}`;
      if (value.type === "entry") return `entry ${value.id}${value.end_us === undefined ? "" : " ended"}`;
      if (value.type === "failed_switch") return `failed_switch in ${value.entry}`;
      return `${value.type} ${value.id}`;
    });
  }
}

/** A recording recorder with a fake writer. @param {object} [options] */
function newRecorder(options = {}) {
  const writer = new FakeWriter();
  const recorder = new Recorder(writer, { skipCallerPrefixes: [], recording: true, ...options });
  return { recorder, writer };
}

const SUSPENSION = { startMs: 1, settleMs: 2, info: stackInfo([1], 1, "app.py:2", "run_sync"), awaitable: null };

describe("entry lines", () => {
  test("an entry nothing referred to is one line with its end, written when it ends", () => {
    const { recorder, writer } = newRecorder();
    const entry = recorder.startEntry("runPythonAsync", true, null, false);
    assert.deepEqual(writer.calls, [], "nothing is written when an entry starts");
    recorder.endEntry(entry);
    const [[, line]] = writer.calls;
    assert.deepEqual(Object.keys(line), [
      "type",
      "id",
      "kind",
      "promising",
      "name",
      "caller",
      "parent",
      "start_us",
      "end_us",
      "outcome",
      "error",
    ]);
    assert.equal(line.outcome, "return");
    assert.equal(line.error, null);
    assert.ok(line.end_us >= line.start_us && line.start_us >= 0);
  });

  test("an entry that threw ends with the error's type and first line", () => {
    const { recorder, writer } = newRecorder();
    const entry = recorder.startEntry("call", false, "handler", false);
    recorder.endEntry(entry, new TypeError("bad value\nmore"));
    const [[, line]] = writer.calls;
    assert.equal(line.outcome, "exception");
    assert.equal(line.error, "TypeError: bad value");
    assert.equal(line.name, "handler");
  });

  test("a task step that returned is handed to the writer as numbers", () => {
    const { recorder, writer } = newRecorder();
    const parent = recorder.startEntry("runPythonAsync", true, null, false);
    const step = recorder.startTask(parent);
    recorder.endTaskStep(step);
    assert.deepEqual(writer.summary, ["entry 1", "task step 2 ended"]);
    assert.equal(writer.calls[1][1].parent, 1);
  });

  test("a suspension writes its entry's line first, and the entry's end is then an entry_end line", () => {
    const { recorder, writer } = newRecorder();
    const entry = recorder.startEntry("runPythonAsync", true, null, false);
    recorder.writeSuspension({ ...SUSPENSION, entry, error: null, failed: false }, 3, 128);
    recorder.writeSuspension({ ...SUSPENSION, entry, error: null, failed: false }, 4, 128);
    recorder.endEntry(entry);
    assert.deepEqual(writer.summary, ["entry 1", "suspension of 1", "suspension of 1", "entry_end 1"]);
    assert.equal(writer.calls[0][1].end_us, undefined, "the line written early has no end");
  });

  test("a suspension whose awaitable threw is written as an object with the error", () => {
    const { recorder, writer } = newRecorder();
    const entry = recorder.startEntry("runPythonAsync", true, null, false);
    const error = { type: "ValueError", message: "Traceback ...\nValueError: no" };
    recorder.writeSuspension({ ...SUSPENSION, entry, error, failed: true }, 3, 128);
    const [, [, suspension]] = writer.calls;
    assert.equal(suspension.type, "suspension");
    assert.equal(suspension.outcome, "exception");
    assert.equal(suspension.error, "ValueError: no");
  });

  test("an entry inside another writes its parents' lines first, outermost first", () => {
    const { recorder, writer } = newRecorder();
    const outer = recorder.startEntry("runPythonAsync", true, null, false);
    recorder.current = outer;
    const middle = recorder.startEntry("call", false, "f", false);
    recorder.current = middle;
    const inner = recorder.startEntry("call", false, "g", false);
    recorder.endEntry(inner);
    recorder.endEntry(middle);
    recorder.endEntry(outer);
    assert.deepEqual(writer.summary, ["entry 1", "entry 2", "entry 3 ended", "entry_end 2", "entry_end 1"]);
    assert.equal(writer.calls[2][1].parent, 2);
  });

  test("a flush writes the lines of the entries still running, once, and not of those that ended", () => {
    const { recorder, writer } = newRecorder();
    const first = recorder.startEntry("runPythonAsync", true, null, false);
    const second = recorder.startEntry("runPythonAsync", true, null, false);
    const ended = recorder.startEntry("runPythonAsync", true, null, false);
    recorder.endEntry(ended);
    recorder.writeRunningEntries();
    recorder.writeRunningEntries();
    recorder.endEntry(first);
    recorder.endEntry(second);
    assert.deepEqual(writer.summary, ["entry 3 ended", "entry 2", "entry 1", "entry_end 1", "entry_end 2"]);
    assert.equal(recorder.running, null, "ended entries are not kept");
  });

  test("a failed switch writes the running entry first and is handed to onFailedSwitch", () => {
    const seen = [];
    const { recorder, writer } = newRecorder({ onFailedSwitch: (event) => seen.push(event) });
    recorder.current = recorder.startEntry("runPython", false, null, false);
    recorder.writeFailedSwitch("sync-entry", "RuntimeError: Cannot stack switch");
    assert.deepEqual(writer.summary, ["entry 1", "failed_switch in 1"]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].path, "other", "no probe: an empty stack");
    assert.equal(seen[0].reason, "sync-entry");
  });

  test("nothing is recorded while not recording", () => {
    const { recorder, writer } = newRecorder({ recording: false });
    assert.equal(recorder.startEntry("runPython", false, null, true), null);
    assert.deepEqual(writer.calls, []);
  });

  test("in any order of starts, ends, suspensions and flushes, a line never refers to an entry not written yet", () => {
    let seed = 12345;
    const random = (/** @type {number} */ n) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let run = 0; run < 50; run++) {
      const { recorder, writer } = newRecorder();
      const running = [];
      for (let step = 0; step < 40; step++) {
        const action = random(5);
        if (action === 0 || running.length === 0) {
          const parent = running.length === 0 ? null : running[random(running.length)];
          running.push(random(2) ? recorder.startTask(parent) : recorder.startEntry("call", false, "f", false, parent));
        } else if (action === 1) {
          const entry = running.splice(random(running.length), 1)[0];
          if (entry.kind === "task") recorder.endTaskStep(entry);
          else recorder.endEntry(entry);
        } else if (action === 2) {
          const entry = running[random(running.length)];
          recorder.writeSuspension({ ...SUSPENSION, entry, error: null, failed: false }, 3, 0);
        } else {
          recorder.writeRunningEntries();
        }
      }
      const written = new Set();
      for (const [method, value] of writer.calls) {
        const referred = method === "writeSuspension" ? value.entry : method === "writeTaskStep" ? value.parent : null;
        if (referred !== null) assert.ok(written.has(referred), `line ${method} refers to entry ${referred} before its line`);
        if (method === "write" && value.parent != null) assert.ok(written.has(value.parent), `entry ${value.id}'s parent`);
        if (method === "write" && value.type === "entry_end") assert.ok(written.has(value.id), `entry_end ${value.id}`);
        if (method === "writeTaskStep" || (method === "write" && value.type === "entry")) {
          assert.ok(!written.has(value.id), `entry ${value.id} is written once`);
          written.add(value.id);
        }
      }
    }
  });
});

describe("describeError", () => {
  test("gives a Python error's last traceback line and a JS error's first line", () => {
    assert.equal(describeError({ type: "KeyError", message: "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n" }), "KeyError: 'x'");
    assert.equal(describeError({ type: "StopIteration", message: "Traceback ...\nStopIteration" }), "StopIteration");
    assert.equal(describeError(new RangeError("too far\nat ...")), "RangeError: too far");
    assert.equal(describeError("plain"), "Error: plain");
  });
});

test("a caller is read from stack lines of V8 and of Firefox, not from Node's internal frames", () => {
  const file = (/** @type {string} */ line) => STACK_LINE.exec(line)?.slice(1, 3).join(":") ?? null;
  assert.equal(file("    at main (http://127.0.0.1:8000/app.html:21:15)"), "http://127.0.0.1:8000/app.html:21");
  assert.equal(file("    at /srv/app.mjs:3:1"), "/srv/app.mjs:3");
  assert.equal(file("main@http://127.0.0.1:8000/app.html:21:15"), "http://127.0.0.1:8000/app.html:21");
  assert.equal(file("async*@http://127.0.0.1:8000/app.html:9:3"), "http://127.0.0.1:8000/app.html:9");
  assert.equal(file("    at node:internal/process/task_queues:105:5"), null);
});
