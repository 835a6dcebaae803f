// The runs list: every run the server has, newest first, filtered by agent,
// status and protocol; the filters live in the address so a view can be shared.

import { $, PROTOCOLS, badge, duration, el, getJson, setUpPage, tokens, when } from "./common.js";

const form = $("[data-filters]");
const rows = $("[data-runs]");
const empty = $("[data-empty]");
const error = $("[data-error]");
let timer = null;

function filters() {
  const params = new URLSearchParams();
  for (const name of ["agent_id", "status", "origin"]) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  return params;
}

async function load() {
  const params = filters();
  history.replaceState(null, "", `/ui/runs${params.size ? `?${params}` : ""}`);
  params.set("limit", "100");
  try {
    const { runs } = await getJson(`/ui/api/runs?${params}`);
    error.textContent = "";
    rows.replaceChildren(
      ...runs.map((r) =>
        el(
          "tr",
          { "data-run": r.run_id },
          el("td", {}, when(r.created_at)),
          el(
            "td",
            {},
            el("a", { href: `/ui/runs/${encodeURIComponent(r.run_id)}` }, r.run_id.slice(0, 8)),
            r.parent_run_id ? el("span", { class: "muted" }, " member") : null,
          ),
          el("td", {}, r.agent_name, r.team ? el("span", { class: "muted" }, " team") : null),
          el("td", {}, PROTOCOLS[r.origin] || r.origin),
          el("td", {}, badge(r.status)),
          el("td", { class: "title" }, r.title),
          el("td", {}, duration(r.duration_ms)),
          el("td", {}, tokens(r.usage)),
        ),
      ),
    );
    empty.hidden = runs.length > 0;
  } catch (e) {
    error.textContent = e.message;
  }
}

function schedule() {
  clearInterval(timer);
  if ($("[data-live]").checked) timer = setInterval(load, 3000);
}

async function start() {
  setUpPage();
  const params = new URLSearchParams(location.search);
  try {
    const catalog = await getJson("/ui/api/catalog");
    const agents = $("[data-filter-agent]");
    for (const a of [...catalog.agents, ...catalog.teams]) {
      agents.append(el("option", { value: a.id }, a.name));
    }
  } catch (e) {
    error.textContent = e.message;
  }
  for (const name of ["agent_id", "status", "origin"]) {
    if (params.get(name)) form.elements[name].value = params.get(name);
  }
  form.addEventListener("change", () => {
    load();
    schedule();
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  await load();
  schedule();
}

start();
