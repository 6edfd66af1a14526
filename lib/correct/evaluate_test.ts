import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { ablate } from "../engine/edits.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { QUADRANTS } from "./test_util.ts";
import { evaluateGenerations, realReference } from "./evaluate.ts";

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
