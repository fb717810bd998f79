"""mcp-prompts with the official MCP Python SDK 2.x over Streamable HTTP, as a
2025-11-25 client (`mode="legacy"`: `initialize`, then notifications on the
standalone GET stream).

Usage: python py2_http_client.py http://127.0.0.1:PORT/mcp
A second client (another HTTP session) edits the catalog; the first must receive
notifications/prompts/list_changed on its GET stream and then list the new prompt.
Exits 0 with a short summary on success, non-zero with the failing check otherwise.
"""

import secrets
import sys

import anyio
from mcp import Client

URL = sys.argv[1]
RUN = secrets.token_hex(4)
notes: list[str] = []
passed: list[str] = []


async def on_message(message) -> None:
    if isinstance(message, Exception):
        print(f"transport error: {message!r}", file=sys.stderr)
        return
    notes.append(message.method)


async def wait_note(method: str, since: int) -> None:
    with anyio.fail_after(10):
        while method not in notes[since:]:
            await anyio.sleep(0.02)


async def list_all(client: Client) -> list[str]:
    names: list[str] = []
    cursor = None
    for _ in range(20):
        result = await client.list_prompts(cursor=cursor) if cursor else await client.list_prompts()
        names += [p.name for p in result.prompts]
        cursor = result.next_cursor
        if not cursor:
            break
    return names


async def main() -> None:
    async with Client(URL, mode="legacy", message_handler=on_message) as client:
        assert client.protocol_version == "2025-11-25", client.protocol_version
        assert client.server_capabilities.prompts.list_changed
        passed.append("initialize")

        names = await list_all(client)
        assert "code-review" in names, names
        passed.append("prompts/list")

        got = await client.get_prompt("code-review", {"language": "python", "code": f"def f_{RUN}(): pass"})
        text = "\n".join(m.content.text for m in got.messages)
        assert f"def f_{RUN}()" in text, text[:200]
        passed.append("prompts/get")

        await anyio.sleep(0.3)  # the GET stream opens after notifications/initialized
        since = len(notes)
        new_id = f"py2-{RUN}"
        async with Client(URL, mode="legacy") as editor:
            result = await editor.call_tool(
                "create_prompt", {"id": new_id, "name": f"Py2 {RUN}", "content": "from python"}
            )
            assert not result.is_error, result
        await wait_note("notifications/prompts/list_changed", since)
        passed.append("list_changed on the GET stream")

        assert new_id in await list_all(client), "the new prompt is listed"
        passed.append("prompts/list sees the change")

    print(f"py2 http client: {len(passed)} checks passed: {', '.join(passed)}")


if __name__ == "__main__":
    try:
        anyio.run(main)
    except BaseException as exc:  # report, including timeouts and exception groups
        print(f"FAILED after {passed}: {exc!r}; notifications: {notes}", file=sys.stderr)
        raise
