// The inspector: raw JSON-RPC traffic (requests, responses with their round-trip time,
// notifications), and the server's info and capabilities from initialize.

import { $, h, clear } from "./dom.js";

const MAX = 500;

export function createInspector() {
  const list = $("#traffic");
  const filterEl = $("#traffic-filter");
  const facts = $("#server-facts");
  const caps = $("#server-caps");
  const entries = []; // newest last
  let pendingRender = false;
  let counter = 0;

  function summary(e) {
    const m = e.msg;
    if (e.dir === "info") return { dir: "•", cls: "dir-note", title: e.text, kind: "note" };
    if (e.dir === "out") {
      const tool = m.method === "tools/call" ? ` ${m.params?.name ?? ""}` : "";
      const title = m.id !== undefined ? `${m.method ?? "response"}${tool} #${m.id}` : m.method;
      return { dir: "→", cls: "dir-out", title, kind: m.id !== undefined ? "request" : "notification" };
    }
    if (m.method) return { dir: "←", cls: "dir-in", title: m.method, kind: "notification" };
    const failed = m.error || m.result?.isError;
    return { dir: "←", cls: "dir-in", title: `${e.method ?? "response"} #${m.id}${failed ? " (error)" : ""}`, kind: "response", failed };
  }

  function item(e) {
    const s = summary(e);
    const time = new Date(e.at).toLocaleTimeString(undefined, { hour12: false });
    const sum = h(
      "summary",
      {},
      h("span", { class: `dir ${s.cls}`, "aria-hidden": "true" }, s.dir),
      h("span", { class: "visually-hidden" }, `${s.kind}: `),
      h("span", { class: `t-method ${s.failed ? "t-err" : ""}` }, s.title),
      e.ms !== undefined ? h("span", { class: "t-ms" }, `${e.ms} ms`) : null,
      h("span", { class: "t-time" }, time),
    );
    if (!e.msg) return h("li", { dataset: { kind: s.kind } }, h("div", { class: "note-row" }, [...sum.childNodes]));
    const details = h("details", {}, sum);
    details.addEventListener("toggle", () => {
      if (details.open && !details.querySelector("pre")) details.append(h("pre", { class: "json", tabindex: "0" }, JSON.stringify(e.msg, null, 2)));
    }, { once: false });
    return h("li", { dataset: { kind: s.kind, method: e.msg.method ?? e.method ?? "" } }, details);
  }

  function matches(e) {
    const q = filterEl.value.trim().toLowerCase();
    if (!q) return true;
    return (e.text ?? "").toLowerCase().includes(q) || JSON.stringify(e.msg ?? "").toLowerCase().includes(q) || (e.method ?? "").toLowerCase().includes(q);
  }

  function render() {
    pendingRender = false;
    if ($("#inspector").hidden) return;
    clear(list, entries.filter(matches).slice(-200).reverse().map(item));
  }

  function scheduleRender() {
    if (pendingRender) return;
    pendingRender = true;
    requestAnimationFrame(render);
  }

  const titles = new Map(); // request id -> "tools/call get_prompt"
  function add(e) {
    if (e.dir === "out" && e.msg?.id !== undefined && e.msg.method) {
      titles.set(e.msg.id, e.msg.method === "tools/call" ? `tools/call ${e.msg.params?.name ?? ""}` : e.msg.method);
      if (titles.size > MAX) titles.delete(titles.keys().next().value);
    }
    if (e.dir === "in" && e.msg?.id !== undefined && !e.msg.method) e = { ...e, method: titles.get(e.msg.id) ?? e.method };
    entries.push({ at: Date.now(), ...e, n: ++counter });
    if (entries.length > MAX) entries.splice(0, entries.length - MAX);
    scheduleRender();
  }

  function setSession(info, client) {
    const rows = [
      ["server", `${info.serverInfo?.title ?? info.serverInfo?.name ?? "?"} ${info.serverInfo?.version ?? ""}`],
      ["protocol", info.protocolVersion],
      ["session", info.sessionId],
      ["resumed", info.resumed ? `yes (replay ${info.replay ?? "?"})` : "no (new session)"],
      ["last position", client.lastPosition ?? "none yet"],
    ];
    clear(facts, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { fact: k } }, String(v ?? ""))]));
    caps.textContent = JSON.stringify(info.capabilities ?? {}, null, 2);
  }

  function setPosition(pos) {
    const dd = facts.querySelector('[data-fact="last position"]');
    if (dd) dd.textContent = String(pos ?? "none yet");
  }

  filterEl.addEventListener("input", scheduleRender);
  $("#traffic-clear").addEventListener("click", () => {
    entries.length = 0;
    render();
  });

  return { add, render, setSession, setPosition, entries };
}
