/**
 * Sends what a program writes (stdout, stderr) from the page to `jspiprof run --browser` as it comes. Each write is
 * one request numbered in write order: requests may arrive out of order, and the host puts them back in order.
 */

/**
 * @callback SendOutput
 * @param {number} sequence the write's number, from 0, counted over both streams
 * @param {"stdout"|"stderr"} stream
 * @param {Uint8Array} bytes
 * @returns {Promise<unknown>}
 */

export class ProgramOutput {
  /** @param {SendOutput} send */
  constructor(send) {
    this.send = send;
    this.sequence = 0;
    /** @type {Set<Promise<unknown>>} */
    this.pending = new Set();
  }

  /**
   * Send `bytes` (copied: Pyodide reuses its buffer) and return how many were written, as Pyodide's `write` expects.
   * @param {"stdout"|"stderr"} stream @param {Uint8Array} bytes @returns {number}
   */
  write(stream, bytes) {
    if (bytes.length === 0) return 0;
    const sent = this.send(this.sequence++, stream, bytes.slice()).catch(() => {});
    this.pending.add(sent);
    sent.finally(() => this.pending.delete(sent));
    return bytes.length;
  }

  /** Send `text` as UTF-8. @param {"stdout"|"stderr"} stream @param {string} text */
  writeText(stream, text) {
    this.write(stream, new TextEncoder().encode(text));
  }

  /** Resolves once every write so far has reached the host (or failed to). */
  async settled() {
    await Promise.all([...this.pending]);
  }
}
