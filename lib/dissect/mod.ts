/**
 * GAN Dissection (Bau et al., ICLR 2019): which units of a generator layer draw which concepts, and what happens
 * when they are switched off or on.
 *
 * - `segment_fn.ts`: the segmenter interface (any function from images to per-pixel class ids or masks);
 * - `unit_iou.ts`: the method of unit–concept IoU, unit masks and unit labels; `unit_counts.ts`: the exact
 *   unit × concept pixel counts; `iqr.ts`: GAN Dissection's IQR threshold criterion;
 * - `dissect_layer.ts`: a layer dissected over many samples ({@link dissectLayer}; its passes are
 *   `layer_passes.ts` and `iqr_thresholds.ts`); `units_json.ts`: its saved form, `units.json`;
 * - `interventions.ts`: ablation and insertion of units, everywhere or in a region;
 * - `ace.ts`: average causal effect of unit sets on a concept, and single-unit ACE rankings;
 * - `causal_set.ts`: a small causal set found by gradient descent on per-unit strengths;
 * - `heldout.ts`: held-out seeds generated (optionally edited) and segmented, concept fractions of images and boxes;
 * - `removal.ts`: removal of a concept by ablating ranked units (by IoU, single-unit ACE or the causal set), with a
 *   random control, and the rankings' removal curves; `insertion.ts`: insertion in context (a concept's units
 *   forced on in the box where another concept is densest);
 * - `figures.ts`: the figures of a dissection (units per concept, top-unit strips, removal and insertion grids,
 *   boxes, removal curves).
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
export * from "./segment_fn.ts";
export * from "./iqr.ts";
export * from "./unit_counts.ts";
export * from "./unit_iou.ts";
export * from "./dissect_layer.ts";
export * from "./units_json.ts";
export * from "./interventions.ts";
export * from "./ace.ts";
export * from "./causal_set.ts";
export * from "./figures.ts";
export * from "./heldout.ts";
export * from "./removal.ts";
export * from "./insertion.ts";
