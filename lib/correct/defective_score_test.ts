import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { createGenerator } from "../engine/select.ts";
import { TfjsGenerator } from "../engine/tfjs.ts";
import { randomPggan } from "../models/pggan.ts";
import { quantiles } from "../tensor/quantile.ts";
import { latents } from "../tensor/rng.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import {
  defectiveScores,
  defectiveScoresFromJSON,
  defectiveScoresToJSON,
  DefectiveScoreTally,
  normalizeScores,
  rankUnits,
  unitCount,
  unitThresholds,
} from "./defective_score.ts";

await initBackend({ backend: "cpu" });

const MODEL = randomPggan([16, 16, 8], { seed: 5, biasStd: 0.2 }); // layer2: 4x4, 16 units; images 8x8
const LAYER = "layer2";
const SEEDS = Array.from({ length: 10 }, (_, i) => 40 + i);

/** A fixed artifact mask per image: a seed-dependent rectangle of the 8x8 image. */
function rectMasks(images: tf.Tensor4D, seeds: readonly number[]): tf.Tensor3D {
  const [n, h, w] = images.shape;
  const data = new Float32Array(n * h * w);
  seeds.forEach((s, i) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) if (y < 2 + (s % 5) && x >= s % 4) data[(i * h + y) * w + x] = 1;
    }
  });
  return tf.tensor3d(data, [n, h, w]);
}

/** Both formulas by loops over pixels, from the layer's activations and exact thresholds. */
function bruteForce(tau: number) {
  const gen = new TfjsGenerator(MODEL);
  const z = latents(SEEDS, MODEL.zDim);
  const { output, traces } = gen.run(z, { trace: [LAYER], clamp: true });
  const up = resizeBilinear(traces[LAYER], [8, 8]);
  const levels = quantiles(traces[LAYER], 1 - tau);
  const masks = rectMasks(output, SEEDS);
  const [a, t, m] = [up.dataSync(), levels.dataSync(), masks.dataSync()];
  tf.dispose([z, output, traces[LAYER], up, levels, masks]);
  gen.dispose();
  const units = 16, p = 64;
  const ds1 = new Float64Array(units), ds2 = new Float64Array(units);
  for (let i = 0; i < SEEDS.length; i++) {
    for (let u = 0; u < units; u++) {
      let inter = 0, union = 0;
      for (let j = 0; j < p; j++) {
        const on = a[(i * p + j) * units + u] > t[u] ? 1 : 0;
        const mj = m[i * p + j];
        inter += on * mj;
        union += Math.max(on, mj);
      }
      ds1[u] += (union ? inter / union : 0) / SEEDS.length;
      ds2[u] += inter / p / SEEDS.length;
    }
  }
  return { ds1, ds2, thresholds: t };
}

Deno.test("defectiveScores equals both formulas computed by loops", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const expected = bruteForce(0.05);
  await assertNoLeak(async () => {
    // Exact thresholds: the sketch is exact while it holds every value.
    const result = await defectiveScores(gen, LAYER, {
      seeds: SEEDS,
      masks: rectMasks,
      tau: 0.05,
      batch: 4,
      progress: false,
    });
    assert.equal(result.count, SEEDS.length);
    for (let u = 0; u < 16; u++) {
      assert.ok(Math.abs(result.thresholds[u] - expected.thresholds[u]) < 1e-5, `threshold of unit ${u}`);
      assert.ok(Math.abs(result.ds1[u] - expected.ds1[u]) < 1e-6, `ds1 of unit ${u}`);
      assert.ok(Math.abs(result.ds2[u] - expected.ds2[u]) < 1e-6, `ds2 of unit ${u}`);
    }
    assert.ok(Math.max(...result.ds1) > 0, "some unit overlaps the masks");
  });
  await gen.dispose();
});

