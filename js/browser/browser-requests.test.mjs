import { test } from "node:test";
import assert from "node:assert/strict";
import { interceptBrowserRequests, pausedRequest } from "./browser-requests.mjs";

/** A CDP session that records what is sent and lets the test emit events. */
function fakeSession() {
  const sent = [];
  const listeners = {};
  return {
    sent,
    send: async (method, params) => void sent.push([method, params]),
    on: (event, listener) => (listeners[event] = listener),
    emit: (event, value) => listeners[event](value),
  };
}

const PAUSED = { requestId: "interception-1", request: { url: "http://127.0.0.1:8000/pyodide/pyodide.mjs" } };

test("every request of the browser is paused and handed over with its URL", async () => {
  const session = fakeSession();
  const seen = [];
  await interceptBrowserRequests(session, (request) => seen.push(request.url()));
  assert.deepEqual(session.sent, [["Fetch.enable", { patterns: [{ urlPattern: "*", requestStage: "Request" }] }]]);
  session.emit("Fetch.requestPaused", PAUSED);
  assert.deepEqual(seen, [PAUSED.request.url]);
});

test("an answer is fulfilled with its status, headers, content type and body in base64", async () => {
  const session = fakeSession();
  const request = pausedRequest(session, PAUSED);
  assert.equal(request.isInterceptResolutionHandled(), false);
  await request.respond({ status: 200, contentType: "text/javascript", headers: { "X-A": "1" }, body: "export {};" });
  assert.equal(request.isInterceptResolutionHandled(), true);
  assert.deepEqual(session.sent, [
    [
      "Fetch.fulfillRequest",
      {
        requestId: "interception-1",
        responseCode: 200,
        responseHeaders: [
          { name: "X-A", value: "1" },
          { name: "Content-Type", value: "text/javascript" },
        ],
        body: Buffer.from("export {};").toString("base64"),
      },
    ],
  ]);
});

test("a request let through continues once; a second answer is an error", async () => {
  const session = fakeSession();
  const request = pausedRequest(session, PAUSED);
  await request.continue();
  assert.deepEqual(session.sent, [["Fetch.continueRequest", { requestId: "interception-1" }]]);
  await assert.rejects(request.continue(), /already answered/);
});
