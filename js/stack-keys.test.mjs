// The stack-key calibration against a fake wasm heap laid out like CPython's frames: the hook must find the
// frame fields from the probe's samples, recognise a stack seen before, and never take a new one for an old one.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createStackKeys } from "./stack-keys.mjs";

const THREAD_STATE = 1024; // byte address of the thread state
const CURRENT_FRAME = 40; // its field holding the innermost frame
const PREVIOUS = 4; // a frame's field holding its caller's frame
const FUNCTION = 8; // a pointer near the code object that does not move with the instruction (a decoy)
const SHIFTING = 12; // a decoy that moves with the instruction, at another distance in each sample
const INSTRUCTION = 28; // the instruction pointer: code address + f_lasti + RESIDUAL
const RESIDUAL = 48;
const FRAME_SIZE = 64;
const TAG = 1; // _PyStackRef's tag bit in f_executable

/**
 * A heap of 32-bit words holding a chain of frames, innermost first, each `{code, lasti}`. Two decoy fields fit
 * one sample as well as the instruction pointer does: one holds `f_lasti` frozen at `decoyLasti`, the other sits
 * `shift` past code address + f_lasti.
 */
class FakeHeap {
  constructor(words = 4096) {
    this.HEAPU32 = new Uint32Array(words);
    this._PyThreadState_GetUnchecked = () => THREAD_STATE;
  }

  /** @param {number} address @param {number} value */
  set(address, value) {
    this.HEAPU32[address >>> 2] = value;
  }

  /**
   * Lay out `frames` (innermost first) at 8192 onwards and make the innermost the current one.
   * @param {Array<{code: number, lasti: number}>} frames @param {number[]} [decoyLasti] @param {number} [shift]
   */
  setStack(frames, decoyLasti = frames.map(({ lasti }) => lasti), shift = 2) {
    const base = 8192;
    frames.forEach(({ code, lasti }, i) => {
      const frame = base + i * FRAME_SIZE;
      this.set(frame, code | TAG);
      this.set(frame + PREVIOUS, i + 1 < frames.length ? frame + FRAME_SIZE : 0);
      this.set(frame + FUNCTION, code + decoyLasti[i] + 6);
      this.set(frame + SHIFTING, code + lasti + shift);
      this.set(frame + INSTRUCTION, code + lasti + RESIDUAL);
    });
    this.set(THREAD_STATE + CURRENT_FRAME, base);
  }
}

/** What the probe's calibration hands over: `[code address, f_lasti]` per frame, innermost first. */
function sample(/** @type {Array<{code: number, lasti: number}>} */ frames) {
  return frames.map(({ code, lasti }) => [code, lasti]);
}

const SAMPLE_FRAME = 16384; // the probe's calibration function
const CALIBRATE = 20480; // the probe's function calling it twice, from two instructions
const CALLERS = [
  { code: 24576, lasti: 30 },
  { code: 28672, lasti: 12 },
];

/** A heap calibrated as the probe does it, and its stack keys. */
function calibrated() {
  const module = new FakeHeap(16384);
  const keys = createStackKeys(module);
  const first = [{ code: SAMPLE_FRAME, lasti: 10 }, { code: CALIBRATE, lasti: 4 }, ...CALLERS];
  module.setStack(first);
  assert.equal(keys.calibrate(sample(first)), false, "one sample cannot tell the instruction from the decoys");
  const second = [{ code: SAMPLE_FRAME, lasti: 10 }, { code: CALIBRATE, lasti: 8 }, ...CALLERS];
  module.setStack(second, [10, 4, 30, 12], 3);
  assert.equal(keys.calibrate(sample(second)), true);
  return { module, keys };
}

const APP_STACK = [
  { code: 32768, lasti: 100 },
  { code: 36864, lasti: 20 },
];

describe("stack keys", () => {
  test("find the frame layout from two samples, then recognise a stack remembered before", () => {
    const { module, keys } = calibrated();
    module.setStack(APP_STACK);
    assert.equal(keys.lookup(), undefined, "a stack never seen");
    const info = { site: "app.py:3" };
    keys.remember(info);
    module.setStack([{ code: 40960, lasti: 2 }]);
    assert.equal(keys.lookup(), undefined);
    module.setStack(APP_STACK);
    assert.equal(keys.lookup(), info);
  });

  test("never trust one sample, even where only one field fits it", () => {
    const module = new FakeHeap(16384);
    const keys = createStackKeys(module);
    const frames = [{ code: SAMPLE_FRAME, lasti: 10 }, { code: CALIBRATE, lasti: 4 }, ...CALLERS];
    module.setStack(frames);
    for (let i = 0; i < frames.length; i++) {
      module.set(8192 + i * FRAME_SIZE + FUNCTION, 0);
      module.set(8192 + i * FRAME_SIZE + SHIFTING, 0);
    }
    assert.equal(keys.calibrate(sample(frames)), false);
  });

  test("tell apart the same functions at another instruction", () => {
    const { module, keys } = calibrated();
    module.setStack(APP_STACK);
    keys.lookup();
    keys.remember({ site: "app.py:3" });
    module.setStack([{ code: 32768, lasti: 102 }, APP_STACK[1]]);
    assert.equal(keys.lookup(), undefined);
  });

  test("forget every stack holding a freed code object, so another one at its address is new", () => {
    const { module, keys } = calibrated();
    module.setStack(APP_STACK);
    keys.lookup();
    keys.remember({ site: "app.py:3" });
    const other = [{ code: 40960, lasti: 2 }, APP_STACK[1]];
    module.setStack(other);
    keys.lookup();
    const kept = { site: "lib.py:9" };
    keys.remember(kept);
    keys.forget(APP_STACK[0].code);
    module.setStack(APP_STACK);
    assert.equal(keys.lookup(), undefined, "the code at that address may be another one now");
    module.setStack(other);
    assert.equal(keys.lookup(), kept, "stacks without the freed code are kept");
  });

  test("give no fast path when no frame field fits (another CPython)", () => {
    const module = new FakeHeap(16384);
    const keys = createStackKeys(module);
    module.setStack(APP_STACK);
    const wrong = [[SAMPLE_FRAME, 1], [CALIBRATE, 2]];
    assert.equal(keys.calibrate(wrong), false);
    assert.equal(keys.calibrate(wrong), false);
    keys.remember({ site: "app.py:3" });
    assert.equal(keys.lookup(), undefined);
  });

  test("read the new memory after wasm memory grew", () => {
    const { module, keys } = calibrated();
    module.setStack(APP_STACK);
    keys.lookup();
    const info = { site: "app.py:3" };
    keys.remember(info);
    const grown = module.HEAPU32.buffer.transfer(module.HEAPU32.byteLength * 2); // detaches the old buffer
    module.HEAPU32 = new Uint32Array(grown);
    assert.equal(keys.lookup(), info);
    module.setStack([{ code: 40960, lasti: 2 }]);
    assert.equal(keys.lookup(), undefined);
  });
});
