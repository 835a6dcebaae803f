// agentd's web pages driven in a real headless browser (puppeteer-core:
// Chromium over CDP, Firefox over WebDriver BiDi), the way a person uses
// them. Run by tests/it/ui.rs with a JSON plan naming the browser and servers:
//   node ui_browser.mjs plan.json
// Prints "ok <scenario>" per scenario and exits non-zero on the first failure
// (leaving a screenshot of the failing page next to the playground's).

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const plan = JSON.parse(await readFile(process.argv[2], "utf8"));
const browser = await puppeteer.launch(
  plan.browser === "firefox"
    ? { browser: "firefox", executablePath: plan.executable, headless: true }
    : {
        browser: "chrome",
        executablePath: plan.executable,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      },
);

const pageErrors = [];
async function openPage() {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 860 });
  page.setDefaultTimeout(20000);
  page.on("pageerror", (e) => pageErrors.push(e.message));
  return page;
}

let page = await openPage();
let current = "start";

function fail(message) {
  throw new Error(message);
}

/** Waits until an element matching `selector` (the last one, with `last`)
 * contains `text`; returns that text. */
async function waitText(selector, text, { last = false, exact = false } = {}) {
  await page.waitForFunction(
    (sel, want, lastOne, whole) => {
      const all = [...document.querySelectorAll(sel)];
      const found = lastOne ? all.slice(-1) : all;
      return found.some((e) => (whole ? e.textContent === want : e.textContent.includes(want)));
    },
    {},
    selector,
    text,
    last,
    exact,
  );
}

const text = (selector) =>
  page.evaluate((sel) => {
    const all = document.querySelectorAll(sel);
    return all.length ? all[all.length - 1].textContent : null;
  }, selector);

async function waitStatus(wanted) {
  await waitText("[data-run-status]", wanted, { exact: true });
}

/** Clicks the button (within `scope`) whose text is `label`. */
async function clickButton(label, scope = "body") {
  await page.waitForFunction(
    (s, l) => [...document.querySelectorAll(`${s} button`)].some((b) => b.textContent === l),
    {},
    scope,
    label,
  );
  await page.evaluate(
    (s, l) => [...document.querySelectorAll(`${s} button`)].find((b) => b.textContent === l).click(),
    scope,
    label,
  );
}

async function send(message) {
  await page.locator("#composer-text").fill(message);
  await page.focus("#composer-text");
  await page.keyboard.press("Enter");
}

/** Opens the playground on an agent and waits for the picker to show it. */
async function playground(agent, name) {
  await page.goto(`${plan.base}/ui?agent=${agent}`);
  await waitText("[data-agent-picker] option", name);
  await page.waitForFunction((a) => document.querySelector("[data-agent-picker]").value === a, {}, agent);
}

const TURN = "li.message.assistant";

async function scenario(name, fn) {
  current = name;
  await fn();
  console.log(`ok ${name}`);
}

