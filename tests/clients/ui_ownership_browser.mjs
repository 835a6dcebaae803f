// The playground in headless Chromium (puppeteer-core) on a server with JWT
// auth on, as two users and an admin use it. Run by tests/it/ownership_ui.rs:
//   node ui_ownership_browser.mjs plan.json
// plan: {executable, base, token_a, token_b, token_admin, screenshot}; user
// A has a session "notes of a", user B one "notes of b", made beforehand.
// Prints "ok <scenario>" per scenario and exits non-zero on the first
// failure (with a screenshot of the failing page).

import { readFile } from "node:fs/promises";
import puppeteer from "puppeteer-core";

const plan = JSON.parse(await readFile(process.argv[2], "utf8"));
const browser = await puppeteer.launch({
  browser: "chrome",
  executablePath: plan.executable,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});

const pageErrors = [];
let page;
let current = "start";

/** A fresh tab with nothing in its session storage: a new visitor. */
async function openPage() {
  const context = await browser.createBrowserContext();
  page = await context.newPage();
  await page.setViewport({ width: 1280, height: 860 });
  page.setDefaultTimeout(20000);
  page.on("pageerror", (e) => pageErrors.push(e.message));
}

function fail(message) {
  throw new Error(message);
}

async function waitText(selector, text) {
  await page.waitForFunction(
    (sel, want) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(want)),
    {},
    selector,
    text,
  );
}

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

const sessionNames = () =>
  page.evaluate(() => [...document.querySelectorAll("[data-sessions] .session-name")].map((e) => e.textContent));

async function scenario(name, fn) {
  current = name;
  await fn();
  console.log(`ok ${name}`);
}

try {
  await scenario("token_prompt", async () => {
    await openPage();
    await page.goto(`${plan.base}/ui?agent=assistant`);
    // The server takes tokens from a provider: the dialog asks for one.
    await page.waitForSelector("dialog[open] #key-input");
    await waitText("dialog[open] #key-title", "Access token");
    await waitText("dialog[open] [data-key-about]", "issued by http://127.0.0.1:");
    await page.locator("#key-input").fill("not-a-token");
    await clickButton("Use token", "dialog");
    // Refused: the dialog stays open and says why.
    await page.waitForFunction(() => document.querySelector("dialog[open] [data-key-error]")?.textContent.length > 0);
    await page.locator("#key-input").fill(plan.token_a);
    await clickButton("Use token", "dialog");
    await waitText("[data-agent-picker] option", "Assistant");
    await waitText("[data-key-button]", "Access token ✓");
  });

  await scenario("own_sessions_only", async () => {
    // The page says whose sessions it lists, and lists A's alone.
    await waitText("[data-viewer]", "Sessions of user-a (acme)");
    await waitText("[data-sessions] .session-name", "notes of a");
    if ((await sessionNames()).some((n) => n.includes("notes of b"))) fail("user-b's session is listed to user-a");
    // Ledger needs a scope A holds: in A's picker.
    await waitText("[data-agent-picker] option", "Ledger");
    // A chats; the new session is listed.
    await page.locator("#composer-text").fill("typed by a");
    await page.focus("#composer-text");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("[data-run-status]").textContent === "completed");
    await waitText("[data-sessions] .session-name", "typed by a");
    const html = await page.content();
    if (html.includes(plan.token_a)) fail("the token is in the page");
  });

  await scenario("token_from_fragment", async () => {
    // A host app hands its user's token over in the fragment.
    await openPage();
    await page.goto(`${plan.base}/ui?agent=assistant#token=${encodeURIComponent(plan.token_b)}`);
    await waitText("[data-viewer]", "Sessions of user-b (acme)");
    if (await page.$("dialog[open]")) fail("the dialog asked although the host app gave a token");
    const address = page.url();
    if (address.includes("token") || address.includes(plan.token_b)) fail(`the token is still in the address: ${address}`);
    const inHistory = await page.evaluate(() => location.href);
    if (inHistory.includes(plan.token_b)) fail("the token is in location.href");
    await waitText("[data-sessions] .session-name", "notes of b");
    const names = await sessionNames();
    if (names.some((n) => n.includes("notes of a") || n.includes("typed by a"))) {
      fail(`user-a's sessions are listed to user-b: ${names}`);
    }
    // Ledger needs a scope B lacks: not in B's picker.
    const options = await page.evaluate(() =>
      [...document.querySelectorAll("[data-agent-picker] option")].map((o) => o.value),
    );
    if (options.includes("ledger")) fail(`ledger is in user-b's picker: ${options}`);
    // Opening A's session by its address finds nothing for B.
    await page.goto(`${plan.base}/ui?agent=assistant&session=a-earlier`);
    await page.waitForFunction(() => document.querySelector("[data-viewer]")?.textContent.includes("user-b"));
    await page.waitForFunction(() => !document.body.textContent.includes("notes of a") && document.querySelector("[data-messages]"));
    const shown = await page.evaluate(() => document.querySelector("[data-messages]").textContent);
    if (shown.includes("notes of a")) fail("user-a's transcript shown to user-b");
  });

  await scenario("admin_sees_all", async () => {
    await openPage();
    await page.goto(`${plan.base}/ui?agent=assistant#token=${encodeURIComponent(plan.token_admin)}`);
    await waitText("[data-viewer]", "Everyone's sessions");
    await waitText("[data-sessions] .session-name", "notes of a");
    await waitText("[data-sessions] .session-name", "notes of b");
    await page.screenshot({ path: plan.screenshot });
  });

  const unexpected = pageErrors.filter((e) => !e.includes("not found"));
  if (unexpected.length) fail(`script errors on the pages: ${unexpected.join("; ")}`);
} catch (e) {
  console.error(`FAILED ${current}: ${e.stack || e}`);
  await page?.screenshot({ path: plan.screenshot.replace(/\.png$/, `-failed-${current}.png`) }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
