// The editor: create or edit a prompt (template textarea over a highlighted copy, the
// declared variables), delete, and saves that never overwrite someone else's newer
// version silently: a stale expectedVersion shows yours and theirs side by side and lets
// the person keep theirs, overwrite with theirs' version as expectedVersion, or merge.

import { h, clear, announce } from "./dom.js";
import { state, fmtTime } from "./state.js";
import { ToolError } from "./mcp-client.js";
import { diffView } from "./history.js";

const HELPERS = new Set([
  "if", "unless", "each", "with", "else", "this", "eq", "ne", "and", "or", "not", "join",
  "upper", "lower", "json", "default", "lookup", "log", "true", "false", "null", "undefined",
]);

/** Splits a template into text and {{…}} tokens, for highlighting. */
export function tokenize(src) {
  const out = [];
  const re = /\{\{\{?[\s\S]*?\}?\}\}/g;
  let last = 0;
  for (let m; (m = re.exec(src)); ) {
    if (m.index > last) out.push({ kind: "text", text: src.slice(last, m.index) });
    const t = m[0];
    const inner = t.replace(/^\{\{\{?~?\s*/, "");
    const kind = inner.startsWith("!") ? "comment" : /^[#/>^]|^else\b/.test(inner) ? "block" : "var";
    out.push({ kind, text: t });
    last = m.index + t.length;
  }
  if (last < src.length) out.push({ kind: "text", text: src.slice(last) });
  return out;
}

/** The variable names a template reads (an approximation; the hub has the last word). */
export function usedVariables(src) {
  const names = [];
  for (const tok of tokenize(src)) {
    if (tok.kind === "text" || tok.kind === "comment") continue;
    const inner = tok.text.replace(/^\{\{\{?~?\s*/, "").replace(/\s*~?\}?\}\}$/, "");
    if (/^[/>]/.test(inner)) continue;
    const body = inner.replace(/^[#^]\s*/, "").replace(/"[^"]*"|'[^']*'/g, " ");
    for (const word of body.match(/[@A-Za-z_][\w.@-]*/g) ?? []) {
      const root = word.split(".")[0];
      if (root.startsWith("@") || HELPERS.has(root) || /=$/.test(word)) continue;
      if (!names.includes(root)) names.push(root);
    }
  }
  return names;
}

function highlight(pre, src) {
  clear(
    pre,
    tokenize(src).map((t) => (t.kind === "text" ? t.text : h("span", { class: `tok-${t.kind}` }, t.text))),
    "\n", // keeps a trailing newline's line visible
  );
}

let uid = 0;

export function createEditor(panel, { mode, onSaved, onDeleted, onCancel }) {
  const n = ++uid;
  let base = null; // the version the edits are based on (edit mode)
  let rows = []; // variables: {name, description, required, choices, explicit}
  let conflict = null; // {theirs, merging}
  let conflictEl, errorEl, saveState, f;

  function field(label, control, extra = {}) {
    const id = `ed${n}-${label.toLowerCase().replace(/\W+/g, "-")}`;
    control.id = id;
    if (extra.hint) control.setAttribute("aria-describedby", `${id}-hint`);
    return h("div", { class: `field ${extra.wide ? "wide" : ""}` }, h("label", { for: id }, h("span", {}, label), extra.req ? h("span", { class: "req" }, " *") : null), control, extra.hint ? h("span", { class: "arg-desc", id: `${id}-hint` }, extra.hint) : null);
  }

  function build() {
    f = {
      name: h("input", { type: "text", required: true, autocomplete: "off" }),
      id: h("input", { type: "text", autocomplete: "off", spellcheck: "false" }),
      description: h("input", { type: "text", autocomplete: "off" }),
      category: h("input", { type: "text", autocomplete: "off" }),
      tags: h("input", { type: "text", autocomplete: "off" }),
      content: h("textarea", { id: `ed${n}-template`, class: "code", spellcheck: "false", required: true, rows: 10, "aria-describedby": `ed${n}-template-hint` }),
    };
    const overlay = h("pre", { "aria-hidden": "true" });
    const sync = () => {
      highlight(overlay, f.content.value);
      f.content.style.height = "auto";
      const max = Math.max(240, Math.round(window.innerHeight * 0.7));
      f.content.style.height = `${Math.min(max, Math.max(240, f.content.scrollHeight + 2))}px`;
      overlay.scrollTop = f.content.scrollTop;
      renderUsed();
      markDirty();
    };
    f.content.addEventListener("input", sync);
    f.content.addEventListener("scroll", () => (overlay.scrollTop = f.content.scrollTop));
    f.content.addEventListener("keydown", (e) => {
      // Tab moves focus (keyboard users must be able to leave); Ctrl/Cmd+S saves.
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        save();
      }
    });
    for (const k of ["name", "id", "description", "category", "tags"]) f[k].addEventListener("input", markDirty);
    f.sync = sync;

    conflictEl = h("div", { class: "conflict-slot" });
    errorEl = h("div", { class: "notice error", role: "alert", hidden: true });
    saveState = h("span", { class: "save-state", role: "status" });
    const usedEl = h("div", { class: "used-vars", id: `ed${n}-used`, "aria-live": "polite" });
    const varsBody = h("tbody");
    f.usedEl = usedEl;
    f.varsBody = varsBody;

    const form = h(
      "form",
      { class: "editor-form", "aria-label": mode === "create" ? "New prompt" : "Edit prompt", onsubmit: (e) => (e.preventDefault(), save()) },
      h(
        "div",
        { class: "card" },
        h(
          "div",
          { class: "editor-grid" },
          field("Name", f.name, { req: true }),
          mode === "create" ? field("Id (optional)", f.id, { hint: "Lowercase letters, digits, - . _; made from the name when empty" }) : null,
          field("Category", f.category),
          field("Tags", f.tags, { hint: "Comma-separated" }),
          field("Description", f.description, { wide: mode !== "create" }),
          h(
            "div",
            { class: "field wide" },
            h("label", { for: `ed${n}-template` }, h("span", {}, "Template"), h("span", { class: "req" }, " *")),
            h("span", { class: "arg-desc", id: `ed${n}-template-hint` }, "Handlebars: {{name}}, {{#if name}}…{{/if}}, {{#each items}}…{{/each}}, {{> other-prompt}}. Ctrl+S saves."),
            h("div", { class: "template-wrap" }, overlay, f.content),
          ),
        ),
      ),
      h(
        "div",
        { class: "card" },
        h("div", { class: "card-head" }, h("h3", {}, "Variables"), h("button", { type: "button", class: "btn btn-small", onclick: addUsed }, "Add the ones the template uses")),
        usedEl,
        h(
          "table",
          { class: "var-table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Description"), h("th", { scope: "col" }, "Required"), h("th", { scope: "col" }, "Choices (comma-separated)"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Remove")))),
          varsBody,
        ),
        h("div", { class: "actions" }, h("button", { type: "button", class: "btn btn-small", onclick: () => (rows.push({ name: "", description: "", required: true, choices: [], explicit: true }), renderRows(true), markDirty()) }, "Add variable")),
      ),
      errorEl,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "btn btn-primary", id: mode === "create" ? "create-save" : "editor-save" }, mode === "create" ? "Create prompt" : "Save"),
        mode === "edit" ? h("button", { type: "button", class: "btn", onclick: revert }, "Revert") : h("button", { type: "button", class: "btn", onclick: () => onCancel?.() }, "Cancel"),
        saveState,
        h("span", { class: "spacer" }),
        mode === "edit" ? deleteControls() : null,
      ),
    );
    clear(panel, conflictEl, form);
  }

  function deleteControls() {
    const wrap = h("span", { class: "actions" });
    const ask = () =>
      clear(
        wrap,
        h("span", { class: "save-state" }, "Delete this prompt? History is kept."),
        h("button", { type: "button", class: "btn btn-danger", id: "confirm-delete", onclick: doDelete }, "Delete"),
        h("button", { type: "button", class: "btn", onclick: () => (idle(), wrap.querySelector("button")?.focus()) }, "Keep"),
      );
    const idle = () => clear(wrap, h("button", { type: "button", class: "btn btn-danger", id: "delete-prompt", onclick: () => (ask(), wrap.querySelector("#confirm-delete")?.focus()) }, "Delete…"));
    idle();
    return wrap;
  }

  async function doDelete() {
    try {
      await state.client.callTool("delete_prompt", { id: base.id, expectedVersion: base.version });
      announce(`Deleted ${base.id}`);
      onDeleted?.(base.id);
    } catch (err) {
      showError(err instanceof ToolError && /version/i.test(err.message) ? `${err.message}. Someone changed it meanwhile: look at the new version before deleting.` : err.message);
    }
  }

  function renderRows(focusLast = false) {
    clear(
      f.varsBody,
      rows.map((r, i) => {
        const name = h("input", { type: "text", value: r.name, "aria-label": `Variable ${i + 1} name`, spellcheck: "false", oninput: (e) => ((r.name = e.target.value), (r.explicit = true), renderUsed(), markDirty()) });
        return h(
          "tr",
          {},
          h("td", {}, name),
          h("td", {}, h("input", { type: "text", value: r.description ?? "", "aria-label": `${r.name || `Variable ${i + 1}`} description`, oninput: (e) => ((r.description = e.target.value), (r.explicit = true), markDirty()) })),
          h("td", { class: "center" }, h("input", { type: "checkbox", checked: !!r.required, "aria-label": `${r.name || `Variable ${i + 1}`} required`, onchange: (e) => ((r.required = e.target.checked), (r.explicit = true), markDirty()) })),
          h("td", {}, h("input", { type: "text", value: (r.choices ?? []).join(", "), "aria-label": `${r.name || `Variable ${i + 1}`} choices`, oninput: (e) => ((r.choices = splitList(e.target.value)), (r.explicit = true), markDirty()) })),
          h("td", { class: "center" }, h("button", { type: "button", class: "btn btn-small btn-quiet", "aria-label": `Remove ${r.name || `variable ${i + 1}`}`, onclick: () => (rows.splice(i, 1), renderRows(), renderUsed(), markDirty()) }, "✕")),
        );
      }),
    );
    if (!rows.length) f.varsBody.append(h("tr", {}, h("td", { colspan: "5", class: "hint" }, "No variables declared.")));
    if (focusLast) f.varsBody.querySelector("tr:last-child input")?.focus();
  }

  function renderUsed() {
    const used = usedVariables(f.content.value);
    const declared = new Set(rows.map((r) => r.name));
    clear(
      f.usedEl,
      used.length ? h("span", { class: "hint" }, "The template uses:") : h("span", { class: "hint" }, "The template uses no variables."),
      used.map((u) => h("span", { class: `chip ${declared.has(u) ? "" : "missing"}`, title: declared.has(u) ? "declared" : "not declared yet" }, u, declared.has(u) ? "" : h("span", { class: "visually-hidden" }, " (not declared)"))),
    );
  }

  function addUsed() {
    const declared = new Set(rows.map((r) => r.name));
    for (const u of usedVariables(f.content.value)) if (!declared.has(u)) rows.push({ name: u, description: "", required: true, choices: [], explicit: false });
    renderRows();
    renderUsed();
    markDirty();
  }

  function fill(p) {
    f.name.value = p?.name ?? "";
    f.id.value = "";
    f.description.value = p?.description ?? "";
    f.category.value = p?.category ?? "";
    f.tags.value = (p?.tags ?? []).join(", ");
    f.content.value = p?.content ?? "";
    rows = (p?.variables ?? []).map((v) => ({ name: v.name, description: v.description ?? "", required: !!v.required, choices: [...(v.choices ?? [])], explicit: true }));
    renderRows();
    f.sync();
  }

  function collect() {
    const vars = rows
      .filter((r) => r.name.trim())
      .map((r) => {
        if (!r.explicit) return r.name.trim(); // the hub decides required-ness from the template
        const v = { name: r.name.trim(), required: !!r.required };
        if (r.description?.trim()) v.description = r.description.trim();
        if (r.choices?.length) v.choices = r.choices;
        return v;
      });
    const draft = {
      name: f.name.value.trim(),
      description: f.description.value.trim(),
      content: f.content.value,
      tags: splitList(f.tags.value),
      variables: vars,
    };
    const cat = f.category.value.trim();
    if (cat) draft.category = cat;
    if (mode === "create" && f.id.value.trim()) draft.id = f.id.value.trim();
    return draft;
  }

  function comparable(p) {
    return JSON.stringify({
      name: p?.name ?? "",
      description: p?.description ?? "",
      content: p?.content ?? "",
      tags: p?.tags ?? [],
      category: p?.category ?? "",
      variables: (p?.variables ?? []).map((v) => (typeof v === "string" ? v : `${v.name}|${v.description ?? ""}|${!!v.required}|${(v.choices ?? []).join(",")}`)),
    });
  }

  function isDirty() {
    if (!f) return false;
    const d = collect();
    if (mode === "create") return !!(d.name || d.content);
    return comparable({ ...d, category: d.category ?? "" }) !== comparable(base);
  }

  function markDirty() {
    const dirty = isDirty();
    if (mode === "edit") state.editorDirty = dirty;
    if (saveState && !conflict) saveState.textContent = dirty ? "Unsaved changes" : base ? `Saved · v${base.version}` : "";
  }

  function showError(msg) {
    errorEl.hidden = !msg;
    clear(errorEl, msg ? [h("strong", {}, "Not saved: "), msg] : []);
  }

  async function save() {
    showError("");
    const draft = collect();
    if (!draft.name || !draft.content) {
      showError("a name and a template are required.");
      (draft.name ? f.content : f.name).focus();
      return;
    }
    saveState.textContent = "Saving…";
    try {
      if (mode === "create") {
        const p = await state.client.callTool("create_prompt", draft);
        announce(`Created ${p.id}`);
        onSaved?.(p);
        return;
      }
      const expectedVersion = conflict ? conflict.theirs.version : base.version;
      const p = await state.client.callTool("update_prompt", { id: base.id, expectedVersion, ...draft });
      base = p;
      conflict = null;
      clear(conflictEl);
      state.editorDirty = false;
      saveState.textContent = `Saved · v${p.version}`;
      announce(`Saved version ${p.version}`);
      onSaved?.(p);
    } catch (err) {
      saveState.textContent = "";
      if (mode === "edit" && err instanceof ToolError && /version conflict|current version/i.test(err.message)) {
        await openConflict(draft);
      } else {
        showError(err.message);
      }
    }
  }

  async function openConflict(mine = collect()) {
    const theirs = await state.client.callTool("get_prompt", { id: base.id });
    conflict = { theirs, merging: false };
    renderConflict(mine);
    conflictEl.querySelector("h3")?.focus();
  }

  function renderConflict(mine) {
    const { theirs, merging } = conflict;
    const fields = ["name", "description", "category", "tags"].filter((k) => JSON.stringify(mine[k] ?? (k === "tags" ? [] : "")) !== JSON.stringify(theirs[k] ?? (k === "tags" ? [] : "")));
    const show = (p) => [p.name, p.category ? `category: ${p.category}` : "", (p.tags ?? []).length ? `tags: ${p.tags.join(", ")}` : ""].filter(Boolean).join(" · ");
    clear(
      conflictEl,
      h(
        "section",
        { class: "card conflict", id: "conflict", "aria-labelledby": `ed${n}-conflict-title` },
        h("h3", { id: `ed${n}-conflict-title`, tabindex: "-1" }, merging ? `Merging with version ${theirs.version}` : `Someone else saved version ${theirs.version} while you were editing version ${base.version}`),
        h("p", { class: "hint" }, merging ? `Edit the form below into the version you want, then Save: it replaces version ${theirs.version} (theirs is shown for reference).` : "Nothing was overwritten. Compare both and choose:"),
        fields.length ? h("p", { class: "hint" }, `Other fields that differ: ${fields.join(", ")}.`) : null,
        h(
          "div",
          { class: "conflict-cols" },
          h("div", { class: "mine" }, h("h4", {}, "Yours (not saved)"), h("p", { class: "hint" }, show(mine)), h("pre", { tabindex: "0", "aria-label": "Your template" }, mine.content)),
          h("div", { class: "theirs" }, h("h4", {}, `Theirs (version ${theirs.version}, saved ${fmtTime(theirs.updatedAt)})`), h("p", { class: "hint" }, show(theirs)), h("pre", { tabindex: "0", "aria-label": "Their template" }, theirs.content)),
        ),
        h("h4", {}, `Changes from theirs to yours`),
        diffView(theirs.content, mine.content, { from: `v${theirs.version}`, to: "yours" }),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "btn", id: "conflict-keep-theirs", onclick: keepTheirs }, "Keep theirs"),
          h("button", { type: "button", class: "btn btn-primary", id: "conflict-overwrite", onclick: overwrite }, `Overwrite with mine (as version ${theirs.version + 1})`),
          merging ? null : h("button", { type: "button", class: "btn", id: "conflict-merge", onclick: merge }, "Merge by hand"),
        ),
      ),
    );
  }

  function keepTheirs() {
    base = conflict.theirs;
    conflict = null;
    clear(conflictEl);
    fill(base);
    state.editorDirty = false;
    saveState.textContent = `Kept theirs · v${base.version}`;
    announce(`Kept version ${base.version}; your edits were discarded`);
    onSaved?.(base, { kept: true });
    f.content.focus();
  }

  async function overwrite() {
    await save(); // expectedVersion = theirs.version while a conflict is open
  }

  function merge() {
    conflict.merging = true;
    renderConflict(collect());
    f.content.focus();
  }

  function revert() {
    conflict = null;
    clear(conflictEl);
    fill(base);
    showError("");
    markDirty();
  }

  build();

  return {
    /** Loads a prompt as the base (edit mode). Keeps unsaved edits unless force. */
    load(p, { force = false } = {}) {
      if (!force && base && isDirty()) return false;
      base = p;
      conflict = null;
      clear(conflictEl);
      fill(p);
      markDirty();
      return true;
    },
    reset() {
      fill(null);
    },
    isDirty,
    compare: () => openConflict(),
    focus: () => f.name.focus(),
    /** Re-measures the template box (call when the panel becomes visible). */
    layout: () => f.sync(),
  };
}

function splitList(s) {
  return String(s ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}
