// The playground: chat with an agent or team through this server's AG-UI
// endpoint, as any AG-UI frontend would. The page holds the conversation
// (AG-UI messages) and sends it whole with each run; sessions come from
// /ui/api/sessions so an earlier chat can be picked up again.

import {
  $, api, el, getJson, newId, pretty, readSse, setUpPage, tokens,
} from "./common.js";

const chat = {
  catalog: { agents: [], teams: [] },
  agentId: "",
  threadId: newId(),
  /** The conversation so far, as AG-UI messages. */
  history: [],
  /** Files attached to the next message: {name, mime, kind, data (base64), size}. */
  attachments: [],
  /** The run in flight: {runId, controller, stopping}. */
  running: null,
  /** Tool call cards by call id, so a result reaches its call even when it
   * arrives in a later run (after an approval). */
  toolCards: new Map(),
};

const ui = {
  picker: $("[data-agent-picker]"),
  about: $("[data-agent-about]"),
  sessions: $("[data-sessions]"),
  viewer: $("[data-viewer]"),
  messages: $("[data-messages]"),
  title: $("[data-chat-title]"),
  status: $("[data-run-status]"),
  composer: $("[data-composer]"),
  text: $("[data-text]"),
  files: $("[data-files]"),
  attachments: $("[data-attachments]"),
  send: $("[data-send]"),
  stop: $("[data-stop]"),
  dropZone: $("[data-drop-zone]"),
  dropHint: $("[data-drop-hint]"),
};

// --- agents and sessions -------------------------------------------------

async function loadCatalog() {
  chat.catalog = await getJson("/ui/api/catalog");
  showViewer(chat.catalog.viewer);
  ui.picker.replaceChildren();
  const group = (label, items) =>
    items.length &&
    el("optgroup", { label }, items.map((a) => el("option", { value: a.id }, a.name)));
  ui.picker.append(
    ...[group("Agents", chat.catalog.agents), group("Teams", chat.catalog.teams)].filter(Boolean),
  );
  const params = new URLSearchParams(location.search);
  const all = [...chat.catalog.agents, ...chat.catalog.teams];
  const wanted = [params.get("agent"), chat.catalog.default_agent, all[0]?.id].find(
    (id) => id && all.some((a) => a.id === id),
  );
  if (!wanted) {
    ui.about.textContent = "No agents are configured.";
    ui.send.disabled = true;
    return;
  }
  ui.picker.value = wanted;
  await selectAgent(wanted, params.get("session"));
}

/** Says whose sessions the sidebar lists when the caller is a user (a
 * token's or a key's); an admin key or a server without auth lists
 * everyone's, as it always did, and says nothing. */
function showViewer(viewer) {
  ui.viewer.hidden = !viewer?.user;
  if (!viewer?.user) return;
  const who = viewer.tenant ? `${viewer.user} (${viewer.tenant})` : viewer.user;
  ui.viewer.textContent = viewer.admin
    ? `Everyone's sessions: you are ${who}, an admin`
    : `Sessions of ${who}`;
}

function describe(agentId) {
  const team = chat.catalog.teams.find((t) => t.id === agentId);
  const agent = team || chat.catalog.agents.find((a) => a.id === agentId);
  const parts = [];
  if (agent?.description) parts.push(agent.description);
  if (team) parts.push(`Team (${team.mode}): ${team.members.join(", ")}`);
  ui.about.textContent = parts.join(" · ");
}

async function selectAgent(agentId, sessionId) {
  chat.agentId = agentId;
  describe(agentId);
  if (sessionId) await openSession(sessionId);
  else newChat();
  await loadSessions();
}

async function loadSessions() {
  const { sessions } = await getJson(
    `/ui/api/sessions?agent_id=${encodeURIComponent(chat.agentId)}&limit=50`,
  );
  ui.sessions.replaceChildren(
    ...sessions.map((s) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "session",
            "aria-current": s.session_id === chat.threadId ? "true" : null,
            onclick: () => openSession(s.session_id).then(loadSessions).catch(showError),
          },
          el("span", { class: "session-name" }, s.name || "Untitled"),
          el("span", { class: "session-time" }, new Date(s.updated_at).toLocaleString()),
        ),
      ),
    ),
  );
  if (!sessions.length) ui.sessions.append(el("li", { class: "muted" }, "No sessions yet."));
}

