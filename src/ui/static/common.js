// What every page shares: the API key or access token (kept in this tab's
// session storage, never in the page), fetch with it and a prompt for it on
// 401, an SSE reader over fetch (EventSource cannot send the key), and small
// DOM helpers.

const KEY = "agentd.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

/** A host app that embeds or links the pages may hand over its user's
 * access token as `#token=...`: it is kept like a typed key, and taken off
 * the address bar at once, so it lands in no history entry, bookmark or
 * copied link. Runs when this module loads, before any API call. */
function takeTokenFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (!fragment.has("token")) return;
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(history.state, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
  if (token) sessionStorage.setItem(KEY, token);
}
takeTokenFromFragment();

/** How this server authenticates, for the dialog's words: with JWT auth on
 * its protected-resource metadata (public, RFC 9728) names the provider
 * that issues tokens; without, it is not there and keys are asked for. */
let auth = { tokens: false, issuer: null };
const authKnown = fetch("/.well-known/oauth-protected-resource")
  .then(async (r) => {
    if (!r.ok) return;
    const doc = await r.json();
    auth = { tokens: true, issuer: doc.authorization_servers?.[0] || null };
  })
  .catch(() => {})
  .then(() => showKeyState());

const Credential = () => (auth.tokens ? "Access token" : "API key");

/** A new id: crypto.randomUUID where the page is a secure context, else one
 * built from crypto.getRandomValues (plain http on a LAN address). */
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Creates an element: `el("a", {href: "/x", class: "y"}, "text", child)`.
 * Text always goes in as text, never as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      node.className = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** The error a failed API call throws: the status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.detail || body.message || body.error?.message || message;
    if (Array.isArray(message)) message = message.map((d) => d.msg || JSON.stringify(d)).join("; ");
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

/** fetch() against this server with the key; on 401 asks for a key and
 * tries again. Resolves to the Response when it is ok, else throws ApiError. */
