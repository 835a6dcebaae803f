// The unmodified @a2a-js/sdk (A2A 1.0) client against agentd, over one
// transport: `node a2a_client.mjs <base url> <JSONRPC|HTTP+JSON>`.
// tests/it/a2a.rs runs it for both; each step prints "ok <step>" and any
// failure exits non-zero.
import { randomUUID } from "node:crypto";
import { Role, TaskState } from "@a2a-js/sdk";
import { ClientFactory, ClientFactoryOptions } from "@a2a-js/sdk/client";

const [base, transport] = process.argv.slice(2);

function check(cond, what, detail) {
  if (!cond) {
    throw new Error(`${what}: ${JSON.stringify(detail, null, 1)}`);
  }
}

/// The default factory; asked to prefer `transport` when it is not the
/// card's first (JSON-RPC) interface, and to answer at once with `polling`.
function factory(polling = false) {
  if (transport === "JSONRPC" && !polling) {
    return new ClientFactory();
  }
  return new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      preferredTransports: [transport],
      clientConfig: { polling },
    }),
  );
}

const card = (agent) => `${base}/a2a/${agent}/.well-known/agent-card.json`;

function message(text, extra = {}) {
  return {
    messageId: randomUUID(),
    role: Role.ROLE_USER,
    parts: [{ content: { $case: "text", value: text } }],
    ...extra,
  };
}

/// ListTasksRequest as its TypeScript type has it (every field but the
/// optional ones set).
const listing = (fields) => ({
  tenant: "",
  contextId: "",
  status: TaskState.TASK_STATE_UNSPECIFIED,
  pageToken: "",
  statusTimestampAfter: undefined,
  ...fields,
});

const answer = (task) =>
  task.artifacts.flatMap((a) => a.parts.map((p) => p.content?.value)).join("");

async function main() {
  const client = await factory().createFromUrl(card("assistant"), "");
  check(client.transport.protocolName === transport, "transport", client.transport.protocolName);
  check(client.protocolVersion === "1.0", "version", client.protocolVersion);
  console.log(`ok card (${transport} ${client.protocolVersion})`);

  const first = await client.sendMessage({ message: message("first") });
  check(first.status.state === TaskState.TASK_STATE_COMPLETED, "send state", first);
  check(answer(first) === "You said: first", "send answer", first);
  console.log("ok send");

  const second = await client.sendMessage({
    message: message("second", { contextId: first.contextId }),
  });
  check(second.contextId === first.contextId, "same context", second);
  check(second.id !== first.id, "a new task", second);
  check(answer(second).includes('before that you said: "first"'), "history", second);
  console.log("ok context continuity");

  const got = await client.getTask({ id: first.id });
  check(got.id === first.id && got.status.state === TaskState.TASK_STATE_COMPLETED, "get", got);
  check(got.history.length === 1, "history", got.history);
  const bare = await client.getTask({ id: first.id, historyLength: 0 });
  check(bare.history.length === 0, "historyLength 0", bare.history);
  console.log("ok get");

  const events = [];
  for await (const ev of client.sendMessageStream({
    message: message("streamed", { contextId: first.contextId }),
  })) {
    events.push(ev.payload);
  }
  check(events[0].$case === "task", "stream starts with the task", events[0]);
  const last = events[events.length - 1];
  check(
    last.$case === "statusUpdate" && last.value.status.state === TaskState.TASK_STATE_COMPLETED,
    "stream ends completed",
    last,
  );
  const text = events
    .filter((e) => e.$case === "artifactUpdate" && e.value.lastChunk)
    .map((e) => e.value.artifact.parts[0].content.value);
  check(text.length === 1 && text[0].startsWith("You said: streamed"), "stream answer", events);
  console.log("ok stream");

  const page1 = await client.listTasks(listing({ contextId: first.contextId, pageSize: 2 }));
  check(page1.tasks.length === 2 && page1.totalSize === 3, "list page 1", page1);
  check(page1.nextPageToken !== "", "a next page", page1);
  check(page1.tasks[0].artifacts.length === 0, "no artifacts unless asked", page1.tasks[0]);
  const page2 = await client.listTasks(
    listing({
      contextId: first.contextId,
      pageSize: 2,
      pageToken: page1.nextPageToken,
      includeArtifacts: true,
    }),
  );
  check(page2.tasks.length === 1 && page2.nextPageToken === "", "list page 2", page2);
  check(page2.tasks[0].id === first.id, "oldest last", page2);
  check(answer(page2.tasks[0]) === "You said: first", "artifacts when asked", page2.tasks[0]);
  const done = await client.listTasks(listing({ status: TaskState.TASK_STATE_WORKING }));
  check(done.tasks.length === 0, "status filter", done);
  console.log("ok list");

  // A slow agent's task, answered at once (returnImmediately), is canceled.
  const slow = await factory(true).createFromUrl(card("slow"), "");
  const words = Array.from({ length: 300 }, (_, i) => String(i)).join(" ");
  const running = await slow.sendMessage({ message: message(words) });
  check(
    [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING].includes(running.status.state),
    "returnImmediately",
    running,
  );
  const canceled = await slow.cancelTask({ id: running.id });
  check(canceled.status.state === TaskState.TASK_STATE_CANCELED, "cancel", canceled);
  let refused;
  try {
    await slow.cancelTask({ id: running.id });
  } catch (e) {
    refused = e;
  }
  check(refused?.reason === "TASK_NOT_CANCELABLE", "cancel twice", String(refused));
  console.log("ok cancel");

  // Subscribing to a running task: the task, then its updates to the end.
  const short = await slow.sendMessage({ message: message("one two three four five six") });
  const seen = [];
  for await (const ev of slow.resubscribeTask({ id: short.id })) {
    seen.push(ev.payload);
  }
  check(seen[0].$case === "task" && seen[0].value.id === short.id, "subscribe first", seen[0]);
  const end = seen[seen.length - 1];
  check(
    end.$case === "statusUpdate" && end.value.status.state === TaskState.TASK_STATE_COMPLETED,
    "subscribe ends completed",
    end,
  );
  console.log("ok subscribe");

  let missing;
  try {
    await client.getTask({ id: "no-such-task" });
  } catch (e) {
    missing = e;
  }
  check(missing?.reason === "TASK_NOT_FOUND", "task not found", String(missing));
  console.log("ok task not found");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
