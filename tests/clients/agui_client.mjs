// Drives agentd's /agui with a real @ag-ui/client HttpAgent, unmodified:
// 1.0.0 (`@ag-ui/client`) or the 0.0.x line CopilotKit bundles (0.0.59,
// installed as `ag-ui-client-0`). Both validate every event against their
// zod schemas and verify event order; any error they raise, and any "[ag-ui]"
// warning they print (stripped fields, legacy events), fails the script.
//
// Usage: node tests/clients/agui_client.mjs http://127.0.0.1:PORT [--package=NAME] [scenario ...]
// NAME is the npm package to import HttpAgent from (default @ag-ui/client).
// Exits 0 when every scenario passed; otherwise prints what failed and exits 1.

import { randomUUID } from "node:crypto";

const base = process.argv[2];
if (!base) {
  console.error("usage: node agui_client.mjs <base url> [--package=NAME] [scenario ...]");
  process.exit(2);
}
const options = process.argv.slice(3).filter((a) => a.startsWith("--"));
const only = process.argv.slice(3).filter((a) => !a.startsWith("--"));
const pkg = options.find((o) => o.startsWith("--package="))?.slice("--package=".length) ?? "@ag-ui/client";
const { HttpAgent } = await import(pkg);
const clientVersion = JSON.parse(
  (await import("node:fs")).readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url)),
).version;
console.log(`client ${pkg} ${clientVersion}`);

const warnings = [];
for (const level of ["warn", "error"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    const text = args.map(String).join(" ");
    if (text.includes("[ag-ui]")) warnings.push(text);
    original(...args);
  };
}

