import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { errorSince, hookPythonErrors } from "./python-errors.mjs";
import { withoutHookFrames } from "./tracebacks.mjs";

const HOOK = "https://example.test/jspiprof-hook.mjs";

/** An error whose stack has a frame of Pyodide, two of the hook and one of the app. */
function errorThroughTheHook(message) {
  const error = new Error(message);
  error.stack = [
    `Error: ${message}`,
    "    at new_error (https://example.test/pyodide/pyodide.asm.mjs:1:5)",
    `    at jspiprofNewError (${HOOK}:40:7)`,
    `    at runSync (${HOOK}:86:22)`,
    "    at onClick (https://example.test/app.js:12:3)",
  ].join("\n");
  return error;
}

describe("python-errors", () => {
  test("a PythonError Pyodide makes loses the hook's frames and is the latest, counted", () => {
    const env = { new_error: (type, message) => Object.assign(errorThroughTheHook(message), { type }) };
    const errors = hookPythonErrors(env, HOOK);
    const before = errors.count;
    assert.equal(errorSince(errors, before), null, "no error since: unknown");
    const error = env.new_error("ValueError", "boom", 0);
    assert.equal(errors.count, before + 1);
    assert.equal(errorSince(errors, before), error);
    assert.equal(errorSince(errors, errors.count), null, "an older error is not this entry's");
    assert.ok(!error.stack.includes(HOOK));
    assert.match(error.stack, /new_error .*\n.*onClick \(https:\/\/example.test\/app.js:12:3\)$/);
  });

  test("an error without the hook's frames, without a stack or frozen keeps what it has", () => {
    const plain = new Error("plain");
    const stack = plain.stack;
    withoutHookFrames(plain, HOOK);
    assert.equal(plain.stack, stack);
    const frozen = Object.freeze(errorThroughTheHook("frozen"));
    withoutHookFrames(frozen, HOOK);
    assert.ok(frozen.stack.includes(HOOK));
    withoutHookFrames("a string", HOOK);
    withoutHookFrames(null, HOOK);
  });
});
