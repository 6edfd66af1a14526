/**
 * Real images behind one interface, for training and for the metrics: a named source draws a deterministic
 * batch for any list of sample indices.
 *
 * - `scenes`: the procedural scenes (64x64 RGB); index `i` of the training split is the scene of seed `i`
 *   (1,000,000 of them), the held-out split starts at seed {@link SCENES_HELDOUT_OFFSET}.
 * - `fashion`: Fashion-MNIST (32x32 grey, padded) from Debian's `dataset-fashion-mnist`; 60,000 training and 10,000
 *   test images.
 *
 * @example
 * ```ts
 * import { initBackend } from "../backend/backend.ts";
 * import { imageSource } from "./source.ts";
 * await initBackend({ backend: "cpu" });
 * const scenes = await imageSource("scenes");
 * const batch = scenes.sample([0, 1, 2]); // [3, 64, 64, 3] in [-1, 1]
 * batch.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { fashionImages, loadFashion } from "./fashion.ts";
import { sceneBatch } from "./scenes.ts";

/** First seed of the held-out scenes (never drawn by the training split). */
export const SCENES_HELDOUT_OFFSET = 1_000_000_000;

/** A source of real images. */
export interface ImageSource {
  name: string;
  /** What the images are, for model cards. */
  description: string;
  resolution: number;
  channels: number;
  /** Number of distinct samples; indices run from 0 to size − 1. */
  size: number;
  /** Images for these indices: `[N, R, R, C]` in [-1, 1]; the caller disposes it. */
  sample(indices: readonly number[]): tf.Tensor4D;
}

/** Options of {@link imageSource}. */
export interface ImageSourceOptions {
  /** `"train"` (default) or `"heldout"`. */
  split?: "train" | "heldout";
  /** Folder of the Fashion-MNIST files; default Debian's. */
  dir?: string;
}

/** The named source (`scenes` or `fashion`); throws listing the known names. */
export async function imageSource(name: string, options: ImageSourceOptions = {}): Promise<ImageSource> {
  const split = options.split ?? "train";
  if (name === "scenes") {
    const offset = split === "train" ? 0 : SCENES_HELDOUT_OFFSET;
    return {
      name,
      description: `procedural outdoor scenes (lib/data/scenes.ts, data/scenes/README.md), ${split} split`,
      resolution: 64,
      channels: 3,
      size: 1_000_000,
      sample(indices) {
        const { images, labels } = sceneBatch(indices.map((i) => offset + i), { size: 64 });
        labels.dispose();
        return images;
      },
    };
  }
  if (name === "fashion") {
    const data = await loadFashion({ split: split === "train" ? "train" : "test", dir: options.dir });
    const n = data.labels.length;
    return {
      name,
      description: `Fashion-MNIST ${split === "train" ? "training" : "test"} images, padded to 32x32`,
      resolution: 32,
      channels: 1,
      size: n,
      sample: (indices) => fashionImages(data, indices),
    };
  }
  throw new Error(`unknown image source "${name}"; known: scenes, fashion`);
}
