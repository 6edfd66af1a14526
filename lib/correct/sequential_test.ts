import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { randomPggan } from "../models/pggan.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { defectiveScores } from "./defective_score.ts";
import { correctionScale, layerCorrection, layersUpTo, sequentialCorrection } from "./sequential.ts";

await initBackend({ backend: "cpu" });

const MODEL = randomPggan([16, 16, 16, 8], { seed: 2, biasStd: 0.2 }); // layer1 … layer4, images 8x8
const SEEDS = Array.from({ length: 8 }, (_, i) => i);

/** The top-left quarter of every image. */
const quarter = (images: tf.Tensor4D) =>
  tf.tidy(() => tf.pad(tf.ones([images.shape[0], 4, 4]), [[0, 0], [0, 4], [0, 4]]) as tf.Tensor3D);

Deno.test("layersUpTo: by name or count, hidden stages only", () => {
  assert.deepEqual(layersUpTo(MODEL, 2), ["layer1", "layer2"]);
  assert.deepEqual(layersUpTo(MODEL, "layer3"), ["layer1", "layer2", "layer3"]);
  assert.throws(() => layersUpTo(MODEL, 9), /stopping layer 9/);
  assert.throws(() => layersUpTo(MODEL, "output_8x8"), /hidden stage/);
});

Deno.test("correctionScale: both readings of the rule", () => {
  assert.equal(correctionScale(1, 0.9), 0);
  assert.ok(Math.abs(correctionScale(0, 0.9) - 0.9) < 1e-12);
  assert.ok(Math.abs(correctionScale(1, 0.9, "1-lambda·ds") - 0.1) < 1e-12);
  assert.equal(correctionScale(0, 0.9, "1-lambda·ds"), 1);
  assert.throws(() => correctionScale(0, 0.9, "x" as never), /rule/);
});

Deno.test("layerCorrection rescales the top-n units by the normalised score", () => {
  const scores = {
    layer: "layer1",
    tau: 0.005,
    thresholds: new Float32Array(4),
    ds1: Float64Array.from([0.1, 0.4, 0.3, 0.0]),
    ds2: Float64Array.from([0.5, 0.1, 0.1, 0.2]),
    count: 1,
  };
  const c = layerCorrection(scores, { n: 2, lambda: 0.8 });
  assert.deepEqual(c.units, [1, 2]);
  assert.deepEqual(c.scales.map((s) => +s.toFixed(6)), [0, +(0.8 * 0.25).toFixed(6)]);
  assert.deepEqual(Array.from(c.edit.scale as Float32Array).map((s) => +s.toFixed(6)), [1, 0, 0.2, 1]);
  assert.deepEqual(layerCorrection(scores, { n: 1, formula: 2 }).units, [0]);
});

Deno.test("sequentialCorrection: layer k is scored on the generator corrected below it", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  await assertNoLeak(async () => {
    const { edits, steps } = await sequentialCorrection(gen, {
      seeds: SEEDS,
      masks: quarter,
      stop: 3,
      n: 0.25,
      tau: 0.05,
      progress: false,
    });
    assert.deepEqual(Object.keys(edits), ["layer1", "layer2", "layer3"]);
    assert.deepEqual(steps.map((s) => s.units.length), [4, 4, 4]);
    // Step 2's scores are those of layer2 under step 1's edit, and differ from the uncorrected ones.
    const under = await defectiveScores(gen, "layer2", {
      seeds: SEEDS,
      masks: quarter,
      tau: 0.05,
      edits: { layer1: edits.layer1 },
      progress: false,
    });
    assert.deepEqual(Array.from(steps[1].scores.ds1), Array.from(under.ds1));
    const plain = await defectiveScores(gen, "layer2", {
      seeds: SEEDS,
      masks: quarter,
      tau: 0.05,
      progress: false,
    });
    assert.notDeepEqual(Array.from(plain.ds1), Array.from(under.ds1));
    // Masks kept from the uncorrected generator: called once per batch only.
    let calls = 0;
    await sequentialCorrection(gen, {
      seeds: SEEDS,
      masks: (images) => (calls++, quarter(images)),
      stop: 3,
      recomputeMasks: false,
      batch: 4,
      progress: false,
    });
    assert.equal(calls, 2);
  });
  await gen.dispose();
});
