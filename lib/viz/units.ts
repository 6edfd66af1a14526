/**
 * Pictures of units: a grid with one row per image and one column per unit, each cell the unit's activation map
 * (upsampled, colour-mapped) over the generated image.
 *
 * Maps are scaled per unit by the unit's largest activation over the batch (negative values count as 0), so a
 * column compares one unit across images; `threshold` leaves the image plain where a unit is weaker than that
 * fraction of its maximum.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { unitGrid } from "./units.ts";
 * await initBackend({ backend: "cpu" });
 * const images = tf.zeros([2, 16, 16, 3]);
 * const acts = tf.randomUniform([2, 4, 4, 8]); // a layer's output
 * const grid = unitGrid(images, acts, [0, 3, 5]); // 2 rows x 3 columns
 * tf.dispose([images, acts]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { RawImage } from "../io/raw_image.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import { imageGrid } from "./grid.ts";
import { type HeatmapOptions, heatmapOverlay } from "./heatmap.ts";

/** Options of {@link unitGrid}. */
export interface UnitGridOptions extends HeatmapOptions {
  /** Integer magnification of each cell; default 2 (1 for images ≥ 128 px). */
  scale?: number;
  /** Row labels (one per image); default `#0`, `#1`, …. */
  rowLabels?: string[];
}

/**
 * Overlay each of `units` of the activations `acts` `[N, h, w, C]` on the images `[N, H, W, 3]` (range
 * `opts.range`, default [-1, 1]). The caller keeps ownership of the tensors.
 */
export function unitGrid(
  images: tf.Tensor,
  acts: tf.Tensor,
  units: number[],
  opts: UnitGridOptions = {},
): RawImage {
  const { n, h } = assertImageBatch(images, "images");
  const a = assertImageBatch(acts, "acts");
  if (a.n !== n) throw new Error(`acts: Expected ${n} images' activations, got ${a.n}`);
  for (const u of units) {
    if (!Number.isInteger(u) || u < 0 || u >= a.c) {
      throw new Error(`unit ${u} is out of range for ${a.c} units`);
    }
  }
  const cells: RawImage[] = [];
  const maps = tf.tidy(() => {
    const picked = tf.relu(tf.gather(acts, units, 3)); // [N, h, w, U]
    const peak = tf.maximum(tf.max(picked, [0, 1, 2], true), 1e-12); // [1, 1, 1, U]
    return tf.unstack(tf.div(picked, peak), 0); // N × [h, w, U]
  });
  const frames = tf.unstack(images, 0);
  try {
    for (let i = 0; i < n; i++) {
      const perUnit = tf.unstack(maps[i], 2);
      for (const m of perUnit) cells.push(heatmapOverlay(frames[i], m, { alpha: 0.6, ...opts }));
      tf.dispose(perUnit);
    }
  } finally {
    tf.dispose([...maps, ...frames]);
  }
  return imageGrid(cells, {
    rows: n,
    cols: units.length,
    colLabels: units.map((u) => `unit ${u}`),
    rowLabels: opts.rowLabels ?? Array.from({ length: n }, (_, i) => `#${i}`),
    scale: opts.scale ?? (h >= 128 ? 1 : 2),
  });
}
