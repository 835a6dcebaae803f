"""The unmodified a2a-sdk 1.x Python client against agentd, over A2A 1.0
JSON-RPC, 1.0 HTTP+JSON and its 0.3 compatibility transport (JSON-RPC):
send (streamed and not), context continuity, get, list, cancel, subscribe
and task-not-found.

Run by tests/it/a2a.rs with the interpreter of tests/clients/.venv-a2a1
(requirements-a2a1.txt): python a2a1_client.py <base> <agent> <slow> <key>
Each step prints "ok <mode> <step>"; any failure exits non-zero.
"""

import asyncio
import sys
import uuid

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskState,
)

BASE, AGENT, SLOW, KEY = sys.argv[1:5]


def check(cond, what, detail=None):
    if not cond:
        raise AssertionError(f'{what}: {detail}')


def request(text, context_id=None):
    msg = Message(
        message_id=str(uuid.uuid4()),
        role=Role.ROLE_USER,
        parts=[Part(text=text)],
    )
    if context_id:
        msg.context_id = context_id
    return SendMessageRequest(message=msg)


def answer(task):
    return ''.join(p.text for a in task.artifacts for p in a.parts)


async def client_for(http, agent, mode, **config):
    """The default factory over the card `agent` serves; for the 0.3 mode,
    the card as an agent serving 0.3 alone would publish it."""
    binding = 'HTTP+JSON' if mode == 'rest' else 'JSONRPC'
    factory = ClientFactory(
        ClientConfig(
            httpx_client=http, supported_protocol_bindings=[binding], **config
        )
    )
    card = await A2ACardResolver(http, f'{BASE}/a2a/{agent}').get_agent_card()
    versions = {
        (i.protocol_binding, i.protocol_version)
        for i in card.supported_interfaces
    }
    check(('JSONRPC', '1.0') in versions, 'card lists 1.0', versions)
    check(('HTTP+JSON', '1.0') in versions, 'card lists HTTP+JSON', versions)
    check(('JSONRPC', '0.3') in versions, 'card lists 0.3', versions)
    if mode == 'compat':
        keep = [i for i in card.supported_interfaces if i.protocol_version == '0.3']
        del card.supported_interfaces[:]
        card.supported_interfaces.extend(keep)
    return factory.create(card)


async def last_task(client, req):
    events = [ev async for ev in client.send_message(req)]
    check(events and events[0].HasField('task'), 'the task first', events[:1])
    return events


async def run(mode, http):
    client = await client_for(http, AGENT, mode)
    version = '0.3' if mode == 'compat' else '1.0'
    print(f'ok {mode} card ({version})')

    events = await last_task(client, request('first'))
    first = events[0].task
    last = events[-1]
    check(
        last.HasField('status_update')
        and last.status_update.status.state == TaskState.TASK_STATE_COMPLETED,
        'stream ends completed',
        last,
    )
    print(f'ok {mode} send (streamed)')

    blocking = await client_for(http, AGENT, mode, streaming=False)
    [only] = [ev async for ev in blocking.send_message(request('second', first.context_id))]
    second = only.task
    check(second.status.state == TaskState.TASK_STATE_COMPLETED, 'send', second)
    check(second.context_id == first.context_id, 'same context', second)
    check('before that you said: "first"' in answer(second), 'history', second)
    print(f'ok {mode} send + context continuity')

    got = await client.get_task(GetTaskRequest(id=second.id))
    check(got.id == second.id and answer(got) == answer(second), 'get', got)
    print(f'ok {mode} get')

    if mode != 'compat':
        page = await client.list_tasks(
            ListTasksRequest(context_id=first.context_id, page_size=1)
        )
        check(len(page.tasks) == 1 and page.total_size == 2, 'list', page)
        check(page.tasks[0].id == second.id, 'newest first', page)
        rest = await client.list_tasks(
            ListTasksRequest(
                context_id=first.context_id,
                page_size=1,
                page_token=page.next_page_token,
            )
        )
        check([t.id for t in rest.tasks] == [first.id], 'page 2', rest)
        check(rest.next_page_token == '', 'last page', rest)
        print(f'ok {mode} list')

    polling = await client_for(http, SLOW, mode, polling=True, streaming=False)
    words = ' '.join(str(i) for i in range(300))
    [ev] = [ev async for ev in polling.send_message(request(words))]
    running = ev.task
    check(
        running.status.state
        in (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING),
        'answered at once',
        running,
    )
    canceled = await polling.cancel_task(CancelTaskRequest(id=running.id))
    check(canceled.status.state == TaskState.TASK_STATE_CANCELED, 'cancel', canceled)
    try:
        await polling.cancel_task(CancelTaskRequest(id=running.id))
        check(False, 'cancel twice is refused')
    except TaskNotCancelableError:
        pass
    print(f'ok {mode} cancel')

    [ev] = [ev async for ev in polling.send_message(request('one two three four'))]
    streaming = await client_for(http, SLOW, mode)
    seen = [e async for e in streaming.subscribe(SubscribeToTaskRequest(id=ev.task.id))]
    check(seen[0].HasField('task') and seen[0].task.id == ev.task.id, 'subscribe', seen[:1])
    check(
        seen[-1].HasField('status_update')
        and seen[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED,
        'subscribe ends completed',
        seen[-1],
    )
    print(f'ok {mode} subscribe')

    try:
        await client.get_task(GetTaskRequest(id='no-such-task'))
        check(False, 'an unknown task is refused')
    except TaskNotFoundError:
        pass
    print(f'ok {mode} task not found')


async def main():
    headers = {'Authorization': f'Bearer {KEY}'}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        for mode in ('jsonrpc', 'rest', 'compat'):
            await run(mode, http)


asyncio.run(main())
