// The main flows of the web UI in real headless Chromium against a running hub
// (MCP_PROMPTS_HUB_URL): browse/search/filter/paginate, render with arguments, create,
// edit, conflict, history/diff/restore, live updates across two contexts, reconnect.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openApp, openPrompt, tool, unique, within, setTemplate, HUB } from "./helpers.mjs";

let browser;
let robot; // a page whose MCP client changes the catalog out of band

before(async () => {
  browser = await launch();
  robot = await openApp(browser);
});
after(async () => {
  await browser?.close();
});

const rows = (page) => page.$$eval("#prompt-list .prompt-item", (as) => as.map((a) => a.dataset.id));

test("the page and its assets load from relative URLs, with the default hub URL", async () => {
  const page = await openApp(browser);
  const host = new URL(HUB).host;
  assert.equal(await page.inputValue("#hub-url"), `ws://${host}/ws`);
  const refs = await page.$$eval("link[href], script[src]", (els) => els.map((e) => e.getAttribute("href") ?? e.getAttribute("src")));
  for (const r of refs) assert.ok(!/^(https?:)?\/\//.test(r), `external or absolute URL ${r}`);
  assert.match(await page.textContent("#conn-state"), /Connected/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("browse: list, search as you type, category and tag filters, load more", async () => {
  // 30 extra prompts so that the list needs a second page (pages of 50).
  const stamp = unique("bulk");
  for (let i = 0; i < 30; i++) {
    await tool(robot, "create_prompt", { id: `${stamp}-${String(i).padStart(2, "0")}`, name: `Bulk ${i}`, content: "Bulk prompt {{x}}", category: "bulk-test", tags: ["bulk", `b${i % 3}`] });
  }
  const page = await openApp(browser);
  await page.waitForSelector("#prompt-list .prompt-item");
  assert.equal((await rows(page)).length, 50);
  assert.ok(await page.isVisible("#load-more"));
  // Scrolling to the end of the list loads the next page; the button does too.
  await page.$eval("#prompt-list", (el) => (el.scrollTop = el.scrollHeight));
  await within(3000, async () => (await rows(page)).length > 50, "second page on scroll");
  for (let i = 0; i < 40 && (await page.isVisible("#load-more")); i++) {
    const n = (await rows(page)).length;
    await page.click("#load-more");
    await within(3000, async () => (await rows(page)).length > n, "next page");
  }
  const all = await rows(page);
  assert.equal(new Set(all).size, all.length, "no row twice");
  assert.deepEqual([...all].sort(), all, "pages continue in order");
  assert.ok(all.includes("code-review") && all.includes(`${stamp}-29`));

  // Search (debounced, search_prompts).
  await page.fill("#search", "security review");
  await within(3000, async () => (await rows(page)).includes("security-review") && !(await rows(page)).includes("bug-report"), "search results");
  const searched = await page.evaluate(() => window.mcpApp.client && document.querySelector("#list-status").textContent);
  assert.match(searched, /match/);
  await page.fill("#search", "");
  await within(3000, async () => (await rows(page)).includes("bug-report"), "cleared search");

  // Category filter: the options were learned from the catalog.
  await within(3000, async () => (await page.$$eval("#filter-category option", (o) => o.map((x) => x.value))).includes("writing"), "category options");
  await page.selectOption("#filter-category", "writing");
  await within(3000, async () => {
    const r = await rows(page);
    return r.length > 0 && r.includes("email-reply") && !r.includes("code-review");
  }, "category filter");
  // Tag filter on top of it, then alone.
  await page.selectOption("#filter-category", "");
  await page.selectOption("#filter-tag", "b1");
  await within(3000, async () => {
    const r = await rows(page);
    // Only tagged rows (the hub may hold bulk prompts of earlier runs, so at least ours).
    return r.length >= 10 && r.every((id) => id.startsWith("bulk-")) && r.some((id) => /-(01|04|07)$/.test(id));
  }, "tag filter");
  await page.selectOption("#filter-tag", "");
  await page.context().close();
});

test("use: argument form with required marked, completions, live render, copy", async () => {
  const page = await openApp(browser);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(HUB).origin });
  await page.fill("#search", "code review");
  await page.click('.prompt-item[data-id="code-review"]');
  await page.waitForSelector("#panel-use .arg-form");
  const code = page.locator('#panel-use [name="code"]');
  assert.equal(await page.getAttribute('#panel-use [name="code"]', "aria-required"), "true");
  assert.equal(await page.getAttribute('#panel-use [name="context"]', "aria-required"), null);
  assert.match(await page.textContent('label[for="arg-0"]'), /\*/);
  await page.waitForSelector("#rendered .message pre");
  assert.match(await page.textContent("#missing-args"), /code, language/);
  assert.ok(await page.isDisabled("#copy-rendered"));

  // completion/complete fills the datalist for an argument with choices.
  await page.fill('#panel-use [name="language"]', "ru");
  await within(3000, async () => {
    const opts = await page.$$eval("#panel-use datalist option", (o) => o.map((x) => x.value));
    return opts.includes("rust") && opts.includes("ruby") && !opts.includes("python");
  }, "completions");
  await page.fill('#panel-use [name="language"]', "rust");
  await code.fill("fn main() { println!(\"hi\"); }");
  const ms = await within(2000, async () => (await page.textContent("#rendered")).includes('println!("hi")') && (await page.textContent("#rendered")).includes("senior rust engineer"), "live render");
  assert.ok(ms < 2000);
  assert.equal(await page.textContent("#missing-args"), "");
  assert.ok(!(await page.isDisabled("#copy-rendered")));
  await page.click("#copy-rendered");
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert.ok(clip.includes('println!("hi")'), "clipboard has the rendered text");
  await page.context().close();
});

test("create, edit and delete a prompt through the editor", async () => {
  const page = await openApp(browser);
  const id = unique("created");
  await page.click("#new-prompt");
  await page.waitForSelector("#create-view:not([hidden])");
  await page.locator("#panel-create").getByLabel(/^Name/).fill("Greeting card");
  await page.getByLabel("Id (optional)").fill(id);
  await page.locator("#panel-create").getByLabel("Category").fill("writing");
  await page.locator("#panel-create").getByLabel("Tags").fill("greeting, test");
  await page.locator("#panel-create textarea.code").fill("Write a {{tone}} greeting for {{who}}.{{#if note}} Note: {{note}}{{/if}}");
  // The overlay highlights the variables behind the textarea.
  assert.deepEqual(await page.$$eval("#panel-create .template-wrap pre .tok-var", (s) => s.map((x) => x.textContent)), ["{{tone}}", "{{who}}", "{{note}}"]);
  assert.deepEqual(await page.$$eval("#panel-create .template-wrap pre .tok-block", (s) => s.map((x) => x.textContent)), ["{{#if note}}", "{{/if}}"]);
  await page.click("#panel-create >> text=Add the ones the template uses");
  await page.click("#create-save");
  await page.waitForFunction((i) => window.mcpApp.state.current?.id === i, id);
  assert.equal(await page.textContent("#pv-title"), "Greeting card");
  await page.waitForSelector('#panel-use [name="who"]');
  assert.equal(await page.getAttribute('#panel-use [name="who"]', "aria-required"), "true");
  assert.equal(await page.getAttribute('#panel-use [name="note"]', "aria-required"), null, "only used inside #if: optional");
  await page.fill("#search", "Greeting card");
  await within(3000, async () => (await page.$$eval("#prompt-list .prompt-item", (a) => a.map((x) => x.dataset.id))).includes(id), "new row");

  // Edit: change the template, save, see v2 rendered.
  await page.click("#tab-edit");
  await setTemplate(page, "Write a {{tone}} birthday greeting for {{who}}.");
  await page.locator("#panel-edit table.var-table input[aria-label='note required']").waitFor();
  await page.click("#panel-edit >> button[aria-label='Remove note']");
  await page.click("#editor-save");
  await within(3000, async () => (await page.textContent("#pv-version")) === "v2", "saved v2");
  await page.click("#tab-use");
  await within(3000, async () => (await page.textContent("#rendered")).includes("birthday greeting"), "rendered v2");

  // A template the hub refuses shows its reason and saves nothing.
  await page.click("#tab-edit");
  await setTemplate(page, "Hello {{undeclared_thing}}");
  await page.click("#editor-save");
  await page.waitForSelector("#panel-edit .notice.error:not([hidden])");
  assert.match(await page.textContent("#panel-edit .notice.error"), /undeclared/);
  assert.equal((await tool(robot, "get_prompt", { id })).version, 2);

  // Leaving with unsaved edits asks first; dismissing keeps the page and the edits.
  const asked = new Promise((resolve) => page.once("dialog", (d) => (resolve(d.message()), d.dismiss())));
  await page.evaluate(() => (location.hash = "#/"));
  assert.match(await asked, /unsaved edits/);
  await within(2000, async () => (await page.evaluate(() => location.hash)) === `#/p/${encodeURIComponent(id)}`, "hash restored");
  assert.match(await page.inputValue("#panel-edit textarea.code"), /undeclared_thing/);

  // Delete (with a confirmation step).
  await page.click("#panel-edit >> text=Revert");
  await page.click("#delete-prompt");
  await page.click("#confirm-delete");
  await page.waitForFunction(() => location.hash === "#/");
  await within(4000, async () => !(await page.$$eval("#prompt-list .prompt-item", (a) => a.map((x) => x.dataset.id))).includes(id), "row removed");
  await page.context().close();
});

test("conflict: a stale save shows yours and theirs; keep theirs, merge by hand, overwrite", async () => {
  const id = unique("conflict");
  await tool(robot, "create_prompt", { id, name: "Shared", content: "line one\nline two\nline three", tags: ["shared"] });
  const alice = await openApp(browser);
  const bob = await openApp(browser);
  for (const p of [alice, bob]) {
    await openPrompt(p, id);
    await p.click("#tab-edit");
  }
  await setTemplate(bob, "line one\nline two (bob)\nline three");
  await setTemplate(alice, "line one\nline two (alice)\nline three");
  await alice.click("#editor-save");
  await within(3000, async () => (await alice.textContent("#pv-version")) === "v2", "alice saved");
  // Bob is told while he edits, and his edits stay.
  await bob.waitForSelector("#notice:not([hidden])");
  assert.match(await bob.textContent("#notice"), /Someone else saved version 2/);
  assert.match(await bob.inputValue("#panel-edit textarea.code"), /bob/);

  await bob.click("#editor-save");
  await bob.waitForSelector("#conflict");
  assert.match(await bob.textContent("#conflict .mine pre"), /\(bob\)/);
  assert.match(await bob.textContent("#conflict .theirs pre"), /\(alice\)/);
  assert.equal(await bob.locator("#conflict .diff-line.add").count(), 1);
  assert.equal(await bob.locator("#conflict .diff-line.del").count(), 1);
  assert.equal((await tool(robot, "get_prompt", { id })).content, "line one\nline two (alice)\nline three", "nothing overwritten");

  // Keep theirs: the editor now holds alice's version.
  await bob.click("#conflict-keep-theirs");
  assert.equal(await bob.inputValue("#panel-edit textarea.code"), "line one\nline two (alice)\nline three");
  assert.equal(await bob.locator("#conflict").count(), 0);

  // Again, and merge by hand this time.
  await setTemplate(bob, "line one\nline two (alice)\nline three\nline four (bob)");
  await setTemplate(alice, "line zero (alice)\nline one\nline two (alice)\nline three");
  await alice.click("#editor-save");
  await within(3000, async () => (await alice.textContent("#pv-version")) === "v3", "alice saved v3");
  await bob.click("#editor-save");
  await bob.waitForSelector("#conflict-merge");
  await bob.click("#conflict-merge");
  await setTemplate(bob, "line zero (alice)\nline one\nline two (alice)\nline three\nline four (bob)");
  await bob.click("#editor-save");
  await within(3000, async () => (await bob.textContent("#pv-version")) === "v4", "merged as v4");
  assert.equal((await tool(robot, "get_prompt", { id })).content, "line zero (alice)\nline one\nline two (alice)\nline three\nline four (bob)");

  // And overwrite with mine, which uses their version as expectedVersion.
  await within(3000, async () => (await alice.textContent("#pv-version")) === "v4", "alice sees v4");
  await setTemplate(alice, "alice's rewrite");
  await tool(robot, "update_prompt", { id, expectedVersion: 4, content: "robot's rewrite" });
  await alice.click("#editor-save");
  await alice.waitForSelector("#conflict-overwrite");
  assert.match(await alice.textContent("#conflict-overwrite"), /version 6/);
  await alice.click("#conflict-overwrite");
  await within(3000, async () => (await alice.textContent("#pv-version")) === "v6", "overwrote as v6");
  assert.equal((await tool(robot, "get_prompt", { id })).content, "alice's rewrite");
  await alice.context().close();
  await bob.context().close();
});

test("history: diff between any two versions, restore an old one", async () => {
  const id = unique("history");
  await tool(robot, "create_prompt", { id, name: "History", content: "alpha\nbeta\ngamma" });
  await tool(robot, "update_prompt", { id, expectedVersion: 1, content: "alpha\nBETA\ngamma\ndelta" });
  await tool(robot, "update_prompt", { id, expectedVersion: 2, content: "alpha\ndelta" });
  await tool(robot, "set_label", { id, label: "production", version: 2 });
  const page = await openApp(browser);
  await openPrompt(page, id);
  await page.click("#tab-history");
  await page.waitForSelector("#panel-history table.versions tbody tr");
  assert.equal(await page.locator("#panel-history table.versions tbody tr").count(), 3);
  assert.match(await page.textContent('#panel-history tr[data-version="2"]'), /production/);
  // Default: previous -> current.
  assert.equal(await page.inputValue("#diff-from"), "2");
  assert.equal(await page.inputValue("#diff-to"), "3");
  await page.selectOption("#diff-from", "1");
  await page.selectOption("#diff-to", "2");
  const lines = await page.$$eval("#diff-slot .diff-line", (ls) => ls.map((l) => `${l.classList[1]}:${l.querySelector(".text").textContent.replace(/^(added|removed): /, "")}`));
  assert.deepEqual(lines, ["same:alpha", "del:beta", "add:BETA", "same:gamma", "add:delta"]);
  // Restore v1: a new version with v1's content.
  await page.click('#panel-history button[data-restore="1"]');
  await within(3000, async () => (await page.textContent("#pv-version")) === "v4", "restored as v4");
  assert.equal((await tool(robot, "get_prompt", { id })).content, "alpha\nbeta\ngamma");
  await page.waitForSelector('#panel-history tr[data-version="4"]');
  await page.context().close();
});

test("live: one context edits, the other updates its list and open prompt within a second", async () => {
  const id = unique("live");
  await tool(robot, "create_prompt", { id, name: "Live one", content: "Say {{what}}", category: "live-test" });
  const editor = await openApp(browser);
  const watcher = await openApp(browser);
  await openPrompt(watcher, id);
  await watcher.waitForSelector("#rendered .message pre");
  await within(3000, async () => (await watcher.$$eval("#filter-category option", (o) => o.map((x) => x.value))).includes("live-test"), "category option");
  await watcher.selectOption("#filter-category", "live-test");
  await watcher.waitForSelector(`.prompt-item[data-id="${id}"]`);
  await openPrompt(editor, id);
  await editor.click("#tab-edit");
  await setTemplate(editor, "Shout {{what}} loudly");
  const t0 = Date.now();
  await editor.click("#editor-save");
  await within(1000, async () => (await watcher.textContent("#rendered")).includes("Shout") && (await watcher.textContent("#pv-version")) === "v2", "open prompt updated");
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 1000, `updated after ${elapsed} ms`);
  await watcher.waitForSelector(`.prompt-item[data-id="${id}"]`);
  assert.match(await watcher.textContent("#notice"), /version 2 by someone else/);
  // A prompt created elsewhere appears in the list with a badge, within a second.
  const other = `${id}-b`;
  const t1 = Date.now();
  await tool(robot, "create_prompt", { id: other, name: "Live two", content: "Hi", category: "live-test" });
  await within(1000, async () => (await watcher.locator(`.prompt-item[data-id="${other}"] .badge-live`).count()) === 1, "new row with badge");
  assert.ok(Date.now() - t1 < 1000);
  assert.equal(await watcher.textContent(`.prompt-item[data-id="${other}"] .badge-live`), "new");
  await editor.context().close();
  await watcher.context().close();
});

test("reconnect: a dropped socket resumes the session and replays what was missed", async () => {
  const a = unique("resume-a");
  const b = unique("resume-b");
  await tool(robot, "create_prompt", { id: a, name: "Resume A", content: "A one", category: "resume-test" });
  const page = await openApp(browser);
  await openPrompt(page, a);
  await page.waitForSelector("#rendered .message pre");
  await within(3000, async () => (await page.$$eval("#filter-category option", (o) => o.map((x) => x.value))).includes("resume-test"), "category option");
  await page.selectOption("#filter-category", "resume-test");
  await page.waitForSelector(`.prompt-item[data-id="${a}"]`);
  const before = await page.evaluate(() => ({ session: window.mcpApp.client.sessionId, lists: 0 }));
  const countLists = () => page.evaluate(() => window.__lists);
  await page.evaluate(() => {
    window.__lists = 0;
    window.mcpApp.client.addEventListener("traffic", (e) => {
      const m = e.detail.msg;
      if (e.detail.dir === "out" && m?.method === "tools/call" && m.params?.name === "list_prompts") window.__lists++;
    });
  });
  // Drop the connection and hold reconnecting for 1.5 s, while others change the catalog.
  await page.evaluate(() => window.mcpApp.client.drop(1500));
  await page.waitForFunction(() => document.querySelector("#conn-state").dataset.state !== "open");
  await tool(robot, "update_prompt", { id: a, content: "A two" });
  await tool(robot, "create_prompt", { id: b, name: "Resume B", content: "B one", category: "resume-test" });
  await tool(robot, "update_prompt", { id: a, content: "A three" });
  const robotPosition = await robot.evaluate(async () => {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      if (window.mcpApp.client.lastPosition) break;
    }
    return window.mcpApp.client.lastPosition;
  });
  await page.waitForFunction(() => document.body.dataset.session === "resumed-complete", null, { timeout: 8000 });
  assert.match(await page.textContent("#conn-state"), /resumed/);
  assert.equal(await page.evaluate(() => window.mcpApp.client.sessionId), before.session, "same MCP session");
  await within(3000, async () => (await page.textContent("#rendered")).includes("A three") && (await page.textContent("#pv-version")) === "v3", "open prompt caught up");
  await page.waitForSelector(`.prompt-item[data-id="${b}"] .badge-live`);
  await within(3000, async () => (await page.evaluate(() => window.mcpApp.client.lastPosition)) >= robotPosition, "replayed up to the newest position");
  assert.equal(await countLists(), 0, "caught up by replay, not by re-listing");
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem(`mcp-prompts.session:${window.mcpApp.client.url}`)));
  assert.equal(stored.sessionId, before.session);
  assert.ok(stored.lastPosition >= robotPosition);
  // A reload resumes the same session from sessionStorage.
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.session === "resumed-complete", null, { timeout: 8000 });
  assert.equal(await page.evaluate(() => window.mcpApp.client.sessionId), before.session);
  await page.waitForSelector("#prompt-list .prompt-item"); // the reloaded page lists again
  await page.waitForFunction((i) => window.mcpApp.state.current?.id === i, a);
  await within(3000, async () => (await page.textContent("#rendered")).includes("A three"), "reloaded page renders");
  await page.context().close();
});

