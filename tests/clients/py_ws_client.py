#!/usr/bin/env python3
"""End-to-end check of mcp-prompts with the official MCP Python SDK 1.x over WebSocket.

Usage: py_ws_client.py ws://127.0.0.1:PORT/ws
Exits 0 with a short summary on success, 1 with the failing check on error.
"""

import json
import re
import sys
import time
import uuid
import warnings

import anyio
import mcp.types as types
from mcp import ClientSession
from mcp.client.websocket import websocket_client
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

warnings.filterwarnings("ignore", message=".*WebSocket client transport is deprecated.*")

INVALID_PARAMS = -32602
TEMPLATE_V1 = "Hello {{who}}{{#if punct}}{{punct}}{{/if}}"
TEMPLATE_V2 = "Howdy {{who}}{{#if punct}}{{punct}}{{/if}}"
RUN = uuid.uuid4().hex[:8]
PID = f"py-test-{RUN}"  # the prompt this client creates
notes: list = []  # every server notification, in arrival order
passed: list[str] = []
current = ["connect"]


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def text_of(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def call(s: ClientSession, tool: str, args: dict) -> dict:
    """Calls a tool that must succeed; returns its structuredContent."""
    result = await s.call_tool(tool, args)
    check(not result.isError, f"{tool} failed: {text_of(result)}")
    check(text_of(result), f"{tool}: result has no text content")
    check(isinstance(result.structuredContent, dict), f"{tool}: no structuredContent: {result}")
    return result.structuredContent


async def call_error(s: ClientSession, tool: str, args: dict) -> str:
    """Calls a tool that must fail with isError; returns its text."""
    result = await s.call_tool(tool, args)
    check(result.isError, f"{tool} {args} should fail, got {result}")
    check(text_of(result), f"{tool}: error result has no text")
    return text_of(result)


async def wait_note(method: str, since: int, pred=lambda params: True) -> None:
    """Waits up to 5 s for a notification `method` (received after notes[since]) matching pred."""
    with anyio.move_on_after(5):
        while not any(n.method == method and pred(n.params) for n in notes[since:]):
            await anyio.sleep(0.02)
        return
    raise AssertionError(f"no {method} notification within 5 s; got {[n.method for n in notes[since:]]}")


async def rpc_error(coro, contains: str, what: str) -> None:
    try:
        result = await coro
    except McpError as e:
        check(e.error.code == INVALID_PARAMS, f"{what}: code {e.error.code}, want -32602 ({e.error.message})")
        check(contains in e.error.message, f"{what}: message {e.error.message!r} lacks {contains!r}")
        return
    raise AssertionError(f"{what}: expected JSON-RPC error -32602, got {result}")


async def check_initialize(init: types.InitializeResult) -> None:
    check(init.serverInfo.name == "mcp-prompts", f"serverInfo.name = {init.serverInfo.name!r}")
    check(init.protocolVersion == types.LATEST_PROTOCOL_VERSION, f"protocolVersion = {init.protocolVersion}")
    caps = init.capabilities
    check(caps.prompts is not None and caps.prompts.listChanged is True, f"prompts capability: {caps.prompts}")
    check(caps.resources is not None and caps.resources.subscribe is True
          and caps.resources.listChanged is True, f"resources capability: {caps.resources}")
    check(caps.tools is not None and not caps.tools.listChanged, f"tools capability: {caps.tools}")
    check(caps.logging is not None, "logging capability missing")
    check(caps.completions is not None, "completions capability missing")


async def check_tools_list(s: ClientSession) -> None:
    tools = {t.name: t for t in (await s.list_tools()).tools}
    for name in ["create_prompt", "get_prompt", "update_prompt", "delete_prompt", "list_prompts",
                 "search_prompts", "prompt_history", "apply_template", "set_label"]:
        check(name in tools, f"tools/list lacks {name}: {sorted(tools)}")
    for name in ["get_prompt", "list_prompts", "search_prompts", "prompt_history", "apply_template"]:
        ann = tools[name].annotations
        check(ann is not None and ann.readOnlyHint is True, f"{name} should be readOnlyHint: {ann}")
    ann = tools["delete_prompt"].annotations
    check(ann is not None and ann.destructiveHint is True, f"delete_prompt should be destructiveHint: {ann}")


async def all_prompts(s: ClientSession) -> tuple[list[str], dict[str, types.Prompt]]:
    """Every prompt, following nextCursor: (names in order, prompts by name)."""
    names, prompts, cursor = [], {}, None
    for _ in range(100):
        page = await s.list_prompts(params=types.PaginatedRequestParams(cursor=cursor))
        names += [p.name for p in page.prompts]
        prompts.update({p.name: p for p in page.prompts})
        if not (cursor := page.nextCursor):
            return names, prompts
    raise AssertionError("prompts/list pagination does not terminate")


async def check_list_prompts(s: ClientSession) -> dict[str, types.Prompt]:
    names, prompts = await all_prompts(s)
    check(len(names) >= 20, f"prompts/list returned {len(names)} prompts, want >= 20")
    check(len(names) == len(set(names)), f"prompts/list returned duplicate names: {names}")
    check("code-review" in prompts, "prompts/list lacks code-review")
    review = prompts["code-review"]
    check(review.title and review.description and review.arguments, f"code-review listing: {review}")
    await rpc_error(s.list_prompts(params=types.PaginatedRequestParams(cursor="not-a-cursor!")),
                    "", "prompts/list with invalid cursor")
    return prompts


async def argument_value(s: ClientSession, prompt: str, arg: str) -> str:
    """A value for the argument: the first declared choice if it has any, else a unique string."""
    done = await s.complete(types.PromptReference(type="ref/prompt", name=prompt), {"name": arg, "value": ""})
    return done.completion.values[0] if done.completion.values else f"value-{arg}-{RUN}"


async def check_get_code_review(s: ClientSession, prompts: dict[str, types.Prompt]) -> None:
    required = [a.name for a in prompts["code-review"].arguments or [] if a.required]
    args = {a: await argument_value(s, "code-review", a) for a in required}
    result = await s.get_prompt("code-review", args)
    check(result.messages, "code-review rendered no messages")
    msg = result.messages[0]
    check(msg.role == "user" and isinstance(msg.content, types.TextContent), f"code-review message: {msg}")
    for name, value in args.items():
        check(value in msg.content.text, f"rendered code-review lacks {name}={value!r}: {msg.content.text!r}")
    if required:
        await rpc_error(s.get_prompt("code-review", {}), required[0], "code-review without required args")


async def check_unknown_prompt(s: ClientSession) -> None:
    await rpc_error(s.get_prompt(f"no-such-prompt-{RUN}", {}), f"no-such-prompt-{RUN}", "unknown prompt")


async def check_create_prompt(s: ClientSession) -> None:
    variables = [{"name": "who", "required": True, "description": "who to greet"},
                 {"name": "punct", "required": False, "choices": ["!", "?", "."]}]
    since = len(notes)
    p = await call(s, "create_prompt", {
        "id": PID, "name": f"Python greeting {RUN}", "content": TEMPLATE_V1, "description": "greets someone",
        "isTemplate": True, "variables": variables, "tags": ["sdk-test", f"run-{RUN}"], "category": "testing"})
    check(p["id"] == PID and p["version"] == 1 and p["content"] == TEMPLATE_V1, f"created prompt: {p}")
    check(p["isTemplate"] is True and p["createdAt"] and p["updatedAt"], f"created prompt: {p}")
    check(p["tags"] == ["sdk-test", f"run-{RUN}"] and p["category"] == "testing", f"created prompt: {p}")
    await wait_note("notifications/prompts/list_changed", since)
    text = (await s.get_prompt(PID, {"who": "World", "punct": "!"})).messages[0].content.text
    check(text == "Hello World!", f"rendered {text!r}, want 'Hello World!'")
    text = (await s.get_prompt(PID, {"who": "World"})).messages[0].content.text
    check(text == "Hello World", f"rendered without punct {text!r}, want 'Hello World'")
    tricky = 'Tom & Jerry <3> "q" {{punct}}'  # neither HTML-escaped nor rendered again
    text = (await s.get_prompt(PID, {"who": tricky, "punct": "!"})).messages[0].content.text
    check(text == f"Hello {tricky}!", f"rendered {text!r}, want {'Hello ' + tricky + '!'!r}")
    await rpc_error(s.get_prompt(PID, {"punct": "!"}), "who", "missing required argument")
    err = await call_error(s, "create_prompt", {"id": PID, "name": "dup", "content": "x"})
    check(PID in err or "exist" in err.lower(), f"duplicate id error does not say why: {err!r}")


async def check_update_and_history(s: ClientSession) -> None:
    await s.subscribe_resource(AnyUrl(f"prompt://{PID}"))
    since = len(notes)
    p = await call(s, "update_prompt", {"id": PID, "expectedVersion": 1, "content": TEMPLATE_V2})
    check(p["version"] == 2 and p["content"] == TEMPLATE_V2, f"updated prompt: {p}")
    await wait_note("notifications/resources/updated", since, lambda params: str(params.uri) == f"prompt://{PID}")
    err = await call_error(s, "update_prompt", {"id": PID, "expectedVersion": 1, "content": "stale"})
    check(re.search(r"\b2\b", err), f"stale update error does not mention current version 2: {err!r}")
    h = await call(s, "prompt_history", {"id": PID})
    check([v["version"] for v in h["versions"]] == [1, 2], f"history versions: {h}")
    check(h["versions"][0]["content"] == TEMPLATE_V1, f"history v1 content: {h['versions'][0]}")


async def check_labels(s: ClientSession) -> None:
    lab = await call(s, "set_label", {"id": PID, "label": "production", "version": 1})
    check(lab == {"id": PID, "label": "production", "version": 1}, f"set_label: {lab}")
    p = await call(s, "get_prompt", {"id": PID, "label": "production"})
    check(p["version"] == 1 and p["content"] == TEMPLATE_V1, f"get_prompt by label: {p}")
    p = await call(s, "get_prompt", {"id": PID, "version": 1})
    check(p["version"] == 1, f"get_prompt version 1: {p}")
    p = await call(s, "get_prompt", {"id": PID})
    check(p["version"] == 2 and p["content"] == TEMPLATE_V2, f"get_prompt latest: {p}")
    h = await call(s, "prompt_history", {"id": PID})
    check(h["labels"].get("production") == 1, f"history labels: {h['labels']}")


async def check_resources(s: ClientSession) -> None:
    uris, cursor = [], None
    while True:
        page = await s.list_resources(params=types.PaginatedRequestParams(cursor=cursor))
        uris += [(str(r.uri), r.mimeType) for r in page.resources]
        if not (cursor := page.nextCursor):
            break
    check((f"prompt://{PID}", "application/json") in uris, f"resources/list lacks prompt://{PID}")
    templates = [t.uriTemplate for t in (await s.list_resource_templates()).resourceTemplates]
    for t in ["prompt://{id}/versions/{version}", "prompt://{id}@{label}"]:
        check(t in templates, f"resources/templates/list lacks {t}: {templates}")
    for uri, version in [(f"prompt://{PID}/versions/1", 1), (f"prompt://{PID}", 2),
                         (f"prompt://{PID}@production", 1)]:
        contents = (await s.read_resource(AnyUrl(uri))).contents
        check(contents and isinstance(contents[0], types.TextResourceContents), f"read {uri}: {contents}")
        body = json.loads(contents[0].text)
        check(body["id"] == PID and body["version"] == version, f"read {uri}: {body}")


async def check_completion(s: ClientSession) -> None:
    prefix = PID[:-3]
    ref = types.ResourceTemplateReference(type="ref/resource", uri="prompt://{id}")
    values = (await s.complete(ref, {"name": "id", "value": prefix})).completion.values
    check(PID in values, f"completion of id prefix {prefix!r} lacks {PID}: {values}")
    check(all(v.startswith(prefix) for v in values), f"completion values without prefix: {values}")
    ref = types.PromptReference(type="ref/prompt", name=PID)
    values = (await s.complete(ref, {"name": "punct", "value": ""})).completion.values
    check(sorted(values) == sorted(["!", "?", "."]), f"punct choices: {values}")
    values = (await s.complete(ref, {"name": "punct", "value": "?"})).completion.values
    check(values == ["?"], f"punct choices starting with '?': {values}")


async def check_undeclared_variable(s: ClientSession) -> None:
    err = await call_error(s, "create_prompt", {"id": f"{PID}-bad", "name": "bad", "isTemplate": True,
                                                "content": "Hi {{who}} {{mystery_var}}", "variables": ["who"]})
    check("mystery_var" in err, f"undeclared variable error does not name it: {err!r}")


async def check_search(s: ClientSession) -> None:
    found = await call(s, "search_prompts", {"query": "Howdy"})
    check(PID in [p["id"] for p in found["prompts"]], f"search 'Howdy' lacks {PID}: {found}")
    listed = await call(s, "list_prompts", {"category": "testing", "tag": f"run-{RUN}"})
    check([p["id"] for p in listed["prompts"]] == [PID], f"list_prompts by category+tag: {listed}")
    ids, cursor = [], None
    for _ in range(100):
        page = await call(s, "list_prompts", {"limit": 10, **({"cursor": cursor} if cursor else {})})
        check(len(page["prompts"]) <= 10, f"list_prompts limit 10 returned {len(page['prompts'])}")
        ids += [p["id"] for p in page["prompts"]]
        if not (cursor := page.get("nextCursor")):
            break
    names, _ = await all_prompts(s)
    check(sorted(ids) == sorted(names), f"list_prompts pages {ids} differ from prompts/list {names}")


async def check_apply_template(s: ClientSession) -> None:
    r = await call(s, "apply_template", {"promptId": PID, "variables": {"who": "World", "punct": "!", "x": "1"}})
    check(r["content"] == "Howdy World!" and r["version"] == 2, f"apply_template: {r}")
    # unusedVariables: declared variables the template never reads; unknownVariables: undeclared arguments.
    check(r["unusedVariables"] == [] and r.get("unknownVariables") == ["x"], f"apply_template variables: {r}")
    r = await call(s, "apply_template", {"id": PID, "label": "production", "variables": {"who": "World"}})
    check(r["content"] == "Hello World" and r["version"] == 1, f"apply_template by label: {r}")


async def check_delete(s: ClientSession) -> None:
    r = await call(s, "delete_prompt", {"id": PID, "expectedVersion": 2})
    check(r == {"id": PID, "deleted": True, "version": 2}, f"delete_prompt: {r}")
    await rpc_error(s.get_prompt(PID, {"who": "x"}), PID, "prompts/get after delete")
    err = await call_error(s, "get_prompt", {"id": PID})
    check(PID in err, f"get_prompt after delete: {err!r}")


async def check_ping_and_logging(s: ClientSession) -> None:
    await s.send_ping()
    check(isinstance(await s.set_logging_level("debug"), types.EmptyResult), "logging/setLevel result")
    since, tmp = len(notes), f"{PID}-log"
    await call(s, "create_prompt", {"id": tmp, "name": "log me", "content": "log"})
    await wait_note("notifications/message", since, lambda p: p.logger == "catalog" and p.level == "info")
    await call(s, "delete_prompt", {"id": tmp})


async def on_message(msg) -> None:
    if isinstance(msg, types.ServerNotification):
        notes.append(msg.root)


async def step(name: str, check_coro):
    print(f"- {name}", flush=True)
    current[0] = name
    result = await check_coro
    passed.append(name)
    return result


async def run(url: str) -> None:
    async with websocket_client(url) as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as s:
            with anyio.fail_after(45):
                init = await s.initialize()
                await step("initialize", check_initialize(init))
                await step("tools/list", check_tools_list(s))
                prompts = await step("prompts/list", check_list_prompts(s))
                await step("get code-review", check_get_code_review(s, prompts))
                await step("unknown prompt", check_unknown_prompt(s))
                await step("create + render", check_create_prompt(s))
                await step("update + history", check_update_and_history(s))
                await step("labels", check_labels(s))
                await step("resources", check_resources(s))
                await step("completion", check_completion(s))
                await step("undeclared variable", check_undeclared_variable(s))
                await step("search + list", check_search(s))
                await step("apply_template", check_apply_template(s))
                await step("delete", check_delete(s))
                await step("ping + logging", check_ping_and_logging(s))
        print("- close", flush=True)
        current[0], started = "close", time.monotonic()
    # Leaving websocket_client sends a Close frame and waits for the server's (RFC 6455 5.5.1).
    took = time.monotonic() - started
    check(took < 5, f"closing the WebSocket took {took:.1f} s: the server did not answer the Close frame")
    passed.append("close")


def leaves(e: BaseException) -> list[BaseException]:
    if isinstance(e, BaseExceptionGroup):
        return [x for sub in e.exceptions for x in leaves(sub)]
    return [e]


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: py_ws_client.py ws://127.0.0.1:PORT/ws", file=sys.stderr)
        return 2
    try:
        anyio.run(run, sys.argv[1])
    except BaseException as e:  # noqa: BLE001 - report every failure the same way
        for leaf in leaves(e):
            print(f"FAIL in check '{current[0]}': {type(leaf).__name__}: {leaf}", file=sys.stderr)
        return 1
    print(f"python sdk client: {len(passed)} checks passed ({', '.join(passed)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
