// One run's page: status, timings, usage, input, output and the event
// timeline, following the run live over /ui/api/runs/{id}/events while it
// goes on. The Codegen API's web_url points here.

import {
  $, PROTOCOLS, api, duration, el, getJson, pretty, readSse, setUpPage, when,
} from "./common.js";

const runId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const IN_FLIGHT = ["pending", "running", "awaiting"];

const view = {
  status: $("[data-status]"),
  facts: $("[data-facts]"),
  input: $("[data-input]"),
  output: $("[data-output]"),
  reasoning: $("[data-reasoning]"),
  reasoningText: $("[data-reasoning-text]"),
  failure: $("[data-failure]"),
  timeline: $("[data-timeline]"),
  error: $("[data-error]"),
  cancel: $("[data-cancel]"),
};

const page = {
  run: null,
  /** The last event shown. */
  seq: 0,
  startedAt: null,
  /** The timeline row that consecutive deltas of one message grow. */
  lastRow: null,
  following: false,
};

function setStatus(status) {
  view.status.textContent = status;
  view.status.className = `badge status-${status}`;
  view.cancel.hidden = !IN_FLIGHT.includes(status);
  document.title = `Run ${runId.slice(0, 8)} (${status}) · agentd`;
}

function fact(name, ...value) {
  if (value.every((v) => v === null || v === undefined || v === "")) return [];
  return [el("dt", {}, name), el("dd", {}, ...value)];
}

function renderRun(run) {
  page.run = run;
  setStatus(run.status);
  const u = run.usage || {};
  view.facts.replaceChildren(
    ...fact(
      run.team ? "Team" : "Agent",
      el("a", { href: `/ui/runs?agent_id=${encodeURIComponent(run.agent_id)}` }, run.agent_name),
    ),
    ...fact("Protocol", PROTOCOLS[run.origin] || run.origin),
    ...fact("Model", run.model && `${run.model} (${run.provider})`),
    ...fact("Session", el("code", {}, run.session_id)),
    ...fact(
      "Team run",
      run.parent_run_id &&
        el("a", { href: `/ui/runs/${encodeURIComponent(run.parent_run_id)}` }, run.parent_run_id),
    ),
    ...fact("Started", when(run.created_at)),
    ...fact("Finished", when(run.finished_at)),
    ...fact("Duration", duration(run.duration_ms)),
    ...fact("First token after", duration(run.time_to_first_token_ms)),
    ...fact(
      "Tokens",
      u.total_tokens
        ? `${u.input_tokens} in, ${u.output_tokens} out, ${u.total_tokens} total` +
            (u.reasoning_tokens ? `, ${u.reasoning_tokens} reasoning` : "")
        : "",
    ),
    ...fact("Tool calls", run.tools?.length || ""),
  );
  view.input.replaceChildren(
    ...run.input.map((m) =>
      el(
        "div",
        { class: `input-message role-${m.role}` },
        el("div", { class: "who" }, m.role),
        el("div", { class: "text" }, m.text),
        m.attachments?.length
          ? el(
              "ul",
              { class: "files" },
              m.attachments.map((a) => el("li", {}, `${a.name || "file"} (${a.mime_type})`)),
            )
          : null,
      ),
    ),
    ...(run.files || []).length
      ? [el("p", { class: "muted" }, `${run.files.length} file(s) given to the run`)]
      : [],
  );
  view.output.textContent = run.structured ? pretty(run.structured) : run.content;
  view.reasoning.hidden = !run.reasoning;
  view.reasoningText.textContent = run.reasoning || "";
  view.failure.hidden = !run.error;
  view.failure.textContent = run.error ? `${run.error.kind}: ${run.error.message}` : "";
}

