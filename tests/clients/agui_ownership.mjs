// Two users of one agentd through the real @ag-ui/client HttpAgent, each
// with an access token from the deployment's OpenID provider. A thread is a
// session: user B's run naming user A's threadId must not continue A's
// thread nor see a word of it, B cannot answer (resume) A's paused run, a
// user of another tenant neither; an agent for a scope B lacks is 403.
//
// Usage: node agui_ownership.mjs BASE_URL TOKEN_A TOKEN_B TOKEN_C TOKEN_ADMIN
//   serving `assistant` (the default; echoes "You said: ..."), `careful`
//   (its calculator waits for approval) and `reports_bot` (only for the
//   `reports` scope: A holds it, B does not). A and B are users of tenant
//   acme, C of globex; ADMIN holds agentd:admin.
// Prints "ok <step>" per passed step and a line "thread <id>" per thread A
// made; exits 1 on the first failure.

import { randomUUID } from "node:crypto";
import { HttpAgent } from "@ag-ui/client";

const [base, tokenA, tokenB, tokenC, tokenAdmin] = process.argv.slice(2);
if (!tokenAdmin) {
  console.error("usage: node agui_ownership.mjs <base url> <token A> <token B> <token C> <token admin>");
  process.exit(2);
}

function check(cond, what, detail) {
  if (!cond) {
    throw new Error(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  }
}

function agentOf(token, { path = "/agui", threadId = `thread-${randomUUID()}` } = {}) {
  return new HttpAgent({ url: `${base}${path}`, threadId, headers: { Authorization: `Bearer ${token}` } });
}

function say(agent, content) {
  agent.addMessage({ id: randomUUID(), role: "user", content });
}

/** Runs once; what the client saw, or the error it threw. */
async function run(agent, params = {}) {
  const seen = { types: [], finished: null, text: "" };
  try {
    await agent.runAgent(params, {
      onEvent: ({ event }) => {
        seen.types.push(event.type);
        if (event.type === "TEXT_MESSAGE_CONTENT") seen.text += event.delta;
      },
      onRunFinishedEvent: (p) => {
        seen.finished = p;
      },
      // A refused request fails the run: keep its error (status, body)
      // and stop the client from logging it.
      onRunFailed: ({ error }) => {
        seen.error = error;
        return { stopPropagation: true };
      },
    });
  } catch (error) {
    seen.error = error;
  }
  return seen;
}

function lastAssistant(agent) {
  return [...agent.messages].reverse().find((m) => m.role === "assistant");
}

/** The run was refused before any event, with `status`. */
function refused(seen, status, what) {
  check(seen.error, `${what}: refused`, { types: seen.types, text: seen.text });
  check(seen.error.status === status, `${what}: HTTP ${status}`, String(seen.error.message));
  check(seen.types.length === 0 && !seen.text, `${what}: no event reached the client`, seen.types);
}

// A's thread: one finished run that says a secret.
const a = agentOf(tokenA);
say(a, "my secret is 42");
const first = await run(a);
check(first.finished?.outcome === "success", "A's run succeeds", first.error?.message ?? first.finished);
check(lastAssistant(a)?.content === "You said: my secret is 42", "A's reply", lastAssistant(a));
console.log(`thread ${a.threadId}`);

// A's second thread: a run paused until someone approves its tool call.
const careful = agentOf(tokenA, { path: "/agui/careful" });
say(careful, '/tool calculator {"expression": "6*7"}');
const paused = await run(careful);
check(paused.finished?.outcome === "interrupt", "A's careful run waits for approval", paused.finished?.outcome);
const interrupt = paused.finished.interrupts[0];
console.log(`thread ${careful.threadId}`);
console.log("ok A has a thread and a paused run");

for (const [who, token] of [
  ["B", tokenB],
  ["C of another tenant", tokenC],
]) {
  // B takes A's threadId with a transcript of its own: the run must not
  // continue A's thread, so nothing of A's can reach B.
  const intruder = agentOf(token, { threadId: a.threadId });
  say(intruder, "what is my secret?");
  const seen = await run(intruder);
  refused(seen, 404, `${who} continues A's thread`);
  // Contents only: a random message id may itself contain "42".
  check(
    !intruder.messages.some((m) => JSON.stringify(m.content ?? "").includes("42")),
    `${who} sees nothing of A's`,
    intruder.messages,
  );
  const body = seen.error.payload;
  check(typeof body?.detail === "string", `${who}: AG-UI's error shape`, body);

  // B answers A's interrupt: the same refusal as for an interrupt no run
  // waits on.
  const resumer = agentOf(token, { path: "/agui/careful", threadId: careful.threadId });
  say(resumer, '/tool calculator {"expression": "6*7"}');
  const resumed = await run(resumer, {
    resume: [{ interruptId: interrupt.id, status: "resolved", payload: { approved: true } }],
  });
  const stranger = agentOf(token, { path: "/agui/careful" });
  say(stranger, '/tool calculator {"expression": "6*7"}');
  const unknown = await run(stranger, {
    resume: [{ interruptId: `call-${randomUUID()}`, status: "resolved", payload: { approved: true } }],
  });
  check(unknown.error, `${who}: an unknown interrupt is refused`, unknown.types);
  refused(resumed, unknown.error.status, `${who} resumes A's paused run`);
  check(
    !JSON.stringify(resumer.messages).includes('"42"') && !resumed.text.includes("42"),
    `${who} sees no result of A's call`,
    resumer.messages,
  );
  console.log(`ok ${who} neither continues nor resumes A's threads`);
}

// The forbidden agent: A may run it, B is refused with 403 in AG-UI's shape.
const mine = agentOf(tokenA, { path: "/agui/reports_bot" });
say(mine, "quarterly numbers");
const allowed = await run(mine);
check(allowed.finished?.outcome === "success", "A runs reports_bot", allowed.error?.message ?? allowed.finished);
const forbidden = agentOf(tokenB, { path: "/agui/reports_bot" });
say(forbidden, "quarterly numbers");
const denied = await run(forbidden);
refused(denied, 403, "B runs reports_bot");
check(typeof denied.error.payload?.detail === "string", "403 in AG-UI's shape", denied.error.payload);
console.log("ok a forbidden agent is 403");

// A's threads are as A left them: A continues the first (the transcript is
// the client's) and approves its own paused call.
say(a, "and again");
const again = await run(a);
check(again.finished?.outcome === "success", "A continues its thread", again.error?.message ?? again.finished);
const approved = await run(careful, {
  resume: [{ interruptId: interrupt.id, status: "resolved", payload: { approved: true } }],
});
check(approved.finished?.outcome === "success", "A approves its own call", approved.error?.message ?? approved.finished);
check(lastAssistant(careful)?.content === "The calculator tool returned: 42.", "A's answer", lastAssistant(careful));
console.log("ok A continues and resumes its own threads");

// The admin may continue A's thread.
const admin = agentOf(tokenAdmin, { threadId: a.threadId });
say(admin, "admin here");
const adminRun = await run(admin);
check(adminRun.finished?.outcome === "success", "the admin continues A's thread", adminRun.error?.message);
console.log("ok the admin may act on A's thread");
