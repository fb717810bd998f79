// Screenshots of the main views (list, render, editor, conflict, history/diff, inspector)
// in light and dark mode at laptop (1280x800) and phone (390x844) widths, saved under
// target/web-screenshots/ (MCP_PROMPTS_SCREENSHOTS) for a person to look at.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openApp, openPrompt, tool, unique, within, setTemplate, screenshotPath, LAPTOP, PHONE } from "./helpers.mjs";

let browser;
let robot;

before(async () => {
  browser = await launch();
  robot = await openApp(browser);
});
after(async () => {
  await browser?.close();
});

const combos = [
  ["light", "laptop", LAPTOP],
  ["dark", "laptop", LAPTOP],
  ["light", "phone", PHONE],
  ["dark", "phone", PHONE],
];

for (const [scheme, device, viewport] of combos) {
  test(`screenshots: ${scheme}, ${device}`, async () => {
    const id = unique("weekly-report");
    await tool(robot, "create_prompt", {
      id,
      name: "Weekly status report",
      description: "Turn rough notes into a short weekly status update.",
      category: "writing",
      tags: ["status", "team"],
      content: "Write a weekly status report for {{team}}.\n\nNotes:\n{{notes}}\n{{#if risks}}\nRisks to call out: {{risks}}\n{{/if}}\nKeep it under 200 words.",
    });
    await tool(robot, "update_prompt", { id, content: "Write a concise weekly status report for the {{team}} team.\n\nNotes:\n{{notes}}\n{{#if risks}}\nRisks to call out: {{risks}}\n{{/if}}\nKeep it under 150 words and end with next week's focus." });
    const shot = async (page, view) => {
      await page.waitForTimeout(150); // let the highlight fade and layout settle
      const path = screenshotPath(`${view}-${scheme}-${device}`);
      await page.screenshot({ path });
      return path;
    };
    const page = await openApp(browser, { viewport, colorScheme: scheme });
    await page.waitForSelector("#prompt-list .prompt-item");
    await shot(page, "list");

    await openPrompt(page, "code-review");
    await page.fill('#panel-use [name="code"]', "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}");
    await page.fill('#panel-use [name="language"]', "rust");
    await within(3000, async () => (await page.textContent("#rendered")).includes("fn add"), "rendered");
    await shot(page, "render");

    await openPrompt(page, id);
    await page.click("#tab-edit");
    await page.waitForSelector("#panel-edit .template-wrap pre .tok-var");
    if (device === "phone") await page.locator("#panel-edit .template-wrap").scrollIntoViewIfNeeded();
    await shot(page, "editor");

    await setTemplate(page, "Write a weekly status report for the {{team}} team, in bullet points.\n\nNotes:\n{{notes}}\n{{#if risks}}\nRisks: {{risks}}\n{{/if}}");
    const current = await tool(robot, "get_prompt", { id });
    await tool(robot, "update_prompt", { id, expectedVersion: current.version, content: "Write a friendly weekly status report for the {{team}} team.\n\nNotes:\n{{notes}}\n{{#if risks}}\nRisks to call out: {{risks}}\n{{/if}}\nKeep it under 150 words." });
    await page.waitForSelector("#notice:not([hidden])");
    await page.click("#editor-save");
    await page.waitForSelector("#conflict");
    await page.locator("#conflict").evaluate((el) => el.scrollIntoView({ block: "start" }));
    await shot(page, "conflict");
    await page.click("#conflict-keep-theirs");

    await page.click("#tab-history");
    await page.waitForSelector("#diff-slot .diff-line.add");
    await page.selectOption("#diff-from", "1");
    await shot(page, "history");
    await page.locator("#diff-slot").evaluate((el) => el.scrollIntoView({ block: "start" }));
    await shot(page, "diff");

    await page.click("#inspector-toggle");
    await page.waitForSelector("#traffic li details");
    await page.locator("#traffic li details").nth(1).evaluate((d) => (d.open = true));
    await shot(page, "inspector");
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
}
