// Drives agentd's MCP server with the unmodified MCP TypeScript SDK
// (@modelcontextprotocol/sdk 1.32): list tools (output schema, annotations),
// a call with progress, a session continued from structuredContent (which
// the SDK validates against the declared outputSchema), a bad call answered
// isError, and a call the client aborts (the calling test checks its run was
// cancelled).
//
// Usage: node mcp_client.mjs MCP_URL AGENT SLOW_AGENT API_KEY
// Prints one "ok <step>" line per passed step; exits non-zero on failure.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, agent, slow, key] = process.argv.slice(2);

function check(cond, what) {
  if (!cond) throw new Error(what);
}

const texts = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text);

const client = new Client({ name: "agentd-test", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
await client.connect(transport);

const { tools } = await client.listTools();
const tool = tools.find((t) => t.name === agent);
check(tool && tools.some((t) => t.name === slow), `tools: ${JSON.stringify(tools.map((t) => t.name))}`);
check(JSON.stringify(tool.inputSchema.required) === '["message"]', `input schema ${JSON.stringify(tool.inputSchema)}`);
check(
  ["answer", "session_id", "run_id"].every((k) => tool.outputSchema.required.includes(k)),
  `output schema ${JSON.stringify(tool.outputSchema)}`,
);
const hints = tool.annotations;
check(
  hints.readOnlyHint === false && hints.idempotentHint === false && hints.openWorldHint === true,
  `annotations ${JSON.stringify(hints)}`,
);
console.log("ok list tools");

const progress = [];
const first = await client.callTool({ name: agent, arguments: { message: "my name is Ada" } }, undefined, {
  onprogress: (p) => progress.push(p),
});
check(!first.isError && texts(first)[0] === "You said: my name is Ada", `first: ${JSON.stringify(first)}`);
check(progress.length >= 2, `progress: ${JSON.stringify(progress)}`);
console.log("ok call with progress");

const session = first.structuredContent.session_id;
check(texts(first)[1].includes(session), `the model is told the session: ${JSON.stringify(texts(first))}`);
const again = await client.callTool({ name: agent, arguments: { message: "what is my name?", session_id: session } });
check(!again.isError && texts(again)[0].includes("my name is Ada"), `continued: ${JSON.stringify(again)}`);
check(again.structuredContent.session_id === session, JSON.stringify(again.structuredContent));
console.log("ok session from structuredContent");

const bad = await client.callTool({ name: agent, arguments: { message: "x", session_id: 7 } });
check(bad.isError && texts(bad)[0].includes("'session_id' must be a string"), `bad call: ${JSON.stringify(bad)}`);
console.log("ok bad call is isError");

// Aborting sends notifications/cancelled; agentd cancels the run.
const abort = new AbortController();
const slowCall = client.callTool({ name: slow, arguments: { message: "take your time ".repeat(40) } }, undefined, {
  signal: abort.signal,
});
setTimeout(() => abort.abort("the user gave up"), 1000);
const outcome = await slowCall.then(
  () => "finished",
  (e) => `aborted: ${e}`,
);
check(outcome.startsWith("aborted"), `the slow call ${outcome}`);
// The SDK sends the cancellation without waiting for it: stay connected
// until it has gone out, as a client that goes on working would.
await new Promise((resolve) => setTimeout(resolve, 500));
console.log("ok cancel");

await client.close();
