/**
 * Runs one Python program inside Pyodide under Node, the way `jspiprof run` asks for it.
 *
 * Usage: node run.mjs FD   (FD: the pipe from jspiprof.runtime.runner, see lifeline.mjs: the settings, RunConfig
 * below, as one line of JSON; Node ends when the pipe does, so it never outlives `jspiprof run`)
 * Exit status: the Python program's exit status; 2 when Pyodide or the program's packages cannot be loaded.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { loadWheels, runLauncher } from "./browser/launcher.mjs";
import { wrapLoadPyodide } from "./hook.mjs";
import { endWithParent, readSettings } from "./lifeline.mjs";
import { TraceFileError } from "./trace-writer.mjs";

/**
 * @typedef {object} RunConfig
 * @property {string} pyodideDir folder of the npm `pyodide` package
 * @property {"script"|"code"|"module"} mode what `target` is
 * @property {string} target script path, code text or module name
 * @property {string[]} argv sys.argv for the program
 * @property {string} cwd working directory inside Pyodide (mounted from the host)
 * @property {string[]} mounts host folders mounted at the same path inside Pyodide
 * @property {string[]} wheels absolute paths of wheels to load before the program starts
 * @property {string|null} trace file the trace is streamed to (null: no trace)
 * @property {number|null} sampleIntervalMs time between two CPU samples (null: no sampling)
 */

/** Write all of `data` to a file descriptor, retrying while a non-blocking pipe is full. */
function writeAll(fd, data) {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset, data.length - offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
  return data.length;
}

/** Print one sentence to stderr and leave with status 2. */
function fail(message) {
  writeAll(2, Buffer.from(`jspiprof: ${message}\n`));
  process.exit(2);
}

/** @param {any} pyodide @param {RunConfig} config */
function mountHostFolders(pyodide, config) {
  for (const folder of config.mounts) {
    pyodide.FS.mkdirTree(folder);
    pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: folder }, folder);
  }
}

/**
 * Run `load` (which loads Pyodide) and turn a broken Pyodide into one sentence. A damaged pyodide.asm.wasm
 * makes Pyodide's loader print to the console and then never settle, so its console output is held back
 * and an event loop that runs dry before loading ends means the load failed.
 * @template T @param {RunConfig} config @param {() => Promise<T>} load @returns {Promise<T>}
 */
async function whileLoadingPyodide(config, load) {
  const held = [];
  const console_ = { error: console.error, warn: console.warn };
  console.error = console.warn = (...args) => held.push(args.map(String).join(" "));
  const stalled = () =>
    fail(`Pyodide in ${config.pyodideDir} could not be loaded (${held[0] ?? "it never finished loading"}): the cache is damaged; delete that folder and run \`jspiprof setup\` again.`);
  process.once("beforeExit", stalled);
  try {
    return await load();
  } finally {
    process.off("beforeExit", stalled);
    Object.assign(console, console_);
    for (const line of held) console.error(line);
  }
}

/** What the hook records for this run: the whole program, streamed to `config.trace`. @param {RunConfig} config */
function traceOptions(config) {
  return {
    trace: config.trace ?? undefined,
    record: config.trace != null,
    explain: true,
    sample: config.sampleIntervalMs != null,
    sampleIntervalMs: config.sampleIntervalMs ?? undefined,
    program: { argv: config.argv, mode: config.mode },
  };
}

/**
 * Pyodide's start-up snapshot (made by snapshot.mjs with the same options), when the cache has one: loading
 * from it skips initialising Python, which is most of the start-up time.
 * @param {RunConfig} config
 */
function startupSnapshot(config) {
  const file = path.join(config.pyodideDir, "jspiprof-startup.snapshot");
  return fs.existsSync(file) ? { _loadSnapshot: fs.readFileSync(file) } : {};
}

async function main() {
  /** @type {RunConfig} */
  const lifeline = Number(process.argv[2]);
  const config = readSettings(lifeline);
  await endWithParent(lifeline);
  const { loadPyodide } = await import(pathToFileURL(path.join(config.pyodideDir, "pyodide.mjs")).href);
  const pyodide = await whileLoadingPyodide(config, () => wrapLoadPyodide(loadPyodide, traceOptions(config))({
    indexURL: config.pyodideDir + path.sep,
    ...startupSnapshot(config),
  }));
  pyodide.setStdout({ write: (buf) => writeAll(1, buf) });
  pyodide.setStderr({ write: (buf) => writeAll(2, buf) });
  mountHostFolders(pyodide, config);
  // Real TCP sockets for the program (socket, ssl): each blocking syscall stack-switches, as CPython blocks.
  await pyodide.useNodeSockFS();
  await loadWheels(pyodide, config.wheels).catch((error) => fail(error.message));
  const status = await runLauncher(pyodide, config);
  // The program has ended: exit now, as CPython does, whatever JS work it left pending (timers, keep-alive sockets).
  process.exit(status);
}

try {
  await main();
} catch (error) {
  if (error instanceof TraceFileError) fail(error.message);
  throw error;
}
