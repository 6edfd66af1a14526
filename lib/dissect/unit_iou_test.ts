import * as tf from "@tensorflow/tfjs-core";
import { strict as assert } from "node:assert";
import { initBackend } from "../backend/backend.ts";
import { QuantileSketch } from "../stats/quantile_sketch.ts";
import { RunningTopK } from "../stats/topk.ts";
import { UnitConceptCounts } from "./unit_counts.ts";
import { labelUnits, type LayerDissection, unitMasks, unitsByConcept } from "./unit_iou.ts";

await initBackend({ backend: "cpu" });

Deno.test("unitMasks: each unit upsampled to the size and thresholded; one threshold per unit", () => {
  const acts = tf.zeros([1, 2, 2, 3]);
  assert.throws(() => unitMasks(acts, [0, 0], [4, 4]), /levels: Expected 3 thresholds, got 2/);
  const masks = unitMasks(acts, [0, -1, 0], [4, 4]);
  assert.deepEqual(masks.shape, [1, 4, 4, 3]);
  const areas = tf.sum(masks, [0, 1, 2]);
  assert.deepEqual(Array.from(areas.dataSync()), [0, 16, 0]);
  tf.dispose([acts, masks, areas]);
});

/** Counts of 3 units × 2 concepts over 100 pixels, concept 0 covering 50 of them. */
const COUNTS = UnitConceptCounts.fromCounts({
  unitArea: [20, 10, 2],
  conceptArea: [50, 50],
  // Unit 0: 20 pixels, all in concept 0 (IoU 0.4); unit 1: 6 of 10 in concept 1 (IoU 6/54);
  // unit 2: one pixel in each (IoU 1/51 with both).
  intersection: [20, 0, 4, 6, 1, 1],
}, 100);
const THRESHOLDS = Float32Array.of(0.5, 1, 2);

Deno.test("labelUnits: the best concept by IoU, interpretable above the IoU threshold", () => {
  const labels = labelUnits(COUNTS, THRESHOLDS, ["sky", "tree"], { iouThreshold: 0.04, iqrThreshold: 0.01 });
  assert.deepEqual(labels.map((l) => [l.unit, l.name, l.interpretable, l.threshold]), [
    [0, "sky", true, 0.5],
    [1, "tree", true, 1],
    [2, "sky", false, 2], // a tie keeps the first concept; IoU 1/51 < 0.04
  ]);
  assert.equal(labels[0].iou, 0.4);
  assert.equal(labels[1].iou, 6 / 54);
  assert.ok(!("iqr" in labels[0]));
});

Deno.test("labelUnits: IQR choices set the concept; interpretable units also pass the IQR threshold", () => {
  const labels = labelUnits(COUNTS, THRESHOLDS, ["sky", "tree"], {
    iouThreshold: 0.04,
    iqrThreshold: 0.01,
    iqr: [
      { level: 3, concept: 0, iqr: 0.005 }, // IoU 0.4 but IQR too low
      { level: 1, concept: 0, iqr: 0.2 }, // the IQR's concept, not the best IoU's: IoU 4/56
      { level: -1, concept: 1, iqr: 0 }, // no qualifying level: the best IoU's concept
    ],
  });
  assert.deepEqual(labels.map((l) => [l.name, l.interpretable, l.iqr]), [
    ["sky", false, 0.005],
    ["sky", true, 0.2],
    ["sky", false, 0],
  ]);
  assert.equal(labels[1].iou, 4 / 56);
});

Deno.test("unitsByConcept: the interpretable units of each concept", () => {
  const units = labelUnits(COUNTS, THRESHOLDS, ["sky", "tree"], { iouThreshold: 0.04, iqrThreshold: 0.01 });
  const result: LayerDissection = {
    layer: "layer4",
    concepts: ["sky", "tree"],
    samples: [0],
    threshold: "quantile",
    quantile: 0.99,
    iouThreshold: 0.04,
    iqrThreshold: 0.01,
    alignCorners: false,
    thresholds: THRESHOLDS,
    counts: COUNTS,
    units,
    topk: new RunningTopK(3, { k: 1 }),
    sketch: new QuantileSketch(3),
  };
  assert.deepEqual(unitsByConcept(result), { sky: [0], tree: [1] });
});