function remember() {
  const params = new URLSearchParams({ agent: chat.agentId });
  if (chat.history.length) params.set("session", chat.threadId);
  history.replaceState(null, "", `/ui?${params}`);
}

function newChat() {
  if (chat.running) return;
  chat.threadId = newId();
  chat.history = [];
  chat.toolCards.clear();
  ui.messages.replaceChildren();
  ui.title.textContent = "New chat";
  setStatus("");
  remember();
  for (const b of ui.sessions.querySelectorAll("[aria-current]")) b.removeAttribute("aria-current");
  ui.text.focus();
}

/** Shows a stored session and continues it: its messages become the
 * history the next run sends. */
async function openSession(sessionId) {
  if (chat.running) return;
  const session = await getJson(`/ui/api/sessions/${encodeURIComponent(sessionId)}`);
  chat.threadId = session.session_id;
  chat.history = [];
  chat.toolCards.clear();
  ui.messages.replaceChildren();
  ui.title.textContent = session.name || "Session";
  let turn = null;
  for (const m of session.messages) {
    if (m.role === "user") {
      turn = null;
      renderUser(m.text, (m.attachments || []).map((a) => a.name || a.mime_type));
      chat.history.push(toAguiUser(m));
    } else if (m.role === "assistant") {
      turn ||= new Turn(null);
      turn.replay(m);
      chat.history.push({
        id: m.id,
        role: "assistant",
        content: m.text || "",
        ...(m.tool_calls?.length && {
          toolCalls: m.tool_calls.map((c) => ({
            id: c.id,
            type: "function",
            function: { name: c.name, arguments: c.arguments },
          })),
        }),
      });
    } else if (m.role === "tool") {
      chat.toolCards.get(m.tool_call_id)?.result(m.text, m.is_error);
      chat.history.push({ id: m.id, role: "tool", toolCallId: m.tool_call_id, content: m.text });
    }
  }
  const last = session.runs.at(-1);
  setStatus(last ? last.status : "");
  remember();
  scrollDown();
}

function toAguiUser(m) {
  const media = (m.attachments || []).filter((a) => a.data || a.url);
  if (!media.length) return { id: m.id, role: "user", content: m.text };
  return {
    id: m.id,
    role: "user",
    content: [
      ...(m.text ? [{ type: "text", text: m.text }] : []),
      ...media.map((a) => ({
        type: a.kind,
        source: a.data
          ? { type: "data", value: a.data, mimeType: a.mime_type }
          : { type: "url", value: a.url },
        metadata: { filename: a.name },
      })),
    ],
  };
}

// --- rendering -----------------------------------------------------------

function scrollDown() {
  ui.messages.lastElementChild?.scrollIntoView({ block: "end" });
}

function setStatus(text) {
  ui.status.textContent = text;
  ui.status.className = `run-status ${text ? `status-${text}` : ""}`;
}

function renderUser(text, fileNames) {
  ui.messages.append(
    el(
      "li",
      { class: "message user" },
      el("div", { class: "who" }, "You"),
      el("div", { class: "text" }, text),
      fileNames.length ? el("ul", { class: "files" }, fileNames.map((n) => el("li", {}, n))) : null,
    ),
  );
  scrollDown();
}

function agentName() {
  const all = [...chat.catalog.agents, ...chat.catalog.teams];
  return all.find((a) => a.id === chat.agentId)?.name || chat.agentId;
}

