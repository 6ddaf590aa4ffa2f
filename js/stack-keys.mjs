/**
 * A fast path for the Python stack at a switch: instead of calling the Python probe every time, read the
 * interpreter's frame chain straight from wasm memory (each frame's code object and instruction pointer) and
 * look the result up among the stacks seen before. Only a stack never seen before calls the probe.
 *
 * The layout of CPython's frames is not public, so it is measured once at start: the probe calls `calibrate`
 * with the code addresses (`id()`) and `f_lasti` of its own frames, and the offsets that reproduce them are kept.
 * When no offsets fit (another CPython), there is no fast path and every switch asks the probe.
 * A code object can be freed and another compiled at its address (each `runPython` call compiles its own code):
 * the probe tells `forget` the address of each freed code object of a captured stack, and every key holding it is
 * dropped, so a new code object is never taken for the old one.
 */

import { heapReader } from "./wasm-heap.mjs";

const MAX_FRAMES = 1024;
const EXECUTABLE_TAG_BITS = 3; // _PyStackRef keeps tag bits in the low bits of f_executable

/**
 * @param {any} Module Pyodide's Emscripten module
 * @returns {{calibrate: (expected: number[][]) => boolean, lookup: () => any, remember: (info: any) => void, forget: (address: number) => void}}
 */
