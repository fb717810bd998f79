// Shared helpers for the web UI tests: the hub URL, a headless Chromium from Debian's
// package driven by playwright-core, pages with the app loaded, and a "robot" page that
// changes the catalog through the app's own MCP client (so no extra WebSocket library).

import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, "..", "..");

export const HUB = (() => {
  const url = process.env.MCP_PROMPTS_HUB_URL;
  if (!url) throw new Error("set MCP_PROMPTS_HUB_URL, e.g. http://127.0.0.1:8787/");
  const u = new URL(url);
  if (u.hostname !== "127.0.0.1" && u.hostname !== "localhost") throw new Error(`the tests only target 127.0.0.1, not ${u.hostname}`);
  return u.toString();
})();

export const SHOTS = process.env.MCP_PROMPTS_SCREENSHOTS || join(ROOT, "target", "web-screenshots");
export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 30_000,
  });
}

/** A new context + page with the app loaded and connected. */
export async function openApp(browser, { viewport = LAPTOP, colorScheme = "light", hash = "" } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, reducedMotion: "reduce" });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(HUB + hash);
  await connected(page);
  return page;
}

export async function connected(page, timeout = 10_000) {
  await page.waitForFunction(() => document.querySelector("#conn-state")?.dataset.state === "open", null, { timeout });
}

/** Calls an MCP tool through a page's client; returns structuredContent. */
export function tool(page, name, args) {
  return page.evaluate(([n, a]) => window.mcpApp.client.callTool(n, a), [name, args]);
}

export async function openPrompt(page, id) {
  await page.evaluate((i) => (location.hash = `#/p/${encodeURIComponent(i)}`), id);
  await page.waitForFunction((i) => window.mcpApp.state.current?.id === i, id);
}

/** Template text area value set as a person would (select all, type). */
export async function setTemplate(page, text) {
  const ta = page.locator("#panel-edit textarea.code");
  await ta.fill(text);
}

export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Waits until fn() is truthy, checking every 25 ms, at most `ms`; returns elapsed ms. */
export async function within(ms, fn, what = "condition") {
  const start = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function screenshotPath(name) {
  mkdirSync(SHOTS, { recursive: true });
  return join(SHOTS, `${name}.png`);
}

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core on the page; returns the serious and critical violations. */
export async function axe(page) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")} :: ${n.failureSummary?.split("\n").slice(0, 2).join(" ")}`) }));
  });
  return { all: result, bad: result.filter((v) => v.impact === "serious" || v.impact === "critical") };
}
