/** Unit tests of lifeline.mjs: the settings read from the pipe, and Node ending when the pipe does. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";

const LIFELINE = new URL("../lifeline.mjs", import.meta.url).href;

/** A Node child (killed after the test) that reads its settings from fd 3, prints them, watches fd 3, then runs `body`. */
function child(t, body) {
  const script = `
    const { readSettings, endWithParent } = await import(${JSON.stringify(LIFELINE)});
    console.log(JSON.stringify(readSettings(3)));
    await endWithParent(3);
    ${body}`;
  const node = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit", "pipe"] });
  t.after(() => node.kill("SIGKILL"));
  return node;
}

async function firstLine(stream) {
  let text = "";
  for await (const chunk of stream) {
    text += chunk;
    if (text.includes("\n")) return text.split("\n")[0];
  }
  return text;
}

test("the settings are the pipe's first line, even when it comes in pieces", async (t) => {
  const node = child(t, "setInterval(() => {}, 1000);");
  node.stdio[3].write('{"argv": ["app.py", "a\\u2028b"], ');
  setTimeout(() => node.stdio[3].write('"mode": "script"}\n'), 50);
  assert.deepEqual(JSON.parse(await firstLine(node.stdout)), { argv: ["app.py", "a\u2028b"], mode: "script" });
});

test("the end of the pipe stops Node as SIGTERM does", { timeout: 10000 }, async (t) => {
  const node = child(t, "setInterval(() => {}, 1000);");
  node.stdio[3].write("{}\n");
  await firstLine(node.stdout);
  node.stdio[3].end();
  const [code, signal] = await once(node, "exit");
  assert.deepEqual([code, signal], [null, "SIGTERM"]);
});

test("a Node that handles SIGTERM but never yields is killed after the grace time", { timeout: 15000 }, async (t) => {
  const node = child(t, 'process.on("SIGTERM", () => {}); for (;;);');
  node.stdio[3].write("{}\n");
  await firstLine(node.stdout);
  const ended = Date.now();
  node.stdio[3].end();
  const [code, signal] = await once(node, "exit");
  assert.deepEqual([code, signal], [null, "SIGKILL"]);
  assert.ok(Date.now() - ended >= 4900, "killed before the grace time");
});
