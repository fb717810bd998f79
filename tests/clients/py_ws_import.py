#!/usr/bin/env python3
"""A bulk import job (import_catalog) driven by the official MCP Python SDK 1.x over WebSocket.

Usage: py_ws_import.py ws://127.0.0.1:PORT/ws COUNT
One session imports COUNT generated prompts with a progressToken (the SDK's progress_callback)
while a second session only listens: the first must see increasing progress up to the total and
a final summary; the listener must hear exactly one prompts/list_changed for the whole job.
A re-import changes nothing; a dry run writes nothing; import_status polls a job.
Exits 0 with a summary on success, 1 with the failing check on error.
"""

import sys
import time
import uuid
import warnings

import anyio
import mcp.types as types
from mcp import ClientSession
from mcp.client.websocket import websocket_client

warnings.filterwarnings("ignore", message=".*WebSocket client transport is deprecated.*")

RUN = uuid.uuid4().hex[:8]


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def catalog(count: int, body: str) -> list[dict]:
    """COUNT files in the four formats, in category folders."""
    files = []
    for i in range(count):
        pid = f"bulk-{RUN}-{i}"
        folder = ["coding", "writing", "analysis"][i % 3]
        kind = i % 4
        if kind == 0:
            content = '{"id": "%s", "name": "Bulk %d", "content": "%s {{topic}}", "tags": ["bulk"]}' % (pid, i, body)
            path = f"{folder}/{pid}.json"
        elif kind == 1:
            content = f"id: {pid}\nname: Bulk {i}\ntemplate: \"{body} {{{{topic}}}}\"\ntags: [bulk]\n"
            path = f"{folder}/{pid}.yaml"
        elif kind == 2:
            content = f"---\nid: {pid}\nname: Bulk {i}\ntags: [bulk]\n---\n{body} {{{{topic}}}}\n"
            path = f"{folder}/{pid}.md"
        else:
            content = f"{body} {{{{topic}}}}\n"
            path = f"{folder}/{pid}.txt"
        files.append({"path": path, "content": content})
    return files


class Passed(list):
    """The checks passed so far, each printed as it passes (a failure shows where it came)."""

    def append(self, item) -> None:
        print(f"ok: {item}", flush=True)
        super().append(item)


class Listener:
    def __init__(self):
        self.list_changed = 0

    async def on_message(self, msg) -> None:
        if isinstance(msg, types.ServerNotification) and msg.root.method == "notifications/prompts/list_changed":
            self.list_changed += 1


async def run(url: str, count: int) -> list[str]:
    passed = Passed()
    listener = Listener()
    async with websocket_client(url) as (lr, lw), ClientSession(lr, lw, message_handler=listener.on_message) as quiet:
        await quiet.initialize()
        async with websocket_client(url) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            with anyio.fail_after(120):
                files = catalog(count, "Write about")
                progress: list[tuple[float, float | None]] = []

                async def on_progress(p: float, total: float | None, message: str | None) -> None:
                    progress.append((p, total))

                started = time.monotonic()
                result = await s.call_tool("import_catalog", {"files": files}, progress_callback=on_progress)
                took = time.monotonic() - started
                check(not result.isError, f"import_catalog failed: {result.content}")
                job = result.structuredContent
                check(job["state"] == "done", f"job not done: {job}")
                check(job["created"] == count and job["failed"] == 0, f"created {job['created']} of {count}: {job}")
                check(len(progress) >= 2, f"expected several progress notifications, got {progress}")
                values = [p for p, _ in progress]
                check(values == sorted(values) and len(set(values)) == len(values), f"progress must increase: {values}")
                check(progress[-1] == (count, count), f"last progress {progress[-1]}, want ({count}, {count})")
                passed.append(f"import {count} prompts: {len(progress)} progress notifications, {took:.2f} s")

                # The listener hears the job once: its list_changed waits for the job's end.
                await anyio.sleep(1.0)
                check(listener.list_changed == 1, f"listener heard {listener.list_changed} list_changed, want 1")
                passed.append("one list_changed for the whole job")

                listed = await s.call_tool("list_prompts", {"tag": "bulk", "limit": 5})
                check(not listed.isError, f"list_prompts failed: {listed.content}")

                again = await s.call_tool("import_catalog", {"files": files}, progress_callback=on_progress)
                job2 = again.structuredContent
                check(job2["state"] == "done" and job2["unchanged"] == count and job2["created"] == 0
                      and job2["updated"] == 0, f"re-import should change nothing: {job2}")
                passed.append("re-import: all unchanged")

                changed = catalog(count, "Write briefly about")[:10]
                dry = await s.call_tool("import_catalog", {"files": changed, "dryRun": True, "wait": True})
                job3 = dry.structuredContent
                check(job3["dryRun"] and job3["updated"] == 10, f"dry run should plan 10 updates: {job3}")
                got = await s.call_tool("get_prompt", {"id": f"bulk-{RUN}-0"})
                check("Write about" in got.structuredContent["content"], "a dry run wrote a prompt")
                passed.append("dry run: plans, writes nothing")

                queued = await s.call_tool("import_catalog", {"files": changed})
                job4 = queued.structuredContent
                check(job4["state"] in ("queued", "running", "done"), f"no progressToken: answered at once: {job4}")
                for _ in range(200):
                    st = (await s.call_tool("import_status", {"jobId": job4["jobId"]})).structuredContent
                    if st["state"] == "done":
                        break
                    await anyio.sleep(0.05)
                check(st["state"] == "done" and st["updated"] == 10, f"polled job: {st}")
                passed.append("import_status polls a queued job to done")

                bad = await s.call_tool("import_catalog", {"files": [
                    {"path": "coding/broken.json", "content": "{\"id\": \"x\", "},
                    {"path": f"coding/fine-{RUN}.md", "content": "---\nname: Fine\n---\nAll {{good}}\n"}],
                    "wait": True})
                job5 = bad.structuredContent
                check(job5["failed"] == 1 and job5["created"] == 1, f"a broken file fails alone: {job5}")
                check(job5["failures"][0]["source"] == "coding/broken.json", f"failure names the file: {job5}")
                passed.append("a broken file is reported and the rest go in")
                # Let the listener's last list_changed land before the sessions close: the
                # SDK's WebSocket reader fails (BrokenResourceError) on a frame that arrives
                # while its session is being torn down.
                await anyio.sleep(0.5)
    return passed


def leaves(e: BaseException) -> list[BaseException]:
    """The innermost exceptions of a (nested) exception group, or e itself."""
    if isinstance(e, BaseExceptionGroup):
        return [leaf for sub in e.exceptions for leaf in leaves(sub)]
    return [e]


def main() -> int:
    url, count = sys.argv[1], int(sys.argv[2])
    try:
        passed = anyio.run(run, url, count)
    except BaseException as e:  # noqa: BLE001 - report any failure as the exit status
        for leaf in leaves(e):
            print(f"FAILED: {type(leaf).__name__}: {leaf}", flush=True)
        return 1
    print(f"{len(passed)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
