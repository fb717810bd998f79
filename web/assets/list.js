// The prompt list: as-you-type search (search_prompts), category and tag filters,
// cursor pagination (list_prompts), and live upserts with a highlighted row.

import { $, h, clear, debounce } from "./dom.js";
import { state } from "./state.js";

const PAGE = 50;

export function createList() {
  const listEl = $("#prompt-list");
  const statusEl = $("#list-status");
  const moreBtn = $("#load-more");
  const searchEl = $("#search");
  const catEl = $("#filter-category");
  const tagEl = $("#filter-tag");
  const items = new Map(); // id -> prompt (in list order: insertion order is kept sorted)
  const marks = new Map(); // id -> "new" | "updated" | "deleted"
  const categories = new Set();
  const tags = new Set();
  let nextCursor = null;
  let seq = 0;
  let currentId = null;

  const filters = () => ({
    query: searchEl.value.trim(),
    category: catEl.value || undefined,
    tag: tagEl.value || undefined,
  });

  function learn(prompts) {
    let grew = false;
    for (const p of prompts) {
      if (p.category && !categories.has(p.category)) (categories.add(p.category), (grew = true));
      for (const t of p.tags ?? []) if (!tags.has(t)) (tags.add(t), (grew = true));
    }
    if (grew) fillSelects();
  }

  function fillSelects() {
    const fill = (el, values, all) => {
      const keep = el.value;
      clear(el, h("option", { value: "" }, all), [...values].sort().map((v) => h("option", { value: v }, v)));
      el.value = keep;
    };
    fill(catEl, categories, "All categories");
    fill(tagEl, tags, "All tags");
  }

  function matches(p) {
    const f = filters();
    if (f.category && (p.category ?? "").toLowerCase() !== f.category.toLowerCase()) return false;
    if (f.tag && !(p.tags ?? []).some((t) => t.toLowerCase() === f.tag.toLowerCase())) return false;
    return true;
  }

  function row(p) {
    const mark = marks.get(p.id);
    const a = h(
      "a",
      {
        class: "prompt-item",
        href: `#/p/${encodeURIComponent(p.id)}`,
        dataset: { id: p.id },
        "aria-current": p.id === currentId ? "page" : undefined,
      },
      h(
        "span",
        { class: "pi-title" },
        h("span", {}, p.name || p.id),
        mark ? h("span", { class: `badge ${mark === "deleted" ? "badge-deleted" : "badge-live"}` }, mark) : null,
      ),
      h("span", { class: "pi-sub" }, [p.id, `v${p.version}`, p.category].filter(Boolean).join(" · ")),
    );
    return h("li", {}, a);
  }

  // Keyed rendering: a row is rebuilt only when what it shows changed, and rows are moved
  // rather than recreated, so live updates stay cheap with thousands of rows and keep focus.
  const nodes = new Map(); // id -> {li, key}
  function render() {
    const seen = new Set();
    let cursor = listEl.firstChild;
    for (const p of items.values()) {
      seen.add(p.id);
      const key = `${p.name}|${p.version}|${p.category ?? ""}|${marks.get(p.id) ?? ""}|${p.id === currentId}`;
      let node = nodes.get(p.id);
      let refocus = false;
      if (!node || node.key !== key) {
        if (node) {
          refocus = node.li.contains(document.activeElement);
          if (node.li === cursor) cursor = cursor.nextSibling;
          node.li.remove();
        }
        node = { li: row(p), key };
        nodes.set(p.id, node);
      }
      if (node.li !== cursor) listEl.insertBefore(node.li, cursor);
      else cursor = cursor.nextSibling;
      if (refocus) node.li.firstChild.focus();
    }
    for (const [id, node] of nodes) {
      if (!seen.has(id)) {
        node.li.remove();
        nodes.delete(id);
      }
    }
    moreBtn.hidden = !nextCursor;
  }

  function setStatus(text) {
    statusEl.textContent = text;
  }

  function countText() {
    const f = filters();
    const n = items.size;
    const what = f.query ? `${n} match${n === 1 ? "" : "es"} for “${f.query}”` : `${n}${nextCursor ? "+" : ""} prompt${n === 1 ? "" : "s"}`;
    return what;
  }

  async function reload() {
    const my = ++seq;
    const f = filters();
    setStatus(f.query ? "Searching…" : "Loading…");
    try {
      let prompts;
      let cursor = null;
      if (f.query) {
        const r = await state.client.callTool("search_prompts", { query: f.query, category: f.category, tag: f.tag, limit: PAGE });
        prompts = r.prompts ?? [];
      } else {
        const r = await state.client.callTool("list_prompts", { category: f.category, tag: f.tag, limit: PAGE });
        prompts = r.prompts ?? [];
        cursor = r.nextCursor ?? null;
      }
      if (my !== seq) return;
      items.clear();
      for (const p of prompts) items.set(p.id, p);
      nextCursor = cursor;
      learn(prompts);
      render();
      setStatus(countText());
    } catch (err) {
      if (my !== seq) return;
      setStatus(`Could not load prompts: ${err.message}`);
    }
  }

  async function loadMore({ focus = false } = {}) {
    if (!nextCursor || moreBtn.disabled) return;
    const my = seq;
    const f = filters();
    moreBtn.disabled = true;
    try {
      const r = await state.client.callTool("list_prompts", { category: f.category, tag: f.tag, limit: PAGE, cursor: nextCursor });
      if (my !== seq) return;
      const firstNew = (r.prompts ?? [])[0]?.id;
      for (const p of r.prompts ?? []) items.set(p.id, p);
      nextCursor = r.nextCursor ?? null;
      learn(r.prompts ?? []);
      render();
      setStatus(countText());
      if (focus && firstNew) listEl.querySelector(`[data-id="${CSS.escape(firstNew)}"]`)?.focus();
    } catch (err) {
      setStatus(`Could not load more: ${err.message}`);
    } finally {
      moreBtn.disabled = false;
    }
  }

  /** Walks every page once in the background to learn all categories and tags. */
  async function learnFacets() {
    let cursor;
    for (let page = 0; page < 40; page++) {
      const r = await state.client.callTool("list_prompts", { limit: 200, cursor });
      learn(r.prompts ?? []);
      cursor = r.nextCursor;
      if (!cursor) break;
    }
  }

  function flash(id) {
    const a = listEl.querySelector(`[data-id="${CSS.escape(id)}"]`);
    if (!a) return;
    a.classList.add("flash");
    setTimeout(() => a.classList.remove("flash"), 1200);
  }

  /** A prompt changed (kind: "created" | "updated" | "labelled"): update or insert its row. */
  function upsert(p, kind) {
    learn([p]);
    const f = filters();
    const present = items.has(p.id);
    if (!present) {
      if (f.query || !matches(p)) return; // not in this view
      // Keep list order (by id); a prompt past the loaded pages comes with "Load more".
      const ids = [...items.keys()];
      const last = ids[ids.length - 1];
      if (nextCursor && last !== undefined && p.id > last) return;
      const merged = [...items.values(), p].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      items.clear();
      for (const q of merged) items.set(q.id, q);
    } else if (!matches(p)) {
      items.delete(p.id);
      render();
      setStatus(countText());
      return;
    } else {
      items.set(p.id, p);
    }
    // The open prompt shows its own changes; other rows keep a badge until opened.
    if (p.id !== currentId) marks.set(p.id, kind === "created" ? "new" : kind === "labelled" ? "labelled" : "updated");
    render();
    setStatus(countText());
    flash(p.id);
  }

  function remove(id) {
    if (!items.has(id)) return;
    marks.set(id, "deleted");
    render();
    flash(id);
    setTimeout(() => {
      if (marks.get(id) !== "deleted") return;
      items.delete(id);
      marks.delete(id);
      render();
      setStatus(countText());
    }, 2500);
  }

  function setCurrent(id) {
    currentId = id;
    if (id && marks.get(id) !== "deleted") marks.delete(id);
    for (const a of listEl.querySelectorAll(".prompt-item")) {
      if (a.dataset.id === id) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
      if (a.dataset.id === id) a.querySelector(".badge-live")?.remove();
    }
  }

  // Arrow keys move between rows; Home/End jump.
  listEl.addEventListener("keydown", (e) => {
    const links = [...listEl.querySelectorAll(".prompt-item")];
    const i = links.indexOf(document.activeElement);
    if (i < 0) return;
    let next = null;
    if (e.key === "ArrowDown") next = links[Math.min(i + 1, links.length - 1)];
    else if (e.key === "ArrowUp") next = links[Math.max(i - 1, 0)];
    else if (e.key === "Home") next = links[0];
    else if (e.key === "End") next = links[links.length - 1];
    if (next) {
      e.preventDefault();
      next.focus();
    }
  });

  const onSearch = debounce(reload, 200);
  searchEl.addEventListener("input", onSearch);
  searchEl.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      listEl.querySelector(".prompt-item")?.focus();
    }
  });
  catEl.addEventListener("change", reload);
  tagEl.addEventListener("change", reload);
  moreBtn.addEventListener("click", () => loadMore({ focus: true }));
  // Scrolling to the end of the list loads the next page too (the button stays for
  // keyboards): the list scrolls by itself on wide screens, with the page on phones.
  const nearEnd = () => {
    if (moreBtn.disabled || !nextCursor || !items.size) return;
    const own = listEl.scrollHeight > listEl.clientHeight + 1;
    const end = own
      ? listEl.scrollTop + listEl.clientHeight >= listEl.scrollHeight - 200
      : listEl.getBoundingClientRect().bottom <= window.innerHeight + 200 && window.scrollY > 0;
    if (end) loadMore();
  };
  listEl.addEventListener("scroll", nearEnd, { passive: true });
  window.addEventListener("scroll", nearEnd, { passive: true });

  return { reload, loadMore, upsert, remove, setCurrent, learnFacets, get: (id) => items.get(id) };
}
