// Talking to the server: the JSON API (fetch) and live sessions (WebSocket) that reconnect
// by themselves when the server restarts.

import { language, tr } from './i18n.js';

/** An API error with the server's stable code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Call the API. State-changing requests carry the header the server's CSRF guard requires. */
export async function api(method, path, body) {
  // The API's error messages come in the page's language.
  const headers = { 'X-Sockhub-Request': '1', 'Accept-Language': language() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'unavailable', tr("web-unreachable"));
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(res.status, data?.code || 'internal', data?.message || res.statusText);
  }
  return data;
}

/** Who this browser is logged in as on the web page ({name, role}), or null. */
export async function whoAmI() {
  try {
    return await api('GET', '/me');
  } catch {
    return null;
  }
}

const listeners = new Set();
const sockets = new Set();

/** Be told when the overall connection state changes ('online', 'connecting', 'offline'). */
export function onConnectionState(fn) {
  listeners.add(fn);
  fn(overall());
}

function overall() {
  const states = [...sockets].map((s) => s.state);
  if (states.length === 0) return 'idle';
  if (states.every((s) => s === 'open')) return 'online';
  if (states.some((s) => s === 'connecting' || s === 'waiting')) return 'connecting';
  return 'offline';
}

function notify() {
  const state = overall();
  for (const fn of listeners) fn(state);
}

/**
 * A WebSocket to one service that reconnects with backoff (0.5 s doubling to 5 s) until
 * closed. One JSON object per message, both ways.
 */
export class Live {
  constructor(path, { onOpen, onMessage, onDrop } = {}) {
    this.path = path;
    this.onOpen = onOpen || (() => {});
    this.onMessage = onMessage || (() => {});
    this.onDrop = onDrop || (() => {});
    this.delay = 500;
    this.state = 'connecting';
    this.stopped = false;
    sockets.add(this);
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    this.state = 'connecting';
    notify();
    ws.onopen = () => {
      this.delay = 500;
      this.state = 'open';
      notify();
      this.onOpen();
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.onDrop();
      if (this.stopped) return;
      this.state = 'waiting';
      notify();
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
  }

  /** Send a message if connected; returns whether it went out. */
  send(msg) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Close for good. */
  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    sockets.delete(this);
    this.ws?.close();
    notify();
  }
}
