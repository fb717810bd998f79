// Accessibility: axe-core finds no serious or critical violations on the main views in
// light and dark mode (system preference and the toggle), and the main flow works with
// the keyboard alone, with a visible focus indicator.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openApp, openPrompt, tool, unique, within, axe, PHONE } from "./helpers.mjs";

let browser;
let robot;
let id;
// A word no other prompt has, so that the keyboard test's search finds exactly one.
const word = Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("");

before(async () => {
  browser = await launch();
  robot = await openApp(browser);
  id = unique("a11y");
  await tool(robot, "create_prompt", { id, name: `A11y sample ${word}`, description: "For the axe run", content: "Hello {{name}}\n{{#if mood}}Mood: {{mood}}{{/if}}", variables: [{ name: "name", description: "Who", required: true }, { name: "mood", choices: ["calm", "happy"] }], category: "a11y", tags: ["a11y"] });
  await tool(robot, "update_prompt", { id, expectedVersion: 1, content: "Hi {{name}}\n{{#if mood}}Mood: {{mood}}{{/if}}" });
});
after(async () => {
  await browser?.close();
});

async function views(page) {
  const out = {};
  await page.waitForSelector("#prompt-list .prompt-item");
  out.list = await axe(page);
  await openPrompt(page, id);
  await page.waitForSelector("#rendered .message pre");
  out.use = await axe(page);
  await page.click("#tab-edit");
  out.edit = await axe(page);
  await page.click("#tab-history");
  await page.waitForSelector("#diff-slot .diff");
  out.history = await axe(page);
  await page.click("#inspector-toggle");
  await page.waitForSelector("#traffic li");
  out.inspector = await axe(page);
  await page.click("#inspector-close");
  await page.evaluate(() => (location.hash = "#/new"));
  await page.waitForSelector("#create-view:not([hidden])");
  out.create = await axe(page);
  return out;
}

function report(name, results) {
  const lines = [];
  for (const [view, r] of Object.entries(results)) {
    lines.push(`${name}/${view}: ${r.bad.length} serious/critical, ${r.all.length} total${r.all.length ? ` (${r.all.map((v) => `${v.id}:${v.impact}`).join(", ")})` : ""}`);
  }
  console.log(lines.join("\n"));
  const bad = Object.entries(results).flatMap(([view, r]) => r.bad.map((v) => `${view}: ${v.id} (${v.impact}) ${v.help}\n    ${v.nodes.join("\n    ")}`));
  assert.deepEqual(bad, [], `axe violations in ${name}:\n${bad.join("\n")}`);
}

for (const scheme of ["light", "dark"]) {
  test(`axe: no serious or critical violations, prefers-color-scheme ${scheme}`, async () => {
    const page = await openApp(browser, { colorScheme: scheme });
    assert.equal(await page.getAttribute("#theme-toggle", "aria-pressed"), String(scheme === "dark"));
    report(scheme, await views(page));
    await page.context().close();
  });
}

test("axe: the theme toggle switches to dark (and back), and phone width passes too", async () => {
  const page = await openApp(browser, { colorScheme: "light" });
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await page.click("#theme-toggle");
  assert.equal(await page.getAttribute("#theme-toggle", "aria-pressed"), "true");
  assert.notEqual(await bg(), light);
  report("toggled-dark", await views(page));
  await page.click("#theme-toggle");
  assert.equal(await bg(), light);
  await page.context().close();
  const phone = await openApp(browser, { viewport: PHONE, colorScheme: "dark" });
  await phone.waitForSelector("#prompt-list .prompt-item");
  report("phone-dark", { list: await axe(phone) });
  await openPrompt(phone, id);
  await phone.waitForSelector("#rendered .message pre");
  report("phone-dark", { use: await axe(phone) });
  await phone.context().close();
});

test("keyboard only: search, open, fill the form, copy, edit and save, history", async () => {
  const page = await openApp(browser);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(page.url()).origin });
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return { id: el.id, tag: el.tagName, name: el.getAttribute("name"), text: el.textContent.trim().slice(0, 40), dataId: el.dataset?.id, outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 };
  });
  const tabTo = async (pred, max = 40, key = "Tab") => {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press(key);
      const f = await focused();
      if (pred(f)) return f;
    }
    throw new Error(`focus never reached the target; last: ${JSON.stringify(await focused())}`);
  };
  // The first Tab reaches the skip link.
  await page.keyboard.press("Tab");
  assert.match((await focused()).text, /Skip to/);
  const search = await tabTo((f) => f.id === "search");
  assert.ok(search.outline, "visible focus on the search box");
  await page.keyboard.type(word);
  await within(3000, () => page.$$eval("#prompt-list .prompt-item", (a) => a.length === 1 && a[0].dataset.id).then((x) => x === id), "search result");
  await page.keyboard.press("ArrowDown");
  const row = await focused();
  assert.equal(row.dataId, id);
  assert.ok(row.outline, "visible focus on the list row");
  await page.keyboard.press("Enter");
  await page.waitForFunction((i) => window.mcpApp.state.current?.id === i, id);
  // Into the argument form: type the required name.
  const nameField = await tabTo((f) => f.name === "name");
  assert.ok(nameField.outline);
  await page.keyboard.type("Ada");
  await within(2000, async () => (await page.textContent("#rendered")).includes("Hi Ada"), "rendered with Ada");
  const copy = await tabTo((f) => f.id === "copy-rendered");
  assert.ok(copy.outline);
  await page.keyboard.press("Enter");
  await within(2000, async () => (await page.evaluate(() => navigator.clipboard.readText())).includes("Hi Ada"), "copied");
  // The tabs: Shift+Tab back to "Use", then arrow keys.
  await tabTo((f) => f.id === "tab-use", 40, "Shift+Tab");
  await page.keyboard.press("ArrowRight");
  assert.equal((await focused()).id, "tab-edit");
  assert.equal(await page.getAttribute("#tab-edit", "aria-selected"), "true");
  const tpl = await tabTo((f) => f.tag === "TEXTAREA");
  assert.ok(tpl.outline || (await page.evaluate(() => getComputedStyle(document.querySelector("#panel-edit .template-wrap")).outlineStyle !== "none")), "visible focus around the template");
  await page.keyboard.press("Control+End");
  await page.keyboard.type(" (edited by keyboard)");
  await page.keyboard.press("Control+s");
  await within(3000, async () => (await page.textContent("#pv-version")) === "v3", "saved v3 with Ctrl+S");
  // Tab out of the template (Tab is not swallowed), then to History.
  await page.keyboard.press("Tab");
  assert.notEqual((await focused()).tag, "TEXTAREA");
  await tabTo((f) => f.id === "tab-edit", 60, "Shift+Tab");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.getAttribute("#tab-history", "aria-selected"), "true");
  await page.waitForSelector("#diff-slot .diff-line.add");
  const restore = await tabTo((f) => f.text === "Restore");
  assert.ok(restore.outline);
  // The inspector opens and closes with the keyboard (Escape closes it).
  await tabTo((f) => f.id === "inspector-toggle", 80, "Shift+Tab");
  await page.keyboard.press("Enter");
  assert.equal((await focused()).id, "inspector-close");
  await page.keyboard.press("Escape");
  assert.equal((await focused()).id, "inspector-toggle");
  assert.ok(await page.isHidden("#inspector"));
  await page.context().close();
});
