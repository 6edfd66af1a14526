import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { ablate } from "../engine/edits.ts";
import { loadGenerator, writeGeneratorWeights } from "../models/load.ts";
import { pgganFromWeights, randomPgganWeights } from "../models/pggan.ts";
import { latents } from "../tensor/rng.ts";
import { plantedModel, plantWeights } from "./plant.ts";

await initBackend({ backend: "cpu" });

Deno.test("plant: a checkpoint's weights and the description agree; a planted unit ablated equals the clean one ablated", async () => {
  const raw = randomPgganWeights([8, 8, 8, 8], { seed: 1, biasStd: 0.1 });
  const clean = pgganFromWeights(raw);
  const planting = { layer: "layer2", units: [1, 5], kind: "invert" as const, strength: 3 };
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await writeGeneratorWeights(path, plantWeights(raw, clean, planting));
  const fromFile = await loadGenerator(path);
  const inMemory = plantedModel(clean, planting);
  const before = tf.memory().numTensors;
  const gens = await Promise.all(
    [clean, fromFile, inMemory].map((m) => createGenerator(m, { engine: "tfjs" })),
  );
  const z = latents([0, 1], 8);
  const edits = { layer2: ablate([1, 5], 8) };
  const [c, f, m] = await Promise.all(gens.map(async (g) => (await g.run(z)).output));
  const [ca, fa] = await Promise.all(gens.slice(0, 2).map(async (g) => (await g.run(z, { edits })).output));
  const diff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
  assert.ok(diff(f, m) < 1e-5, "file and description differ");
  assert.ok(diff(c, f) > 1e-3, "the planting changed nothing");
  assert.ok(diff(ca, fa) < 1e-5, "ablating the culprits should give the clean generator ablated");
  tf.dispose([z, c, f, m, ca, fa]);
  for (const g of gens) await g.dispose();
  assert.equal(tf.memory().numTensors, before);
  await Deno.remove(path);
});

Deno.test("plant: bad plantings are refused naming the problem", () => {
  const model = pgganFromWeights(randomPgganWeights([8, 8, 8]));
  const p = { layer: "layer2", units: [1], kind: "amplify" as const, strength: 2 };
  assert.throws(() => plantedModel(model, { ...p, units: [8] }), /units 0 … 7, got 8/);
  assert.throws(() => plantedModel(model, { ...p, units: [1, 1] }), /repeat/);
  assert.throws(() => plantedModel(model, { ...p, strength: 0 }), /positive/);
  assert.throws(() => plantedModel(model, { ...p, layer: "output_8x8" }), /no following convolution/);
  assert.throws(() => plantedModel(model, { ...p, layer: "layer9" }), /no stage/);
});