test("a token goes in a subprotocol entry, or a query parameter, and never into the log", async () => {
  const page = await openApp(browser);
  const targets = await page.evaluate(async () => {
    const m = await import("./assets/mcp-client.js");
    return [m.connectTarget("ws://127.0.0.1:1/ws", "abc.DEF_123"), m.connectTarget("ws://127.0.0.1:1/ws", "a b/c"), m.redactUrl("ws://127.0.0.1:1/ws?token=secret")];
  });
  assert.deepEqual(targets[0], { url: "ws://127.0.0.1:1/ws", protocols: ["mcp", "mcp.auth.abc.DEF_123"] });
  assert.deepEqual(targets[1].protocols, ["mcp"]);
  assert.equal(new URL(targets[1].url).searchParams.get("token"), "a b/c");
  assert.ok(!targets[2].includes("secret"));
  // Connect with a token (the hub accepts and never echoes mcp.auth.*): still works, not logged.
  await page.fill("#hub-token", "s3cret-token");
  await page.click("#connect-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#conn-state").dataset.state === "open" && window.mcpApp.client.token);
  await page.click("#inspector-toggle");
  const log = await page.textContent("#inspector");
  assert.ok(!log.includes("s3cret-token"), "token not in the inspector");
  assert.match(log, /with a token/);
  await page.context().close();
});
