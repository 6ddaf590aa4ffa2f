// The explanations printed as a switch fails, from the trace events the recorder writes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FailureExplainer } from "./explain.mjs";

const FRAMES = [
  { type: "frame", id: 1, file: "/home/pyodide/app.py", line: 4, function: "<module>", library: false },
  { type: "frame", id: 2, file: "/home/pyodide/app.py", line: 9, function: "load", library: false },
  { type: "frame", id: 3, file: "/lib/python3.14/site-packages/pyodide/ffi.py", line: 20, function: "run_sync", library: true },
  { type: "frame", id: 4, file: "/lib/python3.14/site-packages/jspiprof/in_pyodide/probe.py", line: 1, function: "x", library: true },
];

/**
 * Feed `events` to an explainer through a watched writer; returns what it printed.
 * @param {object[]} events
 */
function explain(events) {
  /** @type {Array<{text: string, problem: any}>} */
  const printed = [];
  const explainer = new FailureExplainer((text, problem) => printed.push({ text, problem }));
  const writer = explainer.watch({ written: [], write(event) { this.written.push(event); } });
  for (const event of events) writer.write(event);
  assert.equal(writer.written.length, events.length, "the watched writer still writes every event");
  return printed;
}

/**
 * An entry line.
 * @param {number} id @param {string} kind @param {boolean} promising
 * @param {{name?: string|null, caller?: string|null, parent?: number|null}} [fields]
 */
function entry(id, kind, promising, { name = null, caller = null, parent = null } = {}) {
  return { type: "entry", id, kind, promising, name, caller, parent, start_us: id };
}

/**
 * A failed switch in entry `entryId`.
 * @param {number} entryId @param {string} [reason] @param {string} [path] @param {string} [error]
 */
function failed(entryId, reason = "sync-entry", path = "run_sync", error = "RuntimeError: Cannot stack switch") {
  return { type: "failed_switch", ts_us: 9, entry: entryId, reason, path, stack: [1, 2, 3, 4], depth: 4, site: "/home/pyodide/app.py:9", error };
}

