"""mcp-prompts with the official MCP Python SDK 2.x as a strict 2026-07-28 client.

Usage: python py2_modern_client.py http://127.0.0.1:PORT/mcp

`mode="auto"` probes `server/discover` and must pick 2026-07-28 (no initialize);
every request then carries the per-request envelope and the MCP-Protocol-Version,
Mcp-Method and Mcp-Name headers. A `subscriptions/listen` stream must deliver
prompts/list_changed and resources/updated when another client edits a prompt.
"""

import secrets
import sys

import anyio
from mcp import Client
from mcp.client.subscriptions import PromptsListChanged, ResourceUpdated

URL = sys.argv[1]
RUN = secrets.token_hex(4)


async def main() -> None:
    async with Client(URL, mode="auto") as client, Client(URL, mode="auto") as editor:
        assert client.protocol_version == "2026-07-28", client.protocol_version
        prompts = (await client.list_prompts()).prompts
        assert any(p.name == "code-review" for p in prompts), [p.name for p in prompts]
        got = await client.get_prompt("code-review", {"language": "go", "code": f"func f{RUN}() {{}}"})
        assert f"func f{RUN}()" in got.messages[0].content.text

        created = await editor.call_tool(
            "create_prompt",
            {"id": f"modern-{RUN}", "name": f"Modern {RUN}", "content": "Hi {{who}}", "variables": ["who"]},
        )
        assert not created.is_error, created

        uri = f"prompt://modern-{RUN}"
        async with client.listen(prompts_list_changed=True, resource_subscriptions=[uri]) as sub:
            assert sub.honored.prompts_list_changed, sub.honored
            assert list(sub.honored.resource_subscriptions or []) == [uri], sub.honored
            updated = await editor.call_tool(
                "update_prompt", {"id": f"modern-{RUN}", "description": "edited", "expectedVersion": 1}
            )
            assert not updated.is_error, updated
            seen = set()
            with anyio.fail_after(10):
                async for event in sub:
                    if isinstance(event, PromptsListChanged):
                        seen.add("list")
                    elif isinstance(event, ResourceUpdated):
                        assert str(event.uri) == uri, event
                        seen.add("updated")
                    if seen == {"list", "updated"}:
                        break
        print(f"2026-07-28 client: discover, list, get, listen ok ({sorted(seen)})")


if __name__ == "__main__":
    anyio.run(main)
