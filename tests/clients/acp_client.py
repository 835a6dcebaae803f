"""Drives agentd with the unmodified acp-sdk Python Client (acp-sdk 1.0.3).

Usage: python acp_client.py BASE_URL AGENT SLOW_AGENT ASK_AGENT
  BASE_URL   e.g. http://127.0.0.1:7777/acp
  AGENT      an agent on agentd's builtin model (echoes "You said: ...")
  SLOW_AGENT an agent whose replies stream slowly (for cancel)
  ASK_AGENT  an agent with the ask_user tool (for await/resume)

Prints one "ok <step>" line per passed step and exits non-zero on the first
failure (an exception or a failed check), so the calling test can fail.
"""

import asyncio
import sys

from acp_sdk.client import Client
from acp_sdk.models import Message, MessageAwaitResume, MessagePart, RunStatus


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def text_of(run):
    return "".join(str(m) for m in run.output)


async def main(base_url, agent, slow_agent, ask_agent):
    async with Client(base_url=base_url, timeout=30) as client:
        await client.ping()
        print("ok ping")

        names = [a.name async for a in client.agents()]
        check(agent in names and slow_agent in names, f"agents listed: {names}")
        manifest = await client.agent(name=agent)
        check(manifest.name == agent, f"manifest name {manifest.name}")
        print("ok agents")

        run = await client.run_sync("hello sync", agent=agent)
        check(run.status == RunStatus.COMPLETED, f"sync status {run.status}")
        check(text_of(run) == "You said: hello sync", f"sync output {text_of(run)!r}")
        check(run.output[0].role == f"agent/{agent}", f"role {run.output[0].role}")
        print("ok run_sync")

        run = await client.run_async("hello async", agent=agent)
        check(run.status in (RunStatus.CREATED, RunStatus.IN_PROGRESS), f"async status {run.status}")
        for _ in range(500):
            run = await client.run_status(run_id=run.run_id)
            if run.status.is_terminal:
                break
            await asyncio.sleep(0.02)
        check(run.status == RunStatus.COMPLETED, f"async final status {run.status}")
        check(text_of(run) == "You said: hello async", f"async output {text_of(run)!r}")
        events = [e.type async for e in client.run_events(run_id=run.run_id)]
        check(events[0] == "run.created" and events[-1] == "run.completed", f"events {events}")
        print("ok run_async + run_status + run_events")

        types, parts, final = [], [], None
        async for event in client.run_stream("hello stream", agent=agent):
            types.append(event.type)
            if event.type == "message.part":
                parts.append(event.part.content)
            if event.type == "run.completed":
                final = event.run
        check(types[:3] == ["run.created", "run.in-progress", "message.created"], f"stream start {types}")
        check(types[-2:] == ["message.completed", "run.completed"], f"stream end {types}")
        check("".join(parts) == "You said: hello stream", f"stream parts {parts}")
        check(text_of(final) == "You said: hello stream", "stream final output")
        print("ok run_stream")

        async with client.session() as session:
            first = await session.run_sync("my name is Ada", agent=agent)
            second = await session.run_sync("what is my name?", agent=agent)
            check(first.session_id == second.session_id, "one session id across runs")
            reply = text_of(second)
            check("my name is Ada" in reply, f"second run sees the first: {reply!r}")
            refreshed = await session.refresh_session()
            check(len(refreshed.history) == 4, f"history {refreshed.history}")
        print("ok session with two runs")

        run = await client.run_async("count " + " ".join(str(i) for i in range(200)), agent=slow_agent)
        for _ in range(500):
            status = await client.run_status(run_id=run.run_id)
            if status.status == RunStatus.IN_PROGRESS and status.output:
                break
            await asyncio.sleep(0.02)
        cancelled = await client.run_cancel(run_id=run.run_id)
        check(cancelled.status == RunStatus.CANCELLING, f"cancel answer {cancelled.status}")
        for _ in range(500):
            status = await client.run_status(run_id=run.run_id)
            if status.status.is_terminal:
                break
            await asyncio.sleep(0.02)
        check(status.status == RunStatus.CANCELLED, f"after cancel {status.status}")
        print("ok run_cancel")

        run = await client.run_sync('/tool ask_user {"question": "Which city?"}', agent=ask_agent)
        check(run.status == RunStatus.AWAITING, f"await status {run.status}")
        check(str(run.await_request.message) == "Which city?", "await request message")
        resume = MessageAwaitResume(message=Message(parts=[MessagePart(content="Paris")]))
        run = await client.run_resume_sync(resume, run_id=run.run_id)
        check(run.status == RunStatus.COMPLETED, f"resumed status {run.status}")
        check("Paris" in text_of(run), f"resumed output {text_of(run)!r}")
        print("ok await + run_resume_sync")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
