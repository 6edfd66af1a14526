/**
 * `deno task reproduce --quick`: the dissection and the correction of the shipped scenes model at tiny sizes,
 * `REPORT.md` linking their figures, and a second run that skips the finished steps.
 */
import { strict as assert } from "node:assert";
import { dirname, join } from "node:path";
import { isPng } from "../lib/io/png.ts";
import { denoCommand } from "./subprocess.ts";

const reproduce = (...args: string[]) => denoCommand(["run", "-A", "experiments/reproduce.ts", ...args]);

Deno.test("reproduce --quick writes REPORT.md with every part, and resumes", async () => {
  const out = await Deno.makeTempDir({ prefix: "ganatomy-reproduce-" });
  try {
    const args = ["--quick", "--models", "scenes", "--layers", "layer4", "--out", out];
    const first = await reproduce(...args);
    assert.equal(first.code, 0, first.stderr);
    const report = await Deno.readTextFile(join(out, "REPORT.md"));
    for (
      const part of ["# dissection of scenes_pggan64", "# correction of scenes", "Every model side by side"]
    ) {
      assert.ok(report.includes(part), part);
    }
    assert.match(report, /\| Seq\. Corr\./);
    const images = [...report.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)].map((m) => m[1]);
    assert.ok(images.length >= 5, `${images.length} images`);
    for (const image of images) {
      assert.ok(isPng(await Deno.readFile(join(dirname(join(out, "REPORT.md")), image))), image);
    }

    const again = await reproduce(...args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /1\/2 dissection of scenes_pggan64: done before/);
    assert.match(again.stderr, /2\/2 correction of scenes: done before/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
