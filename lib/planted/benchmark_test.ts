import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { RARITY } from "../correct/rank_rarity.ts";
import { benchmarkPlanting } from "./benchmark.ts";
import { plantedModel } from "./plant.ts";
import { summaryMarkdown } from "./summary.ts";

await initBackend({ backend: "cpu" });

Deno.test("benchmark: the culprits reference repairs, random draws are summarised, the control has no rows", async () => {
  const model = randomPggan([16, 16, 16, 16], { seed: 5, biasStd: 0.1 });
  const planting = { layer: "layer4", units: [2, 9], kind: "amplify" as const, strength: 12 };
  const clean = await createGenerator(model, { engine: "tfjs" });
  const planted = await createGenerator(plantedModel(model, planting), { engine: "tfjs" });
  const before = tf.memory().numTensors;
  const seeds = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
  const options = {
    fitSeeds: seeds(24),
    heldoutSeeds: seeds(12, 1000),
    rankers: [RARITY],
    randomDraws: 3,
    batch: 8,
  };
  const result = await benchmarkPlanting(clean, planted, planting, {
    ...options,
    artifactShare: 0.02,
    normalShare: 0.001,
  });
  const { culprits, random, ds1_truth } = result.methods;
  assert.equal(culprits.ap, 1);
  assert.deepEqual(culprits.units, [2, 9]);
  assert.ok(culprits.restoration.estimate < 0.7, `culprits restore ${culprits.restoration.estimate}`);
  assert.ok(random.draws?.count === 3 && random.draws.restoration_sd >= 0);
  assert.ok(ds1_truth.ap > 0 && ds1_truth.ap <= 1);
  assert.ok(result.labels.artifact > 0);
  const control = await benchmarkPlanting(clean, clean, { ...planting, units: [], strength: 0 }, options);
  assert.deepEqual(control.methods, {});
  assert.equal(control.labels.artifact, 0);
  assert.equal(control.heldout.damage, 0);
  assert.equal(tf.memory().numTensors, before);
  const md = summaryMarkdown({
    configs: { planted: { ...result, checkpoint: "x" }, control: { ...control, checkpoint: "y" } },
  });
  assert.match(md, /\| culprits \| [0-9.]+ \| — \|/);
  await clean.dispose();
  await planted.dispose();
});
