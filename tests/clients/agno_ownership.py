"""Agno's unmodified AgentOSClient (agno 3.1) as two users of one agentd:
user B cannot see or touch user A's session, an admin can.

Usage: python agno_ownership.py BASE_URL SESSION RUN TOKEN_A TOKEN_B TOKEN_ADMIN
  SESSION, RUN  a session of user A's and one of its runs (agent assistant)
  TOKEN_*       access tokens from the deployment's OpenID provider

Prints one "ok <step>" line per passed step and exits non-zero on the first
failure, so the calling test can fail.
"""

import asyncio
import sys

import httpx
from agno.client import AgentOSClient


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def status_of(call):
    """The HTTP status a call failed with, or 200 when it did not fail."""
    try:
        await call
    except httpx.HTTPStatusError as e:
        return e.response.status_code
    return 200


async def main(base, session, run, token_a, token_b, token_admin):
    client = AgentOSClient(base_url=base)
    as_a = {"Authorization": f"Bearer {token_a}"}
    as_b = {"Authorization": f"Bearer {token_b}"}
    as_admin = {"Authorization": f"Bearer {token_admin}"}

    detail = await client.get_session(session, headers=as_a)
    check(detail.session_id == session, f"A reads their session: {detail}")
    listed = await client.get_sessions(headers=as_a)
    check([s.session_id for s in listed.data] == [session], f"A lists it: {listed.data}")
    print("ok owner reads", flush=True)

    listed = await client.get_sessions(headers=as_b)
    check(session not in [s.session_id for s in listed.data], f"B lists A's session: {listed.data}")
    listed = await client.get_sessions(user_id="user-a", headers=as_b)
    check(listed.data == [], f"B lists A's by user_id: {listed.data}")
    for what, call in [
        ("get_session", client.get_session(session, headers=as_b)),
        ("get_session_runs", client.get_session_runs(session, headers=as_b)),
        ("get_session_run", client.get_session_run(session, run, headers=as_b)),
    ]:
        status = await status_of(call)
        check(status == 404, f"B's {what} on A's session: {status}")
    print("ok other user finds nothing", flush=True)

    status = await status_of(client.rename_session(session, "mine now", headers=as_b))
    check(status == 404, f"B's rename of A's session: {status}")
    # Deleting answers 204 for an unknown session too; it must not delete.
    await client.delete_session(session, headers=as_b)
    await client.cancel_agent_run("assistant", run, headers=as_b)
    detail = await client.get_session(session, headers=as_a)
    check(detail.session_name != "mine now", f"A's session renamed by B: {detail.session_name}")
    print("ok other user touches nothing", flush=True)

    listed = await client.get_sessions(headers=as_admin)
    check(session in [s.session_id for s in listed.data], f"admin lists A's session: {listed.data}")
    runs = await client.get_session_runs(session, headers=as_admin)
    check(run in [r.run_id for r in runs], f"admin reads A's runs: {runs}")
    print("ok admin reads", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
