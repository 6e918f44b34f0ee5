// Server-sent events read with fetch, so that the request can carry the API key
// (`EventSource` cannot send headers). It behaves as an `EventSource` does: it follows
// `retry:`, reconnects with `Last-Event-ID` after a dropped connection or an early end, and
// stops for good on `204 No Content` or an error status.

import { reportUnauthorized, withKey } from "./api.js";

const LINE_END = /\r\n|\r|\n/;

/**
 * Open `url` and call `onEvent(type, data, lastEventId)` for each event, `onEnd(status)`
 * when the stream stops for good (not after `close()`). Returns `{ close() }`.
 */
export function openEventStream(url, { onEvent, onEnd }) {
  let lastEventId = null;
  let retryMs = 1000;
  let stopped = false;
  let controller = null;

  function finish(status) {
    if (stopped) return;
    stopped = true;
    onEnd?.(status);
  }

  function reconnect() {
    if (!stopped) setTimeout(() => stopped || connect(), retryMs);
  }

  function feed(line, event) {
    if (line === "") {
      if (event.data !== undefined && !stopped) onEvent(event.type || "message", event.data, lastEventId);
      return {};
    }
    if (line.startsWith(":")) return event;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") event.data = event.data === undefined ? value : `${event.data}\n${value}`;
    else if (field === "event") event.type = value;
    else if (field === "id" && !value.includes("\0")) lastEventId = value;
    else if (field === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
    return event;
  }

  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = {};
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let match;
      while ((match = LINE_END.exec(buffer)) !== null) {
        // a "\r" at the very end may be the first half of "\r\n": wait for more
        if (match[0] === "\r" && match.index === buffer.length - 1) break;
        event = feed(buffer.slice(0, match.index), event);
        buffer = buffer.slice(match.index + match[0].length);
      }
    }
  }

  async function connect() {
    controller = new AbortController();
    const headers = withKey({ Accept: "text/event-stream" });
    if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
    let response;
    try {
      response = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
    } catch {
      reconnect();
      return;
    }
    if (response.status === 204) {
      finish(204);
      return;
    }
    if (!response.ok || !response.body) {
      if (response.status === 401) reportUnauthorized();
      finish(response.status);
      return;
    }
    try {
      await read(response.body);
    } catch {
      // dropped: reconnect below
    }
    reconnect();
  }

  connect();
  return {
    close() {
      stopped = true;
      controller?.abort();
    },
  };
}
