"""Drives agentd's MCP server with the unmodified MCP Python SDK (mcp 2.3).

Usage: python mcp_client.py MCP_URL AGENT SLOW_AGENT API_KEY
  MCP_URL     e.g. http://127.0.0.1:7777/mcp
  AGENT       an agent on agentd's builtin model (echoes "You said: ...")
  SLOW_AGENT  an agent whose replies stream slowly (for cancel)
  API_KEY     the bearer key agentd wants

Prints one "ok <step>" line per passed step and exits non-zero on the first
failure (an exception or a failed check), so the calling test can fail.
"""

import sys

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def texts(result):
    return [c.text for c in result.content if getattr(c, "text", None) is not None]


async def main(url, agent, slow, key):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    async with Client(streamable_http_client(url, http_client=http)) as client:
        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        check(agent in tools and slow in tools, f"tools listed: {list(tools)}")
        tool = tools[agent]
        check(tool.input_schema["required"] == ["message"], f"input schema {tool.input_schema}")
        check(
            set(tool.output_schema["required"]) == {"answer", "session_id", "run_id"},
            f"output schema {tool.output_schema}",
        )
        hints = tool.annotations
        check(
            (hints.read_only_hint, hints.idempotent_hint, hints.open_world_hint) == (False, False, True),
            f"annotations {hints}",
        )
        print("ok list tools", flush=True)

        progress = []

        async def on_progress(value, total, message):
            progress.append((value, message))

        # The SDK validates structuredContent against the declared outputSchema.
        first = await client.call_tool(agent, {"message": "my name is Ada"}, progress_callback=on_progress)
        check(not first.is_error, f"first call: {first}")
        check(texts(first)[0] == "You said: my name is Ada", f"answer {texts(first)}")
        check(len(progress) >= 2, f"progress notifications: {progress}")
        check(all(a[0] < b[0] for a, b in zip(progress, progress[1:])), f"progress rises: {progress}")
        print("ok call with progress", flush=True)

        session = first.structured_content["session_id"]
        check(first.structured_content["answer"] == "You said: my name is Ada", str(first.structured_content))
        check(session in texts(first)[1], f"the model is told the session: {texts(first)}")
        again = await client.call_tool(agent, {"message": "what is my name?", "session_id": session})
        check(not again.is_error and "my name is Ada" in texts(again)[0], f"continued: {again}")
        check(again.structured_content["session_id"] == session, str(again.structured_content))
        print("ok session from structuredContent", flush=True)

        bad = await client.call_tool(agent, {"message": 42})
        check(bad.is_error, f"a bad call is an error result: {bad}")
        check("'message' must be a string" in texts(bad)[0], f"names what is wrong: {texts(bad)}")
        print("ok bad call is isError", flush=True)

        # The caller gives up: the SDK sends notifications/cancelled, and
        # agentd cancels the run (the calling test checks the run's status).
        with anyio.move_on_after(1.0) as scope:
            await client.call_tool(slow, {"message": "take your time " * 40})
        check(scope.cancelled_caught, "the slow call was still running when cancelled")
        print("ok cancel", flush=True)


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:5])
