#!/usr/bin/env node
// End-to-end check of mcp-prompts with the official MCP TypeScript SDK over WebSocket.
//
// Usage: node --experimental-websocket ts_ws_client.mjs ws://127.0.0.1:PORT/ws
// Exits 0 with a short summary on success, 1 with the failing check on error.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';

const INVALID_PARAMS = -32602;
const TEMPLATE_V1 = 'Hello {{who}}{{#if punct}}{{punct}}{{/if}}';
const TEMPLATE_V2 = 'Howdy {{who}}{{#if punct}}{{punct}}{{/if}}';
const RUN = randomBytes(4).toString('hex');
const PID = `ts-test-${RUN}`; // the prompt this client creates
const notes = []; // every server notification, in arrival order
const passed = [];
let current = 'connect';

const textOf = result => result.content.filter(c => c.type === 'text').map(c => c.text).join(' ');

async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  assert.ok(!result.isError, `${name} failed: ${textOf(result)}`);
  assert.ok(textOf(result), `${name}: result has no text content`);
  assert.equal(typeof result.structuredContent, 'object', `${name}: no structuredContent`);
  return result.structuredContent;
}

async function callError(client, name, args) {
  const result = await client.callTool({ name, arguments: args });
  assert.equal(result.isError, true, `${name} ${JSON.stringify(args)} should fail, got ${JSON.stringify(result)}`);
  assert.ok(textOf(result), `${name}: error result has no text`);
  return textOf(result);
}

