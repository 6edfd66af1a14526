/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017) from Debian's `dataset-fashion-mnist` package: 60,000 training
 * and 10,000 test grey images of clothing in 10 classes, padded from 28x28 to 32x32 (2 px of black on each
 * side) so that they fit power-of-two generators.
 *
 * @example
 * ```ts
 * // requires: fashion-mnist
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { fashionImages, loadFashion } from "./fashion.ts";
 * await initBackend({ backend: "cpu" });
 * const data = await loadFashion({ split: "test" }); // images [10000 * 32 * 32] bytes, labels [10000]
 * const batch = fashionImages(data, [0, 1, 2, 3]); // in [-1, 1]
 * assert.deepEqual(batch.shape, [4, 32, 32, 1]);
 * assert.equal(data.classNames[data.labels[0]], "Ankle boot");
 * batch.dispose();
 * ```
 * @module
 */
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { readIdxFile } from "./idx.ts";

/** Where Debian's `dataset-fashion-mnist` installs the files. */
export const FASHION_DIR = "/usr/share/datasets/fashion-mnist";

/** Side of the padded images. */
export const FASHION_SIZE = 32;

/** The 10 class names, by label. */
export const FASHION_CLASSES: readonly string[] = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/** Original side of the images in the files. */
const RAW_SIZE = 28;
const PAD = (FASHION_SIZE - RAW_SIZE) / 2;

const FILES = {
  train: { images: "train-images-idx3-ubyte.gz", labels: "train-labels-idx1-ubyte.gz" },
  test: { images: "t10k-images-idx3-ubyte.gz", labels: "t10k-labels-idx1-ubyte.gz" },
} as const;

/** One split of Fashion-MNIST in memory. */
export interface FashionData {
  /** Grey bytes, row-major [N, 32, 32] (0 = black background). */
  images: Uint8Array;
  /** Class of each image, 0..9 [N]. */
  labels: Uint8Array;
  /** {@link FASHION_CLASSES}. */
  classNames: readonly string[];
}

/** Options of {@link loadFashion}. */
export interface LoadFashionOptions {
  /** `"train"` (60,000 images, default) or `"test"` (10,000). */
  split?: "train" | "test";
  /** Folder holding the four `.gz` files; default {@link FASHION_DIR}. */
  dir?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Load one split of Fashion-MNIST, images padded to 32x32.
 *
 * @throws Error "Fashion-MNIST not found in <dir>: apt-get install dataset-fashion-mnist, or pass --data
 *   <dir>" when the files are missing; errors naming the file when one is malformed.
 *
 * @example
 * ```ts
 * // requires: fashion-mnist
 * import assert from "node:assert/strict";
 * import { loadFashion } from "./fashion.ts";
 * const { images, labels } = await loadFashion({ split: "train" });
 * assert.deepEqual([images.length, labels.length], [60000 * 32 * 32, 60000]); // bytes, class ids
 * ```
 */
export async function loadFashion(opts: LoadFashionOptions = {}): Promise<FashionData> {
  const split = opts.split ?? "train";
  if (split !== "train" && split !== "test") {
    throw new Error(`loadFashion: split must be "train" or "test", got "${split}"`);
  }
  const dir = opts.dir ?? FASHION_DIR;
  const imagePath = join(dir, FILES[split].images);
  const labelPath = join(dir, FILES[split].labels);
  if (!(await exists(imagePath)) || !(await exists(labelPath))) {
    throw new Error(
      `Fashion-MNIST not found in ${dir}: apt-get install dataset-fashion-mnist, or pass --data <dir>`,
    );
  }
  const images = await readIdxFile(imagePath, { rank: 3 });
  const labels = await readIdxFile(labelPath, { rank: 1 });
  const [n, h, w] = images.dims;
  if (h !== RAW_SIZE || w !== RAW_SIZE) {
    throw new Error(`${imagePath}: expected ${RAW_SIZE}x${RAW_SIZE} images, got ${h}x${w}`);
  }
  if (labels.dims[0] !== n) {
    throw new Error(`${labelPath}: expected ${n} labels (one per image), got ${labels.dims[0]}`);
  }
  const bad = labels.data.findIndex((l) => l >= FASHION_CLASSES.length);
  if (bad >= 0) throw new Error(`${labelPath}: label ${labels.data[bad]} at index ${bad} is not in 0..9`);
  return { images: pad(images.data, n), labels: labels.data.slice(), classNames: FASHION_CLASSES };
}

/** Pad N images of 28x28 to 32x32 with black borders. */
function pad(raw: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * FASHION_SIZE * FASHION_SIZE); // [N, 32, 32]
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < RAW_SIZE; y++) {
      const src = (i * RAW_SIZE + y) * RAW_SIZE;
      const dst = (i * FASHION_SIZE + y + PAD) * FASHION_SIZE + PAD;
      out.set(raw.subarray(src, src + RAW_SIZE), dst);
    }
  }
  return out;
}

/**
 * A batch of Fashion-MNIST images as a tensor.
 *
 * @param data A loaded split.
 * @param indices Image indices, each in 0..N-1.
 * @returns float32 [indices.length, 32, 32, 1] in [-1, 1] (black background is -1); the caller disposes it.
 *
 * @example
 * ```ts
 * // requires: fashion-mnist
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backend/backend.ts";
 * import { fashionImages, loadFashion } from "./fashion.ts";
 * await initBackend({ backend: "cpu" });
 * const data = await loadFashion({ split: "test" });
 * const x = fashionImages(data, [5, 6]);
 * assert.deepEqual(x.shape, [2, 32, 32, 1]);
 * x.dispose();
 * ```
 */
export function fashionImages(data: FashionData, indices: readonly number[]): tf.Tensor4D {
  const n = data.labels.length;
  const pixels = FASHION_SIZE * FASHION_SIZE;
  if (indices.length === 0) throw new Error("fashionImages: Expected at least one index, got []");
  const values = new Float32Array(indices.length * pixels); // [B, 32, 32, 1]
  indices.forEach((index, k) => {
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new Error(`fashionImages: index ${index} is outside 0..${n - 1}`);
    }
    const src = data.images.subarray(index * pixels, (index + 1) * pixels);
    for (let p = 0; p < pixels; p++) values[k * pixels + p] = src[p] / 127.5 - 1;
  });
  return tf.tensor4d(values, [indices.length, FASHION_SIZE, FASHION_SIZE, 1]);
}

/**
 * The labels of a batch as a tensor: int32 [indices.length]; the caller disposes it.
 */
export function fashionLabels(data: FashionData, indices: readonly number[]): tf.Tensor1D {
  const n = data.labels.length;
  const out = Int32Array.from(indices, (index) => {
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new Error(`fashionLabels: index ${index} is outside 0..${n - 1}`);
    }
    return data.labels[index];
  });
  return tf.tensor1d(out, "int32");
}
