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

  describe("by content", () => {
    // A code object's fields (CPython's layout is found by calibrateCode) and `bytes` objects for line tables.
    const FILE = 80;
    const NAME = 84; // co_name: the qualified name too, except for a nested function (a decoy)
    const QUALNAME = 88;
    const FIRST_LINE = 44;
    const LINE_TABLE = 92;
    let nextBytes = 57344;

    /** Store a `bytes` object holding `values`; its address. @param {FakeHeap} module @param {number[]} values */
    function bytesObject(module, values) {
      const address = nextBytes;
      nextBytes += 16 + Math.ceil(values.length / 4) * 4;
      module.set(address + 8, values.length);
      new Uint8Array(module.HEAPU32.buffer).set(values, address + 16);
      return address;
    }

    /**
     * Lay out a code object at `code`. @param {FakeHeap} module @param {number} code
     * @param {{file: number, name?: number, qualname: number, firstLine: number, table: number[]}} fields
     */
    function codeObject(module, code, { file, name, qualname, firstLine, table }) {
      module.set(code + FILE, file);
      module.set(code + NAME, name ?? qualname);
      module.set(code + QUALNAME, qualname);
      module.set(code + FIRST_LINE, firstLine);
      const tableAddress = bytesObject(module, table);
      module.set(code + LINE_TABLE, tableAddress);
      return [code, file, qualname, firstLine, tableAddress, table.length, table.reduce((a, b) => a + b, 0)];
    }

    /** Keys calibrated for frames and for code; the app's code objects laid out as `APP_STACK`. */
    function calibratedByContent(innermostByAddress = true) {
      const module = new FakeHeap(16384);
      const keys = createStackKeys(module, innermostByAddress);
      const probeCodes = [
        codeObject(module, SAMPLE_FRAME, { file: 100, name: 104, qualname: 108, firstLine: 300, table: [1, 2, 3] }),
        codeObject(module, CALIBRATE, { file: 100, qualname: 112, firstLine: 320, table: [4, 5] }),
        codeObject(module, CALLERS[0].code, { file: 116, qualname: 120, firstLine: 17, table: [6] }),
      ];
      const first = [{ code: SAMPLE_FRAME, lasti: 10 }, { code: CALIBRATE, lasti: 4 }, ...CALLERS];
      module.setStack(first);
      keys.calibrate(sample(first));
      const second = [{ code: SAMPLE_FRAME, lasti: 10 }, { code: CALIBRATE, lasti: 8 }, ...CALLERS];
      module.setStack(second, [10, 4, 30, 12], 3);
      assert.equal(keys.calibrate(sample(second)), true);
      assert.equal(keys.calibrateCode(probeCodes), true);
      codeObject(module, APP_STACK[0].code, { file: 200, qualname: 204, firstLine: 3, table: [7, 8] });
      codeObject(module, APP_STACK[1].code, { file: 208, qualname: 212, firstLine: 1, table: [9, 9, 9] });
      module.setStack(APP_STACK);
      return { module, keys };
    }

    /** `APP_STACK` with its outer code compiled anew at `address` (same content unless `table` differs). */
    function recompiledOuter(module, address, table = [9, 9, 9], lasti = APP_STACK[1].lasti) {
      codeObject(module, address, { file: 208, qualname: 212, firstLine: 1, table });
      module.setStack([APP_STACK[0], { code: address, lasti }]);
    }

    test("recognise a stack whose outer code was compiled anew, as runPythonAsync does per call", () => {
      const { module, keys } = calibratedByContent();
      keys.lookup();
      const info = { site: "app.py:3" };
      keys.remember(info);
      recompiledOuter(module, 40960);
      assert.equal(keys.lookup(), info, "code of the same content, compiled again, is not asked of the probe");
      recompiledOuter(module, 53248, [9, 9, 8]);
      assert.equal(keys.lookup(), undefined, "another line table: maybe other lines");
    });

    for (const innermostByAddress of [true, false]) {
      test(`a stack first seen while its outer code lived is known once that code is compiled anew (${innermostByAddress ? "switches" : "samples"})`, () => {
        const { module, keys } = calibratedByContent(innermostByAddress);
        keys.lookup();
        keys.remember({ site: "app.py:3" });
        module.setStack([APP_STACK[0], { code: APP_STACK[1].code, lasti: 24 }]); // the probe watches that code now
        assert.equal(keys.lookup(), undefined);
        const later = { site: "app.py:5" };
        keys.remember(later);
        keys.forget(APP_STACK[1].code);
        recompiledOuter(module, 40960, [9, 9, 9], 24);
        assert.equal(keys.lookup(), later);
      });
    }

    test("a switch's innermost code must be the same object: it decides what asked for the switch", () => {
      const { module, keys } = calibratedByContent();
      keys.lookup();
      keys.remember({ site: "app.py:3" });
      codeObject(module, 40960, { file: 200, qualname: 204, firstLine: 3, table: [7, 8] }); // same content
      module.setStack([{ code: 40960, lasti: APP_STACK[0].lasti }, APP_STACK[1]]);
      assert.equal(keys.lookup(), undefined);
      keys.forget(APP_STACK[0].code);
      module.setStack(APP_STACK);
      assert.equal(keys.lookup(), undefined, "nor once that code was freed");
    });

    test("a sample's innermost code may be new too: samples have no path", () => {
      const { module, keys } = calibratedByContent(false);
      keys.lookup();
      const info = { site: "app.py:3" };
      keys.remember(info);
      for (const address of [40960, 45056]) {
        codeObject(module, address, { file: 200, qualname: 204, firstLine: 3, table: [7, 8] });
        module.setStack([{ code: address, lasti: APP_STACK[0].lasti }, APP_STACK[1]]);
        assert.equal(keys.lookup(), info);
      }
    });

    test("a sample's stack made of frames named before is kept by content only: no one watches its code", () => {
      const { module, keys } = calibratedByContent(false);
      keys.lookup();
      const info = { site: "app.py:3" };
      keys.remember(info, false);
      recompiledOuter(module, 40960);
      assert.equal(keys.lookup(), info, "known by content");
      recompiledOuter(module, APP_STACK[1].code, [9, 9, 8]); // freed unseen, other code compiled at its address
      assert.equal(keys.lookup(), undefined, "not taken for the freed code by its address");
    });

    test("give no content keys when the code fields are not found", () => {
      const module = new FakeHeap(16384);
      const keys = createStackKeys(module);
      assert.equal(keys.calibrateCode([[SAMPLE_FRAME, 1, 2, 3, 4, 0, 0]]), false);
    });
  });
});
