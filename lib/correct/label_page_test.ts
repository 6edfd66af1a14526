/**
 * The labelling page in headless Chromium: keys, progress text, the file on disk after each key, undo, a
 * reload and a server restart (resume), the end.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { decodePng, encodePng } from "../io/png.ts";
import { chromiumPath } from "../viz/plotly_png.ts";
import { chromium as chromiumProbe, optionalTest } from "../../tests/optional.ts";
import { type LabelServer, startLabelServer } from "./label_server.ts";

const chromium = chromiumProbe();

/** Seed k is drawn as a solid 8x8 square of COLOURS[k]. */
const COLOURS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]];
const SEEDS = [0, 1, 2, 3, 4];

function render(seed: number): Promise<Uint8Array> {
  const data = new Uint8Array(8 * 8 * 3);
  for (let p = 0; p < 64; p++) data.set(COLOURS[seed], p * 3);
  return encodePng({ data, height: 8, width: 8, channels: 3 });
}

/** Wait until the element's text is `text`; on timeout say what it was instead. */
async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  const read = `document.querySelector(${JSON.stringify(selector)})?.textContent`;
  try {
    await page.waitForFunction(`${read} === ${JSON.stringify(text)}`, undefined, { timeout: 10_000 });
  } catch {
    assert.fail(`${selector}: expected "${text}", got "${await page.evaluate(read)}"`);
  }
}

function progress(normal: number, artifact: number, skip: number): string {
  return `${normal + artifact + skip} / 5 labelled (${normal} normal, ${artifact} artifact, ${skip} skipped)`;
}

/** The centre pixel of the shown sample, as the browser draws it. */
async function shownColour(page: Page): Promise<number[]> {
  await page.waitForFunction(`document.querySelector("#image").complete`, undefined, { timeout: 10_000 });
  const img = await decodePng(await page.locator("#image").screenshot({ type: "png" }));
  const centre = (Math.floor(img.height / 2) * img.width + Math.floor(img.width / 2)) * img.channels;
  return [...img.data.subarray(centre, centre + 3)];
}

optionalTest("label page: keys, progress, saved file, undo, reload, resume and done", chromium, async () => {
  const dir = await Deno.makeTempDir({ prefix: "label_page_test_" });
  const out = join(dir, "labels.csv");
  const { chromium: browserType } = await import("playwright-core");
  const browser = await browserType.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", "--disable-gpu"],
  });
  let server: LabelServer | undefined;
  try {
    server = await startLabelServer({ seeds: SEEDS, render, out });
    const page = await browser.newPage({ viewport: { width: 800, height: 800 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const file = () => Deno.readTextFile(out);
    // Press `key`, wait for the page to show `text`, then check the file.
    const press = async (key: string, text: string, rows: string[]) => {
      await page.keyboard.press(key);
      await waitForText(page, "#progress", text);
      assert.equal(await file(), ["seed,label,source", ...rows, ""].join("\n"), `after ${key}`);
    };

    await page.goto(server.url);
    await waitForText(page, "#progress", progress(0, 0, 0));
    await waitForText(page, "#seed", "seed 0");
    assert.equal(
      await page.evaluate(`getComputedStyle(document.querySelector("#image")).imageRendering`),
      "pixelated",
    );
    assert.deepEqual(await shownColour(page), COLOURS[0]);

    await press("n", progress(1, 0, 0), ["0,normal,manual"]);
    await waitForText(page, "#seed", "seed 1");
    assert.deepEqual(await shownColour(page), COLOURS[1]);
    await press("2", progress(1, 1, 0), ["0,normal,manual", "1,artifact,manual"]);
    await press("Space", progress(1, 1, 1), ["0,normal,manual", "1,artifact,manual", "2,skip,manual"]);
    await waitForText(page, "#last", "last: seed 2 → skip");
    await press("u", progress(1, 1, 0), ["0,normal,manual", "1,artifact,manual"]);
    await waitForText(page, "#seed", "seed 2");

    await page.reload();
    await waitForText(page, "#progress", progress(1, 1, 0));
    await waitForText(page, "#seed", "seed 2");
    await press("a", progress(1, 2, 0), ["0,normal,manual", "1,artifact,manual", "2,artifact,manual"]);

    // A new server on the same file (as after Ctrl-C and a new `deno task label`) resumes at seed 3.
    await server.close();
    server = await startLabelServer({ seeds: SEEDS, render, out });
    await page.goto(server.url);
    await waitForText(page, "#progress", progress(1, 2, 0));
    await waitForText(page, "#seed", "seed 3");
    assert.deepEqual(await shownColour(page), COLOURS[3]);
    const three = ["0,normal,manual", "1,artifact,manual", "2,artifact,manual"];
    await press("s", progress(1, 2, 1), [...three, "3,skip,manual"]);
    await press("Backspace", progress(1, 2, 0), three);
    await press("1", progress(2, 2, 0), [...three, "3,normal,manual"]);
    await page.locator("#artifact").click(); // the buttons answer too
    await waitForText(page, "#progress", progress(2, 3, 0));
    await waitForText(page, "#finished", `All 5 seeds are answered and saved in ${out}.`);
    assert.equal(await page.locator("#image").isHidden(), true);

    const labels = await server.done;
    assert.deepEqual(
      [...labels].map(([seed, e]) => `${seed}:${e.label}`),
      ["0:normal", "1:artifact", "2:artifact", "3:normal", "4:artifact"],
    );
    const rows = ["seed,label,source", ...three, "3,normal,manual", "4,artifact,manual"];
    assert.equal(await file(), rows.join("\n") + "\n");
    assert.deepEqual(pageErrors, []);
  } finally {
    await server?.close();
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});
