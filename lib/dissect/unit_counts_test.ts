import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { randomPggan } from "../models/pggan.ts";
import { assertNoLeak } from "../tensor/test_util.ts";
import { toConceptMasks } from "./segment_fn.ts";
import { bruteCounts, CHANNEL_CONCEPTS, dissectionReference } from "./test_util.ts";
import { UnitConceptCounts } from "./unit_counts.ts";

await initBackend({ backend: "cpu" });

const SIZES = [16, 16, 8]; // z 16, 4x4: 16 units, 8x8: 8 units; images 8x8
const MODEL = randomPggan(SIZES, { seed: 3, biasStd: 0.2 });
const LAYER = "layer2"; // 4x4, 16 units
const SEEDS = Array.from({ length: 12 }, (_, i) => 100 + i);

Deno.test("UnitConceptCounts equals brute-force loops, and merges and round-trips", async () => {
  const ref = dissectionReference(MODEL, LAYER, SEEDS);
  const k = CHANNEL_CONCEPTS.length;
  const expected = bruteCounts(ref.up, ref.labels, ref.levels, k);
  const up = tf.tensor4d(ref.up, [SEEDS.length, 8, 8, 16]);
  const labels = tf.tensor3d(ref.labels, [SEEDS.length, 8, 8], "int32");
  const um = tf.tidy(() => tf.cast(tf.greater(up, tf.tensor1d(ref.levels)), "float32"));
  const cm = toConceptMasks(labels, k);
  const halves = [new UnitConceptCounts(16, k), new UnitConceptCounts(16, k)];
  await assertNoLeak(() => {
    for (const [i, half] of halves.entries()) {
      const part = (t: tf.Tensor) => tf.slice(t, [6 * i, 0, 0, 0], [6, -1, -1, -1]);
      const [a, b] = [part(um), part(cm)];
      half.add({ unitMasks: a, conceptMasks: b });
      tf.dispose([a, b]);
    }
  });
  halves[0].merge(halves[1]);
  const counts = UnitConceptCounts.fromJSON(JSON.parse(JSON.stringify(halves[0].toJSON())));
  assert.deepEqual(counts.intersection(), expected.intersection);
  assert.deepEqual(counts.unitArea(), expected.unitArea);
  assert.deepEqual(counts.conceptArea(), expected.conceptArea);
  assert.equal(counts.count, SEEDS.length * 64);
  const iou = counts.iou();
  for (let i = 0; i < iou.length; i++) {
    const u = Math.floor(i / k);
    const union = expected.unitArea[u] + expected.conceptArea[i % k] - expected.intersection[i];
    assert.equal(iou[i], union > 0 ? expected.intersection[i] / union : 0);
  }
  tf.dispose([up, labels, um, cm]);
});

Deno.test("UnitConceptCounts: fromCounts, and bad sizes, batches and merges are refused", () => {
  const counts = UnitConceptCounts.fromCounts(
    { unitArea: [2, 2], conceptArea: [2, 2], intersection: [2, 0, 1, 1] },
    4,
  );
  assert.deepEqual([...counts.union()], [2, 4, 3, 3]);
  assert.deepEqual([...counts.iou()], [1, 0, 1 / 3, 1 / 3]);
  assert.equal(counts.count, 4);
  assert.throws(() => new UnitConceptCounts(0, 2), /units: Expected a positive integer, got 0/);
  assert.throws(
    () => UnitConceptCounts.fromCounts({ unitArea: [1], conceptArea: [1, 1], intersection: [1] }, 1),
    /intersection: Expected 2 counts, got 1/,
  );
  assert.throws(() => counts.merge(new UnitConceptCounts(2, 3)), /Expected 2 units × 2 concepts, got 2 × 3/);
  const um = tf.zeros([1, 2, 2, 3]);
  const cm = tf.zeros([1, 2, 2, 2]);
  assert.throws(() => counts.add({ unitMasks: um, conceptMasks: cm }), /unitMasks: Expected 2 units, got 3/);
  tf.dispose([um, cm]);
  assert.throws(
    () => UnitConceptCounts.fromJSON({ kind: "LevelHistogram", version: 1 }),
    /UnitConceptCounts/,
  );
});
