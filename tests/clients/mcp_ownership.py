"""Users of one agentd MCP server through the unmodified MCP Python SDK,
each with their own bearer token from the OpenID provider.

Usage: python mcp_ownership.py MCP_URL TOKEN_A TOKEN_B TOKEN_C TOKEN_ADMIN
Run by tests/it/ownership_mcp.rs. tools/list shows each user only the
agents their scopes allow (`ledger` needs `reports`: A and C have it, B
does not); a call of a forbidden agent is refused; a `session_id` naming
A's session, from B or C (another tenant), is refused exactly as one
nobody has; the admin may continue it; A's session holds A's words only.
Prints one "ok <step>" line per passed step; exits non-zero on failure.
"""

import sys

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

UNKNOWN = "0197f00d-0000-7000-8000-00000000dead"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def texts(result):
    return [c.text for c in result.content if getattr(c, "text", None) is not None]


def connect(url, token):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http))


async def outcome(client, name, arguments):
    """What a call came back with, as the model would see it: "ok: <text>",
    "isError: <text>" or "error: <JSON-RPC message>"."""
    try:
        result = await client.call_tool(name, arguments)
    except MCPError as e:
        return f"error: {e.error.message}"
    return ("isError: " if result.is_error else "ok: ") + " | ".join(texts(result))


async def tool_names(url, token):
    async with connect(url, token) as client:
        return [t.name for t in (await client.list_tools()).tools]


async def main(url, token_a, token_b, token_c, token_admin):
    names = await tool_names(url, token_a)
    check("ledger" in names and "assistant" in names, f"A's tools: {names}")
    names = await tool_names(url, token_b)
    check("ledger" not in names and "assistant" in names, f"B's tools: {names}")
    print("ok tools/list shows only allowed agents", flush=True)

    async with connect(url, token_b) as b:
        got = await outcome(b, "ledger", {"message": "the books"})
        check(not got.startswith("ok"), f"B runs ledger: {got}")
    print("ok a forbidden agent is refused", flush=True)

    async with connect(url, token_a) as a:
        first = await a.call_tool("assistant", {"message": "my name is Ada"})
        check(not first.is_error, f"A's call: {first}")
        session = first.structured_content["session_id"]
    print("ok A's session", flush=True)

    for who, token in (("B", token_b), ("C", token_c)):
        async with connect(url, token) as other:
            theirs = await outcome(other, "assistant", {"message": "what is my name?", "session_id": session})
            none = await outcome(other, "assistant", {"message": "what is my name?", "session_id": UNKNOWN})
            check(not theirs.startswith("ok"), f"{who} continues A's session: {theirs}")
            check("Ada" not in theirs, f"{who} reads A's words: {theirs}")
            check(
                theirs.replace(session, "<id>") == none.replace(UNKNOWN, "<id>"),
                f"{who}: A's session {theirs!r} vs an unknown one {none!r}",
            )
        print(f"ok {who} cannot continue A's session", flush=True)

    async with connect(url, token_admin) as admin:
        got = await admin.call_tool("assistant", {"message": "and again", "session_id": session})
        check(not got.is_error and "my name is Ada" in texts(got)[0], f"admin continues: {got}")
    print("ok admin continues A's session", flush=True)

    async with connect(url, token_a) as a:
        again = await a.call_tool("assistant", {"message": "what is my name?", "session_id": session})
        # The third message of A's conversation (A's two and the admin's):
        # no try of B's or C's was added to it.
        said = 'message 3 of this conversation; before that you said: "and again"'
        check(not again.is_error and said in texts(again)[0], f"A continues: {again}")
        check(again.structured_content["session_id"] == session, str(again.structured_content))
    print("ok A's session is A's", flush=True)


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:6])
