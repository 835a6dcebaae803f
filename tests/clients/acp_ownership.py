"""Two users of one agentd through the unmodified acp-sdk Python Client
(acp-sdk 1.0.3), each with an access token from the deployment's OpenID
provider: what user A makes, user B cannot read, replay, continue, resume,
cancel or list; a user of another tenant neither; an admin sees it all.

Usage: python acp_ownership.py BASE_URL TOKEN_A TOKEN_B TOKEN_C TOKEN_ADMIN
       python acp_ownership.py limits BASE_URL TOKEN_A TOKEN_A2 TOKEN_B
  BASE_URL     e.g. http://127.0.0.1:7777/acp, serving the agents
               `assistant` (echoes "You said: ..."), `slow` (streams slowly),
               `asker` (asks with ask_user) and `reports_bot` (only for the
               `reports` scope, which A holds and B does not)
  TOKEN_A/B    users user-a and user-b of tenant acme
  TOKEN_C      user-c of tenant globex
  TOKEN_ADMIN  a token with the agentd:admin scope

`limits`: with a limit of one live run per caller, A's second token is
the same user (its run refused while A's first one lives) and B another.

Prints one "ok <step>" line per passed step and exits non-zero on the first
failure (an exception or a failed check), so the calling test can fail.
"""

import asyncio
import sys

from acp_sdk.client import Client
from acp_sdk.models import Message, MessageAwaitResume, MessagePart, RunStatus, Session
from acp_sdk.models.errors import ACPError


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def text_of(run):
    return "".join(str(m) for m in run.output)


def client_for(base_url, token, session=None):
    return Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        session=session,
    )


async def not_found(what, call):
    """`call` must fail as an unknown id does: ACP's not_found error."""
    try:
        result = await call()
    except ACPError as e:
        check(e.error.code == "not_found", f"{what}: {e.error.code} {e.error.message}")
        return
    raise AssertionError(f"{what}: answered {result!r}")


async def collect(aiter):
    return [e async for e in aiter]


async def wait_status(client, run_id, done):
    for _ in range(500):
        run = await client.run_status(run_id=run_id)
        if done(run):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} stayed {run.status}")


