"""Resume an MCP session with the official Python SDK 1.x over WebSocket.

Usage: py_ws_resume.py WS_URL [QUIET_SECS]

A subscriber session subscribes to a prompt and disconnects; an editor session
makes 50 changes (10 to the subscribed prompt); the subscriber reconnects with
`mcpSessionId` and `lastPosition` in `initialize` and must receive exactly the
missed notifications: one prompts/list_changed, one resources/list_changed, one
resources/updated for its prompt, positions after the last one it saw, no repeats.
Then a plain SDK `initialize` (no resumption fields) still works. QUIET_SECS
(default 0.5) is how long "no more notifications" must last: the AWS backend's
fan-out goes through SQS and needs longer.
"""

import sys
from contextlib import AsyncExitStack

import anyio
from mcp import ClientSession, types
from mcp.client.websocket import websocket_client

WATCHED = "code-review"
OTHER = "bug-report"


class Recorder:
    """Collects server notifications as (method, position, uri)."""

    def __init__(self):
        self.seen = []

    async def __call__(self, message):
        if isinstance(message, types.ServerNotification):
            root = message.root
            params = root.params.model_dump(by_alias=True, mode="json") if root.params else {}
            meta = params.get("_meta") or {}
            self.seen.append((root.method, meta.get("position"), params.get("uri")))


async def open_session(stack, url, recorder):
    read, write = await stack.enter_async_context(websocket_client(url))
    return await stack.enter_async_context(ClientSession(read, write, message_handler=recorder))


async def initialize(session, **extra):
    params = types.InitializeRequestParams(
        protocolVersion=types.LATEST_PROTOCOL_VERSION,
        capabilities=types.ClientCapabilities(),
        clientInfo=types.Implementation(name="py-resume", version="1"),
        **extra,
    )
    result = await session.send_request(
        types.ClientRequest(types.InitializeRequest(method="initialize", params=params)),
        types.InitializeResult,
    )
    await session.send_notification(
        types.ClientNotification(types.InitializedNotification(method="notifications/initialized"))
    )
    return result.model_extra or {}


QUIET = 0.5


async def settle(recorder, quiet=None):
    """Waits until no notification arrived for `quiet` seconds."""
    quiet = QUIET if quiet is None else quiet
    count = -1
    while count != len(recorder.seen):
        count = len(recorder.seen)
        await anyio.sleep(quiet)


async def main(url):
    sub_log = Recorder()
    async with AsyncExitStack() as stack:
        sub = await open_session(stack, url, sub_log)
        first = await initialize(sub)
        session_id = first["mcpSessionId"]
        assert first["resumed"] is False, first
        await sub.subscribe_resource(f"prompt://{WATCHED}")
        editor = await open_session(stack, url, Recorder())
        await editor.initialize()
        await editor.call_tool("update_prompt", {"id": WATCHED, "description": "before"})
        await settle(sub_log)
        positions = [p for (_, p, _) in sub_log.seen if p is not None]
        assert positions, f"the subscriber heard nothing: {sub_log.seen}"
        last_seen = max(positions)
        await stack.aclose()

    resumed_log = Recorder()
    async with AsyncExitStack() as stack:
        editor_log = Recorder()
        editor = await open_session(stack, url, editor_log)
        await editor.initialize()
        for n in range(50):
            target = WATCHED if n % 5 == 0 else OTHER
            result = await editor.call_tool("update_prompt", {"id": target, "description": f"away {n}"})
            assert not result.isError, result
        # Every change has been fanned out (the editor heard the last one), so
        # none reaches the resumed connection live as well as by replay.
        await settle(editor_log)
        back = await open_session(stack, url, resumed_log)
        again = await initialize(back, mcpSessionId=session_id, lastPosition=last_seen)
        assert again["resumed"] is True, again
        assert again["mcpSessionId"] == session_id, again
        assert again["replay"] == "complete", again
        await settle(resumed_log)
        got = [(m, u) for (m, _, u) in resumed_log.seen]
        assert got == [
            ("notifications/prompts/list_changed", None),
            ("notifications/resources/list_changed", None),
            ("notifications/resources/updated", f"prompt://{WATCHED}"),
        ], got
        newest = last_seen + 50
        assert all(p == newest for (_, p, _) in resumed_log.seen[:2]), resumed_log.seen
        assert resumed_log.seen[2][1] == newest - 4, resumed_log.seen  # n=45 was the last watched edit
        # The resumed session is live: one more change arrives once.
        await editor.call_tool("update_prompt", {"id": WATCHED, "description": "live"})
        await settle(resumed_log)
        tail = resumed_log.seen[3:]
        assert [m for (m, _, _) in tail] == [
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
            "notifications/resources/updated",
        ], tail
        assert all(p == newest + 1 for (_, p, _) in tail), tail

        plain = await open_session(stack, url, Recorder())
        init = await plain.initialize()
        assert init.serverInfo.name == "mcp-prompts"
        assert (init.model_extra or {}).get("resumed") is False
    print(f"resumed session {session_id}: replayed {len(got)} notifications after position {last_seen}")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        QUIET = float(sys.argv[2])
    anyio.run(main, sys.argv[1])
