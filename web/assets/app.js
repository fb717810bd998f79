// Wires the page: connection form and state, theme, routing (#/p/ID, #/new), the open
// prompt with its Use / Edit / History tabs, live catalog changes, and the inspector.

import { $, $$, h, clear, announce } from "./dom.js";
import { McpClient, defaultUrl, redactUrl } from "./mcp-client.js";
import { state, on, emit, isMine, fmtTime } from "./state.js";
import { createList } from "./list.js";
import { createUsePanel } from "./prompt-view.js";
import { createEditor } from "./editor.js";
import { createHistory } from "./history.js";
import { createInspector } from "./inspector.js";

const list = createList();
const inspector = createInspector();
const use = createUsePanel($("#panel-use"));
const historyPanel = createHistory($("#panel-history"), { onRestored: (p) => applyLatest(p, null) });
const editor = createEditor($("#panel-edit"), {
  mode: "edit",
  onSaved: (p) => (hideNotice(), applyLatest(p, null)),
  onDeleted: () => (location.hash = "#/"),
});
let creator = null;
let subscribed = null; // the prompt:// URI we are subscribed to
let noticeTimer = null;

/* ---------------- theme ---------------- */

const THEME_KEY = "mcp-prompts.theme";
const themeBtn = $("#theme-toggle");
const systemDark = matchMedia("(prefers-color-scheme: dark)");
function applyTheme() {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved) document.documentElement.dataset.theme = saved;
  else delete document.documentElement.dataset.theme;
  const dark = saved ? saved === "dark" : systemDark.matches;
  themeBtn.setAttribute("aria-pressed", String(dark));
}
themeBtn.addEventListener("click", () => {
  const dark = themeBtn.getAttribute("aria-pressed") === "true";
  localStorage.setItem(THEME_KEY, dark ? "light" : "dark");
  applyTheme();
});
systemDark.addEventListener("change", applyTheme);
applyTheme();

/* ---------------- connection ---------------- */

const URL_KEY = "mcp-prompts.url";
const urlEl = $("#hub-url");
const tokenEl = $("#hub-token");
const connEl = $("#conn-state");
// ?hub=wss://… (e.g. when the page is served from a static host) wins over the last one used.
urlEl.value = new URLSearchParams(location.search).get("hub") || localStorage.getItem(URL_KEY) || defaultUrl();

function showState(text, s) {
  connEl.dataset.state = s;
  $(".conn-text", connEl).textContent = text;
}

function connect() {
  state.client?.close();
  sessions = 0;
  const url = urlEl.value.trim() || defaultUrl();
  const client = new McpClient({ url, token: tokenEl.value });
  state.client = client;
  client.addEventListener("traffic", (e) => inspector.add(e.detail));
  client.addEventListener("state", (e) => {
    const d = e.detail;
    if (client !== state.client) return;
    if (d.state === "connecting") showState("Connecting…", "connecting");
    else if (d.state === "reconnecting") showState(`Reconnecting (attempt ${d.attempt})…`, "reconnecting");
    else if (d.state === "waiting") showState(`Connection lost · retrying in ${(d.delay / 1000).toFixed(1)} s`, "waiting");
    else if (d.state === "closed") showState("Disconnected", "closed");
  });
  client.addEventListener("session", (e) => onSession(client, e.detail));
  client.addEventListener("notification", (e) => onNotification(e.detail));
  inspector.add({ dir: "info", text: `connecting to ${redactUrl(url)}${tokenEl.value ? " (with a token)" : ""}` });
  client.connect();
}

const connToggle = $("#conn-toggle");
connToggle.addEventListener("click", () => {
  const open = !document.body.classList.contains("conn-open");
  document.body.classList.toggle("conn-open", open);
  connToggle.setAttribute("aria-expanded", String(open));
  if (open) urlEl.focus();
});

$("#connect-form").addEventListener("submit", (e) => {
  e.preventDefault();
  document.body.classList.remove("conn-open");
  connToggle.setAttribute("aria-expanded", "false");
  localStorage.setItem(URL_KEY, urlEl.value.trim());
  connect();
});

let sessions = 0;
function onSession(client, info) {
  if (client !== state.client) return;
  sessions += 1;
  inspector.setSession(info, client);
  showState(info.resumed ? "Connected · session resumed" : "Connected", "open");
  document.body.dataset.session = info.resumed ? `resumed-${info.replay}` : "new";
  if (info.resumed && info.replay === "complete" && sessions > 1) {
    announce("Reconnected; the session was resumed");
    return; // this page has the catalog; the missed changes are being replayed
  }
  if (sessions > 1) announce(info.resumed ? "Reconnected; re-listing (the replay was truncated)" : "Reconnected with a new session");
  subscribed = null;
  list.reload();
  list.learnFacets().catch(() => {});
  if (state.current) refreshCurrent();
}

