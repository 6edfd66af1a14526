/**
 * `deno task bench:planted --quick` end to end, in this process: the planted checkpoints load as a user's, the
 * summary has the shape scripts read (`configs.<config>.methods.<method>.restoration`), the reference row repairs
 * and a re-run is cached. ONNX Runtime starts once per process, and `tests/run.ts` gives each test file its own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadGenerator } from "../lib/models/load.ts";
import { isPng } from "../lib/io/png.ts";
import { defaults } from "../lib/util/config.ts";
import { CONFIG, run } from "../experiments/bench_planted.ts";
import { ROOT } from "./subprocess.ts";

Deno.chdir(ROOT);
Deno.env.set("GANATOMY_THREADS", "1");

Deno.test("bench:planted --quick writes checkpoints, samples and a summary whose culprits row repairs", async () => {
  const out = await Deno.makeTempDir({ prefix: "ganatomy-planted-" });
  try {
    const summary = await run({ ...defaults(CONFIG), quick: true, out });
    const file = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    assert.deepEqual(Object.keys(file.configs), [
      "fashion_control",
      "fashion_layer4_local_2",
      "fashion_layer4_broad_2",
    ]);
    assert.deepEqual(file.configs.fashion_control.methods, {});
    for (const name of ["fashion_layer4_local_2", "fashion_layer4_broad_2"]) {
      const c = file.configs[name];
      assert.equal(c.planting.units.length, 2);
      assert.ok(c.planting.strength >= 3);
      const { culprits, random, ds1_truth } = c.methods;
      assert.ok(
        culprits.restoration.estimate < 0.5,
        `${name}: culprits restore ${culprits.restoration.estimate}`,
      );
      for (const m of [culprits, ds1_truth]) {
        for (const k of ["estimate", "lo", "hi", "sd"]) assert.equal(typeof m.restoration[k], "number");
      }
      assert.equal(random.draws.count, 5);
      const model = await loadGenerator(c.checkpoint); // a checkpoint every --checkpoint reads
      assert.equal(model.resolution, 32);
      assert.ok(isPng(await Deno.readFile(join(out, name, "samples.png"))));
    }
    assert.match(await Deno.readTextFile(join(out, "summary.md")), /## Summary: restoration/);
    const again = await run({ ...defaults(CONFIG), quick: true, out });
    assert.deepEqual(again, summary);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