export function createStackKeys(Module) {
  const heapNow = heapReader(Module);
  const threadState = Module._PyThreadState_GetUnchecked;
  let currentFrameOffset = -1;
  let previousOffset = -1;
  let instrOffset = -1;
  const scratch = new Int32Array(2 * MAX_FRAMES);
  let length = 0;
  let hash = 0;
  /** @typedef {{key: Int32Array, info: any, hash: number}} Remembered a frame chain's key (code, instruction pairs) */
  /** @type {Map<number, Remembered[]>} by hash */
  const known = new Map();
  /** The remembered keys that hold each code address. @type {Map<number, Set<Remembered>>} */
  const byCode = new Map();

  /** The frame addresses along the chain from `frame` with this `previous` offset (up to `limit`), or null. */
  function walk(frame, prevOffset, limit) {
    const heap = Module.HEAPU32;
    const frames = [];
    while (frame !== 0 && frames.length < limit) {
      if (frame % 4 !== 0 || frame >>> 2 >= heap.length) return null;
      frames.push(frame);
      frame = heap[(frame + prevOffset) >>> 2];
    }
    return frames;
  }

  /** The code object address a frame runs. @param {number} frame */
  function codeOf(frame) {
    return (Module.HEAPU32[frame >>> 2] & ~EXECUTABLE_TAG_BITS) >>> 0;
  }

  /**
   * The frames of `chain` that run `expected`'s code objects, one per expected frame and in order (the chain's
   * first frame must be the first), or null when they are not all there.
   */
  function align(chain, expected) {
    if (chain === null || codeOf(chain[0]) !== expected[0][0]) return null;
    const aligned = [];
    for (const frame of chain) {
      if (codeOf(frame) !== expected[aligned.length][0]) continue;
      aligned.push(frame);
      if (aligned.length === expected.length) return aligned;
    }
    return null;
  }

  /**
   * instruction pointer - code address - f_lasti at `offset` in each frame but the innermost (whose f_lasti
   * was read at another instruction), when it is the same small number in all of them; else null.
   */
  function residualAt(aligned, expected, offset) {
    const heap = Module.HEAPU32;
    let residual = null;
    for (let i = 1; i < aligned.length; i++) {
      const value = heap[(aligned[i] + offset) >>> 2] - expected[i][0] - expected[i][1];
      if (value < 0 || value >= 1024 || (residual !== null && value !== residual)) return null;
      residual = value;
    }
    return residual;
  }

  /** Offsets that fit every calibration sample so far -> their residual (`residualAt`). @type {Map<number, number>|null} */
  let candidates = null;

  /**
   * Find the offsets from the probe's own stack: `expected` holds `[code address, f_lasti]` of each of its
   * frames, innermost first. Called from Python while that stack is the current one, at least twice, from two
   * instructions of one frame: the instruction pointer is the one field that keeps the same small distance
   * from code address + f_lasti in every caller frame of every sample (a pointer that merely lands near the
   * code object, such as the function object, does not move with f_lasti). True once exactly one field fits.
   */
  function calibrate(expected) {
    const heap = Module.HEAPU32;
    const tstate = Module._PyThreadState_GetUnchecked();
    const limit = 4 * expected.length + 16;
    for (let offset = 0; offset < 512 && currentFrameOffset < 0; offset += 4) {
      const frame = heap[(tstate + offset) >>> 2];
      for (const prevOffset of [4, 8]) {
        if (align(walk(frame, prevOffset, limit), expected) !== null) {
          currentFrameOffset = offset;
          previousOffset = prevOffset;
          break;
        }
      }
    }
    if (currentFrameOffset < 0) return false;
    const aligned = align(walk(heap[(tstate + currentFrameOffset) >>> 2], previousOffset, limit), expected);
    if (aligned === null || aligned.length < 2) return false;
    const fits = new Map();
    for (let offset = previousOffset + 4; offset < 64; offset += 4) {
      const residual = residualAt(aligned, expected, offset);
      if (residual !== null && (candidates === null || candidates.get(offset) === residual)) fits.set(offset, residual);
    }
    const firstSample = candidates === null;
    candidates = fits;
    instrOffset = !firstSample && fits.size === 1 ? [...fits.keys()][0] : -1;
    return instrOffset >= 0;
  }

  /** Read the current frame chain into `scratch`; returns the remembered info for it, if any. */
  function lookup() {
    if (instrOffset < 0) return undefined;
    const heap = heapNow();
    let frame = heap[(threadState() + currentFrameOffset) >>> 2];
    let h = 0x811c9dc5;
    let n = 0;
    while (frame !== 0 && n < 2 * MAX_FRAMES) {
      const code = heap[frame >>> 2] | 0;
      const instr = heap[(frame + instrOffset) >>> 2] | 0;
      scratch[n++] = code;
      scratch[n++] = instr;
      h = Math.imul(h ^ code, 16777619);
      h = Math.imul(h ^ instr, 16777619);
      frame = heap[(frame + previousOffset) >>> 2];
    }
    length = frame === 0 ? n : -1;
    hash = h;
    if (length < 0) return undefined;
    const bucket = known.get(h);
    if (bucket === undefined) return undefined;
    outer: for (const { key, info } of bucket) {
      if (key.length !== length) continue;
      for (let i = 0; i < length; i++) if (key[i] !== scratch[i]) continue outer;
      return info;
    }
    return undefined;
  }

  /** Remember `info` for the chain the last `lookup()` read. */
  function remember(info) {
    if (instrOffset < 0 || length < 0) return;
    const remembered = { key: scratch.slice(0, length), info, hash };
    const bucket = known.get(hash) ?? [];
    bucket.push(remembered);
    known.set(hash, bucket);
    for (let i = 0; i < length; i += 2) {
      const address = remembered.key[i] & ~EXECUTABLE_TAG_BITS;
      const holders = byCode.get(address) ?? new Set();
      holders.add(remembered);
      byCode.set(address, holders);
    }
  }

  /** Drop every key that holds the address of a code object being freed. @param {number} address */
  function forget(address) {
    const holders = byCode.get(address | 0);
    if (holders === undefined) return;
    for (const remembered of holders) {
      const bucket = known.get(remembered.hash) ?? [];
      const at = bucket.indexOf(remembered);
      if (at >= 0) bucket.splice(at, 1);
      if (bucket.length === 0) known.delete(remembered.hash);
      for (let i = 0; i < remembered.key.length; i += 2) {
        const other = remembered.key[i] & ~EXECUTABLE_TAG_BITS;
        const others = byCode.get(other);
        if (others === undefined || others === holders) continue;
        others.delete(remembered);
        if (others.size === 0) byCode.delete(other);
      }
    }
    byCode.delete(address | 0);
  }

  return { calibrate, lookup, remember, forget };
}