/** A timeline line for one event: what a person wants to see of it. */
function summary(kind, ev) {
  switch (kind) {
    case "run_started":
      return `${ev.agent_name} on ${ev.model} (${ev.provider})`;
    case "model_request_started":
      return `${ev.model} (${ev.provider})`;
    case "model_request_completed":
      return `${ev.usage?.total_tokens ?? 0} tokens` +
        (ev.time_to_first_token_ms != null ? `, first token after ${ev.time_to_first_token_ms} ms` : "");
    case "text_delta":
    case "reasoning_delta":
    case "tool_call_args":
      return ev.delta;
    case "message_completed":
    case "reasoning_completed":
      return ev.text;
    case "tool_call_started":
      return ev.name;
    case "tool_call_ended":
      return `${ev.name}(${JSON.stringify(ev.arguments)})${ev.client_side ? " [client]" : ""}` +
        (ev.needs_approval ? " [needs approval]" : "");
    case "tool_call_decided":
      return `${ev.name}: ${ev.approved ? "approved" : "rejected"}${ev.note ? ` (${ev.note})` : ""}`;
    case "tool_result":
      return `${ev.name} → ${ev.is_error ? "error: " : ""}${ev.result}`;
    case "state_snapshot":
      return JSON.stringify(ev.snapshot);
    case "awaiting":
      return `waiting for: ${ev.pending.map((p) => `${p.name} (${p.kind})`).join(", ")}`;
    case "completed":
      return `${ev.duration_ms} ms, ${ev.usage?.total_tokens ?? 0} tokens`;
    case "failed":
      return `${ev.error.kind}: ${ev.error.message}`;
    case "cancelled":
      return ev.reason;
    default:
      return "";
  }
}

const GROWING = ["text_delta", "reasoning_delta", "tool_call_args"];

function addEvent(ev) {
  if (ev.seq <= page.seq) return;
  page.seq = ev.seq;
  page.startedAt ??= ev.at;
  const inner = ev.type === "member" ? ev.event : ev;
  const label = ev.type === "member" ? `${ev.member.name} · ${inner.type}` : ev.type;
  const text = summary(inner.type, inner);
  const key = `${label}|${inner.message_id || inner.call_id || ""}`;
  if (GROWING.includes(inner.type) && page.lastRow?.key === key) {
    page.lastRow.detail.textContent += text;
    page.lastRow.count += 1;
    page.lastRow.type.textContent = `${label} ×${page.lastRow.count}`;
  } else {
    const detail = el("td", { class: "detail" }, text);
    const type = el("code", {}, label);
    view.timeline.append(
      el("tr", { "data-event": ev.type }, el("td", {}, ev.seq), el("td", {}, ev.at - page.startedAt), el("td", {}, type), detail),
    );
    page.lastRow = GROWING.includes(inner.type) ? { key, detail, type, count: 1 } : null;
  }
  // The answer as it streams; the stored record replaces it at checkpoints.
  if (ev.type === "text_delta") view.output.append(ev.delta);
  if (ev.type === "message_started" && view.output.textContent) view.output.append("\n\n");
  const status = {
    run_started: "running",
    run_resumed: "running",
    awaiting: "awaiting",
    completed: "completed",
    failed: "failed",
    cancelled: "cancelled",
  }[ev.type];
  if (status) setStatus(status);
}

async function refresh() {
  renderRun(await getJson(`/ui/api/runs/${encodeURIComponent(runId)}`));
}

/** Replays the log after the last event shown, then follows it live until
 * the run ends or pauses; a paused or queued run is checked again later. */
async function follow() {
  if (page.following) return;
  page.following = true;
  try {
    const response = await api(
      `/ui/api/runs/${encodeURIComponent(runId)}/events?after=${page.seq}`,
      { headers: { Accept: "text/event-stream" } },
    );
    await readSse(response, (frame) => addEvent(JSON.parse(frame.data)));
    await refresh();
  } catch (e) {
    view.error.textContent = e.message;
  } finally {
    page.following = false;
  }
  if (IN_FLIGHT.includes(page.run?.status)) setTimeout(watch, 2000);
}

/** A paused or queued run: look again until it moves, then follow it. */
async function watch() {
  try {
    const before = page.run;
    await refresh();
    if (page.run.last_seq > page.seq || page.run.status !== before.status) return follow();
  } catch (e) {
    view.error.textContent = e.message;
  }
  if (IN_FLIGHT.includes(page.run?.status)) setTimeout(watch, 2000);
}

async function start() {
  setUpPage();
  $("[data-run-id]").textContent = runId;
  view.cancel.addEventListener("click", async () => {
    view.cancel.disabled = true;
    try {
      await api(`/ui/api/runs/${encodeURIComponent(runId)}/cancel`, { method: "POST" });
    } catch (e) {
      view.error.textContent = e.message;
    } finally {
      view.cancel.disabled = false;
    }
  });
  try {
    await refresh();
  } catch (e) {
    setStatus(e.status === 404 ? "not found" : "error");
    view.cancel.hidden = true;
    view.error.textContent = e.message;
    return;
  }
  // The log is replayed from the start: the answer grows again from it,
  // and the record's final text replaces it when the stream ends.
  view.output.textContent = "";
  await follow();
}

start();