/** One tool call, collapsible: its name, arguments and (later) result. */
class ToolCard {
  constructor(id, name) {
    this.args = "";
    this.argsView = el("pre", { class: "args" });
    this.resultView = el("pre", { class: "result" }, "…");
    this.state = el("span", { class: "tool-state" }, "running");
    this.node = el(
      "details",
      { class: "tool", "data-tool-call": id },
      el("summary", {}, el("span", { class: "tool-name" }, name), " ", this.state),
      el("div", { class: "label" }, "Arguments"),
      this.argsView,
      el("div", { class: "label" }, "Result"),
      this.resultView,
    );
    chat.toolCards.set(id, this);
  }
  addArgs(delta) {
    this.args += delta;
    this.argsView.textContent = this.args;
  }
  endArgs() {
    this.argsView.textContent = pretty(this.args || "{}");
  }
  setArgs(text) {
    this.args = text;
    this.endArgs();
  }
  waiting(text) {
    this.state.textContent = text;
  }
  result(text, isError) {
    this.resultView.textContent = pretty(text);
    this.state.textContent = isError ? "error" : "done";
    this.node.classList.toggle("failed", !!isError);
  }
}

/** What one run shows, built from its AG-UI events; also the AG-UI messages
 * the run adds to the conversation. */
class Turn {
  constructor(runId) {
    this.runId = runId;
    this.body = el("div", { class: "turn-body" });
    this.texts = new Map();
    this.reasoning = null;
    this.steps = new Map();
    this.messages = [];
    const link = runId
      ? el("a", { href: `/ui/runs/${encodeURIComponent(runId)}`, class: "run-link" }, "run details")
      : null;
    this.node = el(
      "li",
      { class: "message assistant", "data-run": runId },
      el("div", { class: "who" }, agentName(), link ? " · " : "", link),
      this.body,
    );
    ui.messages.append(this.node);
  }

  /** Shows a stored assistant message (a resumed session). */
  replay(m) {
    if (m.reasoning) this.reasoningBlock().text.textContent = m.reasoning;
    if (m.text) this.body.append(el("div", { class: "text" }, m.text));
    for (const c of m.tool_calls || []) {
      const card = new ToolCard(c.id, c.name);
      card.setArgs(c.arguments);
      this.body.append(card.node);
    }
  }

  reasoningBlock() {
    if (!this.reasoning) {
      const text = el("pre", {});
      const node = el("details", { class: "reasoning" }, el("summary", {}, "Reasoning"), text);
      this.body.append(node);
      this.reasoning = { node, text };
    }
    return this.reasoning;
  }

  assistantMessage(id) {
    let m = this.messages.find((x) => x.id === id && x.role === "assistant");
    if (!m) {
      m = { id: id || newId(), role: "assistant", content: "" };
      this.messages.push(m);
    }
    return m;
  }

  handle(ev) {
    switch (ev.type) {
      case "RUN_STARTED":
        setStatus("running");
        break;
      case "TEXT_MESSAGE_START": {
        const view = el("div", { class: "text" });
        this.texts.set(ev.messageId, view);
        this.body.append(view);
        this.assistantMessage(ev.messageId);
        break;
      }
      case "TEXT_MESSAGE_CONTENT": {
        this.texts.get(ev.messageId)?.append(ev.delta);
        this.assistantMessage(ev.messageId).content += ev.delta;
        break;
      }
      case "REASONING_START":
        this.reasoningBlock().node.open = true;
        break;
      case "REASONING_MESSAGE_CONTENT":
        this.reasoningBlock().text.append(ev.delta);
        break;
      case "REASONING_END":
        if (this.reasoning) this.reasoning.node.open = false;
        break;
      case "TOOL_CALL_START": {
        const card = new ToolCard(ev.toolCallId, ev.toolCallName);
        this.body.append(card.node);
        const m = this.assistantMessage(ev.parentMessageId);
        (m.toolCalls ||= []).push({
          id: ev.toolCallId,
          type: "function",
          function: { name: ev.toolCallName, arguments: "" },
        });
        break;
      }
      case "TOOL_CALL_ARGS": {
        chat.toolCards.get(ev.toolCallId)?.addArgs(ev.delta);
        for (const m of this.messages) {
          const call = m.toolCalls?.find((c) => c.id === ev.toolCallId);
          if (call) call.function.arguments += ev.delta;
        }
        break;
      }
      case "TOOL_CALL_END":
        chat.toolCards.get(ev.toolCallId)?.endArgs();
        break;
      case "TOOL_CALL_RESULT":
        chat.toolCards.get(ev.toolCallId)?.result(ev.content, false);
        this.messages.push({
          id: ev.messageId,
          role: "tool",
          toolCallId: ev.toolCallId,
          content: ev.content,
        });
        break;
      case "STEP_STARTED": {
        const step = el("div", { class: "step", role: "note" }, `${ev.stepName} is working…`);
        this.steps.set(ev.stepName, step);
        this.body.append(step);
        break;
      }
      case "STEP_FINISHED": {
        const step = this.steps.get(ev.stepName);
        if (step) {
          step.textContent = `${ev.stepName} finished`;
          step.classList.add("done");
        }
        break;
      }
      case "RUN_FINISHED":
        this.finished(ev);
        break;
      case "RUN_ERROR":
        this.fail(ev.message, ev.code);
        break;
      default:
        break;
    }
    scrollDown();
  }

