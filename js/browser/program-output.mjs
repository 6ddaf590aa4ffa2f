/**
 * Sends what a program writes (stdout, stderr) from the page to `jspiprof run --browser` as it comes. One request is
 * under way at a time: a write goes out at once when none is, and the writes made meanwhile go out together when it
 * is back (one request per run of writes to one stream, numbered in write order). A program printing 100,000 lines
 * so makes a few hundred requests, not 100,000 (which a browser cannot even queue: it fails some, and their output
 * was lost).
 */

/**
 * @callback SendOutput
 * @param {number} sequence the request's number, from 0, counted over both streams
 * @param {"stdout"|"stderr"} stream
 * @param {Uint8Array} bytes
 * @returns {Promise<unknown>}
 */

/** Bytes in one request at most (a longer run of writes is sent as several). */
export const REQUEST_BYTES_AT_MOST = 1 << 20;

export class ProgramOutput {
  /** @param {SendOutput} send */
  constructor(send) {
    this.send = send;
    this.sequence = 0;
    /** Writes not sent yet, in write order. @type {{stream: "stdout"|"stderr", bytes: Uint8Array}[]} */
    this.queued = [];
    /** The sending of the queued writes, while under way. @type {Promise<void>|null} */
    this.sending = null;
  }

  /**
   * Send `bytes` (copied: Pyodide reuses its buffer) and return how many were written, as Pyodide's `write` expects.
   * @param {"stdout"|"stderr"} stream @param {Uint8Array} bytes @returns {number}
   */
  write(stream, bytes) {
    if (bytes.length === 0) return 0;
    this.queued.push({ stream, bytes: bytes.slice() });
    this.sending ??= this.sendQueued();
    return bytes.length;
  }

  /** Send `text` as UTF-8. @param {"stdout"|"stderr"} stream @param {string} text */
  writeText(stream, text) {
    this.write(stream, new TextEncoder().encode(text));
  }

  /** Send the queued writes, one request at a time, until none is left (a failed request is not sent again). */
  async sendQueued() {
    while (this.queued.length > 0) {
      const { stream, bytes } = this.takeRun();
      await this.send(this.sequence++, stream, bytes).catch(() => {});
    }
    this.sending = null;
  }

  /** The first queued writes to one stream, joined (up to `REQUEST_BYTES_AT_MOST`, or the first write whole). */
  takeRun() {
    const { stream } = this.queued[0];
    let count = 0;
    let length = 0;
    while (count < this.queued.length && this.queued[count].stream === stream) {
      const next = this.queued[count].bytes.length;
      if (count > 0 && length + next > REQUEST_BYTES_AT_MOST) break;
      length += next;
      count++;
    }
    const run = this.queued.splice(0, count);
    if (run.length === 1) return run[0];
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const write of run) {
      bytes.set(write.bytes, offset);
      offset += write.bytes.length;
    }
    return { stream, bytes };
  }

  /** Resolves once every write so far has reached the host (or failed to). */
  async settled() {
    while (this.sending !== null) await this.sending;
  }
}
