// Users of one agentd MCP server through the unmodified MCP TypeScript SDK
// (@modelcontextprotocol/sdk), each with their own bearer token from the
// OpenID provider: the same story as mcp_ownership.py.
//
// Usage: node mcp_ownership.mjs MCP_URL TOKEN_A TOKEN_B TOKEN_C TOKEN_ADMIN
// tools/list shows each user only the agents their scopes allow (`ledger`
// needs `reports`: A and C have it, B does not); a call of a forbidden
// agent is refused; a session_id naming A's session, from B or C (another
// tenant), is refused exactly as one nobody has; the admin may continue
// it; A's session holds A's words only. Prints one "ok <step>" line per
// passed step; exits non-zero on failure.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, tokenA, tokenB, tokenC, tokenAdmin] = process.argv.slice(2);
const UNKNOWN = "0197f00d-0000-7000-8000-00000000dead";

function check(cond, what) {
  if (!cond) throw new Error(what);
}

const texts = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text);

async function connect(token) {
  const client = new Client({ name: "agentd-ownership-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/// What a call came back with, as the model would see it.
async function outcome(client, name, args) {
  try {
    const result = await client.callTool({ name, arguments: args });
    return `${result.isError ? "isError" : "ok"}: ${texts(result).join(" | ")}`;
  } catch (e) {
    return `error: ${e.message}`;
  }
}

async function toolNames(token) {
  const client = await connect(token);
  const { tools } = await client.listTools();
  await client.close();
  return tools.map((t) => t.name);
}

let names = await toolNames(tokenA);
check(names.includes("ledger") && names.includes("assistant"), `A's tools: ${names}`);
names = await toolNames(tokenB);
check(!names.includes("ledger") && names.includes("assistant"), `B's tools: ${names}`);
console.log("ok tools/list shows only allowed agents");

const b = await connect(tokenB);
const forbidden = await outcome(b, "ledger", { message: "the books" });
check(!forbidden.startsWith("ok"), `B runs ledger: ${forbidden}`);
await b.close();
console.log("ok a forbidden agent is refused");

const a = await connect(tokenA);
const first = await a.callTool({ name: "assistant", arguments: { message: "my name is Ada" } });
check(!first.isError, `A's call: ${JSON.stringify(first)}`);
const session = first.structuredContent.session_id;
console.log("ok A's session");

for (const [who, token] of [["B", tokenB], ["C", tokenC]]) {
  const other = await connect(token);
  const theirs = await outcome(other, "assistant", { message: "what is my name?", session_id: session });
  const none = await outcome(other, "assistant", { message: "what is my name?", session_id: UNKNOWN });
  check(!theirs.startsWith("ok"), `${who} continues A's session: ${theirs}`);
  check(!theirs.includes("Ada"), `${who} reads A's words: ${theirs}`);
  check(
    theirs.replaceAll(session, "<id>") === none.replaceAll(UNKNOWN, "<id>"),
    `${who}: A's session ${theirs} vs an unknown one ${none}`,
  );
  await other.close();
  console.log(`ok ${who} cannot continue A's session`);
}

const admin = await connect(tokenAdmin);
const byAdmin = await admin.callTool({ name: "assistant", arguments: { message: "and again", session_id: session } });
check(!byAdmin.isError && texts(byAdmin)[0].includes("my name is Ada"), `admin continues: ${JSON.stringify(byAdmin)}`);
await admin.close();
console.log("ok admin continues A's session");

const again = await a.callTool({ name: "assistant", arguments: { message: "what is my name?", session_id: session } });
// The third message of A's conversation (A's two and the admin's): no
// try of B's or C's was added to it.
check(
  !again.isError && texts(again)[0].includes('message 3 of this conversation; before that you said: "and again"'),
  `A continues: ${JSON.stringify(again)}`,
);
check(again.structuredContent.session_id === session, JSON.stringify(again.structuredContent));
await a.close();
console.log("ok A's session is A's");
