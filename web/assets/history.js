// Version history (prompt_history): every version with its labels, a line diff between
// any two versions, and restore (= update_prompt with the old fields and expectedVersion).

import { h, clear, announce } from "./dom.js";
import { state, fmtTime } from "./state.js";
import { diffLines, diffStats } from "./diff.js";

/** A rendered line diff of a -> b. */
export function diffView(a, b, { from = "a", to = "b" } = {}) {
  const d = diffLines(a, b);
  const { added, removed } = diffStats(d);
  const mark = { same: " ", add: "+", del: "−" };
  const label = { same: "", add: "added: ", del: "removed: " };
  return h(
    "div",
    { class: "diff-wrap" },
    h("p", { class: "diff-stats" }, added || removed ? `${from} → ${to}: ${added} line${added === 1 ? "" : "s"} added, ${removed} removed` : `${from} and ${to} have the same template`),
    h(
      "div",
      { class: "diff", role: "table", "aria-label": `Line diff from ${from} to ${to}`, tabindex: "0" },
      d.map((l) =>
        h(
          "div",
          { class: `diff-line ${l.op}`, role: "row" },
          h("span", { class: "ln", role: "cell", "aria-hidden": "true" }, l.a ?? ""),
          h("span", { class: "ln", role: "cell", "aria-hidden": "true" }, l.b ?? ""),
          h("span", { class: "mark", role: "cell", "aria-hidden": "true" }, mark[l.op]),
          h("span", { class: "text", role: "cell" }, l.op === "same" ? "" : h("span", { class: "visually-hidden" }, label[l.op]), l.text || " "),
        ),
      ),
    ),
  );
}

export function createHistory(panel, { onRestored }) {
  let id = null;
  let versions = [];
  let labels = {};
  let fromSel, toSel, diffSlot, statusEl;

  async function load(promptId) {
    id = promptId;
    statusEl = h("p", { class: "hint", role: "status" }, "Loading history…");
    clear(panel, statusEl);
    try {
      const r = await state.client.callTool("prompt_history", { id });
      if (id !== promptId) return;
      versions = r.versions ?? [];
      labels = r.labels ?? {};
      render();
    } catch (err) {
      statusEl.textContent = `Could not load the history: ${err.message}`;
    }
  }

  function labelsOf(v) {
    return Object.entries(labels)
      .filter(([, ver]) => (typeof ver === "object" ? ver?.version : ver) === v)
      .map(([l]) => l);
  }

  function render() {
    const latest = versions[versions.length - 1];
    const keepFrom = fromSel?.value;
    const keepTo = toSel?.value;
    const prevLatest = toSel?.dataset.latest;
    const opt = (v) => h("option", { value: String(v.version) }, `v${v.version} · ${fmtTime(v.updatedAt)}`);
    fromSel = h("select", { id: "diff-from", onchange: showDiff }, versions.map(opt));
    toSel = h("select", { id: "diff-to", onchange: showDiff }, versions.map(opt));
    const has = (v) => versions.some((x) => String(x.version) === v);
    fromSel.value = keepFrom && has(keepFrom) ? keepFrom : String(versions[Math.max(0, versions.length - 2)]?.version ?? "");
    // "To" follows the newest version unless the person picked another one.
    toSel.value = keepTo && has(keepTo) && keepTo !== prevLatest ? keepTo : String(latest?.version ?? "");
    toSel.dataset.latest = String(latest?.version ?? "");
    diffSlot = h("div", { id: "diff-slot" });
    statusEl = h("p", { class: "hint", role: "status" });
    clear(
      panel,
      h(
        "section",
        { class: "card", "aria-labelledby": "versions-title" },
        h("h3", { id: "versions-title" }, `${versions.length} version${versions.length === 1 ? "" : "s"}`),
        h(
          "table",
          { class: "versions" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Version"), h("th", { scope: "col" }, "Saved"), h("th", { scope: "col", class: "col-name" }, "Name"), h("th", { scope: "col" }, "Labels"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
          h(
            "tbody",
            {},
            [...versions].reverse().map((v) =>
              h(
                "tr",
                { class: v === latest ? "current" : "", dataset: { version: String(v.version) } },
                h("td", {}, `v${v.version}`, v === latest ? " (current)" : ""),
                h("td", {}, fmtTime(v.updatedAt)),
                h("td", { class: "col-name" }, v.name),
                h("td", {}, labelsOf(v.version).map((l) => h("span", { class: "badge" }, l))),
                h(
                  "td",
                  {},
                  h("span", { class: "actions" },
                    h("button", { type: "button", class: "btn btn-small", "aria-label": `Compare v${v.version} with the current version`, onclick: () => ((fromSel.value = String(v.version)), (toSel.value = String(latest.version)), showDiff(), diffSlot.querySelector(".diff")?.focus()) }, "Compare"),
                    v === latest ? null : h("button", { type: "button", class: "btn btn-small", "aria-label": `Restore v${v.version}`, dataset: { restore: String(v.version) }, onclick: () => restore(v) }, "Restore"),
                  ),
                ),
              ),
            ),
          ),
        ),
        statusEl,
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "diff-title" },
        h("h3", { id: "diff-title" }, "Diff"),
        h("div", { class: "diff-pickers" }, h("label", { class: "field" }, h("span", {}, "From"), fromSel), h("label", { class: "field" }, h("span", {}, "To"), toSel)),
        diffSlot,
      ),
    );
    showDiff();
  }

  function showDiff() {
    const a = versions.find((v) => String(v.version) === fromSel.value);
    const b = versions.find((v) => String(v.version) === toSel.value);
    if (!a || !b) return clear(diffSlot, h("p", { class: "hint" }, "Only one version so far."));
    clear(diffSlot, diffView(a.content, b.content, { from: `v${a.version}`, to: `v${b.version}` }));
  }

  async function restore(v) {
    const latest = versions[versions.length - 1];
    statusEl.textContent = `Restoring v${v.version}…`;
    const fields = { name: v.name, description: v.description ?? "", content: v.content, tags: v.tags ?? [], variables: v.variables ?? [] };
    if (v.category) fields.category = v.category;
    try {
      const p = await state.client.callTool("update_prompt", { id, expectedVersion: latest.version, ...fields });
      announce(`Restored v${v.version} as v${p.version}`);
      onRestored?.(p);
      await load(id);
      statusEl.textContent = `Restored v${v.version} as v${p.version}.`;
    } catch (err) {
      statusEl.textContent = `Not restored: ${err.message}`;
      await load(id);
    }
  }

  return { load, refresh: () => id && load(id), get id() { return id; } };
}
