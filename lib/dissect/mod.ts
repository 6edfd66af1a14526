/**
 * GAN Dissection (Bau et al., ICLR 2019): which units of a generator layer draw which concepts, and what happens
 * when they are switched off or on.
 *
 * - `segmenter.ts`: the segmenter interface (any function from images to per-pixel class ids or masks);
 * - `unit_iou.ts`: unit thresholds, unit–concept IoU over many samples, labels and `units.json`
 *   ({@link dissectLayer}); `iqr.ts`: GAN Dissection's IQR threshold criterion;
 * - `interventions.ts`: ablation and insertion of units, everywhere or in a region;
 * - `ace.ts`: average causal effect of unit sets on a concept, and single-unit ACE rankings;
 * - `causal_set.ts`: a small causal set found by gradient descent on per-unit strengths.
 *
 * Every function takes any generator (`GeneratorRunner`; the causal-set search needs a tfjs generator and a
 * differentiable segmenter).
 *
 * @example
 * ```ts
 * import { dissectLayer, rankUnitsByAce, toUnitsJson } from "./mod.ts";
 * ```
 * @module
 */
export * from "./segmenter.ts";
export * from "./iqr.ts";
export * from "./unit_iou.ts";
export * from "./interventions.ts";
export * from "./ace.ts";
export * from "./causal_set.ts";
