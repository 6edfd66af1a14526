import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { TfjsGenerator } from "../engine/tfjs.ts";
import { randomPggan } from "../models/pggan.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { alphaFromIoU, optimizeCausalSet } from "./causal_set.ts";
import { CHANNEL_CONCEPTS, channelLogits, channelSegmenter, knownGenerator } from "./test_util.ts";
import { dissectLayer } from "./dissect_layer.ts";

await initBackend({ backend: "cpu" });

Deno.test("optimizeCausalSet finds the unit that draws red on a generator with known units", async () => {
  const gen = new TfjsGenerator(knownGenerator());
  let result!: ReturnType<typeof optimizeCausalSet>;
  await assertNoLeak(() => {
    result = optimizeCausalSet(gen, channelLogits, {
      layer: "feat",
      concept: "red",
      concepts: CHANNEL_CONCEPTS,
      samples: 32,
      batch: 8,
      epochs: 20,
      progress: false,
    });
  });
  const { alpha, ranking, history } = result;
  assert.equal(ranking[0], 0);
  assert.ok(alpha[0] > 0.9, `alpha[0] = ${alpha[0]}`);
  // Units 1-3 only make red less likely when kept: the L2 term pulls them down from 0.5. (Slowly for unit 1:
  // Adam's second moment remembers its large early gradients.)
  for (const u of [1, 2, 3]) assert.ok(alpha[u] < 0.4, `alpha[${u}] = ${alpha[u]}`);
  for (const u of [2, 3]) assert.ok(alpha[u] < 0.05, `alpha[${u}] = ${alpha[u]}`);
  assert.equal(history.length, 20);
  assert.ok(history[19].objective < history[0].objective);
  gen.dispose();
});

Deno.test("optimizeCausalSet starts from the IoU ranking; with a region and an insertion term", async () => {
  const model = knownGenerator();
  const runner = await createGenerator(model, { engine: "tfjs" });
  // Constant unit maps: at q = 0.99 the threshold equals the largest value and no unit fires; take the median.
  const dissection = await dissectLayer(runner, channelSegmenter, "feat", {
    samples: 24,
    quantile: 0.5,
    concepts: CHANNEL_CONCEPTS,
    progress: false,
  });
  const init = alphaFromIoU(dissection, "red");
  const iou = dissection.counts.iou();
  const column = [0, 1, 2, 3].map((u) => iou[u * 4 + 0]);
  assert.ok(Math.max(...column) > 0);
  assert.deepEqual(Array.from(init), column.map((v) => Math.fround(v / Math.max(...column))));
  assert.equal(Math.max(...init), 1);
  const gen = new TfjsGenerator(model);
  const region = tf.ones([4, 4]) as tf.Tensor2D;
  await assertNoLeak(() => {
    const result = optimizeCausalSet(gen, channelLogits, {
      layer: "feat",
      concept: 0,
      concepts: CHANNEL_CONCEPTS,
      samples: 8,
      batch: 4,
      epochs: 3,
      init,
      region,
      insertValues: [2, 2, 3, 3],
      progress: false,
    });
    assert.ok(result.alpha.every((a) => a >= 0 && a <= 1));
    assert.equal(result.ranking[0], 0);
  });
  region.dispose();
  gen.dispose();
  await runner.dispose();
});

Deno.test("optimizeCausalSet on a random PGGAN: shapes and errors", () => {
  const gen = new TfjsGenerator(randomPggan([16, 16, 8], { seed: 2 }));
  const result = optimizeCausalSet(gen, channelLogits, {
    layer: "layer2",
    concept: "blue",
    concepts: CHANNEL_CONCEPTS,
    samples: 2,
    batch: 2,
    epochs: 1,
    progress: false,
  });
  assert.equal(result.alpha.length, 16);
  assert.equal(new Set(result.ranking).size, 16);
  assert.throws(() =>
    optimizeCausalSet(gen, channelLogits, {
      layer: "layer2",
      concept: 0,
      concepts: CHANNEL_CONCEPTS,
      init: [1],
    }), /init: Expected 16 strengths, got 1/);
  assert.throws(() =>
    optimizeCausalSet(gen, channelLogits, {
      layer: "layer2",
      concept: 0,
      concepts: ["a", "b"],
      samples: 1,
      progress: false,
    }), /segmentLogits: Expected \[N,H,W,2\], got \[1,8,8,4\]/);
  gen.dispose();
});
