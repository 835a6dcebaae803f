// Two users of one agentd through the unmodified @a2a-js/sdk (A2A 1.0),
// each with their own bearer token from the OpenID provider, over one
// transport: `node a2a_ownership.mjs <base> <JSONRPC|HTTP+JSON> <token A>
// <token B> <token C (another tenant)> <token admin>`.
// tests/it/ownership_a2a.rs runs it for both transports. User A makes
// tasks; user B (and C, of another tenant) finds none of them: get, list,
// cancel, subscribe and continuing them answer as for tasks that do not
// exist; the admin sees them; A's own are untouched. Each step prints
// "ok <step>"; any failure exits non-zero.
import { randomUUID } from "node:crypto";
import { Role, TaskState } from "@a2a-js/sdk";
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
  createAuthenticatingFetchWithRetry,
} from "@a2a-js/sdk/client";

const [base, transport, tokenA, tokenB, tokenC, tokenAdmin] = process.argv.slice(2);

function check(cond, what, detail) {
  if (!cond) {
    throw new Error(`${what}: ${JSON.stringify(detail, null, 1)}`);
  }
}

/// The SDK's own way to send a bearer token: an authenticating fetch
/// given to the card resolver and to both transports.
function factoryFor(token, polling = false) {
  const fetchImpl = createAuthenticatingFetchWithRetry(fetch, {
    headers: async () => ({ Authorization: `Bearer ${token}` }),
    shouldRetryWithHeaders: async () => undefined,
  });
  return new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      preferredTransports: [transport],
      clientConfig: { polling },
    }),
  );
}

const card = (agent) => `${base}/a2a/${agent}/.well-known/agent-card.json`;

async function clientOf(token, agent, polling = false) {
  const client = await factoryFor(token, polling).createFromUrl(card(agent), "");
  check(client.transport.protocolName === transport, "transport", client.transport.protocolName);
  return client;
}

/// The skills of the server's card as `token` reads it.
async function skills(token) {
  const resp = await fetch(`${base}/.well-known/agent-card.json`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  check(resp.ok, "server card", resp.status);
  return (await resp.json()).skills.map((s) => s.id);
}

function message(text, extra = {}) {
  return {
    messageId: randomUUID(),
    role: Role.ROLE_USER,
    parts: [{ content: { $case: "text", value: text } }],
    ...extra,
  };
}

const listing = (fields) => ({
  tenant: "",
  contextId: "",
  status: TaskState.TASK_STATE_UNSPECIFIED,
  pageToken: "",
  statusTimestampAfter: undefined,
  ...fields,
});

/// What `call` was refused with: the SDK's error reason (it must throw).
async function refusal(what, call) {
  try {
    const got = await call();
    throw new Error(`${what} was answered: ${JSON.stringify(got)}`);
  } catch (e) {
    if (e.message?.includes("was answered")) throw e;
    return e.reason ?? String(e);
  }
}

async function notFound(what, call) {
  const reason = await refusal(what, call);
  check(reason === "TASK_NOT_FOUND", `${what} answers as for an unknown task`, reason);
}

const live = (state) => [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING].includes(state);

async function main() {
  const seenByA = await skills(tokenA);
  const seenByB = await skills(tokenB);
  check(seenByA.includes("ledger") && seenByA.includes("assistant"), "A's card lists ledger", seenByA);
  check(!seenByB.includes("ledger") && seenByB.includes("assistant"), "B's card hides ledger", seenByB);
  console.log("ok cards list only the caller's agents");

  // User A: a finished task, a running one, one waiting for input.
  const a = await clientOf(tokenA, "assistant");
  const first = await a.sendMessage({ message: message("first from A") });
  check(first.status.state === TaskState.TASK_STATE_COMPLETED, "A's send", first);
  const context = first.contextId;
  const aSlow = await clientOf(tokenA, "slow", true);
  const words = Array.from({ length: 400 }, (_, i) => String(i)).join(" ");
  const running = await aSlow.sendMessage({ message: message(words) });
  check(live(running.status.state), "A's slow task runs", running);
  const aAsker = await clientOf(tokenA, "asker");
  const asked = await aAsker.sendMessage({
    message: message('/tool ask_user {"question": "Which city?"}'),
  });
  check(asked.status.state === TaskState.TASK_STATE_INPUT_REQUIRED, "A's task asks", asked);
  const mine = [first.id, running.id, asked.id];
  console.log("ok A's tasks");

  // User B, same tenant: none of it exists.
  for (const [who, token] of [["B", tokenB], ["C", tokenC]]) {
    const b = await clientOf(token, "assistant");
    await notFound(`${who} gets A's task`, () => b.getTask({ id: first.id }));
    const all = await b.listTasks(listing({ pageSize: 100 }));
    check(!all.tasks.some((t) => mine.includes(t.id)), `${who}'s list has none of A's`, all);
    const inContext = await b.listTasks(listing({ contextId: context }));
    check(inContext.tasks.length === 0 && inContext.totalSize === 0, `${who} lists A's context`, inContext);
    const bSlow = await clientOf(token, "slow", true);
    await notFound(`${who} cancels A's task`, () => bSlow.cancelTask({ id: running.id }));
    await notFound(`${who} subscribes to A's task`, async () => {
      for await (const ev of bSlow.resubscribeTask({ id: running.id })) {
        return ev;
      }
    });
    const bAsker = await clientOf(token, "asker");
    await notFound(`${who} answers A's question`, () =>
      bAsker.sendMessage({ message: message("Paris", { taskId: asked.id }) }),
    );
    await notFound(`${who} continues A's context`, () =>
      b.sendMessage({ message: message("what did A say?", { contextId: context }) }),
    );
    console.log(`ok ${who} finds none of A's tasks`);
  }

  // The admin sees A's tasks.
  const admin = await clientOf(tokenAdmin, "assistant");
  const got = await admin.getTask({ id: first.id });
  check(got.id === first.id && got.contextId === context, "admin gets A's task", got);
  const adminList = await admin.listTasks(listing({ contextId: context }));
  check(adminList.tasks.some((t) => t.id === first.id), "admin lists A's context", adminList);
  console.log("ok admin sees A's tasks");

  // A's own: untouched by B's tries, and still A's to act on.
  const still = await aSlow.getTask({ id: running.id });
  check(live(still.status.state), "B's cancel did nothing", still);
  const canceled = await aSlow.cancelTask({ id: running.id });
  check(canceled.status.state === TaskState.TASK_STATE_CANCELED, "A cancels", canceled);
  const answered = await aAsker.sendMessage({ message: message("Lyon", { taskId: asked.id }) });
  check(answered.status.state === TaskState.TASK_STATE_COMPLETED, "A answers", answered);
  const ownContext = await a.listTasks(listing({ contextId: context }));
  check(
    ownContext.totalSize === 1 && ownContext.tasks[0].id === first.id,
    "nothing was added to A's context",
    ownContext,
  );
  const next = await a.sendMessage({ message: message("second from A", { contextId: context }) });
  check(next.contextId === context, "A continues", next);
  const said = next.artifacts.flatMap((x) => x.parts.map((p) => p.content?.value)).join("");
  check(said.includes('message 2 of this conversation; before that you said: "first from A"'), "A's history only", said);
  check(!said.includes("what did A say"), "no words of B's in A's history", said);
  console.log("ok A's own tasks are untouched");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