// Waits up to 5 s for a notification `method` (received after notes[since]) matching pred.
async function waitNote(method, since, pred = () => true) {
  const deadline = Date.now() + 5000;
  while (!notes.slice(since).some(n => n.method === method && pred(n.params ?? {}))) {
    assert.ok(Date.now() < deadline,
      `no ${method} notification within 5 s; got ${JSON.stringify(notes.slice(since).map(n => n.method))}`);
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}

async function rpcError(promise, contains, what) {
  await assert.rejects(promise, err => {
    assert.ok(err instanceof McpError, `${what}: expected McpError, got ${err}`);
    assert.equal(err.code, INVALID_PARAMS, `${what}: code ${err.code}, want -32602 (${err.message})`);
    assert.ok(err.message.includes(contains), `${what}: message ${JSON.stringify(err.message)} lacks ${contains}`);
    return true;
  }, `${what}: expected JSON-RPC error -32602`);
}

async function checkInitialize(client) {
  assert.equal(client.getServerVersion()?.name, 'mcp-prompts', 'serverInfo.name');
  const caps = client.getServerCapabilities();
  assert.equal(caps.prompts?.listChanged, true, `prompts capability: ${JSON.stringify(caps)}`);
  assert.equal(caps.resources?.subscribe, true, `resources.subscribe: ${JSON.stringify(caps)}`);
  assert.equal(caps.resources?.listChanged, true, `resources.listChanged: ${JSON.stringify(caps)}`);
  assert.ok(caps.tools && !caps.tools.listChanged, `tools capability: ${JSON.stringify(caps)}`);
  assert.ok(caps.logging, 'logging capability missing');
  assert.ok(caps.completions, 'completions capability missing');
  assert.equal(LATEST_PROTOCOL_VERSION, '2025-11-25', 'SDK negotiated an unexpected protocol version');
}

async function checkToolsList(client) {
  const tools = Object.fromEntries((await client.listTools()).tools.map(t => [t.name, t]));
  for (const name of ['create_prompt', 'get_prompt', 'update_prompt', 'delete_prompt', 'list_prompts',
    'search_prompts', 'prompt_history', 'apply_template', 'set_label']) {
    assert.ok(tools[name], `tools/list lacks ${name}: ${Object.keys(tools)}`);
  }
  for (const name of ['get_prompt', 'list_prompts', 'search_prompts', 'prompt_history', 'apply_template']) {
    assert.equal(tools[name].annotations?.readOnlyHint, true, `${name} should be readOnlyHint`);
  }
  assert.equal(tools.delete_prompt.annotations?.destructiveHint, true, 'delete_prompt should be destructiveHint');
}

// Every prompt, following nextCursor: { names in order, prompts by name }.
async function allPrompts(client) {
  const names = [];
  const prompts = new Map();
  let cursor;
  for (let pages = 0; pages < 100; pages++) {
    const page = await client.listPrompts(cursor ? { cursor } : {});
    page.prompts.forEach(p => { names.push(p.name); prompts.set(p.name, p); });
    cursor = page.nextCursor;
    if (!cursor) return { names, prompts };
  }
  assert.fail('prompts/list pagination does not terminate');
}

async function checkListPrompts(client) {
  const { names, prompts } = await allPrompts(client);
  const count = names.length;
  assert.ok(count >= 20, `prompts/list returned ${count} prompts, want >= 20`);
  assert.equal(prompts.size, count, 'prompts/list returned duplicate names');
  assert.ok(prompts.has('code-review'), 'prompts/list lacks code-review');
  const review = prompts.get('code-review');
  assert.ok(review.title && review.description && review.arguments?.length, `code-review: ${JSON.stringify(review)}`);
  await rpcError(client.listPrompts({ cursor: 'not-a-cursor!' }), '', 'prompts/list with invalid cursor');
  return prompts;
}

// A value for a prompt argument: its first declared choice if it has any, else a unique string.
async function argumentValue(client, prompt, arg) {
  const done = await client.complete({ ref: { type: 'ref/prompt', name: prompt }, argument: { name: arg, value: '' } });
  return done.completion.values[0] ?? `value-${arg}-${RUN}`;
}

async function checkGetCodeReview(client, prompts) {
  const required = (prompts.get('code-review').arguments ?? []).filter(a => a.required).map(a => a.name);
  const args = {};
  for (const name of required) args[name] = await argumentValue(client, 'code-review', name);
  const result = await client.getPrompt({ name: 'code-review', arguments: args });
  assert.ok(result.messages.length > 0, 'code-review rendered no messages');
  const [msg] = result.messages;
  assert.equal(msg.role, 'user');
  assert.equal(msg.content.type, 'text');
  for (const [name, value] of Object.entries(args)) {
    assert.ok(msg.content.text.includes(value), `rendered code-review lacks ${name}=${value}: ${msg.content.text}`);
  }
  if (required.length) {
    await rpcError(client.getPrompt({ name: 'code-review', arguments: {} }), required[0], 'code-review without args');
  }
}

async function checkUnknownPrompt(client) {
  const name = `no-such-prompt-${RUN}`;
  await rpcError(client.getPrompt({ name, arguments: {} }), name, 'unknown prompt');
}

async function render(client, args) {
  return (await client.getPrompt({ name: PID, arguments: args })).messages[0].content.text;
}

async function checkCreatePrompt(client) {
  const variables = [{ name: 'who', required: true, description: 'who to greet' },
    { name: 'punct', required: false, choices: ['!', '?', '.'] }];
  const since = notes.length;
  const p = await call(client, 'create_prompt', {
    id: PID, name: `TypeScript greeting ${RUN}`, content: TEMPLATE_V1, description: 'greets someone',
    isTemplate: true, variables, tags: ['sdk-test', `run-${RUN}`], category: 'testing',
  });
  assert.equal(p.id, PID);
  assert.equal(p.version, 1);
  assert.equal(p.content, TEMPLATE_V1);
  assert.equal(p.isTemplate, true);
  assert.deepEqual(p.tags, ['sdk-test', `run-${RUN}`]);
  assert.equal(p.category, 'testing');
  assert.ok(p.createdAt && p.updatedAt, `timestamps: ${JSON.stringify(p)}`);
  await waitNote('notifications/prompts/list_changed', since);
  assert.equal(await render(client, { who: 'World', punct: '!' }), 'Hello World!');
  assert.equal(await render(client, { who: 'World' }), 'Hello World');
  const tricky = 'Tom & Jerry <3> "q" {{punct}}'; // neither HTML-escaped nor rendered again
  assert.equal(await render(client, { who: tricky, punct: '!' }), `Hello ${tricky}!`);
  await rpcError(client.getPrompt({ name: PID, arguments: { punct: '!' } }), 'who', 'missing required argument');
  const err = await callError(client, 'create_prompt', { id: PID, name: 'dup', content: 'x' });
  assert.ok(err.includes(PID) || /exist/i.test(err), `duplicate id error does not say why: ${err}`);
}

async function checkUpdateAndHistory(client) {
  await client.subscribeResource({ uri: `prompt://${PID}` });
  const since = notes.length;
  const p = await call(client, 'update_prompt', { id: PID, expectedVersion: 1, content: TEMPLATE_V2 });
  assert.equal(p.version, 2);
  assert.equal(p.content, TEMPLATE_V2);
  await waitNote('notifications/resources/updated', since, params => params.uri === `prompt://${PID}`);
  const err = await callError(client, 'update_prompt', { id: PID, expectedVersion: 1, content: 'stale' });
  assert.match(err, /\b2\b/, `stale update error does not mention current version 2: ${err}`);
  const h = await call(client, 'prompt_history', { id: PID });
  assert.deepEqual(h.versions.map(v => v.version), [1, 2]);
  assert.equal(h.versions[0].content, TEMPLATE_V1);
}

async function checkLabels(client) {
  assert.deepEqual(await call(client, 'set_label', { id: PID, label: 'production', version: 1 }),
    { id: PID, label: 'production', version: 1 });
  let p = await call(client, 'get_prompt', { id: PID, label: 'production' });
  assert.equal(p.version, 1);
  assert.equal(p.content, TEMPLATE_V1);
  assert.equal((await call(client, 'get_prompt', { id: PID, version: 1 })).version, 1);
  p = await call(client, 'get_prompt', { id: PID });
  assert.equal(p.version, 2);
  assert.equal(p.content, TEMPLATE_V2);
  assert.equal((await call(client, 'prompt_history', { id: PID })).labels.production, 1);
}

async function checkResources(client) {
  const resources = [];
  let cursor;
  do {
    const page = await client.listResources(cursor ? { cursor } : {});
    resources.push(...page.resources);
    cursor = page.nextCursor;
  } while (cursor);
  const mine = resources.find(r => r.uri === `prompt://${PID}`);
  assert.equal(mine?.mimeType, 'application/json', `resources/list entry for ${PID}: ${JSON.stringify(mine)}`);
  const templates = (await client.listResourceTemplates()).resourceTemplates.map(t => t.uriTemplate);
  for (const t of ['prompt://{id}/versions/{version}', 'prompt://{id}@{label}']) {
    assert.ok(templates.includes(t), `resources/templates/list lacks ${t}: ${templates}`);
  }
  for (const [uri, version] of [[`prompt://${PID}/versions/1`, 1], [`prompt://${PID}`, 2],
    [`prompt://${PID}@production`, 1]]) {
    const { contents } = await client.readResource({ uri });
    assert.equal(typeof contents[0]?.text, 'string', `read ${uri}: ${JSON.stringify(contents)}`);
    const body = JSON.parse(contents[0].text);
    assert.equal(body.id, PID, `read ${uri}`);
    assert.equal(body.version, version, `read ${uri}`);
  }
}

async function checkCompletion(client) {
  const prefix = PID.slice(0, -3);
  let done = await client.complete({ ref: { type: 'ref/resource', uri: 'prompt://{id}' },
    argument: { name: 'id', value: prefix } });
  assert.ok(done.completion.values.includes(PID), `id completion lacks ${PID}: ${done.completion.values}`);
  assert.ok(done.completion.values.every(v => v.startsWith(prefix)), `values without prefix: ${done.completion.values}`);
  const ref = { type: 'ref/prompt', name: PID };
  done = await client.complete({ ref, argument: { name: 'punct', value: '' } });
  assert.deepEqual([...done.completion.values].sort(), ['!', '.', '?']);
  done = await client.complete({ ref, argument: { name: 'punct', value: '?' } });
  assert.deepEqual(done.completion.values, ['?']);
}

async function checkUndeclaredVariable(client) {
  const err = await callError(client, 'create_prompt', { id: `${PID}-bad`, name: 'bad', isTemplate: true,
    content: 'Hi {{who}} {{mystery_var}}', variables: ['who'] });
  assert.ok(err.includes('mystery_var'), `undeclared variable error does not name it: ${err}`);
}

async function checkSearch(client) {
  const found = await call(client, 'search_prompts', { query: 'Howdy' });
  assert.ok(found.prompts.some(p => p.id === PID), `search 'Howdy' lacks ${PID}: ${JSON.stringify(found)}`);
  const listed = await call(client, 'list_prompts', { category: 'testing', tag: `run-${RUN}` });
  assert.deepEqual(listed.prompts.map(p => p.id), [PID], 'list_prompts by category+tag');
  const ids = [];
  let cursor;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 100, 'list_prompts pagination does not terminate');
    const page = await call(client, 'list_prompts', { limit: 10, ...(cursor ? { cursor } : {}) });
    assert.ok(page.prompts.length <= 10, `list_prompts limit 10 returned ${page.prompts.length}`);
    ids.push(...page.prompts.map(p => p.id));
    if (!(cursor = page.nextCursor)) break;
  }
  assert.deepEqual(ids.sort(), (await allPrompts(client)).names.sort(), 'list_prompts pages vs prompts/list');
}

