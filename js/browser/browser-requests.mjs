/**
 * Every request of a Chromium browser, from any page it opens (popups, target=_blank links), their frames and their
 * workers, paused for an answer: CDP's Fetch domain enabled on the browser target, so a page the recorded page opens
 * is intercepted from its first request, before puppeteer could attach to it. Each request is handed over as an
 * object with the part of puppeteer's HTTPRequest that `record.mjs` answers with.
 *
 *   await interceptBrowserRequests(await browser.target().createCDPSession(), (request) => request.continue());
 */

/**
 * @typedef {object} PausedRequest the part of puppeteer's HTTPRequest a request of the whole browser offers
 * @property {() => string} url
 * @property {(response: {status: number, contentType: string, headers?: Record<string, string>, body: string|Uint8Array}) => Promise<void>} respond
 * @property {() => Promise<void>} continue
 * @property {() => boolean} isInterceptResolutionHandled
 */

/**
 * Pause every request of the browser whose CDP session (of the browser target) is `session` and hand it to `onRequest`.
 * @param {{send: (method: string, params?: object) => Promise<any>, on: (event: string, listener: (event: any) => void) => void}} session
 * @param {(request: PausedRequest) => void} onRequest
 */
export async function interceptBrowserRequests(session, onRequest) {
  session.on("Fetch.requestPaused", (event) => onRequest(pausedRequest(session, event)));
  await session.send("Fetch.enable", { patterns: [{ urlPattern: "*", requestStage: "Request" }] });
}

/**
 * @param {{send: (method: string, params?: object) => Promise<any>}} session
 * @param {{requestId: string, request: {url: string}}} event CDP's `Fetch.requestPaused`
 * @returns {PausedRequest}
 */
export function pausedRequest(session, event) {
  let handled = false;
  /** @param {string} method @param {object} params */
  const resolve = async (method, params) => {
    if (handled) throw new Error(`jspiprof: the request for ${event.request.url} was already answered.`);
    handled = true;
    await session.send(method, { requestId: event.requestId, ...params });
  };
  return {
    url: () => event.request.url,
    respond: ({ status, contentType, headers = {}, body }) =>
      resolve("Fetch.fulfillRequest", {
        responseCode: status,
        responseHeaders: Object.entries({ ...headers, "Content-Type": contentType }).map(([name, value]) => ({ name, value })),
        body: Buffer.from(body).toString("base64"),
      }),
    continue: () => resolve("Fetch.continueRequest", {}),
    isInterceptResolutionHandled: () => handled,
  };
}
