// agentd's web pages driven in headless Chromium (playwright-core), the way a
// person uses them. Run by tests/it/ui.rs with a JSON file naming the servers:
//   node ui_browser.mjs plan.json
// Prints "ok <scenario>" per scenario and exits non-zero on the first failure
// (with a screenshot of the page next to the playground's).

import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const plan = JSON.parse(await readFile(process.argv[2], "utf8"));
const browser = await chromium.launch({
  executablePath: plan.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});

const pageErrors = [];
async function openPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (e) => pageErrors.push(e.message));
  return page;
}

let page = await openPage();
let current = "start";

function fail(message) {
  throw new Error(message);
}

async function status(page) {
  return page.locator("[data-run-status]").textContent();
}

async function waitStatus(page, wanted) {
  await page.waitForFunction(
    (w) => document.querySelector("[data-run-status]")?.textContent === w,
    wanted,
  );
}

const lastTurn = (page) => page.locator("li.message.assistant").last();

async function send(page, text) {
  const box = page.getByLabel("Message");
  await box.fill(text);
  await box.press("Enter");
}

async function scenario(name, fn) {
  current = name;
  await fn();
  console.log(`ok ${name}`);
}

try {
  await scenario("streamed_answer", async () => {
    await page.goto(`${plan.base}/ui?agent=chat`);
    await page.getByRole("option", { name: "Chat" }).waitFor({ state: "attached" });
    await send(page, "Say hello");
    // Part of the answer is on the page while the run is still going...
    await page.waitForFunction(() => {
      const turns = document.querySelectorAll("li.message.assistant");
      const text = turns[turns.length - 1]?.querySelector(".text")?.textContent || "";
      const state = document.querySelector("[data-run-status]").textContent;
      return text.length > 0 && !text.includes("six") && state === "running";
    });
    // ...and all of it once the run completed.
    await waitStatus(page, "completed");
    const text = await lastTurn(page).locator(".text").textContent();
    if (text !== "one two three four five six") fail(`answer was ${JSON.stringify(text)}`);
  });

  await scenario("tool_call_rendered", async () => {
    await page.goto(`${plan.base}/ui?agent=tools`);
    await page.getByRole("option", { name: "Tools" }).waitFor({ state: "attached" });
    await send(page, "What is 6*7?");
    await waitStatus(page, "completed");
    const card = lastTurn(page).locator("details.tool");
    if ((await card.locator(".tool-name").textContent()) !== "calculator") fail("no calculator card");
    if ((await card.locator(".tool-state").textContent()) !== "done") fail("tool not done");
    // Collapsed until opened; opened, it shows the arguments and the result.
    if (await card.locator("pre.args").isVisible()) fail("the card starts open");
    await card.locator("summary").click();
    const args = await card.locator("pre.args").textContent();
    if (!args.includes('"expression": "6*7"')) fail(`arguments shown: ${args}`);
    const result = await card.locator("pre.result").textContent();
    if (!result.includes("42")) fail(`result shown: ${result}`);
    const answer = await lastTurn(page).locator(".text").last().textContent();
    if (answer !== "The answer is 42.") fail(`answer was ${answer}`);
    await page.screenshot({ path: plan.screenshot });
  });

  await scenario("stop_button_cancels", async () => {
    await page.goto(`${plan.base}/ui?agent=stopper`);
    await page.getByRole("option", { name: "Stopper" }).waitFor({ state: "attached" });
    await send(page, "Tell me a long story");
    await page.waitForFunction(() => {
      const turns = document.querySelectorAll("li.message.assistant");
      return (turns[turns.length - 1]?.querySelector(".text")?.textContent || "").length > 0;
    });
    await page.getByRole("button", { name: "Stop" }).click();
    await waitStatus(page, "cancelled");
    await lastTurn(page).getByText("Stopped.").waitFor();
    if (await page.getByRole("button", { name: "Stop" }).isVisible()) fail("Stop still shown");
    const runId = await lastTurn(page).getAttribute("data-run");
    const run = await page.evaluate(
      async (id) => (await fetch(`/ui/api/runs/${id}`)).json(),
      runId,
    );
    if (run.status !== "cancelled") fail(`the run is ${run.status}`);
    console.log(`stopped-run ${runId}`);
  });

  await scenario("session_resumed", async () => {
    await page.goto(`${plan.base}/ui?agent=chat`);
    const earlier = page.locator("button.session", { hasText: "Say hello" });
    await earlier.click();
    await page.locator("li.message.user", { hasText: "Say hello" }).waitFor();
    await lastTurn(page).getByText("one two three four five six").waitFor();
    if (!page.url().includes("session=")) fail("the address does not name the session");
    await send(page, "And again");
    await waitStatus(page, "completed");
    await lastTurn(page).getByText("Second answer").waitFor();
  });

  await scenario("approval_buttons", async () => {
    await page.goto(`${plan.base}/ui?agent=careful`);
    await page.getByRole("option", { name: "Careful" }).waitFor({ state: "attached" });
    await send(page, '/tool calculator {"expression": "20+22"}');
    await waitStatus(page, "awaiting");
    const approval = page.locator(".approval");
    if (!(await approval.textContent()).includes("calculator")) fail("the approval names no tool");
    if ((await lastTurn(page).locator(".tool-state").textContent()) !== "waiting for approval") {
      fail("the card does not say it waits");
    }
    await approval.getByRole("button", { name: "Approve" }).click();
    await waitStatus(page, "completed");
    const card = page.locator("details.tool").last();
    await card.locator("summary").click();
    if (!(await card.locator("pre.result").textContent()).includes("42")) fail("no result after approval");
    await approval.getByText("Approved").waitFor();
  });

  await scenario("attachments_by_picker_and_drop", async () => {
    await page.goto(`${plan.base}/ui?agent=files`);
    await page.getByRole("option", { name: "Files" }).waitFor({ state: "attached" });
    await page.getByLabel("Attach files").setInputFiles({
      name: "dot.png",
      mimeType: "image/png",
      buffer: Buffer.from(plan.png_base64, "base64"),
    });
    await page.locator(".chip", { hasText: "dot.png" }).waitFor();
    // A person drags a CSV file from their desktop onto the conversation.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(["city,people\nOslo,700000\n"], "table.csv", { type: "text/csv" }));
      const zone = document.querySelector("[data-drop-zone]");
      zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await page.locator(".chip", { hasText: "table.csv" }).waitFor();
    await send(page, "What are these?");
    await waitStatus(page, "completed");
    await lastTurn(page).getByText("Got your files.").waitFor();
    const files = await page.locator("li.message.user").last().locator(".files li").allTextContents();
    if (files.join(",") !== "dot.png,table.csv") fail(`files shown: ${files}`);
    if (await page.locator(".chip").count()) fail("attachments not cleared after sending");
  });

  await scenario("team_steps_labelled", async () => {
    await page.goto(`${plan.base}/ui?agent=crew`);
    await page.getByRole("option", { name: "Crew" }).waitFor({ state: "attached" });
    await send(page, '/tool delegate_task_to_member {"member_id": "researcher", "task": "find facts"}');
    await waitStatus(page, "completed");
    await lastTurn(page).locator(".step.done", { hasText: "Researcher finished" }).waitFor();
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
    await page.waitForFunction(
      () => document.querySelector("[data-status]").textContent === "completed",
    );
    const output = await page.locator("[data-output]").textContent();
    if (output !== "alpha beta gamma delta epsilon") fail(`output ${JSON.stringify(output)}`);
    await page.locator("[data-timeline] tr[data-event=completed]").waitFor();
    const facts = await page.locator("[data-facts]").textContent();
    if (!facts.includes("Codegen") || !facts.includes("Tokens")) fail(`facts: ${facts}`);
  });

  await scenario("runs_list_filters", async () => {
    await page.goto(`${plan.base}/ui/runs?origin=codegen`);
    await page.locator("[data-runs] tr").first().waitFor();
    const protocols = await page.locator("[data-runs] tr td:nth-child(4)").allTextContents();
    if (!protocols.length || protocols.some((p) => p !== "Codegen")) fail(`protocols: ${protocols}`);
    await page.getByLabel("Protocol").selectOption("agui");
    await page.getByLabel("Status").selectOption("cancelled");
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("[data-runs] tr")];
      return rows.length === 1 && rows[0].textContent.includes("cancelled");
    });
    if (!page.url().includes("status=cancelled")) fail("filters not in the address");
    await page.locator("[data-runs] tr a").click();
    await page.waitForURL(/\/ui\/runs\/[0-9a-f-]+$/);
    await page.locator("[data-status].status-cancelled").waitFor();
  });

  await scenario("api_key_prompt", async () => {
    page = await openPage();
    await page.goto(`${plan.auth_base}/ui`);
    const dialog = page.getByRole("dialog", { name: "API key" });
    await dialog.waitFor();
    await dialog.getByLabel("Key").fill("wrong-key");
    await dialog.getByRole("button", { name: "Use key" }).click();
    await dialog.getByText("Invalid API key").waitFor();
    await dialog.getByLabel("Key").fill(plan.auth_key);
    await dialog.getByRole("button", { name: "Use key" }).click();
    await page.getByRole("option", { name: "Assistant" }).waitFor({ state: "attached" });
    await send(page, "hello there");
    await waitStatus(page, "completed");
    await lastTurn(page).getByText("You said: hello there").waitFor();
    const html = await page.content();
    if (html.includes(plan.auth_key)) fail("the key is in the page");
    const kept = await page.evaluate(() => sessionStorage.getItem("agentd.apiKey"));
    if (kept !== plan.auth_key) fail("the key is not in session storage");
  });

  if (pageErrors.length) fail(`script errors on the pages: ${pageErrors.join("; ")}`);
} catch (e) {
  console.error(`FAILED ${current}: ${e.stack || e}`);
  await page.screenshot({ path: plan.screenshot.replace(/\.png$/, `-failed-${current}.png`) }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