  finished(ev) {
    const outcome = ev.outcome?.type || "success";
    const used = (ev.usage || []).reduce((n, u) => n + (u.totalTokens || 0), 0);
    if (used) this.body.append(el("div", { class: "usage" }, `${used} tokens`));
    if (outcome === "cancelled") {
      this.note("Stopped.");
      setStatus("cancelled");
    } else if (outcome === "interrupt") {
      setStatus("awaiting");
      this.askApproval(ev.outcome.interrupts);
    } else {
      setStatus("completed");
    }
  }

  fail(message, code) {
    this.body.append(
      el("div", { class: "failure", role: "alert" }, code ? `${code}: ${message}` : message),
    );
    setStatus("failed");
  }

  note(text) {
    this.body.append(el("div", { class: "note" }, text));
  }

  /** Approve or reject each call waiting for a person; once every one is
   * answered, the paused run continues. */
  askApproval(interrupts) {
    const answers = new Map();
    for (const it of interrupts) {
      chat.toolCards.get(it.toolCallId)?.waiting("waiting for approval");
      const buttons = el("div", { class: "approval-actions" });
      const box = el(
        "div",
        { class: "approval", role: "group", "aria-label": `Approve ${it.metadata?.toolName || "tool"}` },
        el("p", {}, it.message),
        buttons,
      );
      const decide = (approved) => {
        answers.set(it.id, approved);
        buttons.replaceChildren(el("span", { class: "decision" }, approved ? "Approved" : "Rejected"));
        if (answers.size === interrupts.length) {
          startRun({
            resume: [...answers].map(([interruptId, ok]) => ({
              interruptId,
              status: "resolved",
              payload: { approved: ok },
            })),
          });
        }
      };
      buttons.append(
        el("button", { type: "button", class: "primary", onclick: () => decide(true) }, "Approve"),
        el("button", { type: "button", onclick: () => decide(false) }, "Reject"),
      );
      this.body.append(box);
    }
    this.body.querySelector(".approval button")?.focus();
  }
}

// --- running -------------------------------------------------------------

function busy(on) {
  ui.send.disabled = on;
  ui.stop.hidden = !on;
  ui.picker.disabled = on;
}

/** Starts a run of the conversation (plus `extra` fields of RunAgentInput,
 * such as `resume`) and renders its events as they come. */
