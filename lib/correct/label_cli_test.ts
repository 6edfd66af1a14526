/**
 * `deno task label` as a user runs it: a subprocess serves the page for a fixture checkpoint, answers arrive over
 * HTTP, the label file is complete when it exits, and a bad flag gets a clear error.
 */
import { strict as assert } from "node:assert";
import { join, resolve } from "node:path";
import { isPng } from "../io/png.ts";
import { readLabels } from "./labels.ts";

const ROOT = resolve(import.meta.dirname!, "../..");
const CHECKPOINT = join(ROOT, "tests/fixtures/pggan/pggan16_zip.pth");

/** The first line of `stream` matching `pattern`; the rest of the stream is drained in the background. */
async function waitForLine(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`no line matching ${pattern} in:\n${text}`);
    text += decoder.decode(value, { stream: true });
    const line = text.split("\n").find((l) => pattern.test(l));
    if (line) {
      (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      return line;
    }
  }
}

Deno.test("deno task label: serve, answer every seed over HTTP, exit with the file complete", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ganatomy-label-" });
  const out = join(dir, "labels.csv");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli.ts", "label", "--checkpoint", CHECKPOINT, "--seeds", "3-5", "--out", out],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const url = (await waitForLine(child.stdout, /^open http/)).split(" ")[1];
    const png = new Uint8Array(await (await fetch(`${url}api/image/3.png`)).arrayBuffer());
    assert.ok(isPng(png));
    for (const [seed, label] of [[3, "normal"], [4, "artifact"], [5, "skip"]] as const) {
      const response = await fetch(`${url}api/label`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ seed, label }),
      });
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal((await child.status).code, 0);
    const labels = await readLabels(out);
    assert.deepEqual([...labels].map(([s, e]) => [s, e.label]), [[3, "normal"], [4, "artifact"], [
      5,
      "skip",
    ]]);
  } finally {
    try {
      child.kill();
    } catch {
      // already exited
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task label: a missing --out is a clear error", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli.ts", "label", "--checkpoint", CHECKPOINT],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.notEqual(code, 0);
  assert.match(new TextDecoder().decode(stderr), /--out is required/);
});
