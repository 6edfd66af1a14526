/**
 * Unit thresholds by GAN Dissection's IQR criterion (`iqr.ts`) over a layer's samples, for
 * `dissectLayer(…, { threshold: "iqr" })` (`dissect_layer.ts`; not re-exported by `mod.ts`): candidate
 * levels from each unit's activation quantiles, one segmented pass counting pixels by level and concept, the
 * level and concept of the largest IQR per unit, and the exact unit–concept counts at the chosen levels.
 *
 * @module
 */
import type { QuantileSketch } from "../stats/quantile_sketch.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
import { chooseIqrLevels, type IqrChoice, iqrFractions, LevelHistogram } from "./iqr.ts";
import { type PassContext, segmentedPass } from "./layer_passes.ts";
import type { SegmentFn } from "./segment_fn.ts";
import { UnitConceptCounts } from "./unit_counts.ts";

/**
 * IQR thresholds (see `iqr.ts`): candidate levels from the sketch, a histogram pass, GAN Dissection's choice
 * per unit, and the exact counts at the chosen levels.
 */
export async function iqrThresholds(
  ctx: PassContext,
  segmenter: SegmentFn,
  sketch: QuantileSketch,
  options: { concepts: number; alignCorners: boolean; key: Record<string, unknown> },
): Promise<{ thresholds: Float32Array; counts: UnitConceptCounts; choices: IqrChoice[] }> {
  const { units } = ctx;
  const k = options.concepts;
  // Candidate levels: quantiles at 1 − f, f = logspace(−3, 0, 100); ascending levels are f descending.
  const fractions = iqrFractions().reverse();
  const perLevel = sketch.quantiles(fractions.map((f) => 1 - f)); // [L][U]
  const levels = Array.from({ length: units }, (_, u) => {
    const unitLevels = perLevel.map((row) => row[u]);
    for (let j = 1; j < unitLevels.length; j++) unitLevels[j] = Math.max(unitLevels[j], unitLevels[j - 1]);
    return unitLevels;
  });
  const hist = await segmentedPass(ctx, segmenter, {
    name: "iqr",
    key: { ...options.key, levels },
    concepts: k,
    create: () => new LevelHistogram(levels, k),
    fromJSON: LevelHistogram.fromJSON,
    addChunk: (stat, acts, masks) => {
      const up = resizeBilinear(acts, [masks.shape[1], masks.shape[2]], {
        alignCorners: options.alignCorners,
      });
      try {
        stat.add({ acts: up, masks });
      } finally {
        up.dispose();
      }
    },
  });
  const choices = chooseIqrLevels(hist, { exclude: [fractions.indexOf(1)] });
  // Units with no qualifying level take the f = 10^-3 level, as GAN Dissection's argmax over zeros does.
  const chosen = choices.map((c) => (c.level >= 0 ? c.level : fractions.length - 1));
  const thresholds = Float32Array.from(chosen, (j, u) => hist.levels[u * hist.size + j]);
  const intersection = new Float64Array(units * k);
  const unitArea = new Float64Array(units);
  chosen.forEach((j, u) => {
    const unitCounts = hist.unitCounts(u);
    unitArea[u] = unitCounts.unitArea[j];
    intersection.set(unitCounts.intersection.subarray(j * k, (j + 1) * k), u * k);
  });
  const counts = UnitConceptCounts.fromCounts(
    { unitArea, conceptArea: hist.conceptArea(), intersection },
    hist.count,
  );
  return { thresholds, counts, choices };
}