describe("a failed switch", () => {
  test("in runPython: the class, the Python chain, where, and the runPythonAsync fix, as printed", () => {
    const [{ text, problem }] = explain([...FRAMES, entry(1, "runPython", false, { caller: "/srv/main.mjs:12" }), failed(1)]);
    assert.equal(problem.class, "sync-runpython");
    assert.equal(problem.location, "/srv/main.mjs:12");
    assert.equal(
      text,
      "jspiprof: [sync-runpython] run_sync at /home/pyodide/app.py:9 needed to stack switch, but Python was entered " +
        "synchronously (runPython at /srv/main.mjs:12) (Python chain: <module> (/home/pyodide/app.py:4) -> " +
        "load (/home/pyodide/app.py:9) -> run_sync (/lib/python3.14/site-packages/pyodide/ffi.py:20)).\n" +
        "  where: /srv/main.mjs:12\n" +
        "  fix: Replace pyodide.runPython(code) at /srv/main.mjs:12 with await pyodide.runPythonAsync(code).",
    );
  });

  test("in a direct call from user JS: callPromising", () => {
    const [{ problem }] = explain([...FRAMES, entry(1, "call", false, { name: "load", caller: "/srv/main.mjs:3" }), failed(1)]);
    assert.equal(problem.class, "sync-pyproxy-call");
    assert.match(problem.fix, /^Call it promising at \/srv\/main\.mjs:3: load\(\.\.\.\) -> await load\.callPromising\(\.\.\.\)/);
  });

  test("in a callback from Node's own timers: an async def handler, located at the Python site", () => {
    const [{ problem }] = explain([...FRAMES, entry(1, "callback", false, { name: "tick", caller: "/timers:5" }), failed(1)]);
    assert.equal(problem.class, "sync-js-callback");
    assert.equal(problem.location, "/home/pyodide/app.py:9");
    assert.match(problem.fix, /^Make the handler `async def tick\(\.\.\.\)`/);
  });

  test("in a callback JS code registered: located at the registering call, with a promising wrapper as the fix", () => {
    const registration = { api: "addEventListener", event: "click", location: "/home/pyodide/app.py:12" };
    const listener = { ...entry(1, "callback", false, { name: "save", caller: "/srv/page.mjs:30" }), registration };
    const [{ problem }] = explain([...FRAMES, listener, failed(1)]);
    assert.equal(problem.class, "sync-js-callback");
    assert.equal(problem.location, "/home/pyodide/app.py:12");
    assert.match(problem.message, /registered with addEventListener\("click", \.\.\.\) at \/home\/pyodide\/app\.py:12/);
    assert.match(problem.fix, /^Make the handler `async def save\(\.\.\.\)`.* in place of it with addEventListener\("click", \.\.\.\) at \/home\/pyodide\/app\.py:12\.$/);
  });

  test("in a call made by Array.map: Promise.all of callPromising", () => {
    const printed = [];
    const explainer = new FailureExplainer((text, problem) => printed.push(problem));
    const writer = explainer.watch({ write() {} });
    for (const event of [...FRAMES, entry(1, "call", false, { name: "square", caller: "/srv/main.mjs:7" })]) writer.write(event);
    [failed(1)].map(writer.write); // Array.map is the built-in code that called into Python
    assert.equal(printed[0].class, "sync-js-callback");
    assert.equal(
      printed[0].fix,
      "Array.map calls square synchronously at /srv/main.mjs:7: await Promise.all(items.map((item) => square.callPromising(item))) instead.",
    );
  });

  test("in a synchronous callback from inside a promising entry: reentrant", () => {
    const [{ problem }] = explain([
      ...FRAMES,
      entry(1, "runPythonAsync", true),
      entry(2, "call", false, { name: "on_data", caller: "/srv/lib.mjs:40", parent: 1 }),
      failed(2),
    ]);
    assert.equal(problem.class, "reentrant-sync-callback");
    assert.equal(problem.location, "/srv/lib.mjs:40");
  });

  test("of asyncio.run from a synchronous entry: the blocking API is named", () => {
    const [{ problem }] = explain([...FRAMES, entry(1, "runPython", false, { caller: "/srv/main.mjs:12" }), failed(1, "sync-entry", "asyncio.run")]);
    assert.equal(problem.class, "blocking-api-from-sync");
    assert.match(problem.message, /^asyncio\.run needs to suspend, but Python was entered synchronously \(runPython at \/srv\/main\.mjs:12\)/);
  });

  test("of time.sleep that busy-waited: the entry's fix and asyncio.sleep", () => {
    const [{ problem }] = explain([...FRAMES, entry(1, "runPython", false, { caller: "/srv/main.mjs:12" }), failed(1, "busy-wait", "time.sleep", "time.sleep(1) busy-waited")]);
    assert.equal(problem.class, "busy-wait-sleep");
    assert.match(problem.fix, /runPythonAsync\(code\)\. In async code use await asyncio\.sleep\(t\)\.$/);
  });

  test("without JSPI: the runtimes that have it", () => {
    const [{ problem }] = explain([...FRAMES, entry(1, "runPythonAsync", true), failed(1, "no-jspi")]);
    assert.equal(problem.class, "no-jspi");
    assert.match(problem.fix, /Node 24\.20\+, 25 or 26/);
  });

  test("for another reason: Pyodide's own bug, to report", () => {
    const [{ problem }] = explain([...FRAMES, entry(1, "runPythonAsync", true), failed(1, "internal", "run_sync", "SystemError: no thread state")]);
    assert.equal(problem.class, "pyodide-internal");
    assert.match(problem.message, /SystemError: no thread state/);
  });
});

describe("an entry that ended with an error", () => {
  test("not awaitable: pass run_sync a coroutine object", () => {
    const printed = explain([
      entry(1, "runPythonAsync", true, { caller: "/srv/main.mjs:2" }),
      { type: "entry_end", id: 1, end_us: 5, outcome: "exception", error: "TypeError: object int is not awaitable" },
    ]);
    assert.equal(printed.length, 1);
    assert.equal(printed[0].problem.class, "not-awaitable");
    assert.equal(printed[0].problem.location, "/srv/main.mjs:2");
  });

  test("is explained once, at the innermost entry, as the error passes up", () => {
    const error = "ProtocolError: urllib3 only works in Node.js with pyodide.runPythonAsync";
    const printed = explain([
      entry(1, "runPython", false, { caller: "/srv/main.mjs:2" }),
      { ...entry(2, "call", false, { name: "fetch", caller: "/srv/main.mjs:8", parent: 1 }), end_us: 4, outcome: "exception", error },
      { type: "entry_end", id: 1, end_us: 5, outcome: "exception", error },
    ]);
    assert.deepEqual(
      printed.map(({ problem }) => [problem.class, problem.location]),
      [["blocking-api-from-sync", "/srv/main.mjs:8"]],
    );
  });

  test("that only repeats a failed switch's error, or any other error, prints nothing", () => {
    const printed = explain([
      entry(1, "runPython", false),
      { type: "entry_end", id: 1, end_us: 5, outcome: "exception", error: "RuntimeError: Cannot stack switch because the Python entrypoint was a synchronous function" },
      entry(2, "runPython", false),
      { type: "entry_end", id: 2, end_us: 6, outcome: "exception", error: "ValueError: no" },
    ]);
    assert.deepEqual(printed, []);
  });
});
