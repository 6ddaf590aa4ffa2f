/**
 * The per-event workload of `benchmarks/per_event.py`, the same in Node and in a page: like a page that handles
 * each event with `await pyodide.runPythonAsync(...)`, whose Python code makes one stack switch.
 */

/** Python run once in each Pyodide before timing. */
export const SETUP = `
from pyodide.ffi import run_sync

async def finished():
    return 1

def handle(event):
    run_sync(finished())
    return event
`;

/**
 * Time `events` events in each Pyodide, the modes interleaved repetition after repetition in an order that rotates
 * (no mode always follows another); the first `warmup` repetitions are not counted (V8 still compiles the hot paths).
 * @param {Record<string, any>} pyodides mode name -> a loaded Pyodide
 * @param {{warmup: number, reps: number, events: number}} sizes
 * @param {Record<string, () => number>} [clocks] what to time by, in milliseconds (default: wall time)
 * @returns {Promise<Record<string, Record<string, number[]>>>} clock -> mode -> milliseconds per event, one number
 *   per counted repetition
 */
export async function timeEvents(pyodides, { warmup, reps, events }, clocks = { wall: () => performance.now() }) {
  const modes = Object.keys(pyodides);
  for (const mode of modes) await pyodides[mode].runPythonAsync(SETUP);
  /** @type {Record<string, Record<string, number[]>>} */
  const times = Object.fromEntries(Object.keys(clocks).map((clock) => [clock, Object.fromEntries(modes.map((mode) => [mode, []]))]));
  for (let rep = 0; rep < warmup + reps; rep++) {
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[(i + rep) % modes.length];
      const pyodide = pyodides[mode];
      const start = Object.fromEntries(Object.entries(clocks).map(([clock, read]) => [clock, read()]));
      for (let event = 0; event < events; event++) await pyodide.runPythonAsync(`handle(${event})`);
      if (rep < warmup) continue;
      for (const [clock, read] of Object.entries(clocks)) times[clock][mode].push((read() - start[clock]) / events);
    }
  }
  return times;
}
