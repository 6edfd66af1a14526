import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { ablate } from "../engine/edits.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { latents } from "../tensor/rng.ts";
import { checkInputs } from "./rank.ts";
import { ABLATION } from "./rank_ablation.ts";
import { DS1, DS2 } from "./rank_ds.ts";
import { RANDOM } from "./rank_random.ts";
import { RARITY } from "./rank_rarity.ts";

await initBackend({ backend: "cpu" });

Deno.test("rankers: one score per unit each; inputs they need are checked; tensors are freed", async () => {
  const gen = await createGenerator(randomPggan([8, 8, 8, 8], { seed: 1, biasStd: 0.1 }), { engine: "tfjs" });
  const before = tf.memory().numTensors;
  // The mean brightness as a stand-in classifier, and the top-left quarter as the artifact mask.
  const classifier = {
    artifactProbability: async (images: tf.Tensor4D) => {
      const m = tf.tidy(() => tf.mean(images, [1, 2, 3]));
      const v = await m.data() as Float32Array;
      m.dispose();
      return v;
    },
  };
  const masks = (images: tf.Tensor4D) =>
    tf.tidy(() => tf.pad(tf.ones([images.shape[0], 8, 8]), [[0, 0], [0, 8], [0, 8]]) as tf.Tensor3D);
  const inputs = {
    gen,
    layer: "layer3",
    artifact: [0, 1, 2, 3],
    normal: [4, 5, 6, 7],
    masks,
    classifier,
    batch: 3,
  };
  for (const ranker of [DS1, DS2, RARITY, ABLATION, RANDOM]) {
    const s = await ranker.scores({ ...inputs, tau: 0.2 });
    assert.equal(s.length, 8, ranker.name);
    assert.ok(s.every(Number.isFinite), ranker.name);
  }
  // Ablation: the effect of unit u is the mean drop of brightness when u alone is ablated.
  const effect = await ABLATION.scores(inputs);
  const z = latents(inputs.artifact, 8);
  const run = async (edits?: Record<string, ReturnType<typeof ablate>>) => {
    const { output } = await gen.run(z, { edits, clamp: true });
    return classifier.artifactProbability(output).finally(() => output.dispose());
  };
  const base = await run();
  const off = await run({ layer3: ablate([5], 8) });
  const expected = base.reduce((s, b, i) => s + b - off[i], 0) / base.length;
  assert.ok(Math.abs(effect[5] - expected) < 1e-5, `${effect[5]} vs ${expected}`);
  z.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => checkInputs(DS1, { ...inputs, masks: undefined }), /ds1: needs masks/);
  assert.throws(() => checkInputs(RANDOM, { ...inputs, artifact: [] }), /no artifact seeds/);
  await assert.rejects(() => RARITY.scores({ ...inputs, normal: [] }), /no normal seeds/);
  await gen.dispose();
});