async def main(base_url, token_a, token_b, token_c, token_admin):
    a = client_for(base_url, token_a)
    b = client_for(base_url, token_b)
    c = client_for(base_url, token_c)
    admin = client_for(base_url, token_admin)
    async with a, b, c, admin:
        # A's work: a session of one finished run, a slow run still going,
        # and a run paused on a question.
        async with a.session() as a_session:
            first = await a_session.run_sync("my secret is 42", agent="assistant")
            check(first.status == RunStatus.COMPLETED, f"A's run {first.status}")
            session_id = first.session_id
            a_history = (await a_session.refresh_session()).history
        check(len(a_history) == 2, f"A's history {a_history}")
        slow = await a.run_async("count " + " ".join(str(i) for i in range(400)), agent="slow")
        await wait_status(a, slow.run_id, lambda r: r.status == RunStatus.IN_PROGRESS and r.output)
        asked = await a.run_sync('/tool ask_user {"question": "Which city?"}', agent="asker")
        check(asked.status == RunStatus.AWAITING, f"A's asker run {asked.status}")
        print("ok A made a session, a live run and a paused run")

        for who, other in (("B", b), ("C of another tenant", c)):
            await not_found(f"{who} reads A's run", lambda: other.run_status(run_id=first.run_id))
            await not_found(f"{who} reads A's live run", lambda: other.run_status(run_id=slow.run_id))
            await not_found(
                f"{who} replays A's events", lambda: collect(other.run_events(run_id=first.run_id))
            )
            await not_found(
                f"{who} follows A's live run", lambda: collect(other.run_events(run_id=slow.run_id))
            )
            await not_found(f"{who} cancels A's run", lambda: other.run_cancel(run_id=slow.run_id))
            resume = MessageAwaitResume(message=Message(parts=[MessagePart(content="Rome")]))
            await not_found(
                f"{who} resumes A's paused run",
                lambda: other.run_resume_sync(resume, run_id=asked.run_id),
            )
            foreign = other.session(Session(id=session_id))
            await not_found(f"{who} reads A's session", foreign.refresh_session)
            # The client sends the session it holds when the server does
            # not know it: the run must not join A's session either.
            await not_found(
                f"{who} continues A's session",
                lambda: foreign.run_sync("what is my secret?", agent="assistant"),
            )
            for url in a_history:
                resp = await other.client.get(str(url))
                check(resp.status_code == 404, f"{who} reads A's history message: {resp.status_code}")
                check(resp.json().get("code") == "not_found", f"{who}: {resp.text}")
            print(f"ok {who} finds none of A's runs or session")

        # Unknown ids answer the same: no existence oracle.
        unknown = "00000000-0000-4000-8000-000000000000"
        for path in (f"runs/{first.run_id}", f"sessions/{session_id}"):
            mine = await b.client.get(f"{base_url}/{path}")
            nobody = await b.client.get(f"{base_url}/{path.split('/')[0]}/{unknown}")
            check(mine.status_code == nobody.status_code == 404, f"{path}: {mine.status_code}")
            check(
                mine.json()["message"].replace(path.split("/")[1], unknown) == nobody.json()["message"],
                f"{path}: {mine.text} vs {nobody.text}",
            )
        print("ok another user's id answers as an unknown id")

        # A's work is untouched by all that.
        still = await a.run_status(run_id=slow.run_id)
        check(still.status == RunStatus.IN_PROGRESS, f"A's slow run after B's cancel: {still.status}")
        still = await a.run_status(run_id=asked.run_id)
        check(still.status == RunStatus.AWAITING, f"A's paused run after B's resume: {still.status}")
        async with a.session(Session(id=session_id)) as again:
            history = (await again.refresh_session()).history
            check(history == a_history, f"A's session after B: {history}")
            second = await again.run_sync("what is my secret?", agent="assistant")
            check("my secret is 42" in text_of(second), f"A continues: {text_of(second)!r}")
        print("ok A's runs and session are as A left them")

        # The admin sees and may act on A's runs.
        seen = await admin.run_status(run_id=first.run_id)
        check(text_of(seen) == "You said: my secret is 42", f"admin reads A's run: {text_of(seen)!r}")
        events = [e.type for e in await collect(admin.run_events(run_id=first.run_id))]
        check(events[-1] == "run.completed", f"admin replays A's events {events}")
        sess = await admin.session(Session(id=session_id)).refresh_session()
        check(len(sess.history) == 4, f"admin reads A's session {sess.history}")
        cancelled = await admin.run_cancel(run_id=slow.run_id)
        check(cancelled.status == RunStatus.CANCELLING, f"admin cancels A's run {cancelled.status}")
        print("ok the admin sees and cancels A's runs")

        # A resumes its own paused run.
        resume = MessageAwaitResume(message=Message(parts=[MessagePart(content="Paris")]))
        resumed = await a.run_resume_sync(resume, run_id=asked.run_id)
        check(resumed.status == RunStatus.COMPLETED, f"A resumes: {resumed.status}")
        check("Paris" in text_of(resumed), f"A's resumed output {text_of(resumed)!r}")
        print("ok A resumes its own run")

        # An agent for the `reports` scope: A runs it; B does not see it and
        # is refused with 403 in ACP's shape.
        a_names = [m.name async for m in a.agents()]
        b_names = [m.name async for m in b.agents()]
        check("reports_bot" in a_names, f"A's agents {a_names}")
        check("reports_bot" not in b_names and "assistant" in b_names, f"B's agents {b_names}")
        run = await a.run_sync("quarterly numbers", agent="reports_bot")
        check(run.status == RunStatus.COMPLETED, f"A runs reports_bot: {run.status}")
        resp = await b.client.post(
            f"{base_url}/runs",
            json={"agent_name": "reports_bot", "input": [{"parts": [{"content": "hi"}]}], "mode": "sync"},
        )
        check(resp.status_code == 403, f"B runs reports_bot: {resp.status_code} {resp.text}")
        body = resp.json()
        check(set(body) >= {"code", "message"}, f"ACP error shape: {body}")
        try:
            await b.run_sync("hi", agent="reports_bot")
            raise AssertionError("B ran reports_bot")
        except ACPError:
            pass
        print("ok a forbidden agent is 403 and not listed")


async def limits(base_url, token_a, token_a2, token_b):
    a = client_for(base_url, token_a)
    a2 = client_for(base_url, token_a2)
    b = client_for(base_url, token_b)
    async with a, a2, b:
        slow = await a.run_async("count " + " ".join(str(i) for i in range(400)), agent="slow")
        await wait_status(a, slow.run_id, lambda r: r.status == RunStatus.IN_PROGRESS)
        for who, client in (("A", a), ("A's other token", a2)):
            try:
                await client.run_sync("one more", agent="assistant")
                raise AssertionError(f"{who} ran a second live run")
            except ACPError as e:
                check("Too many runs in progress" in e.error.message, f"{who}: {e.error.message}")
        print("ok a user's second live run is refused, whichever token")
        run = await b.run_sync("my own", agent="assistant")
        check(run.status == RunStatus.COMPLETED, f"B runs meanwhile: {run.status}")
        print("ok another user runs meanwhile")
        await a.run_cancel(run_id=slow.run_id)
        await wait_status(a, slow.run_id, lambda r: r.status.is_terminal)
        run = await a2.run_sync("now", agent="assistant")
        check(run.status == RunStatus.COMPLETED, f"A runs again: {run.status}")
        print("ok the user runs again once the first run ended")


if __name__ == "__main__":
    if sys.argv[1] == "limits":
        asyncio.run(limits(*sys.argv[2:6]))
    else:
        asyncio.run(main(*sys.argv[1:6]))