Deno.test("unitThresholds: P(a > T) = tau on the layer's activations", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  const t = await unitThresholds(gen, LAYER, { seeds: SEEDS, tau: 0.1, progress: false });
  const z = latents(SEEDS, MODEL.zDim);
  const { output } = await gen.run(z, { to: LAYER });
  const a = output.dataSync();
  tf.dispose([z, output]);
  for (let u = 0; u < 16; u++) {
    let above = 0;
    for (let j = u; j < a.length; j += 16) above += a[j] > t[u] ? 1 : 0;
    assert.ok(Math.abs(above / (a.length / 16) - 0.1) <= 0.02, `unit ${u}: ${above} above`);
  }
  await assert.rejects(() => unitThresholds(gen, LAYER, { seeds: SEEDS, tau: 0 }), /tau/);
  await gen.dispose();
});

Deno.test("DefectiveScoreTally merges shards exactly and round-trips through JSON", async () => {
  await assertNoLeak(() => {
    const um = tf.tensor4d([1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0], [2, 2, 2, 2]);
    const m = tf.tensor3d([1, 0, 1, 0, 0, 0, 1, 1], [2, 2, 2]);
    const whole = new DefectiveScoreTally(2);
    whole.add({ unitMasks: um, masks: m });
    const [um0, um1] = tf.split(um, 2, 0) as tf.Tensor4D[];
    const [m0, m1] = tf.split(m, 2, 0) as tf.Tensor3D[];
    const a = new DefectiveScoreTally(2), b = new DefectiveScoreTally(2);
    a.add({ unitMasks: um0, masks: m0 });
    b.add({ unitMasks: um1, masks: m1 });
    a.merge(DefectiveScoreTally.fromJSON(JSON.parse(JSON.stringify(b))));
    assert.deepEqual(Array.from(a.ds1()), Array.from(whole.ds1()));
    assert.deepEqual(Array.from(a.ds2()), Array.from(whole.ds2()));
    // Unit 0 covers pixels {0,1,3} of image 0 (mask {0,2}: IoU 1/4) and {1} of image 1 (mask {2,3}: IoU 0).
    assert.equal(whole.ds1()[0], 1 / 8);
    assert.equal(whole.ds2()[0], 1 / 8); // intersections 1 and 0 of 4 pixels
    assert.throws(() => whole.add({ unitMasks: um, masks: m0 }), /masks/);
    tf.dispose([um, m, um0, um1, m0, m1]);
  });
});

Deno.test("ranking helpers", () => {
  assert.deepEqual(rankUnits([0.1, 0.5, 0.5, 0.2]), [1, 2, 3, 0]);
  assert.deepEqual(Array.from(normalizeScores([1, 3, 2])), [0, 1, 0.5]);
  assert.deepEqual(Array.from(normalizeScores([2, 2])), [0, 0]);
  assert.equal(unitCount(0.2, 128), 26);
  assert.equal(unitCount(0.001, 16), 1);
  assert.equal(unitCount(5, 16), 5);
  assert.equal(unitCount(40, 16), 16);
  assert.throws(() => unitCount(1.5, 16), /fraction/);
});

Deno.test("defectiveScoresToJSON / FromJSON: a layer's scores through JSON text, exactly; bad files are refused", async () => {
  const gen = await createGenerator(MODEL, { engine: "tfjs" });
  await assertNoLeak(async () => {
    const scores = await defectiveScores(gen, LAYER, { seeds: SEEDS, masks: rectMasks, progress: false });
    const json = defectiveScoresToJSON(scores);
    assert.deepEqual(Object.keys(json), ["layer", "tau", "thresholds", "ds1", "ds2", "count"]);
    assert.ok(Array.isArray(json.ds1) && json.ds1.length === 16);
    const back = defectiveScoresFromJSON(JSON.parse(JSON.stringify(json)));
    assert.deepEqual(back, scores); // typed arrays of the same kinds and values
    assert.ok(back.thresholds instanceof Float32Array && back.ds1 instanceof Float64Array);
    const bad = (change: Record<string, unknown>) => defectiveScoresFromJSON({ ...json, ...change });
    assert.throws(() => bad({ ds2: json.ds2.slice(1) }), /Expected 16 thresholds and ds2 scores/);
    assert.throws(() => bad({ ds1: [...json.ds1.slice(1), "x"] }), /finite number arrays/);
    assert.throws(() => bad({ count: -1 }), /image count/);
    assert.throws(() => defectiveScoresFromJSON(null), /layer name/);
  });
  await gen.dispose();
});
