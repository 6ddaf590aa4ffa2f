/**
 * A fast path for the Python stack at a switch: instead of calling the Python probe every time, read the
 * interpreter's frame chain straight from wasm memory (each frame's code object and instruction pointer) and
 * look the result up among the stacks seen before. Only a stack never seen before calls the probe.
 *
 * The layout of CPython's frames is not public, so it is measured once at start: the probe calls `calibrate`
 * with the addresses (`id()`) of its own callers' code objects, and the offsets that reproduce them are kept.
 * When no offsets fit (another CPython), there is no fast path and every switch asks the probe.
 * Code objects of remembered stacks stay alive (the probe interns them), so their addresses are not reused.
 */

const MAX_FRAMES = 1024;
const EXECUTABLE_TAG_BITS = 3; // _PyStackRef keeps tag bits in the low bits of f_executable

/**
 * @param {any} Module Pyodide's Emscripten module
 * @returns {{calibrate: (expected: number[]) => boolean, lookup: () => any, remember: (info: any) => void}}
 */
export function createStackKeys(Module) {
  let currentFrameOffset = -1;
  let previousOffset = -1;
  let instrOffset = -1;
  const scratch = new Int32Array(2 * MAX_FRAMES);
  let length = 0;
  let hash = 0;
  /** @type {Map<number, {key: Int32Array, info: any}[]>} */
  const known = new Map();

  /** The code addresses along the chain from `frame` with these offsets (up to `limit` frames). */
  function walk(frame, prevOffset, limit) {
    const heap = Module.HEAPU32;
    const codes = [];
    while (frame !== 0 && codes.length < limit) {
      if (frame % 4 !== 0 || frame >>> 2 >= heap.length) return null;
      codes.push((heap[frame >>> 2] & ~EXECUTABLE_TAG_BITS) >>> 0);
      frame = heap[(frame + prevOffset) >>> 2];
    }
    return codes;
  }

  /** True if `expected` (innermost first) appears in order in `codes`, starting at its first element. */
  function matches(codes, expected) {
    if (codes === null || codes[0] !== expected[0]) return false;
    let next = 0;
    for (const code of codes) if (code === expected[next] && ++next === expected.length) return true;
    return false;
  }

  /**
   * Find the offsets from the probe's own stack: `expected` are its callers' code addresses, innermost first.
   * Called from Python while that stack is the current one.
   */
  function calibrate(expected) {
    const heap = Module.HEAPU32;
    const tstate = Module._PyThreadState_GetUnchecked();
    for (let offset = 0; offset < 512 && currentFrameOffset < 0; offset += 4) {
      const frame = heap[(tstate + offset) >>> 2];
      for (const prevOffset of [4, 8]) {
        if (matches(walk(frame, prevOffset, 4 * expected.length + 16), expected)) {
          currentFrameOffset = offset;
          previousOffset = prevOffset;
          break;
        }
      }
    }
    if (currentFrameOffset < 0) return false;
    // The instruction pointer points into the code object's own bytecode, just after its header.
    const frame = heap[(tstate + currentFrameOffset) >>> 2];
    const code = heap[frame >>> 2] & ~EXECUTABLE_TAG_BITS;
    for (let offset = previousOffset + 4; offset < 64; offset += 4) {
      const pointer = heap[(frame + offset) >>> 2];
      if (pointer > code && pointer < code + 65536) {
        instrOffset = offset;
        return true;
      }
    }
    currentFrameOffset = -1;
    return false;
  }

  /** Read the current frame chain into `scratch`; returns the remembered info for it, if any. */
  function lookup() {
    if (instrOffset < 0) return undefined;
    const heap = Module.HEAPU32;
    let frame = heap[(Module._PyThreadState_GetUnchecked() + currentFrameOffset) >>> 2];
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
    const bucket = known.get(hash) ?? [];
    bucket.push({ key: scratch.slice(0, length), info });
    known.set(hash, bucket);
  }

  return { calibrate, lookup, remember };
}
