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
 *
 * A page that runs `runPythonAsync(code)` per event gets new code objects for every call, so its stacks' keys
 * never match. So on a miss a second key is tried, by the code's content instead of its address: each frame's file
 * and qualified name (string objects, whose addresses stay put while the code lives), first line, line table (whose
 * bytes map each instruction to its line, so equal tables and offsets mean equal lines) and instruction offset.
 * That code layout is measured once too (`calibrateCode`). A content key never counts for a switch's innermost
 * frame, whose code decides the switch's path (what it calls), unless that code is at the same address. Every other
 * frame is keyed by content, even while its code lives: a stack first seen while the code of this call was watched
 * is then still known when the next call compiles that code anew. The content of a watched code object is read once.
 */

import { heapReader } from "./wasm-heap.mjs";

const MAX_FRAMES = 1024;
const EXECUTABLE_TAG_BITS = 3; // _PyStackRef keeps tag bits in the low bits of f_executable
const BYTES_SIZE = 8; // a wasm32 `bytes` object's length (ob_size)
const BYTES_DATA = 16; // and its first byte (ob_sval)

/**
 * @typedef {object} StackKeys
 * @property {(expected: number[][]) => boolean} calibrate
 * @property {(codes: number[][]) => boolean} calibrateCode
 * @property {() => any} lookup
 * @property {(info: any, byAddress?: boolean) => void} remember
 * @property {(address: number) => void} forget
 * @property {() => {key: string, code: number}[]|null} frameKeys
 */

/**
 * @param {any} Module Pyodide's Emscripten module
 * @param {boolean} [innermostByAddress] whether the innermost frame's code must be the very same object (switches:
 *   it decides the path) rather than code of the same content
 * @returns {StackKeys}
 */
