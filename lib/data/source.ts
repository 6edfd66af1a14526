/**
 * Real images behind one interface, for training and for the metrics: a named source draws a deterministic
 * batch for any list of sample indices.
 *
 * - `scenes`: the procedural scenes (64x64 RGB); index `i` of the training split is the scene of seed `i`
 *   (1,000,000 of them), the held-out split starts at seed {@link SCENES_HELDOUT_OFFSET}.
 * - `fashion`: Fashion-MNIST (32x32 grey, padded) from Debian's `dataset-fashion-mnist`; 60,000 training and 10,000
 *   test images.
 * - a folder of PNGs ({@link pngFolderSource}): a user's real images (e.g. LSUN churches for a GAN Dissection
 *   checkpoint), decoded once, resized to the generator's size, split into training and held-out halves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { imageSource } from "./source.ts";
 * await initBackend({ backend: "cpu" });
 * const scenes = await imageSource("scenes");
 * const batch = scenes.sample([0, 1, 2]); // in [-1, 1]
 * assert.deepEqual(batch.shape, [3, 64, 64, 3]);
 * batch.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { convertChannels, type RawImage } from "../io/raw_image.ts";
import { listPngs, loadPngRaw } from "../io/png.ts";
import { resizeBilinear } from "../tensor/upsample.ts";
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

/** Options of {@link pngFolderSource}. */
export interface PngFolderOptions {
  /** Size the images are resized to (bilinear, square); default: the first image's (all must then match). */
  resolution?: number;
  /** 1 (grey) or 3 (RGB); default 3. */
  channels?: 1 | 3;
  /** At most this many files (sorted by name) are read; default 4000. */
  limit?: number;
  /** `"train"` (default): the first half of the files; `"heldout"`: the second half; `"all"`. */
  split?: "train" | "heldout" | "all";
}

/**
 * The PNGs of a folder as a source (decoded once and kept as 8-bit; resized when drawn). Throws naming the
 * folder when it has no PNGs, and naming the file when one cannot be decoded.
 */
export async function pngFolderSource(dir: string, options: PngFolderOptions = {}): Promise<ImageSource> {
  const files = (await listPngs(dir)).slice(0, options.limit ?? 4000);
  const half = Math.ceil(files.length / 2);
  const split = options.split ?? "train";
  const chosen = split === "all" ? files : split === "train" ? files.slice(0, half) : files.slice(half);
  if (chosen.length === 0) throw new Error(`${dir}: no images in the ${split} split (${files.length} PNGs)`);
  const channels = options.channels ?? 3;
  const images: RawImage[] = [];
  for (const file of chosen) images.push(convertChannels(await loadPngRaw(file), channels));
  const resolution = options.resolution ?? images[0].height;
  return {
    name: dir,
    description: `${chosen.length} PNGs of ${dir} (${split} split), resized to ${resolution}x${resolution}`,
    resolution,
    channels,
    size: images.length,
    sample(indices) {
      return tf.tidy(() => {
        const batch = indices.map((i) => {
          const img = images[i];
          if (!img) {
            throw new Error(
              `${dir}: index ${i} is outside the ${images.length} images of the ${split} split`,
            );
          }
          const t = tf.tensor4d(img.data, [1, img.height, img.width, channels], "float32"); // [1, h, w, C]
          const sized = img.height === resolution && img.width === resolution
            ? t
            : resizeBilinear(t, [resolution, resolution]);
          return tf.sub(tf.div(sized, 127.5), 1); // [1, R, R, C] in [-1, 1]
        });
        return tf.concat(batch) as tf.Tensor4D;
      });
    },
  };
}
