#!/usr/bin/env node
// mcp-prompts with the official MCP TypeScript SDK over the spec transports:
// Streamable HTTP (StreamableHTTPClientTransport) or stdio (StdioClientTransport
// launching the binary). A second client, over WebSocket, edits the catalog; the
// first must hear about it (prompts/list_changed, resources/updated).
//
// Usage:
//   node --experimental-websocket ts_transport_client.mjs http  http://127.0.0.1:PORT/mcp  ws://127.0.0.1:PORT/ws
//   node --experimental-websocket ts_transport_client.mjs stdio /path/to/mcp-prompts DATA_DIR ws://127.0.0.1:PORT/ws
// In stdio mode the WebSocket belongs to a `serve` on the same DATA_DIR: its edits
// reach the stdio process through the shared change log.
// Exits 0 with a short summary on success, 1 with the failing check on error.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';

const [mode, ...args] = process.argv.slice(2);
const RUN = randomBytes(4).toString('hex');
const notes = []; // every notification the client under test received, in order
const passed = [];
let current = 'connect';

function transportUnderTest() {
  if (mode === 'http') {
    return { transport: new StreamableHTTPClientTransport(new URL(args[0])), wsUrl: args[1] };
  }
  if (mode === 'stdio') {
    const [bin, data, wsUrl] = args;
    const transport = new StdioClientTransport({
      command: bin,
      args: ['stdio', '--data', data, '--poll-ms', '50'],
      env: { ...process.env, NO_COLOR: '1' },
      stderr: 'inherit',
    });
    return { transport, wsUrl };
  }
  throw new Error(`usage: ts_transport_client.mjs http|stdio ... (got ${mode})`);
}

async function waitNote(method, since, pred = () => true) {
  const deadline = Date.now() + 10000;
  while (!notes.slice(since).some(n => n.method === method && pred(n.params ?? {}))) {
    assert.ok(Date.now() < deadline,
      `no ${method} within 10 s; got ${JSON.stringify(notes.slice(since).map(n => n.method))}`);
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}

async function step(name, fn) {
  current = name;
  await fn();
  passed.push(name);
}

async function main() {
  const { transport, wsUrl } = transportUnderTest();
  const client = new Client({ name: `ts-${mode}-test`, version: '1.0.0' });
  client.fallbackNotificationHandler = async n => { notes.push(n); };
  await client.connect(transport);

  const editor = new Client({ name: 'ts-ws-editor', version: '1.0.0' });
  await editor.connect(new WebSocketClientTransport(new URL(wsUrl)));

  await step('initialize', async () => {
    assert.equal(client.getServerVersion()?.name, 'mcp-prompts');
    assert.equal(client.getServerCapabilities()?.prompts?.listChanged, true);
    if (mode === 'http') assert.ok(transport.sessionId, 'Mcp-Session-Id was set');
  });

  let first;
  await step('prompts/list', async () => {
    const { prompts } = await client.listPrompts();
    assert.ok(prompts.length > 0, 'the seeded catalog is listed');
    first = prompts.find(p => p.name === 'code-review') ?? prompts[0];
  });

  await step('prompts/get', async () => {
    const got = await client.getPrompt({ name: 'code-review', arguments: { language: 'rust', code: `fn ${RUN}() {}` } });
    const text = got.messages.map(m => m.content.text).join('\n');
    assert.ok(text.includes(`fn ${RUN}()`), `rendered text lacks the argument: ${text.slice(0, 200)}`);
  });

  const own = `ts-${mode}-${RUN}`;
  await step('tools/call create_prompt', async () => {
    const result = await client.callTool({ name: 'create_prompt', arguments: { id: own, name: `TS ${mode} ${RUN}`, content: 'Hello {{who}}', isTemplate: true } });
    assert.ok(!result.isError, JSON.stringify(result));
    assert.equal(result.structuredContent?.id, own);
    await waitNote('notifications/prompts/list_changed', 0);
  });

  await step('resources/subscribe', async () => {
    await client.subscribeResource({ uri: `prompt://${first.name}` });
  });

  await step('list_changed after a WebSocket client edits', async () => {
    await new Promise(resolve => setTimeout(resolve, 300)); // let our own edit's notifications settle
    const since = notes.length;
    const theirs = `ts-ws-${mode}-${RUN}`;
    const created = await editor.callTool({ name: 'create_prompt', arguments: { id: theirs, name: `WS ${RUN}`, content: 'from the websocket' } });
    assert.ok(!created.isError, JSON.stringify(created));
    await waitNote('notifications/prompts/list_changed', since);
    const listed = [];
    let cursor;
    for (let page = 0; page < 20; page++) {
      const result = await client.listPrompts(cursor ? { cursor } : {});
      listed.push(...result.prompts.map(p => p.name));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    assert.ok(listed.includes(theirs), `the WebSocket client's prompt is listed: ${listed}`);
  });

  await step('resources/updated after a WebSocket client edits', async () => {
    const since = notes.length;
    const updated = await editor.callTool({ name: 'update_prompt', arguments: { id: first.name, description: `edited by ${RUN}` } });
    assert.ok(!updated.isError, JSON.stringify(updated));
    await waitNote('notifications/resources/updated', since, p => p.uri === `prompt://${first.name}`);
  });

  await editor.close();
  if (mode === 'http') {
    await step('DELETE ends the session', async () => {
      await transport.terminateSession();
      assert.equal(transport.sessionId, undefined);
    });
  }
  await client.close();
}

const timer = setTimeout(() => {
  console.error(`timed out during: ${current}`);
  process.exit(1);
}, 50000);
main().then(
  () => {
    clearTimeout(timer);
    console.log(`ts ${mode} client: ${passed.length} checks passed: ${passed.join(', ')}`);
    process.exit(0);
  },
  err => {
    console.error(`FAILED during ${current}: ${err?.stack ?? err}`);
    console.error(`notifications: ${JSON.stringify(notes.map(n => n.method))}`);
    process.exit(1);
  },
);
