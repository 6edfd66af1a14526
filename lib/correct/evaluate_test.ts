import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { ablate } from "../engine/edits.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { QUADRANTS } from "./test_util.ts";
import { evaluateGenerations, failureCases, realReference, structureChange } from "./evaluate.ts";

await initBackend({ backend: "cpu" });

const MODEL = randomPggan([16, 16, 8], { seed: 6, biasStd: 0.2 });
const quadrants = QUADRANTS;

Deno.test("evaluateGenerations: the generator's own images are realistic; edits and extras count", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  // The real side: the same generator's images for other seeds.
  const realImages: tf.Tensor4D[] = [];
  for (let s = 0; s < 300; s += 100) {
    const z = latents(Array.from({ length: 100 }, (_, i) => 10_000 + s + i), MODEL.zDim);
    realImages.push((await gen.run(z, { clamp: true })).output);
    z.dispose();
  }
  const all = tf.concat(realImages);
  tf.dispose(realImages);
  await assertNoLeak(async () => {
    const real = await realReference({ sample: (ix) => tf.gather(all, [...ix]) as tf.Tensor4D }, quadrants, {
      count: 300,
      batch: 64,
    });
    const seeds = Array.from({ length: 100 }, (_, i) => i);
    const same = await evaluateGenerations(gen, seeds, {
      extractor: quadrants,
      real,
      extras: {
        mean: async (images) => {
          const mean = tf.mean(images, [1, 2, 3]);
          const data = (await mean.data()) as Float32Array;
          mean.dispose();
          return data;
        },
      },
      progress: false,
    });
    assert.equal(same.count, 100);
    assert.ok(
      same.precision > 0.8 && same.recall > 0.5,
      `precision ${same.precision}, recall ${same.recall}`,
    );
    assert.ok(same.realism > 1, `realism ${same.realism}`);
    assert.equal(typeof same.extras.mean, "number");
    const broken = await evaluateGenerations(gen, seeds, {
      extractor: quadrants,
      real,
      edits: { layer2: ablate(Array.from({ length: 16 }, (_, u) => u), 16) },
      progress: false,
    });
    assert.ok(broken.fd > same.fd * 2, `ablating every unit: FD ${broken.fd} vs ${same.fd}`);
    assert.deepEqual(broken.extras, {});
    real.dispose();
  });
  all.dispose();
  await gen.dispose();
});

Deno.test("structureChange: the share of pixels moved by more than 0.25 in any channel", async () => {
  await assertNoLeak(() => {
    // Two 2x2 RGB images; image 0: one pixel moves by 0.3 in one channel, one by 0.2 (under the threshold).
    const a = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
    const moved = new Float32Array(24);
    moved[0 * 3 + 2] = 0.3;
    moved[1 * 3 + 0] = -0.2;
    moved.fill(1, 12, 24); // image 1: every value moves by 1
    const b = tf.tensor4d(moved, [2, 2, 2, 3]);
    assert.deepEqual(structureChange(a, b), [0.25, 1]);
    assert.deepEqual(structureChange(a, b, { threshold: 0.1 }), [0.5, 1]);
    assert.deepEqual(structureChange(a, a), [0, 0]);
    const small = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    assert.throws(() => structureChange(a, small), /shapes \[2,2,2,3\] and \[1,2,2,3\]/);
    tf.dispose([a, b, small]);
  });
});

Deno.test("failureCases: the seeds a correction changes most, most first, batch by batch", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const seeds = [3, 1, 4, 1_000, 5, 9, 2, 6];
  const edits = { layer2: ablate([0, 1, 2, 3, 4, 5, 6, 7], 16) };
  await assertNoLeak(async () => {
    const cases = await failureCases(gen, seeds, { edits, batch: 3 });
    assert.equal(cases.length, seeds.length);
    assert.deepEqual(cases.map((c) => c.seed).toSorted((a, b) => a - b), seeds.toSorted((a, b) => a - b));
    for (let i = 1; i < cases.length; i++) assert.ok(cases[i - 1].change >= cases[i].change);
    // Each change is the structure change of that seed alone.
    for (const { seed, change } of cases) {
      const z = latents([seed], MODEL.zDim);
      const original = (await gen.run(z, { clamp: true })).output;
      const corrected = (await gen.run(z, { clamp: true, edits })).output;
      assert.equal(change, structureChange(original, corrected)[0]);
      tf.dispose([z, original, corrected]);
    }
    assert.ok(cases[0].change > 0, "ablating half of layer2 moves some pixels");
    const top = await failureCases(gen, seeds, { edits, count: 2 });
    assert.deepEqual(top, cases.slice(0, 2));
    assert.deepEqual(await failureCases(gen, seeds, { edits: {}, count: 3 }), [
      { seed: 3, change: 0 },
      { seed: 1, change: 0 },
      { seed: 4, change: 0 },
    ]);
  });
  await gen.dispose();
});