async function checkApplyTemplate(client) {
  let r = await call(client, 'apply_template', { promptId: PID, variables: { who: 'World', punct: '!', x: '1' } });
  assert.equal(r.content, 'Howdy World!');
  assert.equal(r.version, 2);
  // unusedVariables: declared variables the template never reads; unknownVariables: undeclared arguments.
  assert.deepEqual(r.unusedVariables, []);
  assert.deepEqual(r.unknownVariables, ['x']);
  r = await call(client, 'apply_template', { id: PID, label: 'production', variables: { who: 'World' } });
  assert.equal(r.content, 'Hello World');
  assert.equal(r.version, 1);
}

async function checkDelete(client) {
  assert.deepEqual(await call(client, 'delete_prompt', { id: PID, expectedVersion: 2 }),
    { id: PID, deleted: true, version: 2 });
  await rpcError(client.getPrompt({ name: PID, arguments: { who: 'x' } }), PID, 'prompts/get after delete');
  assert.ok((await callError(client, 'get_prompt', { id: PID })).includes(PID), 'get_prompt after delete');
}

async function checkPingAndLogging(client) {
  await client.ping();
  assert.deepEqual(await client.setLoggingLevel('debug'), {});
  const since = notes.length;
  const tmp = `${PID}-log`;
  await call(client, 'create_prompt', { id: tmp, name: 'log me', content: 'log' });
  await waitNote('notifications/message', since, p => p.logger === 'catalog' && p.level === 'info');
  await call(client, 'delete_prompt', { id: tmp });
}