async function startRun(extra = {}) {
  const runId = newId();
  const controller = new AbortController();
  chat.running = { runId, controller, stopping: false };
  busy(true);
  setStatus("starting");
  const turn = new Turn(runId);
  // protocolVersion: this page reads AG-UI 1.0 streams (a `cancelled`
  // outcome, `pendingToolCallIds`); without it /agui answers as it does
  // 0.0.x clients.
  const body = {
    threadId: chat.threadId,
    runId,
    protocolVersion: "1.0",
    state: {},
    messages: chat.history,
    tools: [],
    context: [],
    forwardedProps: {},
    ...extra,
  };
  try {
    const response = await api(`/agui/${encodeURIComponent(chat.agentId)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    await readSse(response, (frame) => {
      try {
        turn.handle(JSON.parse(frame.data));
      } catch (e) {
        console.error("bad event", frame.data, e);
      }
    });
  } catch (e) {
    if (controller.signal.aborted) {
      turn.note("Stopped.");
      setStatus("cancelled");
    } else {
      turn.fail(e.message);
    }
  } finally {
    chat.history.push(...turn.messages);
    chat.running = null;
    busy(false);
    remember();
    loadSessions().catch(showError);
    ui.text.focus();
  }
}

/** Asks the server to stop the run (its stream then ends with a cancelled
 * outcome); drops the connection if that does not happen soon. */
async function stop() {
  const run = chat.running;
  if (!run || run.stopping) return;
  run.stopping = true;
  setStatus("stopping");
  try {
    await api(`/ui/api/runs/${encodeURIComponent(run.runId)}/cancel`, { method: "POST" });
  } catch {
    // Ended already, or not started yet: closing the stream stops it.
  }
  setTimeout(() => {
    if (chat.running === run) run.controller.abort();
  }, 3000);
}

// --- composing -----------------------------------------------------------

const EXTENSION_TYPES = {
  md: "text/markdown",
  csv: "text/csv",
  txt: "text/plain",
  json: "application/json",
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
};

function mimeOf(file) {
  if (file.type) return file.type;
  const ext = file.name.split(".").pop().toLowerCase();
  return EXTENSION_TYPES[ext] || "application/octet-stream";
}

function kindOf(mime) {
  for (const kind of ["image", "audio", "video"]) if (mime.startsWith(`${kind}/`)) return kind;
  return "document";
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function attach(files) {
  for (const file of files) {
    const mime = mimeOf(file);
    chat.attachments.push({
      name: file.name,
      mime,
      kind: kindOf(mime),
      size: file.size,
      data: await readBase64(file),
    });
  }
  renderAttachments();
}

function renderAttachments() {
  ui.attachments.replaceChildren(
    ...chat.attachments.map((a, i) =>
      el(
        "li",
        { class: "chip" },
        a.kind === "image"
          ? el("img", { src: `data:${a.mime};base64,${a.data}`, alt: "" })
          : null,
        el("span", {}, `${a.name} (${Math.ceil(a.size / 1024)} KB)`),
        el(
          "button",
          {
            type: "button",
            "aria-label": `Remove ${a.name}`,
            onclick: () => {
              chat.attachments.splice(i, 1);
              renderAttachments();
            },
          },
          "×",
        ),
      ),
    ),
  );
}

function send() {
  const text = ui.text.value.trim();
  if (chat.running || (!text && !chat.attachments.length) || !chat.agentId) return;
  const files = chat.attachments;
  const content = files.length
    ? [
        ...(text ? [{ type: "text", text }] : []),
        ...files.map((f) => ({
          type: f.kind,
          source: { type: "data", value: f.data, mimeType: f.mime },
          metadata: { filename: f.name },
        })),
      ]
    : text;
  if (!chat.history.length) ui.title.textContent = text || files[0].name;
  chat.history.push({ id: newId(), role: "user", content });
  renderUser(text, files.map((f) => f.name));
  ui.text.value = "";
  chat.attachments = [];
  renderAttachments();
  startRun();
}

function showError(e) {
  ui.messages.append(el("li", { class: "message failure", role: "alert" }, e.message || String(e)));
  scrollDown();
}

// --- wiring --------------------------------------------------------------

function wire() {
  setUpPage();
  ui.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  ui.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && chat.running) stop();
  });
  ui.stop.addEventListener("click", stop);
  $("[data-new-chat]").addEventListener("click", () => {
    newChat();
    loadSessions().catch(showError);
  });
  ui.picker.addEventListener("change", () => selectAgent(ui.picker.value).catch(showError));
  ui.files.addEventListener("change", () => {
    attach([...ui.files.files]).catch(showError);
    ui.files.value = "";
  });
  let depth = 0;
  ui.dropZone.addEventListener("dragenter", (e) => {
    if (!e.dataTransfer?.types.includes("Files")) return;
    depth += 1;
    ui.dropHint.hidden = false;
  });
  ui.dropZone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) ui.dropHint.hidden = true;
  });
  ui.dropZone.addEventListener("dragover", (e) => e.preventDefault());
  ui.dropZone.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    ui.dropHint.hidden = true;
    if (e.dataTransfer?.files.length) attach([...e.dataTransfer.files]).catch(showError);
  });
}

wire();
loadCatalog().catch(showError);
