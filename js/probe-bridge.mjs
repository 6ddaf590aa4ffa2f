/**
 * Installs the Python probe (`jspiprof/probe.py`) into Pyodide and lets the hook ask it for the Python stack at
 * a switch. The probe answers with a stack id; the first time an id is seen the hook asks for its description
 * (frames not sent yet, stack, depth, site, path) and caches it. A stack seen before is recognised from wasm
 * memory without calling Python at all (`stack-keys.mjs`).
 */

/**
 * The probe's Python files, relative to this module: the `jspiprof` package folder next to `js/` in a source
 * checkout, or the package this module is shipped in (`jspiprof/_js/`) when installed from the wheel.
 */
import { createStackKeys } from "./stack-keys.mjs";
import { stackInfo } from "./recorder.mjs";

const PROBE_FILES = ["__init__.py", "probe.py", "busywait.py"];
const PACKAGE_URL = new URL(import.meta.url.includes("/jspiprof/_js/") ? "../" : "../jspiprof/", import.meta.url);

/** Read one of the probe's files, from disk under Node or over HTTP in a browser. @param {string} name */
async function readProbeFile(name) {
  const url = new URL(name, PACKAGE_URL);
  if (url.protocol === "file:") {
    const fs = await import("node:fs");
    return fs.readFileSync(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`jspiprof: cannot load its Python probe from ${url} (HTTP ${response.status}).`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Copy the probe into Pyodide's site-packages, import it and connect it to the recorder.
 * @param {any} pyodide
 * @param {import("./recorder.mjs").Recorder} recorder
 * @param {{start: () => void, stop: () => void}} control what `jspiprof.start()` / `stop()` call in Python
 * @param {(ptr: number, args: any[]) => any} callPyObject Pyodide's own (unwrapped) synchronous call
 */
export async function installProbe(pyodide, recorder, control, callPyObject) {
  const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
  const folder = `${sitePackages}/jspiprof`;
  pyodide.FS.mkdirTree(folder);
  for (const name of PROBE_FILES) {
    const path = `${folder}/${name}`;
    // Keep a copy a runner installed already (it may carry more modules in the same package).
    if (name === "__init__.py" && pyodide.FS.analyzePath(path).exists) continue;
    pyodide.FS.writeFile(path, await readProbeFile(name));
  }
  const probe = pyodide.pyimport("jspiprof.probe");
  probe.attach(control);
  // A time.sleep that cannot stack switch busy-waits and blocks the event loop: record it as a failed switch.
  pyodide.pyimport("jspiprof.busywait").install((seconds) => {
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
  const capture = probe.capture;
  const describe = probe.describe;
  const capturePtr = getPtr(capture);
  const describePtr = getPtr(describe);
  /** @type {Map<number, import("./recorder.mjs").StackInfo>} */
  const stacks = new Map();
  const keys = createStackKeys(pyodide._module);
  probe.calibrate((expected) => keys.calibrate(expected.toJs()), (address) => keys.forget(address));
  recorder.captureStack = () => {
    const known = keys.lookup();
    if (known !== undefined) return known;
    const id = callPyObject(capturePtr, []);
    let info = stacks.get(id);
    if (info === undefined) {
      const description = JSON.parse(callPyObject(describePtr, [id]));
      for (const frame of description.frames) recorder.writeFrame(frame);
      info = stackInfo(description.stack, description.depth, description.site, description.path);
      stacks.set(id, info);
    }
    keys.remember(info);
    return info;
  };
  return probe;
}
