"""Two users of one agentd through the unmodified a2a-sdk 0.3 Python client
(JSON-RPC), each with their own bearer token from the OpenID provider.

Usage: python a2a_ownership.py BASE_URL TOKEN_A TOKEN_B TOKEN_ADMIN
Run by tests/it/ownership_a2a.rs. User A makes tasks (a finished one, a
running one, one waiting for input); user B gets, cancels, resubscribes to
and continues them, and each try is answered as for a task that does not
exist (-32001); the admin sees them; A's own are untouched. Prints one
"ok <step>" line per passed step and exits non-zero on the first failure.
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
    TaskIdParams,
    TaskQueryParams,
    TaskState,
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


async def not_found(what, call):
    try:
        got = await call()
    except A2AClientJSONRPCError as e:
        check(e.error.code == -32001, f"{what}: answered as an unknown task, not {e.error}")
        return
    raise AssertionError(f"{what} was answered: {got}")


class User:
    """One user's clients, built from the cards as this user reads them."""

    def __init__(self, base, token):
        self.base = base
        self.http = httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"})

    async def client(self, agent, streaming=False):
        card = await A2ACardResolver(self.http, base_url=f"{self.base}/a2a/{agent}").get_agent_card()
        return ClientFactory(ClientConfig(httpx_client=self.http, streaming=streaming)).create(card)

    async def skills(self):
        card = await A2ACardResolver(self.http, base_url=self.base).get_agent_card()
        return [s.id for s in card.skills]


async def main(base, token_a, token_b, token_admin):
    a, b, admin = User(base, token_a), User(base, token_b), User(base, token_admin)
    check("ledger" in await a.skills(), "A's server card lists ledger")
    skills = await b.skills()
    check("ledger" not in skills and "assistant" in skills, f"B's server card: {skills}")
    print("ok cards list only the caller's agents", flush=True)

    assistant = await a.client("assistant")
    first = await last_task(assistant, message("first from A"))
    check(first.status.state == TaskState.completed, f"A's send {first.status.state}")
    slow = await a.client("slow")
    words = " ".join(str(i) for i in range(400))
    running = await last_task(slow, message(words), configuration=MessageSendConfiguration(blocking=False))
    check(running.status.state in (TaskState.submitted, TaskState.working), f"A's slow {running.status.state}")
    asker = await a.client("asker")
    asked = await last_task(asker, message('/tool ask_user {"question": "Which city?"}'))
    check(asked.status.state == TaskState.input_required, f"A's question {asked.status.state}")
    print("ok A's tasks", flush=True)

    b_assistant = await b.client("assistant")
    b_slow = await b.client("slow", streaming=True)
    b_asker = await b.client("asker")
    await not_found("B gets A's task", lambda: b_assistant.get_task(TaskQueryParams(id=first.id)))
    await not_found("B cancels A's task", lambda: b_slow.cancel_task(TaskIdParams(id=running.id)))

    async def resubscribe(task_id):
        # This client reads a streaming call's JSON-RPC error as an HTTP
        # error (it wants text/event-stream): what it says for A's task must
        # be what it says for a task nobody has.
        try:
            async for event in b_slow.resubscribe(TaskIdParams(id=task_id)):
                return f"answered: {event}"
        except Exception as e:  # noqa: BLE001 - the client's own error types
            return f"{type(e).__name__}: {e}".replace(task_id, "<id>")
        return "answered: nothing"

    unknown = str(uuid.uuid4())
    theirs, none = await resubscribe(running.id), await resubscribe(unknown)
    check(not theirs.startswith("answered"), f"B resubscribes to A's task: {theirs}")
    check(theirs == none, f"B resubscribes: A's task {theirs!r} vs an unknown one {none!r}")
    await not_found(
        "B answers A's question",
        lambda: last_task(b_asker, message("Paris", task_id=asked.id, context_id=asked.context_id)),
    )
    await not_found(
        "B continues A's context",
        lambda: last_task(b_assistant, message("what did A say?", context_id=first.context_id)),
    )
    print("ok B finds none of A's tasks", flush=True)

    admin_assistant = await admin.client("assistant")
    got = await admin_assistant.get_task(TaskQueryParams(id=first.id))
    check(got.id == first.id and answer(got) == "You said: first from A", f"admin gets A's task: {got}")
    print("ok admin sees A's tasks", flush=True)

    still = await slow.get_task(TaskQueryParams(id=running.id))
    check(still.status.state in (TaskState.submitted, TaskState.working), f"B's cancel did nothing: {still.status.state}")
    canceled = await slow.cancel_task(TaskIdParams(id=running.id))
    check(canceled.status.state == TaskState.canceled, f"A cancels: {canceled.status.state}")
    done = await last_task(asker, message("Lyon", task_id=asked.id, context_id=asked.context_id))
    check(done.status.state == TaskState.completed, f"A answers: {done.status.state}")
    nxt = await last_task(assistant, message("second from A", context_id=first.context_id))
    check('message 2 of this conversation; before that you said: "first from A"' in answer(nxt), f"A's history: {answer(nxt)!r}")
    check("what did A say" not in answer(nxt), f"no words of B's in A's history: {answer(nxt)!r}")
    print("ok A's own tasks are untouched", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