try {
  await scenario("streamed_answer", async () => {
    await playground("chat", "Chat");
    await send("Say hello");
    // Part of the answer is on the page while the run is still going...
    await page.waitForFunction(() => {
      const turns = document.querySelectorAll("li.message.assistant");
      const shown = turns[turns.length - 1]?.querySelector(".text")?.textContent || "";
      const state = document.querySelector("[data-run-status]").textContent;
      return shown.length > 0 && !shown.includes("six") && state === "running";
    });
    // ...and all of it once the run completed.
    await waitStatus("completed");
    const answer = await text(`${TURN} .text`);
    if (answer !== "one two three four five six") fail(`answer was ${JSON.stringify(answer)}`);
  });

  await scenario("tool_call_rendered", async () => {
    await playground("tools", "Tools");
    await send("What is 6*7?");
    await waitStatus("completed");
    const card = `${TURN}:last-child details.tool`;
    if ((await text(`${card} .tool-name`)) !== "calculator") fail("no calculator card");
    if ((await text(`${card} .tool-state`)) !== "done") fail("tool not done");
    // Collapsed until opened; opened, it shows the arguments and the result.
    if (await page.$eval(card, (d) => d.open)) fail("the card starts open");
    await page.click(`${card} summary`);
    if (!(await page.$eval(card, (d) => d.open))) fail("the card did not open");
    const args = await text(`${card} pre.args`);
    if (!args.includes('"expression": "6*7"')) fail(`arguments shown: ${args}`);
    if (!(await text(`${card} pre.result`)).includes("42")) fail("no result shown");
    if ((await text(`${TURN} .text`)) !== "The answer is 42.") fail("no answer after the tool");
    await page.screenshot({ path: plan.screenshot });
  });

  await scenario("stop_button_cancels", async () => {
    await playground("stopper", "Stopper");
    await send("Tell me a long story");
    await page.waitForFunction(() => {
      const turns = document.querySelectorAll("li.message.assistant");
      return (turns[turns.length - 1]?.querySelector(".text")?.textContent || "").length > 0;
    });
    await clickButton("Stop", ".composer");
    await waitStatus("cancelled");
    await waitText(`${TURN} .note`, "Stopped.", { last: true });
    if (await page.$eval("[data-stop]", (b) => !b.hidden)) fail("Stop still shown");
    const runId = await page.$eval(`${TURN}:last-child`, (li) => li.dataset.run);
    const run = await page.evaluate(async (id) => (await fetch(`/ui/api/runs/${id}`)).json(), runId);
    if (run.status !== "cancelled") fail(`the run is ${run.status}`);
    console.log(`stopped-run ${runId}`);
  });

  await scenario("session_resumed", async () => {
    await playground("chat", "Chat");
    await waitText("button.session", "Say hello");
    await page.evaluate(() =>
      [...document.querySelectorAll("button.session")].find((b) => b.textContent.includes("Say hello")).click(),
    );
    await waitText("li.message.user", "Say hello");
    await waitText(`${TURN} .text`, "one two three four five six");
    if (!page.url().includes("session=")) fail("the address does not name the session");
    await send("And again");
    await waitStatus("completed");
    await waitText(`${TURN} .text`, "Second answer", { last: true });
  });

  await scenario("approval_buttons", async () => {
    await playground("careful", "Careful");
    await send('/tool calculator {"expression": "20+22"}');
    await waitStatus("awaiting");
    if (!(await text(".approval p")).includes("calculator")) fail("the approval names no tool");
    if ((await text(`${TURN} .tool-state`)) !== "waiting for approval") fail("the card does not say it waits");
    await clickButton("Approve", ".approval");
    await waitStatus("completed");
    await waitText(".approval .decision", "Approved");
    if (!(await text("details.tool pre.result")).includes("42")) fail("no result after approval");
  });

  await scenario("attachments_by_picker_and_drop", async () => {
    await playground("files", "Files");
    const picker = await page.$("[data-files]");
    await picker.uploadFile(plan.png_file);
    await waitText(".chip", "dot.png");
    // A person drags a CSV file from their desktop onto the conversation.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(["city,people\nOslo,700000\n"], "table.csv", { type: "text/csv" }));
      const zone = document.querySelector("[data-drop-zone]");
      zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await waitText(".chip", "table.csv");
    await send("What are these?");
    await waitStatus("completed");
    await waitText(`${TURN} .text`, "Got your files.", { last: true });
    const files = await page.evaluate(() =>
      [...document.querySelectorAll("li.message.user")].pop().querySelectorAll(".files li").length,
    );
    if (files !== 2) fail(`${files} files shown on the message`);
    if (await page.$(".chip")) fail("attachments not cleared after sending");
  });

  await scenario("reasoning_apart", async () => {
    await playground("researcher", "Researcher");
    await send("/think let me see");
    await waitStatus("completed");
    const block = `${TURN}:last-child details.reasoning`;
    if ((await text(`${block} pre`)) !== "let me see") fail("no reasoning block");
    // Folded away once the answer starts; the answer itself is outside it.
    if (await page.$eval(block, (d) => d.open)) fail("the reasoning stays open");
    if ((await text(`${TURN}:last-child > .turn-body > .text`)) !== "Done thinking.") fail("no answer");
  });

  await scenario("upstream_failure_shown", async () => {
    await playground("broken", "Broken");
    await send("Are you there?");
    await waitStatus("failed");
    const shown = await text(`${TURN}:last-child .failure`);
    if (!shown || !shown.includes("400")) fail(`failure shown: ${shown}`);
    // The page stays usable: the composer is back.
    if (await page.$eval("[data-send]", (b) => b.disabled)) fail("Send stays disabled");
  });

  await scenario("team_steps_labelled", async () => {
    await playground("crew", "Crew");
    await send('/tool delegate_task_to_member {"member_id": "researcher", "task": "find facts"}');
    await waitStatus("completed");
    await waitText(`${TURN} .step.done`, "Researcher finished");
  });

  await scenario("codegen_run_page_live", async () => {
    const created = await fetch(`${plan.base}/v1/organizations/1/agent/run`, {
      method: "POST",
      headers: { Authorization: `Bearer ${plan.codegen_key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "Write the report" }),
    });
    if (!created.ok) fail(`codegen create: ${created.status} ${await created.text()}`);
    const { web_url: webUrl } = await created.json();
    await page.goto(webUrl);
    // Seen going, then finishing, on the same page without a reload.
    await page.waitForFunction(() =>
      ["pending", "running"].includes(document.querySelector("[data-status]").textContent),
    );
    await waitText("[data-status]", "completed", { exact: true });
    const output = await text("[data-output]");
    if (output !== "alpha beta gamma delta epsilon") fail(`output ${JSON.stringify(output)}`);
    await page.waitForSelector("[data-timeline] tr[data-event=completed]");
    const facts = await text("[data-facts]");
    if (!facts.includes("Codegen") || !facts.includes("Tokens")) fail(`facts: ${facts}`);
  });

  await scenario("runs_list_filters", async () => {
    await page.goto(`${plan.base}/ui/runs?origin=codegen`);
    await page.waitForSelector("[data-runs] tr");
    const protocols = await page.$$eval("[data-runs] tr td:nth-child(4)", (tds) => tds.map((t) => t.textContent));
    if (protocols.some((p) => p !== "Codegen")) fail(`protocols: ${protocols}`);
    await page.select("select[name=origin]", "agui");
    await page.select("select[name=status]", "cancelled");
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("[data-runs] tr")];
      return rows.length === 1 && rows[0].textContent.includes("cancelled");
    });
    if (!page.url().includes("status=cancelled")) fail("filters not in the address");
    await Promise.all([page.waitForNavigation(), page.click("[data-runs] tr a")]);
    await page.waitForSelector("[data-status].status-cancelled");
  });

  // axe-core's rules (WCAG 2.1 A/AA) on each page: nothing serious or
  // critical. Chromium only: the pages' CSP forbids injected scripts, and
  // only CDP can set it aside for the check.
  if (plan.browser === "chromium") {
    await scenario("accessibility", async () => {
      const audit = async (url, ready) => {
        const checked = await openPage();
        await checked.setBypassCSP(true);
        await checked.goto(url);
        await checked.waitForSelector(ready);
        await checked.evaluate(axeSource);
        const found = await checked.evaluate(async () => {
          const result = await window.axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
          });
          return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        });
        if (found.length) fail(`${url}: ${found.join("; ")}`);
        await checked.browserContext().close();
      };
      const session = await page.evaluate(
        async () => (await (await fetch("/ui/api/sessions?agent_id=tools")).json()).sessions[0].session_id,
      );
      await audit(`${plan.base}/ui?agent=tools&session=${session}`, "details.tool");
      await audit(`${plan.base}/ui/runs`, "[data-runs] tr");
      const runId = await page.evaluate(
        async () => (await (await fetch("/ui/api/runs?origin=codegen")).json()).runs[0].run_id,
      );
      await audit(`${plan.base}/ui/runs/${runId}`, "[data-timeline] tr[data-event=completed]");
    });
  }

  await scenario("api_key_prompt", async () => {
    page = await openPage();
    await page.goto(`${plan.auth_base}/ui`);
    await page.waitForSelector("dialog[open] #key-input");
    await page.locator("#key-input").fill("wrong-key");
    await clickButton("Use key", "dialog");
    await waitText("dialog[open] [data-key-error]", "Invalid API key");
    await page.locator("#key-input").fill(plan.auth_key);
    await clickButton("Use key", "dialog");
    await waitText("[data-agent-picker] option", "Assistant");
    await send("hello there");
    await waitStatus("completed");
    await waitText(`${TURN} .text`, "You said: hello there");
    const html = await page.content();
    if (html.includes(plan.auth_key)) fail("the key is in the page");
    const kept = await page.evaluate(() => sessionStorage.getItem("agentd.apiKey"));
    if (kept !== plan.auth_key) fail("the key is not in session storage");
  });

  if (pageErrors.length) fail(`script errors on the pages: ${pageErrors.join("; ")}`);
} catch (e) {
  console.error(`FAILED ${current} in ${plan.browser}: ${e.stack || e}`);
  await page
    .screenshot({ path: plan.screenshot.replace(/\.png$/, `-failed-${current}.png`) })
    .catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
