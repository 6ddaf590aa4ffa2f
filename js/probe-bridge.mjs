/**
 * Installs jspiprof's in-Pyodide Python package (`jspiprof/__init__.py` and the whole `jspiprof/in_pyodide/`
 * folder) into Pyodide and lets the hook ask its probe for the Python stack at a switch. The probe answers with
 * a stack id, or, for a stack it has never named, with its description (frames not sent yet, id, stack, depth,
 * site, path), which the hook caches. A stack seen before is recognised from wasm memory without calling Python at all
 * (`stack-keys.mjs`).
 */
import { createStackKeys } from "./stack-keys.mjs";
import { stackInfo } from "./recorder.mjs";
import { SampleFrames } from "./sample-stacks.mjs";
import { embeddedPythonFiles } from "./one-file.mjs";

/**
 * The `jspiprof` package folder: next to `js/` in a source checkout, or the package this module is shipped in
 * (`jspiprof/_js/`) when installed from the wheel.
 */
function packageURL() {
  return new URL(import.meta.url.includes("/jspiprof/_js/") ? "../" : "../jspiprof/", import.meta.url);
}

/**
 * The files of `jspiprof/in_pyodide/` a browser fetches, with their sub-folders: a page cannot list a folder over
 * HTTP. Under Node the folder is read whole; a test (`tests/test_diagnose_in_pyodide.py`) keeps this list equal to
 * the folder.
 */
export const IN_PYODIDE_FILES = [
  "__init__.py",
  "busywait.py",
  "diagnose/__init__.py",
  "diagnose/classifiers.py",
  "diagnose/entry_point.py",
  "diagnose/fixes.py",
  "diagnose/parsing.py",
  "diagnose/problem.py",
  "diagnose/python_stack.py",
  "launcher.py",
  "probe.py",
];

/**
 * The package's Python files as (path relative to the package, bytes): embedded in the one-file hook, or else read
 * from disk under Node, over HTTP in a browser.
 * @returns {Promise<Array<[string, Uint8Array]>>}
 */
export async function packageFiles() {
  const embedded = embeddedPythonFiles();
  if (embedded !== null) {
    const encoder = new TextEncoder();
    return Object.entries(embedded).map(([name, text]) => [name, encoder.encode(text)]);
  }
  const PACKAGE_URL = packageURL();
  if (PACKAGE_URL.protocol === "file:") {
    const fs = await import("node:fs");
    const { fileURLToPath } = await import("node:url");
    const root = fileURLToPath(PACKAGE_URL);
    const inside = fs.readdirSync(new URL("in_pyodide/", PACKAGE_URL), { recursive: true, encoding: "utf8" });
    const names = ["__init__.py", ...inside.filter((name) => name.endsWith(".py")).map((name) => `in_pyodide/${name}`)];
    return names.map((name) => [name, fs.readFileSync(root + name)]);
  }
  const names = ["__init__.py", ...IN_PYODIDE_FILES.map((name) => `in_pyodide/${name}`)];
  return Promise.all(names.map(async (name) => {
    const url = new URL(name, PACKAGE_URL);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`jspiprof: cannot load its Python probe from ${url} (HTTP ${response.status}).`);
    return /** @type {[string, Uint8Array]} */ ([name, new Uint8Array(await response.arrayBuffer())]);
  }));
}

/**
 * Copy the package into Pyodide's site-packages, import it and connect it to the recorder.
 * @param {any} pyodide
 * @param {import("./recorder.mjs").Recorder} recorder
 * @param {{start: () => void, stop: () => void}} control what `jspiprof.start()` / `stop()` call in Python
 * @param {(ptr: number, args: any[]) => any} callPyObject Pyodide's own (unwrapped) synchronous call
 */
export async function installProbe(pyodide, recorder, control, callPyObject) {
  const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
  for (const [name, bytes] of await packageFiles()) {
    const path = `${sitePackages}/jspiprof/${name}`;
    pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    pyodide.FS.writeFile(path, bytes);
  }
  const probe = pyodide.pyimport("jspiprof.in_pyodide.probe");
  probe.attach(control);
  // A time.sleep that cannot stack switch busy-waits and blocks the event loop: record it as a failed switch.
  pyodide.pyimport("jspiprof.in_pyodide.busywait").install((seconds) => {
    if (recorder.recording) {
      recorder.writeFailedSwitch("busy-wait", `time.sleep(${seconds}) busy-waited, blocking the JS event loop: no stack switch was possible here`, "time.sleep");
    }
  });
  if (!pyodide._module.jspiSupported) {
    probe.watch_no_jspi((error) => {
      if (recorder.recording) recorder.writeFailedSwitch("no-jspi", error);
    });
  }
  const getPtr = pyodide._module.PyProxy_getPtr;
  /** @type {Map<number, import("./recorder.mjs").StackInfo>} */
  const stacks = new Map();
  const sampleFrames = new SampleFrames(`${sitePackages}/jspiprof/in_pyodide/probe.py`);
  /** Write the frame lines the probe sent. @param {{id: number, file: string, line: number, library: boolean}[]} frames */
  const receiveFrames = (frames) => {
    for (const frame of frames) recorder.writeFrame(frame);
    sampleFrames.noteFrames(frames);
  };
  // Switches and samples keep their own keys: a sample can be taken at the very instruction of a switch (CPython
  // checks for signals as a call returns), and its stack has no path.
  const switchKeys = createStackKeys(pyodide._module);
  const sampleKeys = createStackKeys(pyodide._module, false); // a sample has no path: its innermost code may be new
  probe.calibrate(
    (expected) => {
      const frames = expected.toJs();
      sampleKeys.calibrate(frames);
      return switchKeys.calibrate(frames);
    },
    (address) => {
      switchKeys.forget(address);
      sampleKeys.forget(address);
    },
  );
  const codes = probe.code_layout();
  switchKeys.calibrateCode(codes.toJs());
  sampleKeys.calibrateCode(codes.toJs());
  codes.destroy();

  const capturePtr = getPtr(probe.capture);
  /** The stack at a switch, by its key or else by asking the probe (which describes a stack it never named before). */
  recorder.captureStack = () => {
    const known = switchKeys.lookup();
    if (known !== undefined) return known;
    const answer = callPyObject(capturePtr, []);
    let info = stacks.get(answer);
    if (typeof answer === "string") {
      const description = JSON.parse(answer);
      receiveFrames(description.frames);
      info = stackInfo(description.stack, description.depth, description.site, description.path);
      stacks.set(description.id, info);
    }
    if (info === undefined) throw new Error(`jspiprof: the probe named a stack it never described (${answer}).`);
    switchKeys.remember(info);
    return info;
  };
  const captureSamplePtr = getPtr(probe.capture_sample);
  /**
   * The stack running now, for a sample: by its key, else from the frames the probe named before, else by asking the
   * probe for the frame ids along it.
   */
  recorder.captureSample = () => {
    const known = sampleKeys.lookup();
    if (known !== undefined) return known;
    const frames = sampleKeys.frameKeys();
    let chain = frames === null ? null : sampleFrames.chainOf(frames);
    const asked = chain === null; // the probe watches the code objects of a chain it walks
    if (asked) {
      const answer = JSON.parse(callPyObject(captureSamplePtr, []));
      receiveFrames(answer.frames);
      chain = answer.chain.map(([id]) => id);
      if (frames !== null) sampleFrames.learn(frames, answer.chain);
    }
    const stack = sampleFrames.stackOf(chain);
    const info = stackInfo(stack, stack.length, sampleFrames.siteOf(stack), "sample");
    sampleKeys.remember(info, asked);
    return info;
  };
  return probe;
}
