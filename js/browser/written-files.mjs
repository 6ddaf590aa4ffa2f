/**
 * Finds the files a program wrote into the folders `jspiprof run --browser` copied into the page, so the host can
 * write them back at their own paths, as they would be under Node, where those folders are the real ones.
 */

/**
 * @typedef {{lstat: (path: string) => {mode: number, mtime: Date|number}, readdir: (path: string) => string[],
 *   isDir: (mode: number) => boolean, isFile: (mode: number) => boolean, readFile: (path: string) => Uint8Array,
 *   analyzePath: (path: string) => {exists: boolean}}} FileSystem the parts of Pyodide's FS used here
 */

/**
 * Each regular file under `folders` (symbolic links are not followed), with its modification time in ms.
 * @param {FileSystem} FS @param {string[]} folders @returns {Map<string, number>}
 */
export function fileTimes(FS, folders) {
  /** @type {Map<string, number>} */
  const times = new Map();
  const visit = (/** @type {string} */ path) => {
    const stat = FS.lstat(path);
    if (FS.isDir(stat.mode)) {
      for (const name of FS.readdir(path)) if (name !== "." && name !== "..") visit(`${path}/${name}`);
    } else if (FS.isFile(stat.mode)) {
      times.set(path, new Date(stat.mtime).getTime());
    }
  };
  for (const folder of folders) if (FS.analyzePath(folder).exists) visit(folder);
  return times;
}

/**
 * The files under `folders` that are new or were modified since `before` (a `fileTimes` of the same folders), as
 * one body for the host: a line of JSON listing their paths and sizes, then their bytes one after the other.
 * @param {FileSystem} FS @param {string[]} folders @param {Map<string, number>} before @returns {Uint8Array}
 */
export function writtenFiles(FS, folders, before) {
  const written = [...fileTimes(FS, folders)].filter(([path, time]) => before.get(path) !== time).map(([path]) => path);
  const contents = written.map((path) => FS.readFile(path));
  const listing = new TextEncoder().encode(
    JSON.stringify(written.map((path, index) => ({ path, size: contents[index].length }))) + "\n",
  );
  const body = new Uint8Array(listing.length + contents.reduce((total, bytes) => total + bytes.length, 0));
  body.set(listing);
  let offset = listing.length;
  for (const bytes of contents) {
    body.set(bytes, offset);
    offset += bytes.length;
  }
  return body;
}
