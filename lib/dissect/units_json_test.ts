import { strict as assert } from "node:assert";
import { QuantileSketch } from "../stats/quantile_sketch.ts";
import { RunningTopK } from "../stats/topk.ts";
import { UnitConceptCounts } from "./unit_counts.ts";
import { labelUnits, type LayerDissection } from "./unit_iou.ts";
import { toUnitsJson } from "./units_json.ts";

/** A dissection of 2 units × 2 concepts over seeds 10 … 13, by hand. */
function dissection(iqr?: boolean): LayerDissection {
  const counts = UnitConceptCounts.fromCounts({
    unitArea: [20, 10],
    conceptArea: [50, 50],
    intersection: [20, 0, 4, 6],
  }, 100);
  const thresholds = Float32Array.of(0.5, 1);
  const rules = {
    iouThreshold: 0.04,
    iqrThreshold: 0.01,
    iqr: iqr ? [{ level: 0, concept: 0, iqr: 0.3 }, { level: 2, concept: 1, iqr: 0.1 }] : undefined,
  };
  const topk = new RunningTopK(2, { k: 3 });
  // Scores [image, unit] of seeds 10 … 13: unit 0 fires most on seed 12, unit 1 on seed 10.
  topk.add(Float32Array.of(1, 9, 2, 8, 5, 7, 3, 6), [10, 11, 12, 13]);
  return {
    layer: "layer4",
    concepts: ["sky", "tree"],
    samples: [10, 11, 12, 13],
    threshold: iqr ? "iqr" : "quantile",
    quantile: 0.99,
    iouThreshold: 0.04,
    iqrThreshold: 0.01,
    alignCorners: false,
    thresholds,
    counts,
    units: labelUnits(counts, thresholds, ["sky", "tree"], rules),
    topk,
    sketch: new QuantileSketch(2),
  };
}

Deno.test("toUnitsJson: every unit's concept, IoU, threshold and top images, and the settings", () => {
  const json = toUnitsJson(dissection());
  assert.deepEqual({ ...json, units: undefined }, {
    layer: "layer4",
    concepts: ["sky", "tree"],
    samples: 4,
    threshold: "quantile",
    quantile: 0.99,
    iou_threshold: 0.04,
    units: undefined,
  });
  assert.deepEqual(json.units, [
    {
      unit: 0,
      concept: "sky",
      iou: 0.4,
      threshold: 0.5,
      interpretable: true,
      top_images: [12, 13, 11],
      top_scores: [5, 3, 2],
    },
    {
      unit: 1,
      concept: "tree",
      iou: 6 / 54,
      threshold: 1,
      interpretable: true,
      top_images: [10, 11, 12],
      top_scores: [9, 8, 7],
    },
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json, "plain JSON");
});

Deno.test("toUnitsJson: topImages limits the lists; IQR thresholds add each unit's iqr", () => {
  const json = toUnitsJson(dissection(true), { topImages: 1 });
  assert.equal(json.threshold, "iqr");
  assert.deepEqual(json.units.map((u) => [u.top_images, u.top_scores, u.iqr]), [
    [[12], [5], 0.3],
    [[10], [9], 0.1],
  ]);
  assert.deepEqual(Object.keys(json.units[0]), [
    "unit",
    "concept",
    "iou",
    "threshold",
    "interpretable",
    "iqr",
    "top_images",
    "top_scores",
  ]);
});