/* ---------------- live changes ---------------- */

async function onNotification({ method, params }) {
  if (method === "notifications/catalog/changed") {
    inspector.setPosition(state.client.lastPosition);
    await onCatalogEvent(params);
  } else if (method === "notifications/resources/updated" && params.uri === subscribed && state.current && !catalogEventsOn()) {
    // With catalog events (which say who changed what) this is redundant; without them
    // (a hub that lacks the extension) it is how the open prompt learns of changes.
    const p = await state.client.callTool("get_prompt", { id: state.current.id }).catch(() => null);
    if (p && p.version > state.current.version) applyLatest(p, null);
  }
}

function catalogEventsOn() {
  return !!state.client?.server?.capabilities?.experimental?.["mcp-prompts/catalogEvents"];
}

async function onCatalogEvent(ev) {
  emit("changed", ev);
  if (ev.kind === "deleted") {
    list.remove(ev.id);
    if (state.current?.id === ev.id) {
      if (isMine(ev)) return;
      notice(`“${state.current.name}” was deleted by someone else.`, { actions: [["Back to the list", () => (location.hash = "#/")]] });
    }
    announce(`${ev.id} was deleted`);
    return;
  }
  let p;
  try {
    p = await state.client.callTool("get_prompt", { id: ev.id });
  } catch {
    return; // deleted again meanwhile
  }
  list.upsert(p, ev.kind);
  if (!isMine(ev)) announce(`${p.name} ${ev.kind === "created" ? "was created" : `was ${ev.kind}`} (v${p.version})`);
  if (state.current?.id === ev.id && (p.version > state.current.version || ev.kind === "labelled")) applyLatest(p, ev);
}

/** The open prompt has a newer version p (from ev, or from our own save when ev is null). */
function applyLatest(p, ev) {
  if (!state.current || state.current.id !== p.id) return;
  const byOther = ev && !isMine(ev);
  if (p.version < state.current.version) return;
  if (p.version === state.current.version && ev) {
    if (ev.kind === "labelled" && !$("#panel-history").hidden) historyPanel.load(p.id);
    return;
  }
  state.current = p;
  renderHead(p);
  use.update(p);
  list.upsert(p, "updated");
  if (state.editorDirty && byOther) {
    notice(`Someone else saved version ${p.version} while you were editing. Your unsaved edits are kept; saving will show both versions.`, {
      actions: [["Compare now", () => (selectTab("edit"), editor.compare())]],
    });
  } else {
    editor.load(p, { force: !state.editorDirty });
    if (byOther) notice(`Updated to version ${p.version} by someone else.`, { timeout: 6000, subtle: true });
  }
  if (!$("#panel-history").hidden) historyPanel.load(p.id);
}

function notice(text, { actions = [], timeout = 0, error = false } = {}) {
  const el = $("#notice");
  clearTimeout(noticeTimer);
  el.className = `notice ${error ? "error" : ""}`;
  clear(
    el,
    h("strong", {}, error ? "Error" : "Changed"),
    h("span", {}, text),
    actions.map(([label, fn]) => h("button", { type: "button", class: "btn btn-small", onclick: () => (hideNotice(), fn()) }, label)),
    h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": "Dismiss notice", onclick: hideNotice }, "✕"),
  );
  el.hidden = false;
  if (timeout) noticeTimer = setTimeout(hideNotice, timeout);
}
function hideNotice() {
  $("#notice").hidden = true;
}

/* ---------------- the open prompt ---------------- */

function renderHead(p) {
  $("#pv-title").textContent = p.name || p.id;
  clear(
    $("#pv-meta"),
    h("code", {}, p.id),
    h("span", { class: "badge", id: "pv-version" }, `v${p.version}`),
    p.category ? h("span", { class: "badge" }, p.category) : null,
    (p.tags ?? []).map((t) => h("span", { class: "badge" }, `#${t}`)),
    h("span", {}, `updated ${fmtTime(p.updatedAt)}`),
  );
  $("#pv-description").textContent = p.description ?? "";
  document.title = `${p.name || p.id} · mcp-prompts`;
}

async function openPrompt(id) {
  setView("prompt");
  hideNotice();
  list.setCurrent(id);
  const same = state.current?.id === id;
  if (!same) {
    state.current = null;
    state.editorDirty = false;
    $("#pv-title").textContent = "Loading…";
    clear($("#pv-meta"));
    $("#pv-description").textContent = "";
  }
  let p;
  try {
    p = await state.client.callTool("get_prompt", { id });
  } catch (err) {
    $("#pv-title").textContent = id;
    notice(`Could not open “${id}”: ${err.message}`, { error: true });
    return;
  }
  if (decodeRoute().id !== id) return;
  state.current = p;
  renderHead(p);
  use.show(p);
  editor.load(p, { force: true });
  state.editorDirty = false;
  if (!$("#panel-history").hidden) historyPanel.load(id);
  subscribe(`prompt://${id}`);
}