// Closing must complete the WebSocket close handshake promptly (RFC 6455 5.5.1).
async function checkClose(client) {
  const closed = new Promise(resolve => { client.onclose = resolve; });
  await client.close();
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('the server did not answer the Close frame within 5 s')), 5000);
  });
  try {
    await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function step(name, fn) {
  console.log(`- ${name}`);
  current = name;
  const result = await fn();
  passed.push(name);
  return result;
}

async function main(url) {
  const client = new Client({ name: 'mcp-prompts-ts-test', version: '0.0.0' });
  client.fallbackNotificationHandler = async notification => { notes.push(notification); };
  await client.connect(new WebSocketClientTransport(new URL(url)));
  try {
    await step('initialize', () => checkInitialize(client));
    await step('tools/list', () => checkToolsList(client));
    const prompts = await step('prompts/list', () => checkListPrompts(client));
    await step('get code-review', () => checkGetCodeReview(client, prompts));
    await step('unknown prompt', () => checkUnknownPrompt(client));
    await step('create + render', () => checkCreatePrompt(client));
    await step('update + history', () => checkUpdateAndHistory(client));
    await step('labels', () => checkLabels(client));
    await step('resources', () => checkResources(client));
    await step('completion', () => checkCompletion(client));
    await step('undeclared variable', () => checkUndeclaredVariable(client));
    await step('search + list', () => checkSearch(client));
    await step('apply_template', () => checkApplyTemplate(client));
    await step('delete', () => checkDelete(client));
    await step('ping + logging', () => checkPingAndLogging(client));
    await step('close', () => checkClose(client));
  } finally {
    await client.close();
  }
}

if (process.argv.length !== 3) {
  console.error('usage: node --experimental-websocket ts_ws_client.mjs ws://127.0.0.1:PORT/ws');
  process.exit(2);
}
const timer = setTimeout(() => {
  console.error(`FAIL in check '${current}': timed out after 45 s`);
  process.exit(1);
}, 45_000);
try {
  await main(process.argv[2]);
  clearTimeout(timer);
  console.log(`typescript sdk client: ${passed.length} checks passed (${passed.join(', ')})`);
} catch (err) {
  console.error(`FAIL in check '${current}': ${err?.stack ?? err}`);
  process.exit(1);
}
