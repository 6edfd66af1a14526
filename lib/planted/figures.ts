/**
 * Figures of a planting: the clean twin, the planted generator, the culprits ablated, and the damage map
 * (|planted − clean| per pixel, as a grey image), one row each over the same seeds.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { generateImages } from "../correct/domain.ts";
import { ablate } from "../engine/edits.ts";
import type { GeneratorRunner } from "../engine/select.ts";
import type { RawImage } from "../io/raw_image.ts";
import { stageIndex } from "../models/stages.ts";
import { imageGrid } from "../viz/grid.ts";
import type { Planting } from "./plant.ts";

/** Rows clean / planted / culprits ablated / damage over `seeds`. */
export async function twinGrid(
  clean: GeneratorRunner,
  planted: GeneratorRunner,
  planting: Planting,
  seeds: readonly number[],
): Promise<RawImage> {
  const units = planted.model.stages[stageIndex(planted.model, planting.layer)].channels;
  const edits = planting.units.length ? { [planting.layer]: ablate(planting.units, units) } : undefined;
  const a = await generateImages(clean, seeds);
  const b = await generateImages(planted, seeds);
  const c = await generateImages(planted, seeds, { edits });
  try {
    const all = tf.tidy(() => {
      const damage = tf.mean(tf.abs(tf.sub(b, a)), 3, true); // [N, H, W, 1] in [0, 2]
      const grey = tf.sub(tf.mul(tf.minimum(damage, 1), 2), 1); // 0 → black, ≥ 1 → white
      const rgb = a.shape[3] === 1 ? grey : tf.tile(grey, [1, 1, 1, a.shape[3]]);
      return tf.concat([a, b, c, rgb]) as tf.Tensor4D;
    });
    try {
      return imageGrid(all, {
        cols: seeds.length,
        rowLabels: ["clean", "planted", "culprits off", "damage"],
        scale: 2,
      });
    } finally {
      all.dispose();
    }
  } finally {
    tf.dispose([a, b, c]);
  }
}