export function createStackKeys(Module, innermostByAddress = true) {
  const heapNow = heapReader(Module);
  const threadState = Module._PyThreadState_GetUnchecked;
  let currentFrameOffset = -1;
  let previousOffset = -1;
  let instrOffset = -1;
  const scratch = new Int32Array(2 * MAX_FRAMES);
  let length = 0;
  let hash = 0;
  /**
   * @typedef {{key: Int32Array, info: any, hash: number, keys: Map<number, any[]>, held?: number[]}} Remembered a
   * frame chain's key (code, instruction pairs; or content words) in `keys`, dropped when a code it `held` is freed
   */
  /** @type {Map<number, Remembered[]>} by hash */
  const known = new Map();
  /** The remembered keys that hold each code address. @type {Map<number, Set<Remembered>>} */
  const byCode = new Map();
  /** The code objects of the stacks captured so far, until freed: the probe watches them and calls `forget`. */
  const watched = new Set();

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

  /** Byte offsets in a code object of co_filename, co_qualname, co_firstlineno, co_linetable; -1 until calibrated. */
  const codeOffsets = { file: -1, qualname: -1, firstLine: -1, lineTable: -1 };
  const CONTENT_WORDS = 5; // per frame: file, qualified name, first line, line table hash, instruction offset
  const contentScratch = new Int32Array(CONTENT_WORDS * MAX_FRAMES + 1);
  let contentLength = -1;
  let contentHash = 0;
  /** @type {Map<number, Remembered[]>} content keys, by hash */
  const knownContent = new Map();
  /** The content words (file, qualified name, first line, line table hash) of watched code objects. @type {Map<number, number[]>} */
  const watchedContent = new Map();

  /**
   * Find the code object layout: `codes` holds, for a few code objects, `[address, co_filename address,
   * co_qualname address, co_firstlineno, co_linetable address, its length, the sum of its bytes]`. True once each
   * field sits at one offset in all of them and the line tables' bytes are where `bytes` objects keep them.
   */
  function calibrateCode(codes) {
    const heap = heapNow();
    /** The one offset where word `column` of every sample sits, or -1. @param {number} column */
    const offsetOf = (column) => {
      const fits = [];
      for (let offset = 8; offset < 512; offset += 4) {
        if (codes.every((code) => heap[(code[0] + offset) >>> 2] === code[column] >>> 0)) fits.push(offset);
      }
      return fits.length === 1 ? fits[0] : -1;
    };
    const found = { file: offsetOf(1), qualname: offsetOf(2), firstLine: offsetOf(3), lineTable: offsetOf(4) };
    if (Object.values(found).some((offset) => offset < 0)) return false;
    const bytes = new Uint8Array(heap.buffer);
    for (const [, , , , table, length, sum] of codes) {
      if (heap[(table + BYTES_SIZE) >>> 2] !== length) return false;
      let total = 0;
      for (let i = 0; i < length; i++) total += bytes[table + BYTES_DATA + i];
      if (total !== sum) return false;
    }
    Object.assign(codeOffsets, found);
    return true;
  }

  /** A byte view of the heap's current buffer. @type {Uint8Array|null} */
  let bytesView = null;

  /**
   * The content words of the code object at `code`, or null when its line table is not one. Kept for a watched
   * code object (the hook hears when it is freed), read afresh for others.
   * @param {number} code @param {Uint32Array} heap @returns {number[]|null}
   */
  function contentOf(code, heap) {
    const kept = watchedContent.get(code);
    if (kept !== undefined) return kept;
    if (bytesView === null || bytesView.buffer !== heap.buffer) bytesView = new Uint8Array(heap.buffer);
    const bytes = bytesView;
    const table = heap[(code + codeOffsets.lineTable) >>> 2];
    const tableLength = heap[(table + BYTES_SIZE) >>> 2];
    if (!(tableLength <= 65536)) return null; // not a line table
    let tableHash = 0x811c9dc5;
    for (let b = table + BYTES_DATA, end = b + tableLength; b < end; b++) tableHash = Math.imul(tableHash ^ bytes[b], 16777619);
    const content = [
      heap[(code + codeOffsets.file) >>> 2] | 0,
      heap[(code + codeOffsets.qualname) >>> 2] | 0,
      heap[(code + codeOffsets.firstLine) >>> 2] | 0,
      tableHash,
    ];
    if (watched.has(code)) watchedContent.set(code, content);
    return content;
  }

  /**
   * Read the current frame chain's content key into `contentScratch` (after `lookup` read its addresses); returns
   * the remembered info for it, if any. For a switch the innermost frame is keyed by its code address and
   * instruction; every other frame by content.
   */
  function lookupContent() {
    contentLength = -1;
    if (codeOffsets.file < 0 || length <= 0) return undefined;
    const heap = heapNow();
    let h = 0x811c9dc5;
    let n = 0;
    const push = (/** @type {number} */ word) => {
      contentScratch[n++] = word;
      h = Math.imul(h ^ word, 16777619);
    };
    let i = 0;
    if (innermostByAddress) {
      push(scratch[0]);
      push(scratch[1]);
      i = 2;
    }
    for (; i < length; i += 2) {
      const code = scratch[i] & ~EXECUTABLE_TAG_BITS;
      const content = contentOf(code, heap);
      if (content === null) return undefined;
      push(content[0]);
      push(content[1]);
      push(content[2]);
      push(content[3]);
      push((scratch[i + 1] - code) | 0);
    }
    contentLength = n;
    contentHash = h;
    return find(knownContent, contentScratch, n, h);
  }

  /** The info remembered in `keys` under the first `count` words of `words` (hashed `h`), if any. */
  function find(keys, words, count, h) {
    const bucket = keys.get(h);
    if (bucket === undefined) return undefined;
    outer: for (const { key, info } of bucket) {
      if (key.length !== count) continue;
      for (let i = 0; i < count; i++) if (key[i] !== words[i]) continue outer;
      return info;
    }
    return undefined;
  }

  /**
   * The remembered info for the current frame chain, if any: by its code addresses, else by its code's content
   * (the chain is read into `scratch`, its content key into `contentScratch`, for `remember`).
   */
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
    contentLength = -1;
    if (length < 0) return undefined;
    return find(known, scratch, length, h) ?? lookupContent();
  }

  /** Add `remembered` to `keys` and to the holders of each code address in `addresses`. */
  function add(keys, remembered, addresses) {
    remembered.held = addresses;
    const bucket = keys.get(remembered.hash) ?? [];
    bucket.push(remembered);
    keys.set(remembered.hash, bucket);
    for (const address of addresses) {
      const holders = byCode.get(address) ?? new Set();
      holders.add(remembered);
      byCode.set(address, holders);
    }
  }

  /**
   * Remember `info` for the chain the last `lookup()` read, by its content and, when the probe has just captured the
   * chain (`byAddress`: it then watches each of its code objects and tells `forget` when one is freed), by its code
   * addresses. A chain made of frames named before is not watched: keyed by address, it would outlive its code.
   */
  function remember(info, byAddress = true) {
    if (instrOffset < 0 || length < 0) return;
    const addresses = [];
    for (let i = 0; i < length; i += 2) addresses.push(scratch[i] & ~EXECUTABLE_TAG_BITS);
    if (byAddress) {
      for (const address of addresses) watched.add(address);
      add(known, { key: scratch.slice(0, length), info, hash, keys: known }, addresses);
    }
    if (contentLength < 0) return;
    const key = contentScratch.slice(0, contentLength);
    // A switch's key holds its innermost code's address: it is dropped when that code is freed.
    add(knownContent, { key, info, hash: contentHash, keys: knownContent }, innermostByAddress ? [addresses[0]] : []);
  }

  /**
   * Each frame's own key (its code's content and instruction offset) and code address along the chain the last
   * `lookup()` read, innermost first; null when there is none (no content key, or a switch's, whose innermost frame
   * is keyed by address). @returns {{key: string, code: number}[]|null}
   */
  function frameKeys() {
    if (contentLength < 0 || innermostByAddress) return null;
    const frames = [];
    for (let i = 0; i < contentLength; i += CONTENT_WORDS) {
      const key = contentScratch.subarray(i, i + CONTENT_WORDS).join(",");
      frames.push({ key, code: (scratch[(2 * i) / CONTENT_WORDS] & ~EXECUTABLE_TAG_BITS) >>> 0 });
    }
    return frames;
  }

  /** Drop every key that holds the address of a code object being freed. @param {number} address */
  function forget(address) {
    watched.delete(address | 0);
    watchedContent.delete(address | 0);
    const holders = byCode.get(address | 0);
    if (holders === undefined) return;
    for (const remembered of holders) {
      const keys = remembered.keys;
      const bucket = keys.get(remembered.hash) ?? [];
      const at = bucket.indexOf(remembered);
      if (at >= 0) bucket.splice(at, 1);
      if (bucket.length === 0) keys.delete(remembered.hash);
      for (const other of remembered.held) {
        const others = byCode.get(other);
        if (others === undefined || others === holders) continue;
        others.delete(remembered);
        if (others.size === 0) byCode.delete(other);
      }
    }
    byCode.delete(address | 0);
  }

  return { calibrate, calibrateCode, lookup, remember, forget, frameKeys };
}
