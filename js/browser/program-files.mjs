/**
 * Puts the program's files into Pyodide's file system at the paths they have on the host: the host sends one
 * bundle, the files' bytes one after the other, and a list of their paths and sizes in the same order.
 */

/**
 * @typedef {object} ProgramFile
 * @property {string} path absolute path, the same inside Pyodide as on the host
 * @property {number} size bytes of the file in the bundle
 */

/**
 * Create `folders` and write each file of `files` from its slice of `bundle`.
 * @param {{mkdirTree: (path: string) => void, writeFile: (path: string, data: Uint8Array) => void}} FS Pyodide's FS
 * @param {string[]} folders absolute folders to create even when no file is in them (the current folder)
 * @param {ProgramFile[]} files
 * @param {Uint8Array} bundle
 */
export function writeProgramFiles(FS, folders, files, bundle) {
  const expected = files.reduce((total, file) => total + file.size, 0);
  if (bundle.length !== expected) {
    throw new Error(`jspiprof: the program's files came to ${bundle.length} bytes instead of ${expected}.`);
  }
  for (const folder of folders) FS.mkdirTree(folder);
  let offset = 0;
  for (const file of files) {
    FS.mkdirTree(file.path.slice(0, file.path.lastIndexOf("/")) || "/");
    FS.writeFile(file.path, bundle.subarray(offset, offset + file.size));
    offset += file.size;
  }
}
