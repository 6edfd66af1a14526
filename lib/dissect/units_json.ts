/**
 * The saved form of a layer's dissection, `units.json` ({@link toUnitsJson}): every unit's concept, IoU,
 * threshold, interpretability and top images, and the settings. The dissection figures (`figures.ts`) and the
 * reports read this form, so they can be redrawn from saved results.
 *
 * @example
 * ```ts ignore
 * const units = toUnitsJson(await dissectLayer(gen, segmenter, "layer4"), { topImages: 8 });
 * await writeJsonAtomic("units.json", units);
 * ```
 * @module
 */
import type { LayerDissection, ThresholdMethod } from "./unit_iou.ts";

/** One unit in `units.json`. */
export interface UnitRecord {
  unit: number;
  concept: string;
  iou: number;
  threshold: number;
  interpretable: boolean;
  /** With IQR thresholds only. */
  iqr?: number;
  /** Latent seeds of the images where the unit fires most, best first. */
  top_images: number[];
  /** Their scores (the unit's maximum activation in each image). */
  top_scores: number[];
}

/** The `units.json` of a dissected layer. */
export interface UnitsJson {
  layer: string;
  concepts: string[];
  samples: number;
  threshold: ThresholdMethod;
  quantile: number;
  iou_threshold: number;
  units: UnitRecord[];
}

/**
 * The per-unit summary of a dissection, shaped for `units.json`: `{unit, concept, iou, threshold,
 * interpretable, top_images, top_scores}` for every unit, and the settings.
 *
 * @param options `topImages`: how many top images to list per unit (default all kept).
 */
export function toUnitsJson(result: LayerDissection, options: { topImages?: number } = {}): UnitsJson {
  const top = result.topk.result();
  const n = options.topImages ?? result.topk.k;
  return {
    layer: result.layer,
    concepts: result.concepts,
    samples: result.samples.length,
    threshold: result.threshold,
    quantile: result.quantile,
    iou_threshold: result.iouThreshold,
    units: result.units.map((label) => ({
      unit: label.unit,
      concept: label.name,
      iou: label.iou,
      threshold: label.threshold,
      interpretable: label.interpretable,
      ...(label.iqr === undefined ? {} : { iqr: label.iqr }),
      top_images: top.indices[label.unit].slice(0, n),
      top_scores: top.values[label.unit].slice(0, n),
    })),
  };
}
