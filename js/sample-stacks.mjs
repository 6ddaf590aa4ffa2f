/**
 * The stacks of CPU samples, made in JS from the frames the probe has named before: the probe names each frame (file,
 * function, line) once, and a sampled stack that is a new combination of known frames (a recursion one level deeper,
 * a library function called from another place) then costs no call into Python. Each frame is known by its code's
 * content and instruction offset (`stack-keys.mjs`, `frameKeys`), so code compiled anew for each call is known too.
 */

/** The frame id the probe gives jspiprof's launcher: a stack ends below it. */
export const LAUNCHER = -1;

/**
 * What a frame the probe does not walk is taken for: CPython's frames for a call from C (from JS, here) are in the
 * interpreter's chain but not in Python's (`f_back`).
 */
const NOT_PYTHON = 0;

/** Files whose frames next to the launcher are left out of a stack, as the probe leaves them out (`_RUNPY_FILES`). */
const RUNPY_FILES = ["runpy.py", "<frozen runpy>"];

export class SampleFrames {
  /** @param {string} probeFile the probe's own file inside Pyodide: its frames on top are left out of a stack */
  constructor(probeFile) {
    this.probeFile = probeFile;
    /** Frame id of each frame key (`frameKeys`) seen in a stack the probe named. @type {Map<string, number>} */
    this.ids = new Map();
    /** Frame ids of the probe's own frames. @type {Set<number>} */
    this.own = new Set();
    /** Frame ids of runpy's frames. @type {Set<number>} */
    this.runpy = new Set();
    /** The location (`file:line`) of each frame of the user's code (not library code). @type {Map<number, string>} */
    this.locations = new Map();
  }

  /**
   * Note the frame lines the probe sent (before their first use).
   * @param {{id: number, file: string, line: number, library: boolean}[]} frames
   */
  noteFrames(frames) {
    for (const { id, file, line, library } of frames) {
      if (file === this.probeFile) this.own.add(id);
      if (RUNPY_FILES.some((suffix) => file.endsWith(suffix))) this.runpy.add(id);
      if (!library) this.locations.set(id, `${file}:${line}`);
    }
  }

  /**
   * The site of a stack (outermost first): the location of its innermost frame of the user's code, or null.
   * @param {number[]} stack @returns {string|null}
   */
  siteOf(stack) {
    for (let i = stack.length - 1; i >= 0; i--) {
      const location = this.locations.get(stack[i]);
      if (location !== undefined) return location;
    }
    return null;
  }

  /**
   * The frame ids along a chain of frames (`frameKeys`), innermost first, up to the launcher; null when one of them
   * is unknown. @param {{key: string}[]} frames @returns {number[]|null}
   */
  chainOf(frames) {
    const chain = [];
    for (const { key } of frames) {
      const id = this.ids.get(key);
      if (id === undefined) return null;
      if (id === NOT_PYTHON) continue;
      chain.push(id);
      if (id === LAUNCHER) break;
    }
    return chain;
  }

  /**
   * Keep the frame ids the probe gave (`chain`: `[frame id, code address]` from the running frame outwards) for the
   * frames of the interpreter's chain (`frames`), matched by code address: the others are not Python's (those below
   * the launcher are not looked at). Nothing is kept unless every frame of `chain` was matched.
   * @param {{key: string, code: number}[]} frames @param {[number, number][]} chain
   */
  learn(frames, chain) {
    const ids = [];
    let matched = 0;
    for (const { code } of frames) {
      if (matched < chain.length && code === chain[matched][1]) ids.push(chain[matched++][0]);
      else if (matched === chain.length && chain[matched - 1]?.[0] === LAUNCHER) break;
      else ids.push(NOT_PYTHON);
    }
    if (matched < chain.length) return;
    ids.forEach((id, i) => this.ids.set(frames[i].key, id));
  }

  /**
   * A sample's stack (frame ids, outermost first) from its chain: without the probe's own frames on top, the
   * launcher and what is below it, and runpy's frames next to it. @param {number[]} chain @returns {number[]}
   */
  stackOf(chain) {
    let start = 0;
    while (start < chain.length && this.own.has(chain[start])) start++;
    let end = chain.indexOf(LAUNCHER);
    if (end < 0) end = chain.length;
    while (end > start && this.runpy.has(chain[end - 1])) end--;
    return chain.slice(start, end).reverse();
  }
}