export async function api(path, options = {}) {
  for (;;) {
    const headers = new Headers(options.headers || {});
    const key = apiKey();
    if (key) headers.set("Authorization", `Bearer ${key}`);
    const response = await fetch(path, { ...options, headers });
    if (response.status === 401) {
      const reason = (await errorOf(response)).message;
      if (await askForKey(reason)) continue;
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

export async function getJson(path) {
  return (await api(path)).json();
}

/** Reads a text/event-stream response, calling `onFrame({id, event, data})`
 * for each frame; resolves when the stream ends. */
export async function readSse(response, onFrame) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const flush = (block) => {
    const frame = { id: null, event: null, data: [] };
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") frame.data.push(value);
      else if (field === "id") frame.id = value;
      else if (field === "event") frame.event = value;
    }
    if (frame.data.length) onFrame({ ...frame, data: frame.data.join("\n") });
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      flush(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
  if (buffer.trim()) flush(buffer);
}

// --- the key dialog ------------------------------------------------------

let pendingAsk = null;

/** Shows the key dialog; resolves true when a key was entered. One dialog
 * serves every call that got a 401 meanwhile. */
export function askForKey(reason) {
  if (pendingAsk) return pendingAsk;
  const dialog = $("[data-key-dialog]");
  if (!dialog) return Promise.resolve(false);
  const input = $("[data-key-input]", dialog);
  $("[data-key-error]", dialog).textContent = apiKey() ? reason : "";
  input.value = "";
  pendingAsk = authKnown.then(() => new Promise((resolve) => {
    wordDialog(dialog);
    const done = (ok) => {
      dialog.removeEventListener("close", onClose);
      pendingAsk = null;
      resolve(ok);
    };
    const onClose = () => {
      const key = input.value.trim();
      if (dialog.returnValue !== "cancel" && key) {
        sessionStorage.setItem(KEY, key);
        showKeyState();
        done(true);
      } else {
        done(false);
      }
    };
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  }));
  return pendingAsk;
}

/** The dialog's words for what this server takes: a key, or a token from
 * the provider. */
function wordDialog(dialog) {
  $("#key-title", dialog).textContent = Credential();
  $("[data-key-about]", dialog).textContent = auth.tokens
    ? `This server takes access tokens${auth.issuer ? ` issued by ${auth.issuer}` : ""}. ` +
      "The token is kept in this browser tab only (session storage) and sent as a bearer token to this server."
    : "This server asks for an API key. It is kept in this browser tab only " +
      "(session storage) and sent as a bearer token to this server.";
  $("label[for=key-input]", dialog).textContent = auth.tokens ? "Token" : "Key";
  const short = auth.tokens ? "token" : "key";
  $("[data-key-forget]", dialog).textContent = `Forget ${short}`;
  $("[data-key-use]", dialog).textContent = `Use ${short}`;
}

function showKeyState() {
  const button = $("[data-key-button]");
  if (button) button.textContent = apiKey() ? `${Credential()} ✓` : Credential();
}

const PAGES = [
  ["playground", "/ui", "Playground"],
  ["runs", "/ui/runs", "Runs"],
  ["api", "/docs", "API"],
];

/** What every page has around its own content: the header with the pages
 * and the key button, and the key dialog. Built here once rather than
 * repeated in each page's HTML. */
function mountChrome() {
  const current = document.body.dataset.page;
  const header = el(
    "header",
    { class: "top" },
    el("a", { class: "brand", href: "/ui" }, "agentd"),
    el(
      "nav",
      { "aria-label": "Pages" },
      PAGES.map(([id, href, label]) =>
        el("a", { href, "aria-current": id === current || (current === "run" && id === "runs") ? "page" : null }, label),
      ),
    ),
    el("button", { type: "button", class: "key-button", "data-key-button": true }, "API key"),
  );
  const skip = $(".skip");
  (skip ? skip.after.bind(skip) : document.body.prepend.bind(document.body))(header);
  document.body.append(
    el(
      "dialog",
      { class: "key-dialog", "data-key-dialog": true, "aria-labelledby": "key-title" },
      el(
        "form",
        { method: "dialog", "data-key-form": true },
        el("h2", { id: "key-title" }, "API key"),
        el(
          "p",
          { "data-key-about": true },
          "This server asks for an API key. It is kept in this browser tab only " +
            "(session storage) and sent as a bearer token to this server.",
        ),
        el("label", { for: "key-input" }, "Key"),
        el("input", { id: "key-input", type: "password", autocomplete: "off", "data-key-input": true, required: true }),
        el("p", { class: "error", "data-key-error": true, role: "alert" }),
        el(
          "div",
          { class: "dialog-actions" },
          el("button", { type: "button", "data-key-forget": true }, "Forget key"),
          el("button", { type: "submit", class: "primary", "data-key-use": true }, "Use key"),
        ),
      ),
    ),
  );
}

/** Builds the page's header and key dialog, and wires the key button and
 * the dialog's "forget" button. Every page calls it first. */
export function setUpPage() {
  mountChrome();
  const dialog = $("[data-key-dialog]");
  showKeyState();
  $("[data-key-button]")?.addEventListener("click", () => askForKey(""));
  $("[data-key-forget]", dialog)?.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    showKeyState();
    dialog.close("cancel");
  });
  dialog?.addEventListener("cancel", () => dialog.close("cancel"));
}

// --- formatting ----------------------------------------------------------

export function when(ms) {
  if (!ms) return "";
  return new Date(ms).toLocaleString();
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function tokens(usage) {
  if (!usage || !usage.total_tokens) return "";
  return `${usage.input_tokens} in / ${usage.output_tokens} out`;
}

export function badge(status) {
  return el("span", { class: `badge status-${status}` }, status);
}

/** JSON as a person reads it: pretty when it parses, as it is otherwise. */
export function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

export const PROTOCOLS = {
  agentos: "AgentOS",
  agui: "AG-UI",
  acp: "ACP",
  codegen: "Codegen",
  a2a: "A2A",
  mcp: "MCP",
};
