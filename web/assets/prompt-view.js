// The "Use" panel: a form for the prompt's arguments (required marked, choices from
// completion/complete), the rendered messages (prompts/get) updated as you type, and copy.

import { h, clear, debounce, announce } from "./dom.js";
import { state } from "./state.js";

const values = new Map(); // prompt id -> {arg: value}: typed values survive live updates

export function createUsePanel(panel) {
  let prompt = null;
  let seq = 0;
  let lastText = "";
  let form, out, renderState, copyBtn, missingEl;

  function build(p) {
    prompt = p;
    const vals = values.get(p.id) ?? {};
    values.set(p.id, vals);
    const vars = p.variables ?? [];
    form = h("form", { class: "arg-form", "aria-label": "Arguments", onsubmit: (e) => e.preventDefault() });
    if (!vars.length) form.append(h("p", { class: "hint" }, "This prompt takes no arguments."));
    vars.forEach((v, i) => {
      const inputId = `arg-${i}`;
      const descId = v.description ? `arg-${i}-desc` : undefined;
      const listId = `arg-${i}-choices`;
      const common = {
        id: inputId,
        name: v.name,
        "aria-required": v.required ? "true" : undefined,
        required: v.required || undefined,
        "aria-describedby": descId,
        value: vals[v.name] ?? "",
        spellcheck: "false",
        autocomplete: "off",
      };
      const control = v.choices?.length
        ? h("input", { ...common, type: "text", list: listId })
        : h("textarea", { ...common, rows: 2 });
      control.addEventListener("input", () => {
        vals[v.name] = control.value;
        if (v.choices?.length) complete(v, control, listId);
        autoGrow(control);
        renderSoon();
      });
      if (v.choices?.length) control.addEventListener("focus", () => complete(v, control, listId));
      form.append(
        h(
          "div",
          { class: "field" },
          h("label", { for: inputId }, h("span", {}, v.name), v.required ? h("span", { class: "req", title: "required" }, " *") : null,
            v.required ? h("span", { class: "visually-hidden" }, " (required)") : null),
          v.description ? h("span", { id: descId, class: "arg-desc" }, v.description) : null,
          control,
          v.choices?.length ? h("datalist", { id: listId }, v.choices.map((c) => h("option", { value: c }))) : null,
        ),
      );
      queueMicrotask(() => autoGrow(control));
    });
    if (vars.some((v) => v.required)) form.append(h("p", { class: "hint" }, h("span", { class: "req" }, "*"), " required"));
    missingEl = h("p", { class: "hint", id: "missing-args", "aria-live": "polite" });
    renderState = h("span", { class: "render-state", "aria-live": "polite" });
    copyBtn = h("button", { type: "button", class: "btn", id: "copy-rendered", onclick: copy }, "Copy");
    out = h("div", { class: "messages", id: "rendered", "aria-live": "off" });
    clear(
      panel,
      h(
        "div",
        { class: "use-grid" },
        h("section", { class: "card", "aria-labelledby": "args-title" }, h("h3", { id: "args-title" }, "Arguments"), form),
        h(
          "section",
          { class: "card", "aria-labelledby": "rendered-title" },
          h("div", { class: "card-head" }, h("h3", { id: "rendered-title" }, "Rendered messages"), h("div", { class: "actions" }, renderState, copyBtn)),
          missingEl,
          out,
        ),
      ),
    );
    renderNow();
  }

  function autoGrow(el) {
    if (el.tagName !== "TEXTAREA") return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight + 2, 320)}px`;
  }

  async function complete(v, control, listId) {
    const dl = document.getElementById(listId);
    if (!dl) return;
    try {
      const r = await state.client.request("completion/complete", {
        ref: { type: "ref/prompt", name: prompt.id },
        argument: { name: v.name, value: control.value },
      });
      const vals = r?.completion?.values ?? [];
      clear(dl, vals.map((c) => h("option", { value: c })));
    } catch {
      /* completions are a nicety */
    }
  }

  const renderSoon = debounce(renderNow, 120);

  async function renderNow() {
    if (!prompt) return;
    const my = ++seq;
    const p = prompt;
    const vals = values.get(p.id) ?? {};
    const args = {};
    const missing = [];
    for (const v of p.variables ?? []) {
      const val = vals[v.name] ?? "";
      if (val !== "") args[v.name] = val;
      else if (v.required) missing.push(v.name);
    }
    // Preview with visible placeholders until the required arguments are filled in.
    const preview = { ...args };
    for (const name of missing) preview[name] = `‹${name}›`;
    missingEl.textContent = missing.length ? `Fill in the required argument${missing.length > 1 ? "s" : ""}: ${missing.join(", ")} (shown as ‹placeholders›).` : "";
    renderState.textContent = "Rendering…";
    try {
      const r = await state.client.request("prompts/get", { name: p.id, arguments: preview });
      if (my !== seq) return;
      const msgs = r.messages ?? [];
      lastText = msgs.map((m) => textOf(m.content)).join("\n\n");
      clear(
        out,
        msgs.map((m) => h("div", { class: "message" }, h("div", { class: "role" }, m.role), h("pre", { tabindex: "0", "aria-label": `${m.role} message` }, textOf(m.content)))),
      );
      renderState.textContent = `v${p.version}`;
      copyBtn.disabled = missing.length > 0;
    } catch (err) {
      if (my !== seq) return;
      renderState.textContent = "";
      clear(out, h("p", { class: "error-text" }, err.message));
      copyBtn.disabled = true;
    }
  }

  async function copy() {
    try {
      await navigator.clipboard.writeText(lastText);
    } catch {
      const ta = h("textarea", { class: "visually-hidden", "aria-hidden": "true" });
      ta.value = lastText;
      document.body.append(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    copyBtn.textContent = "Copied";
    announce("Rendered prompt copied to the clipboard");
    setTimeout(() => (copyBtn.textContent = "Copy"), 1500);
  }

  return {
    show: build,
    /** The prompt changed: rebuild the form if its arguments changed, else re-render. */
    update(p) {
      const sameArgs = JSON.stringify(p.variables) === JSON.stringify(prompt?.variables);
      if (!prompt || prompt.id !== p.id || !sameArgs) {
        const focusedName = document.activeElement?.closest?.(".arg-form") ? document.activeElement.name : null;
        build(p);
        if (focusedName) form.querySelector(`[name="${CSS.escape(focusedName)}"]`)?.focus();
      } else {
        prompt = p;
        renderNow();
      }
    },
    get text() {
      return lastText;
    },
  };
}

function textOf(content) {
  if (!content) return "";
  if (Array.isArray(content)) return content.map(textOf).join("\n");
  if (content.type === "text") return content.text ?? "";
  if (content.type === "resource") return content.resource?.text ?? "";
  return JSON.stringify(content);
}