async function refreshCurrent() {
  const id = state.current?.id;
  if (!id) return;
  try {
    const p = await state.client.callTool("get_prompt", { id });
    applyLatest(p, { actor: "refresh" });
  } catch {
    /* deleted meanwhile: the list shows it */
  }
  subscribe(`prompt://${id}`);
}

function subscribe(uri) {
  if (subscribed === uri) return;
  const old = subscribed;
  subscribed = uri;
  if (old) state.client.request("resources/unsubscribe", { uri: old }).catch(() => {});
  state.client.request("resources/subscribe", { uri }).catch(() => {});
}

/* ---------------- tabs ---------------- */

const tabs = $$('[role="tab"]');
function selectTab(name, focus = false) {
  for (const t of tabs) {
    const on = t.id === `tab-${name}`;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
    if (on && focus) t.focus();
  }
  if (name === "history" && state.current) historyPanel.load(state.current.id);
  if (name === "edit") editor.layout();
}
for (const t of tabs) {
  t.addEventListener("click", () => selectTab(t.id.slice(4)));
  t.addEventListener("keydown", (e) => {
    const i = tabs.indexOf(t);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    selectTab(tabs[(to + tabs.length) % tabs.length].id.slice(4), true);
  });
}

/* ---------------- routing ---------------- */

function decodeRoute() {
  const m = location.hash.match(/^#\/p\/(.+)$/);
  if (m) return { view: "prompt", id: decodeURIComponent(m[1]) };
  if (location.hash === "#/new") return { view: "create" };
  return { view: "list" };
}

function setView(view) {
  document.body.dataset.view = view;
  $("#welcome").hidden = view !== "list";
  $("#prompt-view").hidden = view !== "prompt";
  $("#create-view").hidden = view !== "create";
}

let lastHash = location.hash;
function route() {
  const r = decodeRoute();
  // Leaving a prompt with unsaved edits asks first (they are not saved anywhere else).
  if (state.editorDirty && state.current && !(r.view === "prompt" && r.id === state.current.id)) {
    if (!confirm(`Discard your unsaved edits to “${state.current.name}”?`)) {
      window.history.replaceState(null, "", lastHash || "#/");
      return;
    }
    state.editorDirty = false;
  }
  lastHash = location.hash;
  if (r.view === "prompt") {
    openPrompt(r.id);
    if (matchMedia("(max-width: 760px)").matches) $("#main").focus();
  } else if (r.view === "create") {
    setView("create");
    list.setCurrent(null);
    creator = createEditor($("#panel-create"), {
      mode: "create",
      onSaved: (p) => {
        list.upsert(p, "created");
        selectTab("use");
        location.hash = `#/p/${encodeURIComponent(p.id)}`;
      },
      onCancel: () => backFromCreate(),
    });
    creator.focus();
  } else {
    setView("list");
    state.current = null;
    list.setCurrent(null);
    document.title = "mcp-prompts";
  }
}

function backFromCreate() {
  location.hash = state.current ? `#/p/${encodeURIComponent(state.current.id)}` : "#/";
}

window.addEventListener("hashchange", route);
window.addEventListener("beforeunload", (e) => {
  if (state.editorDirty) e.preventDefault();
});
$("#new-prompt").addEventListener("click", () => (location.hash = "#/new"));
$("#back-to-list").addEventListener("click", () => {
  const id = state.current?.id;
  location.hash = "#/";
  if (id) queueMicrotask(() => document.querySelector(`.prompt-item[data-id="${CSS.escape(id)}"]`)?.focus());
});
$("#create-back").addEventListener("click", () => (location.hash = "#/"));

/* ---------------- inspector ---------------- */

const inspBtn = $("#inspector-toggle");
function toggleInspector(open) {
  const el = $("#inspector");
  el.hidden = !open;
  document.body.classList.toggle("inspector-open", open);
  inspBtn.setAttribute("aria-expanded", String(open));
  if (open) {
    inspector.render();
    $("#inspector-close").focus();
  } else inspBtn.focus();
}
inspBtn.addEventListener("click", () => toggleInspector($("#inspector").hidden));
$("#inspector-close").addEventListener("click", () => toggleInspector(false));
$("#inspector").addEventListener("keydown", (e) => e.key === "Escape" && toggleInspector(false));

/* ---------------- start ---------------- */

window.mcpApp = { state, list, editor, on, get client() { return state.client; } };
connect();
route();
