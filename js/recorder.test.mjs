// The recorder's lazy entry lines, seen through a fake writer: an entry's line is written once, before any line
// that refers to it, and carries its end when nothing referred to it while it ran.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CALLERS_READ_FIRST, CALLER_SAMPLE_GAP, Recorder, STACK_LINE, describeError, stackInfo } from "./recorder.mjs";

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

describe("entry callers", () => {
  /** A recorder that takes this file's lines as callers (only the recorder's own file is skipped). */
  function callerRecorder() {
    return newRecorder({ skipCallerPrefixes: [new URL("./recorder.mjs", import.meta.url).href] });
  }
  const here = (/** @type {number} */ line) => `${import.meta.url}:${line}`;

  /** Start and end `count` entries of `kind` calling `name`; their lines. */
  function entries(/** @type {Recorder} */ recorder, /** @type {FakeWriter} */ writer, kind, name, count) {
    const before = writer.calls.length;
    for (let i = 0; i < count; i++) recorder.endEntry(recorder.startEntry(kind, false, name, true));
    return writer.calls.slice(before).map(([, line]) => line);
  }

  test("the first entries of each kind and callable have their caller read, then about one in CALLER_SAMPLE_GAP", () => {
    const { recorder, writer } = callerRecorder();
    const count = CALLERS_READ_FIRST + 100 * CALLER_SAMPLE_GAP;
    const lines = entries(recorder, writer, "call", "f", count);
    const read = lines.filter((line) => line.caller_sampled === undefined);
    assert.ok(read.slice(0, CALLERS_READ_FIRST).every((line, i) => line.id === i + 1), "the first ones are read");
    assert.ok(read.every((line) => line.caller.startsWith(import.meta.url + ":")), "a read caller is this file's line");
    assert.ok(read.length >= CALLERS_READ_FIRST + 70 && read.length <= CALLERS_READ_FIRST + 130, `${read.length} read`);
    const skipped = lines.filter((line) => line.caller_sampled === false);
    assert.equal(skipped.length, count - read.length);
    assert.ok(skipped.every((line) => line.caller === null), "a caller not read is null, and says it was not sampled");
    const other = entries(recorder, writer, "call", "g", CALLERS_READ_FIRST);
    assert.ok(other.every((line) => line.caller !== null), "another callable has its own first entries read");
  });

  test("an entry whose caller was not sampled gets it read at a failed switch, while its caller is on the stack", () => {
    const { recorder, writer } = callerRecorder();
    entries(recorder, writer, "runPython", null, CALLERS_READ_FIRST);
    let entry = recorder.startEntry("runPython", false, null, true);
    while (entry.caller !== undefined) {
      recorder.endEntry(entry);
      entry = recorder.startEntry("runPython", false, null, true);
    }
    recorder.current = entry;
    const failedAt = new Error().stack.split("\n")[1].match(/:(\d+):\d+\)?$/)[1];
    recorder.writeFailedSwitch("sync-entry", "RuntimeError: Cannot stack switch"); // on the line after `failedAt`
    const [, line] = writer.calls.find(([, value]) => value.type === "entry" && value.id === entry.id);
    assert.equal(line.caller, here(Number(failedAt) + 1));
    assert.equal(line.caller_sampled, undefined);
  });

  test("a synchronous entry that threw gets its caller read; a promising one, which ends later, does not", () => {
    const { recorder, writer } = callerRecorder();
    entries(recorder, writer, "call", "f", CALLERS_READ_FIRST);
    entries(recorder, writer, "callPromising", "f", CALLERS_READ_FIRST);
    const unsampled = (kind, promising) => {
      for (;;) {
        const entry = recorder.startEntry(kind, promising, "f", true);
        if (entry.caller === undefined) return entry;
        recorder.endEntry(entry);
      }
    };
    const sync = unsampled("call", false);
    const promising = unsampled("callPromising", true);
    recorder.endEntry(sync, new Error("boom"));
    recorder.endEntry(promising, new Error("boom"));
    const lines = new Map(writer.calls.map(([, value]) => [value.id, value]));
    assert.ok(lines.get(sync.id).caller.startsWith(import.meta.url + ":"));
    assert.deepEqual([lines.get(promising.id).caller, lines.get(promising.id).caller_sampled], [null, false]);
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
