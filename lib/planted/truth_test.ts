import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { plantedModel } from "./plant.ts";
import { imageDistance, imageSet, oracleLabels, setDistance, truthMasks } from "./truth.ts";
import { generateImages } from "../correct/domain.ts";

await initBackend({ backend: "cpu" });

Deno.test("truth: host image sets, distances and truth masks agree; the oracle labels by damaged share", async () => {
  const model = randomPggan([16, 16, 16, 16], { seed: 2, biasStd: 0.1 });
  const clean = await createGenerator(model, { engine: "tfjs" });
  const planted = await createGenerator(
    plantedModel(model, { layer: "layer3", units: [1, 2, 3], kind: "amplify", strength: 20 }),
    { engine: "tfjs" },
  );
  const before = tf.memory().numTensors;
  const seeds = [0, 1, 2, 3, 4];
  const direct = await imageDistance({ gen: planted }, { gen: clean }, seeds, { batch: 2 });
  const [a, b] = [
    await imageSet({ gen: planted }, seeds, { batch: 3 }),
    await imageSet({ gen: clean }, seeds),
  ];
  const host = setDistance(a, b);
  for (let i = 0; i < seeds.length; i++) {
    assert.ok(Math.abs(direct.damage[i] - host.damage[i]) < 1e-5);
    assert.ok(Math.abs(direct.share[i] - host.share[i]) < 1e-6);
  }
  assert.ok(host.damage.every((d) => d > 0), "a strong planting damages every image");
  const images = await generateImages(planted, seeds);
  const masks = await truthMasks(clean)(images, seeds);
  const share = tf.mean(masks, [1, 2]);
  const shares = Array.from(await share.data());
  shares.forEach((s, i) => assert.ok(Math.abs(s - host.share[i]) < 1e-6));
  tf.dispose([images, masks, share]);
  assert.equal(tf.memory().numTensors, before);
  const labels = oracleLabels({
    seeds: [7, 8, 9],
    damage: new Float64Array(3),
    share: Float64Array.from([0, 0.01, 0.5]),
  });
  assert.deepEqual([...labels.values()].map((l) => l.label), ["normal", "skip", "artifact"]);
  await clean.dispose();
  await planted.dispose();
});
