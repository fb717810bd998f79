// The one module that speaks MCP: a JSON-RPC 2.0 client over WebSocket (one message per
// text frame, subprotocol "mcp") with request ids and timeouts, notifications, automatic
// reconnect with backoff, and session resumption (mcpSessionId + lastPosition, kept in
// sessionStorage so a reload resumes too).
//
// Events (EventTarget): "state" {state, attempt, delay}, "session" {sessionId, resumed,
// replay, serverInfo, capabilities, protocolVersion}, "notification" {method, params},
// "traffic" {dir: "out"|"in", msg, at, id, ms, method}.

export const PROTOCOL_VERSION = "2025-11-25";
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The page's own hub: ws(s)://location.host/ws. */
export function defaultUrl(loc = globalThis.location) {
  if (!loc || !/^https?:$/.test(loc.protocol)) return "ws://127.0.0.1:8787/ws";
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws`;
}

/** Where a token goes: a subprotocol entry when its characters allow, else ?token=. */
export function connectTarget(url, token) {
  if (!token) return { url, protocols: ["mcp"] };
  if (TOKEN_CHARS.test(token)) return { url, protocols: ["mcp", `mcp.auth.${token}`] };
  const u = new URL(url);
  u.searchParams.set("token", token);
  return { url: u.toString(), protocols: ["mcp"] };
}

/** A URL safe to show: any token query parameter is masked. */
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.searchParams.has("token")) u.searchParams.set("token", "•••");
    return u.toString();
  } catch {
    return String(url);
  }
}

export class RpcError extends Error {
  constructor(error) {
    super(error?.message ?? "JSON-RPC error");
    this.code = error?.code;
    this.data = error?.data;
  }
}

/** A tool result with isError: true (e.g. a stale expectedVersion). */
export class ToolError extends Error {
  constructor(text, result) {
    super(text);
    this.result = result;
  }
}

export class McpClient extends EventTarget {
  constructor({
    url,
    token = "",
    clientInfo = { name: "mcp-prompts-web", version: "0.1.0" },
    capabilities = { experimental: { "mcp-prompts/catalogEvents": true } },
    storage = globalThis.sessionStorage,
    requestTimeoutMs = 15000,
    backoffInitialMs = 250,
    backoffMaxMs = 10000,
  } = {}) {
    super();
    this.url = url;
    this.token = token;
    this.clientInfo = clientInfo;
    this.capabilities = capabilities;
    this.storage = storage;
    this.requestTimeoutMs = requestTimeoutMs;
    this.backoffInitialMs = backoffInitialMs;
    this.backoffMaxMs = backoffMaxMs;
    this.state = "idle";
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer, sent, method}
    this.waiting = []; // requests made before the session is ready
    this.attempt = 0;
    this.retryTimer = null;
    this.holdUntil = 0;
    this.stopped = true;
    this.server = null; // the last initialize result
    this.catalogEvents = !!capabilities?.experimental?.["mcp-prompts/catalogEvents"];
    const saved = this.#load();
    this.sessionId = saved.sessionId ?? null;
    this.lastPosition = saved.lastPosition ?? null;
  }

  get storageKey() {
    return `mcp-prompts.session:${this.url}`;
  }

  #load() {
    try {
      return JSON.parse(this.storage?.getItem(this.storageKey) ?? "{}") ?? {};
    } catch {
      return {};
    }
  }

  #save() {
    try {
      this.storage?.setItem(
        this.storageKey,
        JSON.stringify({ sessionId: this.sessionId, lastPosition: this.lastPosition }),
      );
    } catch {
      /* storage may be unavailable (private mode); resumption then lasts the page */
    }
  }

  #setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }

  #traffic(detail) {
    this.dispatchEvent(new CustomEvent("traffic", { detail: { at: Date.now(), ...detail } }));
  }

  /** Starts connecting; reconnects on its own until close(). */
  connect() {
    this.stopped = false;
    this.#open();
  }

  /** Closes for good: no reconnect; pending requests fail. */
  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, "closed by the page");
    this.ws = null;
    this.#failAll(new Error("connection closed"));
    this.#setState("closed");
  }

  /** Drops the socket as a network failure would; reconnects after holdMs (tests, demos). */
  drop(holdMs = 0) {
    this.holdUntil = Date.now() + holdMs;
    this.ws?.close(4000, "dropped by the page");
  }

  #open() {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    const wait = this.holdUntil - Date.now();
    if (wait > 0) {
      this.retryTimer = setTimeout(() => this.#open(), wait);
      return;
    }
    this.#setState(this.attempt ? "reconnecting" : "connecting", { attempt: this.attempt });
    const target = connectTarget(this.url, this.token);
    let ws;
    try {
      ws = new WebSocket(target.url, target.protocols);
    } catch (err) {
      this.#traffic({ dir: "info", text: `cannot open ${redactUrl(target.url)}: ${err.message}` });
      this.#retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.#initialize(ws);
    ws.onmessage = (ev) => this.#receive(ws, ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.#traffic({ dir: "info", text: `connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})` });
      this.#failAll(new Error("connection lost"), true);
      this.#retry();
    };
  }

  #retry() {
    if (this.stopped) return;
    const base = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.#setState("waiting", { attempt: this.attempt, delay });
    this.retryTimer = setTimeout(() => this.#open(), Math.max(delay, this.holdUntil - Date.now()));
  }

  async #initialize(ws) {
    const params = {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: this.capabilities,
      clientInfo: this.clientInfo,
    };
    if (this.sessionId) {
      params.mcpSessionId = this.sessionId;
      if (this.lastPosition != null) params.lastPosition = this.lastPosition;
    }
    let result;
    try {
      result = await this.#send(ws, "initialize", params, this.requestTimeoutMs);
    } catch (err) {
      this.#traffic({ dir: "info", text: `initialize failed: ${err.message}` });
      ws.close(4001, "initialize failed");
      return;
    }
    if (this.ws !== ws) return;
    const resumed = !!result.resumed && result.mcpSessionId === this.sessionId;
    this.sessionId = result.mcpSessionId ?? null;
    if (!resumed) this.lastPosition = null;
    this.#save();
    this.server = result;
    this.attempt = 0;
    this.#sendRaw(ws, { jsonrpc: "2.0", method: "notifications/initialized" });
    this.#setState("open");
    this.dispatchEvent(
      new CustomEvent("session", {
        detail: {
          sessionId: this.sessionId,
          resumed,
          replay: result.replay ?? null,
          serverInfo: result.serverInfo,
          capabilities: result.capabilities,
          protocolVersion: result.protocolVersion,
          instructions: result.instructions,
        },
      }),
    );
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w.go();
  }

  #sendRaw(ws, msg) {
    ws.send(JSON.stringify(msg));
    this.#traffic({ dir: "out", msg, id: msg.id, method: msg.method });
  }

  #send(ws, method, params, timeoutMs) {
    const id = this.nextId++;
    const msg = { jsonrpc: "2.0", id, method };
    if (params !== undefined) msg.params = params;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.#traffic({ dir: "info", text: `request ${id} (${method}) timed out after ${timeoutMs} ms` });
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, sent: performance.now(), method });
      try {
        this.#sendRaw(ws, msg);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      }
    });
  }

  /** Sends a request once the session is ready; resolves with its result. */
  request(method, params, { timeoutMs = this.requestTimeoutMs } = {}) {
    if (this.state === "open" && this.ws?.readyState === WebSocket.OPEN) {
      return this.#send(this.ws, method, params, timeoutMs);
    }
    if (this.stopped) return Promise.reject(new Error("not connected"));
    return new Promise((resolve, reject) => {
      const entry = {
        go: () => {
          clearTimeout(timer);
          this.#send(this.ws, method, params, timeoutMs).then(resolve, reject);
        },
      };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== entry);
        reject(new Error(`${method}: not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push(entry);
    });
  }

  notify(method, params) {
    if (!this.ws || this.state !== "open") return;
    const msg = { jsonrpc: "2.0", method };
    if (params !== undefined) msg.params = params;
    this.#sendRaw(this.ws, msg);
  }

  /** tools/call; resolves with structuredContent (or the parsed text), throws ToolError. */
  async callTool(name, args = {}) {
    const result = await this.request("tools/call", { name, arguments: args });
    const text = (result.content ?? []).map((c) => c.text ?? "").join("\n");
    if (result.isError) throw new ToolError(text || `${name} failed`, result);
    if (result.structuredContent !== undefined) return result.structuredContent;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  #receive(ws, data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this.#traffic({ dir: "info", text: `unparsable frame: ${String(data).slice(0, 200)}` });
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) this.#handle(ws, m);
  }

  #handle(ws, msg) {
    if (msg.id !== undefined && msg.id !== null && (msg.result !== undefined || msg.error !== undefined)) {
      const p = this.pending.get(msg.id);
      const ms = p ? Math.round(performance.now() - p.sent) : undefined;
      this.#traffic({ dir: "in", msg, id: msg.id, ms, method: p?.method });
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new RpcError(msg.error));
      else p.resolve(msg.result);
      return;
    }
    this.#traffic({ dir: "in", msg, method: msg.method, id: msg.id });
    if (msg.method && msg.id !== undefined) {
      // A server request (e.g. ping): answer what we can.
      const reply = msg.method === "ping"
        ? { jsonrpc: "2.0", id: msg.id, result: {} }
        : { jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: `method not found: ${msg.method}` } };
      this.#sendRaw(ws, reply);
      return;
    }
    if (!msg.method) return;
    // lastPosition: the newest _meta.position seen. With catalog events on (every change,
    // in order, never coalesced) only they advance it: a coalesced list_changed may carry a
    // position whose catalog event is still in flight when the socket drops.
    const position = msg.params?._meta?.position;
    const catalogEvent = msg.method === "notifications/catalog/changed";
    if (Number.isInteger(position) && (catalogEvent || !this.catalogEvents)) {
      if (catalogEvent && this.lastPosition != null && position <= this.lastPosition) {
        return; // at-least-once delivery: already seen
      }
      if (this.lastPosition == null || position > this.lastPosition) {
        this.lastPosition = position;
        this.#save();
      }
    }
    this.dispatchEvent(new CustomEvent("notification", { detail: { method: msg.method, params: msg.params ?? {} } }));
  }

  #failAll(err, keepWaiting = false) {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
    if (!keepWaiting) this.waiting.splice(0);
  }
}
