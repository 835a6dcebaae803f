// CopilotKit end to end, unmodified: @copilotkit/runtime started in-process
// with agentd's /agui as its AG-UI agents (an HttpAgent from the
// @ag-ui/client the runtime bundles, 0.0.59 for runtime 1.75), served by its
// node HTTP endpoint on loopback, and driven as a CopilotKit frontend drives
// it: @copilotkit/core's CopilotKitCore (what @copilotkit/react-core runs in
// the browser) connects to the runtime, declares frontend tools with
// handlers, runs the agent, executes the tools the model calls and sends
// their results back in a follow-up run, and answers interrupts with
// `resume` entries as the interrupt UI does.
//
// Usage: node tests/clients/copilotkit_client.mjs http://127.0.0.1:PORT [scenario ...]
// The agents are agentd's `/agui/<id>` for the ids below. Each scenario
// prints `ok <name> <json report>` or `FAIL <name>: <why>`; any error the
// frontend or the runtime reports (a rejected event, a failed run) fails it.
// Exits 0 when every scenario passed, 1 otherwise.

import http from "node:http";
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";

// Loopback only: no usage reports to CopilotKit's servers.
process.env.COPILOTKIT_TELEMETRY_DISABLED = "true";
const { CopilotRuntime, ExperimentalEmptyAdapter, copilotRuntimeNodeHttpEndpoint } = await import(
  "@copilotkit/runtime"
);
const { CopilotKitCore, ɵInterruptState } = await import("@copilotkit/core");
const { z } = await import("zod");

const agentd = process.argv[2];
if (!agentd) {
  console.error("usage: node copilotkit_client.mjs <agentd base url> [scenario ...]");
  process.exit(2);
}
const only = process.argv.slice(3);

// The AG-UI client the runtime itself depends on, not whichever one this
// folder has at its top level.
const require = createRequire(import.meta.url);
const fromRuntime = createRequire(require.resolve("@copilotkit/runtime"));
const { HttpAgent } = fromRuntime("@ag-ui/client");
const runtimeVersion = require("@copilotkit/runtime/package.json").version;
const bundledVersion = fromRuntime("@ag-ui/client/package.json").version;
console.log(`@copilotkit/runtime ${runtimeVersion} with @ag-ui/client ${bundledVersion}`);

// Whatever the runtime or the frontend logs as an error is a failure.
const problems = [];
const originalError = console.error.bind(console);
console.error = (...args) => {
  problems.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
  originalError(...args);
};

const runtime = new CopilotRuntime({
  agents: {
    default: new HttpAgent({ url: `${agentd}/agui/upstream` }),
    careful: new HttpAgent({ url: `${agentd}/agui/careful` }),
  },
});
const endpoint = "/api/copilotkit";
const handler = copilotRuntimeNodeHttpEndpoint({
  runtime,
  endpoint,
  serviceAdapter: new ExperimentalEmptyAdapter(),
});
const server = http.createServer(handler);
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
const runtimeUrl = `${origin}${endpoint}`;
// CopilotKitCore connects to its runtime only in a browser (it checks for
// `window`): this is the page it runs in, served from the runtime's origin.
globalThis.window = { location: new URL(`${origin}/`) };

function check(cond, what, detail) {
  if (!cond) {
    throw new Error(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  }
}

/** A frontend connected to the runtime, as <CopilotKit runtimeUrl=…> makes one. */
async function frontend(tools = []) {
  const errors = [];
  const core = new CopilotKitCore({ runtimeUrl, tools });
  core.subscribe({
    onError: ({ error, code }) => {
      errors.push(`${code}: ${error?.message ?? error}`);
    },
  });
  for (let i = 0; i < 200 && core.runtimeConnectionStatus !== "connected"; i++) {
    check(core.runtimeConnectionStatus !== "error", "the frontend connects to the runtime", errors);
    await new Promise((r) => setTimeout(r, 25));
  }
  check(core.runtimeConnectionStatus === "connected", "the frontend connects to the runtime", errors);
  return { core, errors };
}

/** Sends one user message and runs the agent, tools and follow-ups included. */
async function say(core, agent, text, extra = {}) {
  if (text !== undefined) agent.addMessage({ id: randomUUID(), role: "user", content: text });
  return core.runAgent({ agent, ...extra });
}

function lastAssistantText(agent) {
  return [...agent.messages].reverse().find((m) => m.role === "assistant" && m.content)?.content ?? "";
}

const scenarios = {
  async text_answer() {
    const { core, errors } = await frontend();
    const agent = core.getAgent("default");
    check(agent, "the runtime lists the agent", Object.keys(core.agents));
    await say(core, agent, "hello");
    check(errors.length === 0, "no error", errors);
    const answer = lastAssistantText(agent);
    check(answer.includes("hello"), "the answer", agent.messages);
    return { answer };
  },

  async frontend_action() {
    const calls = [];
    const { core, errors } = await frontend([
      {
        name: "change_background",
        description: "Changes the page background",
        parameters: z.object({ color: z.string() }),
        handler: async (args) => {
          calls.push(args);
          return `background is ${args.color}`;
        },
      },
    ]);
    const agent = core.getAgent("default");
    await say(core, agent, "make it blue");
    check(errors.length === 0, "no error", errors);
    check(calls.length === 1 && calls[0].color === "blue", "the action ran once with its arguments", calls);
    const call = agent.messages.find((m) => m.role === "assistant" && m.toolCalls?.length)?.toolCalls[0];
    check(call?.function.name === "change_background", "the transcript holds the call", agent.messages);
    const result = agent.messages.find((m) => m.role === "tool" && m.toolCallId === call.id);
    check(result?.content === "background is blue", "the action's result is in the transcript", agent.messages);
    const answer = lastAssistantText(agent);
    check(agent.messages.at(-1).role === "assistant" && answer, "the follow-up run answered", agent.messages);
    return { answer, toolCallId: call.id };
  },

  async approval() {
    const { core, errors } = await frontend();
    const agent = core.getAgent("careful");
    check(agent, "the runtime lists the agent", Object.keys(core.agents));
    await say(core, agent, "what is 6*7");
    check(errors.length === 0, "no error", errors);
    const interrupts = agent.pendingInterrupts ?? [];
    check(interrupts.length === 1, "the run waits for one approval", interrupts);
    check(interrupts[0].reason === "tool_approval", "the interrupt says why", interrupts[0]);
    check(!agent.messages.some((m) => m.role === "tool"), "nothing ran yet", agent.messages);

    // What the interrupt UI does when the person clicks "approve".
    const state = new ɵInterruptState();
    state.setStandard(interrupts);
    const action = state.resolve({ approved: true }, interrupts[0].id);
    check(action.kind === "resume", "approving answers every interrupt", action);
    await say(core, agent, undefined, { resume: action.resume });
    check(errors.length === 0, "no error after the approval", errors);
    check((agent.pendingInterrupts ?? []).length === 0, "no interrupt left", agent.pendingInterrupts);
    const tool = agent.messages.find((m) => m.role === "tool" && m.toolCallId === interrupts[0].toolCallId);
    check(tool?.content === "42", "the approved call ran", agent.messages);
    return { answer: lastAssistantText(agent) };
  },
};

let failed = 0;
for (const [name, scenario] of Object.entries(scenarios)) {
  if (only.length && !only.includes(name)) continue;
  const before = problems.length;
  try {
    const report = await scenario();
    check(problems.length === before, "nothing logged an error", problems.slice(before));
    console.log(`ok ${name} ${JSON.stringify(report)}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
server.close();
process.exit(failed ? 1 : 0);
