// Checks AG-UI events against the event schemas of the real packages,
// unmodified: @ag-ui/core 1.0.0 and the 0.0.59 @ag-ui/core that
// `ag-ui-client-0` (@ag-ui/client 0.0.59, CopilotKit's line) depends on.
//
// Usage: node tests/clients/agui_schemas.mjs < events.json
// stdin: a JSON array of {"lines": ["1.0", "0.0.59"], "event": {...}}.
// Prints one line per refused event (`FAIL <line> <type>: <why>`) and exits 1
// if there was any; prints `ok <n>` and exits 0 otherwise.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const fromLegacyClient = createRequire(require.resolve("ag-ui-client-0"));
const schemas = {
  "1.0": require("@ag-ui/core/schemas").EventSchemas,
  "0.0.59": fromLegacyClient("@ag-ui/core").EventSchemas,
};
const versions = {
  "1.0": require("@ag-ui/core/package.json").version,
  "0.0.59": fromLegacyClient("@ag-ui/core/package.json").version,
};
for (const [line, version] of Object.entries(versions)) {
  if (version !== (line === "1.0" ? "1.0.0" : line)) {
    console.log(`FAIL ${line}: installed @ag-ui/core is ${version}`);
    process.exit(1);
  }
}

const input = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const { lines, event } of input) {
  for (const line of lines) {
    const result = schemas[line].safeParse(event);
    if (!result.success) {
      failed += 1;
      console.log(`FAIL ${line} ${event.type}: ${JSON.stringify(result.error.issues)} in ${JSON.stringify(event)}`);
    }
  }
}
if (!failed) console.log(`ok ${input.length}`);
process.exit(failed ? 1 : 0);
