"""Drives agentd with the unmodified a2a-sdk Python client (a2a-sdk 0.3.26).

Usage: python a2a_client.py BASE_URL AGENT SLOW_AGENT ASK_AGENT API_KEY
  BASE_URL   e.g. http://127.0.0.1:7777 (cards are read from the well-known paths)
  AGENT      an agent on agentd's builtin model (echoes "You said: ...")
  SLOW_AGENT an agent whose replies stream slowly (for cancel)
  ASK_AGENT  an agent with the ask_user tool (for input-required)
  API_KEY    the bearer key agentd wants

Prints one "ok <step>" line per passed step and exits non-zero on the first
failure (an exception or a failed check), so the calling test can fail.
"""

import asyncio
import sys
import uuid

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.errors import A2AClientJSONRPCError
from a2a.types import (
    Message,
    MessageSendConfiguration,
    Part,
    Role,
    TaskArtifactUpdateEvent,
    TaskIdParams,
    TaskQueryParams,
    TaskState,
    TaskStatusUpdateEvent,
    TextPart,
)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def message(text, task_id=None, context_id=None):
    return Message(
        role=Role.user,
        message_id=str(uuid.uuid4()),
        parts=[Part(root=TextPart(text=text))],
        task_id=task_id,
        context_id=context_id,
    )


def answer(task):
    return "".join(
        p.root.text
        for a in task.artifacts or []
        for p in a.parts
        if getattr(p.root, "text", None) is not None
    )


async def last_task(client, msg, **kw):
    task = None
    async for event in client.send_message(msg, **kw):
        task, _ = event
    return task


async def main(base, agent, slow_agent, ask_agent, key):
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:
        server_card = await A2ACardResolver(http, base_url=base).get_agent_card()
        skills = [s.id for s in server_card.skills]
        check(agent in skills and slow_agent in skills, f"server card skills {skills}")
        card = await A2ACardResolver(http, base_url=f"{base}/a2a/{agent}").get_agent_card()
        check(card.url == f"{base}/a2a/{agent}", f"card url {card.url}")
        check(card.capabilities.streaming, "card says streaming")
        print("ok agent cards")

        client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        task = await last_task(client, message("hello send"))
        check(task.status.state == TaskState.completed, f"send state {task.status.state}")
        check(answer(task) == "You said: hello send", f"send answer {answer(task)!r}")
        print("ok message/send")

        got = await client.get_task(TaskQueryParams(id=task.id))
        check(got.id == task.id and got.context_id == task.context_id, "get ids")
        check(got.status.state == TaskState.completed, f"get state {got.status.state}")
        check(answer(got) == "You said: hello send", f"get answer {answer(got)!r}")
        check(got.history and got.history[0].parts[0].root.text == "hello send", "get history")
        print("ok tasks/get")

        streaming = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(card)
        updates, task = [], None
        async for task, update in streaming.send_message(message("hello stream")):
            if update is not None:
                updates.append(update)
        check(task.status.state == TaskState.completed, f"stream state {task.status.state}")
        check(answer(task) == "You said: hello stream", f"stream answer {answer(task)!r}")
        chunks = [u for u in updates if isinstance(u, TaskArtifactUpdateEvent)]
        check(len(chunks) >= 2, f"streamed chunks {len(chunks)}")
        statuses = [u.status.state for u in updates if isinstance(u, TaskStatusUpdateEvent)]
        check(statuses[0] == TaskState.working, f"first status {statuses}")
        check(statuses[-1] == TaskState.completed and updates[-1].final, f"last status {statuses}")
        print("ok message/stream")

        first = await last_task(client, message("my name is Ada"))
        second = await last_task(client, message("what is my name?", context_id=first.context_id))
        check(second.context_id == first.context_id and second.id != first.id, "one context, two tasks")
        check("my name is Ada" in answer(second), f"second task sees the first: {answer(second)!r}")
        print("ok context across tasks")

        ask_card = await A2ACardResolver(http, base_url=f"{base}/a2a/{ask_agent}").get_agent_card()
        asker = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(ask_card)
        task = None
        async for task, _ in asker.send_message(message('/tool ask_user {"question": "Which city?"}')):
            pass
        check(task.status.state == TaskState.input_required, f"ask state {task.status.state}")
        check(task.status.message.parts[0].root.text == "Which city?", "the question")
        async for task, _ in asker.send_message(message("Paris", task_id=task.id, context_id=task.context_id)):
            pass
        check(task.status.state == TaskState.completed, f"resumed state {task.status.state}")
        check("Paris" in answer(task), f"resumed answer {answer(task)!r}")
        print("ok input-required + resume")

        slow_card = await A2ACardResolver(http, base_url=f"{base}/a2a/{slow_agent}").get_agent_card()
        slow = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(slow_card)
        words = " ".join(str(i) for i in range(300))
        task = await last_task(slow, message(words), configuration=MessageSendConfiguration(blocking=False))
        check(task.status.state in (TaskState.submitted, TaskState.working), f"non-blocking {task.status.state}")
        for _ in range(500):
            got = await slow.get_task(TaskQueryParams(id=task.id))
            if answer(got):
                break
            await asyncio.sleep(0.02)
        check(got.status.state == TaskState.working, f"working before cancel {got.status.state}")
        canceled = await slow.cancel_task(TaskIdParams(id=task.id))
        check(canceled.status.state == TaskState.canceled, f"cancel answer {canceled.status.state}")
        got = await slow.get_task(TaskQueryParams(id=task.id))
        check(got.status.state == TaskState.canceled, f"after cancel {got.status.state}")
        try:
            await slow.cancel_task(TaskIdParams(id=task.id))
            check(False, "a canceled task canceled again")
        except A2AClientJSONRPCError as e:
            check(e.error.code == -32002, f"not cancelable code {e.error.code}")
        print("ok tasks/cancel")

        try:
            await client.get_task(TaskQueryParams(id=str(uuid.uuid4())))
            check(False, "an unknown task was found")
        except A2AClientJSONRPCError as e:
            check(e.error.code == -32001, f"task not found code {e.error.code}")
        print("ok task not found")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
