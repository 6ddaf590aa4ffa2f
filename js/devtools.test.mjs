// The DevTools track draws what the writer is handed: each span with its label, clock times, track and colour.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DevToolsTrack, TRACK_GROUP } from "./devtools.mjs";
import { stackInfo } from "./recorder.mjs";

/** A writer that keeps nothing, and a track over it drawing into `spans`. */
function watched() {
  /** @type {Array<[string, number, number, string, string, string]>} */
  const spans = [];
  // Like the in-memory writer, it writes suspensions and task steps as objects through `write`.
  const writer = {
    written: 0,
    write() { this.written++; },
    writeSuspension(id) { this.write({ type: "suspension", id }); },
    writeTaskStep(id) { this.write({ type: "entry", id, kind: "task", end_us: 1 }); },
  };
  new DevToolsTrack(1000, (...span) => spans.push(span)).watch(/** @type {any} */ (writer));
  return { writer, spans };
}

test("a suspension and a task step are one span each at their clock times, and still reach the writer", () => {
  const { writer, spans } = watched();
  writer.writeSuspension(1, 2, 1010, 1015, 1016, 4096, stackInfo([1], 1, "app.py:3", "run_sync"), "PyodideTask");
  writer.writeTaskStep(3, 2, 1016, 1017.5);
  assert.equal(writer.written, 2);
  assert.deepEqual(spans, [
    ["run_sync app.py:3", 1010, 1016, "suspensions", TRACK_GROUP, "primary"],
    ["task", 1016, 1017.5, "entries", TRACK_GROUP, "tertiary-light"],
  ]);
});

test("an entry is drawn when it ends, on its own line or on a later entry_end", () => {
  const { writer, spans } = watched();
  const entry = { type: "entry", id: 1, kind: "call", promising: false, name: "handle", caller: "/app.mjs:4", parent: null };
  writer.write({ ...entry, start_us: 2000, end_us: 5000, outcome: "return", error: null });
  writer.write({ ...entry, id: 2, start_us: 6000 });
  assert.equal(spans.length, 1, "a running entry is not drawn yet");
  writer.write({ type: "entry_end", id: 2, end_us: 9000, outcome: "exception", error: "ValueError: x" });
  assert.deepEqual(spans, [
    ["call handle from /app.mjs:4", 1002, 1005, "entries", TRACK_GROUP, "secondary"],
    ["call handle from /app.mjs:4", 1006, 1009, "entries", TRACK_GROUP, "error"],
  ]);
});

test("a failed switch is a red mark at its time, named by its path, site and reason", () => {
  const { writer, spans } = watched();
  writer.write({ type: "failed_switch", ts_us: 3000, entry: 1, reason: "sync-entry", path: "run_sync", stack: [1], depth: 1, site: "app.py:9", error: "RuntimeError: x" });
  assert.deepEqual(spans, [["failed switch: run_sync at app.py:9 (sync-entry)", 1003, 1003, "failed switches", TRACK_GROUP, "error"]]);
});
