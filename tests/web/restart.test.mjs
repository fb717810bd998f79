// Reconnect across a real hub restart on the same port: the page keeps its session id and
// last position, the hub is stopped, another process (`mcp-prompts stdio` on the same data
// folder) changes the catalog while it is down, the hub comes back on the same port, and
// the page catches up without a reload. Starts its own hub from MCP_PROMPTS_BIN (skipped
// without it); everything listens on 127.0.0.1 and every wait is bounded.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, connected, within } from "./helpers.mjs";

const BIN = process.env.MCP_PROMPTS_BIN;
let browser;
let data;
let hub;

function startHub(addr) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["serve", "--addr", addr, "--data", data], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`hub did not start on ${addr}:\n${out}`))), 20_000);
    const onData = (d) => {
      out += d;
      const m = out.match(/ws:\/\/127\.0\.0\.1:(\d+)\/ws/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited (${code}) on ${addr}:\n${out}`));
    });
  });
}

async function stopHub() {
  const { child } = hub;
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Runs MCP requests through `mcp-prompts stdio` on the same data folder; returns the results. */
function stdio(requests) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["stdio", "--data", data], { stdio: ["pipe", "pipe", "pipe"] });
    const results = new Map();
    let buf = "";
    let err = "";
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`stdio timed out: ${err}`))), 20_000);
    child.stderr.on("data", (d) => (err += d));
    child.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const msg = JSON.parse(line);
        if (msg.id !== undefined) results.set(msg.id, msg);
        if (results.size === requests.length + 1) {
          clearTimeout(timer);
          child.stdin.end();
          resolve(requests.map((_, i) => results.get(i + 2)));
        }
      }
    });
    const send = (m) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "restart-test", version: "1" } } });
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    requests.forEach(([name, args], i) => send({ jsonrpc: "2.0", id: i + 2, method: "tools/call", params: { name, arguments: args } }));
  });
}

before(async () => {
  if (!BIN) return;
  data = mkdtempSync(join(tmpdir(), "mcp-prompts-web-restart-"));
  hub = await startHub("127.0.0.1:0");
  browser = await launch();
});
after(async () => {
  await browser?.close();
  if (hub) await stopHub();
  if (data) rmSync(data, { recursive: true, force: true });
});

test("hub restart on the same port: the page reconnects by itself and misses nothing", { skip: !BIN && "set MCP_PROMPTS_BIN to the mcp-prompts binary" }, async () => {
  const url = `http://127.0.0.1:${hub.port}/`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  await page.goto(`${url}#/p/code-review`);
  await connected(page);
  await page.waitForFunction(() => window.mcpApp.state.current?.id === "code-review");
  await page.evaluate(() => (window.__loaded = true)); // gone if the page reloads
  const before = await page.evaluate(() => window.mcpApp.client.sessionId);

  await stopHub();
  await page.waitForFunction(() => document.querySelector("#conn-state").dataset.state !== "open");
  const results = await stdio([
    ["update_prompt", { id: "code-review", description: "Changed while the hub was down." }],
    ["create_prompt", { id: "aaa-made-while-down", name: "Made while down", content: "Hello" }],
  ]);
  for (const r of results) assert.equal(r.result?.isError, false, JSON.stringify(r));

  // Back on the same port (retry while the old socket is released), bounded.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      hub = await startHub(`127.0.0.1:${hub.port}`);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await connected(page, 20_000); // backoff is capped at 10 s
  assert.ok(await page.evaluate(() => window.__loaded), "no reload");
  await within(5000, async () => (await page.textContent("#pv-description")) === "Changed while the hub was down.", "open prompt caught up");
  assert.equal(await page.textContent("#pv-version"), "v2");
  await page.waitForSelector('.prompt-item[data-id="aaa-made-while-down"]');
  // Sessions live in the hub's memory, so a restarted hub starts a new one; the page says so.
  const info = await page.evaluate(() => ({ id: window.mcpApp.client.sessionId, session: document.body.dataset.session }));
  console.log(`after the restart: session ${info.session} (${info.id === before ? "same id" : "new id"})`);
  assert.ok(info.session === "new" || info.session.startsWith("resumed"), info.session);
  if (info.session === "new") assert.notEqual(info.id, before);
  await context.close();
});