function check(cond, what, detail) {
  if (!cond) {
    throw new Error(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  }
}

/**
 * The frontend tool calls a run left for the client: what the client names
 * (1.0's `pendingToolCallIds`), else what a 0.0.x frontend such as
 * CopilotKit derives: the calls in the transcript without a tool message.
 */
function pendingOf(p) {
  if (p.pendingToolCallIds !== undefined) return p.pendingToolCallIds;
  const answered = new Set(p.messages.filter((m) => m.role === "tool").map((m) => m.toolCallId));
  return p.messages
    .flatMap((m) => (m.role === "assistant" ? (m.toolCalls ?? []) : []))
    .map((c) => c.id)
    .filter((id) => !answered.has(id));
}

/** Runs the agent once, recording event types and the run's finish. */
async function run(agent, params = {}) {
  const seen = { types: [], finished: null, error: null };
  const result = await agent.runAgent(params, {
    onEvent: ({ event }) => {
      seen.types.push(event.type);
    },
    onRunFinishedEvent: (p) => {
      seen.finished = { outcome: p.outcome, pending: pendingOf(p), event: p.event };
    },
    onRunErrorEvent: ({ event }) => {
      seen.error = event;
    },
  });
  check(seen.types[0] === "RUN_STARTED", "the first event is RUN_STARTED", seen.types);
  return { ...seen, result };
}

function lastAssistant(agent) {
  return [...agent.messages].reverse().find((m) => m.role === "assistant");
}

function newAgent(extra = {}, path = "/agui") {
  return new HttpAgent({ url: `${base}${path}`, threadId: `thread-${randomUUID()}`, ...extra });
}

const uiTool = {
  name: "change_background",
  description: "Changes the page background",
  parameters: { type: "object", properties: { color: { type: "string" } }, required: ["color"] },
};

const scenarios = {
  async text_and_multi_turn() {
    const agent = newAgent({ initialState: { counter: 41 } });
    agent.addMessage({ id: randomUUID(), role: "user", content: "hello" });
    const first = await run(agent, { runId: "run-1" });
    check(first.finished?.outcome === "success", "the run succeeds", first.finished);
    check(first.finished.event.runId === "run-1", "RUN_FINISHED echoes the runId", first.finished.event);
    check(first.types.includes("STATE_SNAPSHOT"), "the state is echoed", first.types);
    check(agent.state.counter === 41, "the agent keeps its state", agent.state);
    check(lastAssistant(agent)?.content === "You said: hello", "the reply", lastAssistant(agent));

    agent.addMessage({ id: randomUUID(), role: "user", content: "and again" });
    const second = await run(agent);
    check(second.finished?.outcome === "success", "the second run succeeds", second.finished);
    const reply = lastAssistant(agent)?.content ?? "";
    check(reply.includes('before that you said: "hello"'), "the history reaches the model", reply);
    check(agent.messages.length === 4, "four messages in the transcript", agent.messages);
  },

  async frontend_tool_round_trip() {
    const agent = newAgent();
    agent.addMessage({
      id: randomUUID(),
      role: "user",
      content: '/tool change_background {"color": "blue"}',
    });
    const first = await run(agent, { tools: [uiTool] });
    check(first.finished?.outcome === "success", "the tool run finishes", first.finished);
    check(first.finished.pending.length === 1, "one pending tool call", first.finished);
    const callId = first.finished.pending[0];
    const call = lastAssistant(agent)?.toolCalls?.[0];
    check(call?.id === callId, "the assistant message holds the call", lastAssistant(agent));
    check(call.function.name === "change_background", "the tool name", call);
    check(JSON.parse(call.function.arguments).color === "blue", "the arguments", call);
    check(!first.types.includes("TOOL_CALL_RESULT"), "no result for a frontend tool", first.types);

    agent.addMessage({ id: randomUUID(), role: "tool", toolCallId: callId, content: "background is blue" });
    const second = await run(agent, { tools: [uiTool] });
    check(second.finished?.outcome === "success", "the follow-up run succeeds", second.finished);
    check(second.finished.pending.length === 0, "nothing pending after the follow-up", second.finished);
    const reply = lastAssistant(agent)?.content ?? "";
    check(
      reply === "The change_background tool returned: background is blue.",
      "the model continues from the tool result",
      reply,
    );
  },

  async server_tool() {
    const agent = newAgent();
    agent.addMessage({ id: randomUUID(), role: "user", content: '/tool calculator {"expression": "6*7"}' });
    const r = await run(agent);
    check(r.types.includes("TOOL_CALL_RESULT"), "a server tool reports its result", r.types);
    check(r.finished?.pending.length === 0, "a server tool is not pending", r.finished);
    const tool = agent.messages.find((m) => m.role === "tool");
    check(tool?.content === "42", "the tool message", tool);
    check(lastAssistant(agent)?.content === "The calculator tool returned: 42.", "the answer", lastAssistant(agent));
  },

  async reasoning() {
    const agent = newAgent();
    agent.addMessage({ id: randomUUID(), role: "user", content: "/think step by step" });
    const r = await run(agent);
    for (const t of ["REASONING_START", "REASONING_MESSAGE_CONTENT", "REASONING_END"]) {
      check(r.types.includes(t), `the stream has ${t}`, r.types);
    }
    check(lastAssistant(agent)?.content === "Done thinking.", "the answer", lastAssistant(agent));
  },

  async multimodal() {
    const agent = newAgent();
    agent.addMessage({
      id: randomUUID(),
      role: "user",
      content: [
        { type: "text", text: "what is this" },
        { type: "image", source: { type: "data", value: "iVBORw0KGgo=", mimeType: "image/png" } },
      ],
    });
    await run(agent);
    const reply = lastAssistant(agent)?.content ?? "";
    check(reply.includes("image/png"), "the image reaches the model", reply);
  },

  async upstream_failure() {
    const agent = newAgent();
    agent.addMessage({ id: randomUUID(), role: "user", content: "/fail upstream exploded" });
    let r;
    try {
      r = await run(agent);
    } catch (e) {
      throw new Error(`a RUN_ERROR must not break the client: ${e.message}`);
    }
    check(r.error?.message?.includes("upstream exploded"), "RUN_ERROR carries the message", r.error);
    check(r.types.at(-1) === "RUN_ERROR", "RUN_ERROR ends the stream", r.types);
  },

  // Needs a team `crew` whose members include `researcher` (agentd's test config).
  async team_steps() {
    const agent = newAgent({}, "/agui/crew");
    agent.addMessage({
      id: randomUUID(),
      role: "user",
      content: '/tool delegate_task_to_member {"member_id": "researcher", "task": "find facts"}',
    });
    const r = await run(agent);
    check(r.types.includes("STEP_STARTED") && r.types.includes("STEP_FINISHED"), "member steps", r.types);
    check(
      r.types.includes("SUBAGENT_STARTED") && r.types.includes("SUBAGENT_FINISHED"),
      "the member is a subagent",
      r.types,
    );
    check(r.finished?.pending.length === 0, "delegation is not a pending call", r.finished);
    const tool = agent.messages.find((m) => m.role === "tool");
    check(tool?.content === "You said: find facts", "the member's answer", tool);
  },

  // Needs an agent `careful` whose calculator waits for approval (agentd's test config).
  async tool_approval() {
    const agent = newAgent({}, "/agui/careful");
    agent.addMessage({ id: randomUUID(), role: "user", content: '/tool calculator {"expression": "6*7"}' });
    const first = await run(agent);
    check(first.finished?.outcome === "interrupt", "the run stops for approval", first.finished);
    const interrupt = first.finished.event.outcome.interrupts[0];
    check(interrupt.reason === "tool_approval", "the interrupt says why", interrupt);
    check(agent.pendingInterrupts.length === 1, "the client holds the interrupt", agent.pendingInterrupts);
    const call = lastAssistant(agent)?.toolCalls?.[0];
    check(call?.id === interrupt.toolCallId, "the call waiting for approval is shown", lastAssistant(agent));
    check(!first.types.includes("TOOL_CALL_RESULT"), "nothing ran yet", first.types);

    const second = await run(agent, {
      resume: [{ interruptId: interrupt.id, status: "resolved", payload: { approved: true } }],
    });
    check(second.finished?.outcome === "success", "the approved run finishes", second.finished);
    check(agent.pendingInterrupts.length === 0, "no interrupt left", agent.pendingInterrupts);
    const tool = agent.messages.find((m) => m.role === "tool" && m.toolCallId === call.id);
    check(tool?.content === "42", "the approved call ran", agent.messages);
    check(lastAssistant(agent)?.content === "The calculator tool returned: 42.", "the answer", lastAssistant(agent));
  },
};

let failed = 0;
for (const [name, scenario] of Object.entries(scenarios)) {
  if (only.length && !only.includes(name)) continue;
  const before = warnings.length;
  try {
    await scenario();
    if (warnings.length > before) {
      throw new Error(`the client warned: ${warnings.slice(before).join(" | ")}`);
    }
    console.log(`ok ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
process.exit(failed ? 1 : 0);
