// A sample's stack made from frames the probe named before: the same stack the probe would give, without asking it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LAUNCHER, SampleFrames } from "./sample-stacks.mjs";

const PROBE = "/lib/python3.14/site-packages/jspiprof/in_pyodide/probe.py";

/** Frame lines as the probe sends them. */
const FRAMES = [
  { id: 1, file: "/home/pyodide/app.py", line: 7, library: false }, // churn
  { id: 2, file: "/home/pyodide/app.py", line: 12, library: false }, // main
  { id: 3, file: "<frozen runpy>", line: 88, library: true },
  { id: 4, file: "/lib/python314.zip/json/encoder.py", line: 200, library: true },
  { id: 5, file: PROBE, line: 300, library: true },
];

/** Frames of the interpreter's chain, innermost first: `[key, code address]`. */
const frames = (/** @type {[string, number][]} */ pairs) => pairs.map(([key, code]) => ({ key, code }));

function known() {
  const sampleFrames = new SampleFrames(PROBE);
  sampleFrames.noteFrames(FRAMES);
  // churn <- (a frame for a call from C) <- main <- runpy <- launcher <- what runs the launcher
  const chain = frames([["churn@7", 100], ["shim", 8], ["main@12", 200], ["runpy@88", 300], ["launcher", 400], ["below", 500]]);
  sampleFrames.learn(chain, [[1, 100], [2, 200], [3, 300], [LAUNCHER, 400]]);
  return sampleFrames;
}

test("a stack of known frames is made without the probe: outermost first, as far as the launcher, runpy left out", () => {
  const sampleFrames = known();
  const chain = sampleFrames.chainOf(frames([["churn@7", 104], ["shim", 8], ["main@12", 204], ["runpy@88", 304], ["launcher", 404]]));
  assert.deepEqual(chain, [1, 2, 3, LAUNCHER], "code compiled anew, of the same content, is known");
  assert.deepEqual(sampleFrames.stackOf(chain), [2, 1]);
  assert.equal(sampleFrames.siteOf([2, 1]), "/home/pyodide/app.py:7");
});

test("a new combination of known frames is known; a frame never named is not", () => {
  const sampleFrames = known();
  assert.deepEqual(sampleFrames.chainOf(frames([["main@12", 1], ["main@12", 2], ["shim", 3]])), [2, 2]);
  assert.equal(sampleFrames.chainOf(frames([["encode@200", 1], ["main@12", 2]])), null);
});

test("nothing is learnt when a frame the probe walked is not in the interpreter's chain", () => {
  const sampleFrames = new SampleFrames(PROBE);
  sampleFrames.noteFrames(FRAMES);
  sampleFrames.learn(frames([["churn@7", 100], ["main@12", 200]]), [[1, 100], [4, 999], [2, 200]]);
  assert.equal(sampleFrames.chainOf(frames([["churn@7", 100]])), null);
});

test("without a launcher (a page), the frames below the last Python one are not Python's", () => {
  const sampleFrames = new SampleFrames(PROBE);
  sampleFrames.noteFrames(FRAMES);
  const chain = frames([["encode@200", 100], ["main@12", 200], ["entry", 8]]);
  sampleFrames.learn(chain, [[4, 100], [2, 200]]);
  assert.deepEqual(sampleFrames.chainOf(chain), [4, 2]);
  assert.equal(sampleFrames.siteOf(sampleFrames.stackOf([4, 2])), "/home/pyodide/app.py:12", "the user's innermost line");
});

test("the probe's own frames on top are left out, as the probe leaves them out of a switch's stack", () => {
  const sampleFrames = known();
  assert.deepEqual(sampleFrames.stackOf([5, 1, 2, LAUNCHER]), [2, 1]);
  assert.deepEqual(sampleFrames.stackOf([1, 3, 2, 3, LAUNCHER]), [2, 3, 1], "runpy inside the program stays");
});
