/**
 * Feature extractors at work — the networks that turn images into the vectors the metrics compare
 * ({@link FeatureExtractor}, `lib/models/features.ts`) — and the plumbing around them: folders of PNGs in
 * batches, feature files, and honest metric names.
 *
 * A metric value means nothing without its feature space, so every extractor has a `name` that travels with
 * every result: "FID" is reserved for pytorch-fid's Inception-v3 weights ({@link FID_INCEPTION}); any other
 * network gives a "Fréchet distance" named after it, e.g. `FD (vgg16-fc2)` ({@link frechetMetricName}), and its
 * value is reported under the key `fd`, never `fid` ({@link frechetValueKey}).
 *
 * Feature files are safetensors with one float32 tensor `features` `[N, D]` and the extractor's name in the
 * metadata key `ganatomy.features`. Features computed elsewhere may carry no name: they are in the space
 * {@link UNNAMED_FEATURES} (see `inputs.ts` for how two inputs' spaces are matched).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import type { FeatureExtractor } from "../models/features.ts";
 * import { extractFeatures, readFeatures, writeFeatures } from "./features.ts";
 * await initBackend({ backend: "cpu" });
 * // A toy extractor: the mean colour of each image.
 * const meanColour: FeatureExtractor = {
 *   name: "mean-colour",
 *   dim: 3,
 *   extract: (images) => tf.tidy(() => tf.mean(images, [1, 2]) as tf.Tensor2D),
 *   dispose() {},
 * };
 * const images = tf.zeros([4, 8, 8, 3]) as tf.Tensor4D;
 * const { data, count } = await extractFeatures(meanColour, [images], { batch: 2 });
 * await writeFeatures("/tmp/ganatomy_example/features.safetensors", data, { dim: 3, name: meanColour.name });
 * const back = await readFeatures("/tmp/ganatomy_example/features.safetensors");
 * assert.deepEqual([count, back.name], [4, "mean-colour"]);
 * images.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadPng } from "../io/png.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import type { FeatureExtractor } from "../models/features.ts";
import { assertImageBatch } from "../tensor/shape.ts";

/** The name of pytorch-fid's Inception-v3 (pool3, 2048-d): the only feature space whose distance is "FID". */
export const FID_INCEPTION = "inception-v3-fid";

/** Metadata key naming the feature extractor in feature and statistics files. */
export const FEATURES_KEY = "ganatomy.features";

/** The feature-space name of inputs that carry none (e.g. `.npy` / `.npz` files, or safetensors without it). */
export const UNNAMED_FEATURES = "unnamed features";

/** "FID" for pytorch-fid's Inception features, else `FD (<name>)`: the Fréchet distance in another space. */
export function frechetMetricName(features: string): string {
  return features === FID_INCEPTION ? "FID" : `FD (${features})`;
}

/** The key of a Fréchet distance in a JSON result: `fid` for pytorch-fid's Inception features, else `fd`. */
export function frechetValueKey(features: string): "fid" | "fd" {
  return features === FID_INCEPTION ? "fid" : "fd";
}

/** Options of {@link extractFeatures}. */
export interface ExtractOptions {
  /** Images per forward pass; default 16. */
  batch?: number;
  /** Called after each forward pass with the number of images done (e.g. a progress bar's `tick`). */
  onProgress?: (count: number) => void;
  /** Also (or instead) hand each batch of features `[n, D]` here; default none. */
  onFeatures?: (rows: Float32Array, count: number) => void;
  /** Keep all features and return them; default true (false: only `onFeatures` sees them). */
  keep?: boolean;
}

/** All features of {@link extractFeatures}: `count` rows of `dim` values. */
export interface ExtractedFeatures {
  data: Float32Array;
  count: number;
  dim: number;
}

/**
 * Run `extractor` over image batches (an iterable or async iterable of `[N, H, W, C]` tensors in [-1, 1], e.g.
 * {@link pngBatches}), `batch` images per forward pass. The input tensors are read, not disposed.
 */
export async function extractFeatures(
  extractor: FeatureExtractor,
  images: Iterable<tf.Tensor4D> | AsyncIterable<tf.Tensor4D>,
  options: ExtractOptions = {},
): Promise<ExtractedFeatures> {
  const batch = options.batch ?? 16;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new Error(`batch: Expected a positive integer, got ${batch}`);
  }
  const keep = options.keep ?? true;
  const parts: Float32Array[] = [];
  let count = 0;
  for await (const chunk of images) {
    const { n } = assertImageBatch(chunk, "images");
    for (let start = 0; start < n; start += batch) {
      const size = Math.min(batch, n - start);
      const features = tf.tidy(() => {
        const part = size === n ? chunk : tf.slice(chunk, [start, 0, 0, 0], [size, -1, -1, -1]);
        return extractor.extract(part as tf.Tensor4D);
      });
      const rows = await features.data() as Float32Array;
      features.dispose();
      count += size;
      if (keep) parts.push(rows);
      options.onFeatures?.(rows, size);
      options.onProgress?.(size);
    }
  }
  const data = new Float32Array(keep ? count * extractor.dim : 0);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, count, dim: extractor.dim };
}

/**
 * The PNG images of `files` as batches `[n, H, W, C]` in [-1, 1] (C = 1 for grey PNGs, else 3); each batch
 * belongs to the caller, who disposes it. All images must have the same size and channels.
 */
export async function* pngBatches(
  files: readonly string[],
  options: { batch?: number } = {},
): AsyncGenerator<tf.Tensor4D> {
  const batch = options.batch ?? 16;
  let shape: number[] | undefined;
  for (let start = 0; start < files.length; start += batch) {
    const images: tf.Tensor3D[] = [];
    try {
      for (const file of files.slice(start, start + batch)) {
        const img = await loadPng(file);
        images.push(img);
        shape ??= img.shape;
        if (img.shape.some((s, i) => s !== shape![i])) {
          throw new Error(
            `${file}: image is [${img.shape}], the folder's first image is [${shape}]; sizes must agree`,
          );
        }
      }
      yield tf.tidy(() => tf.sub(tf.mul(tf.stack(images), 2), 1) as tf.Tensor4D); // [n, H, W, C] in [-1, 1]
    } finally {
      tf.dispose(images);
    }
  }
}

/** Options of {@link writeFeatures}. */
export interface WriteFeaturesOptions {
  /** Length of each row. */
  dim: number;
  /** The feature extractor's name, stored as `ganatomy.features`; none (an unnamed feature file) if absent. */
  name?: string;
  /** More metadata strings; default none. */
  metadata?: Record<string, string>;
}

/**
 * Write `rows` (`N·dim` values) as a feature file: tensor `features` `[N, dim]`, the extractor's name in
 * metadata (if given).
 */
export async function writeFeatures(
  path: string,
  rows: Float32Array,
  options: WriteFeaturesOptions,
): Promise<void> {
  const { dim, name } = options;
  if (rows.length % dim !== 0) throw new Error(`writeFeatures: ${rows.length} values are not rows of ${dim}`);
  await writeSafetensors(path, { features: { dtype: "F32", shape: [rows.length / dim, dim], data: rows } }, {
    metadata: name === undefined ? { ...options.metadata } : { ...options.metadata, [FEATURES_KEY]: name },
  });
}

/** A feature file's contents. */
export interface FeatureFile extends ExtractedFeatures {
  /** The extractor's name from the metadata, or {@link UNNAMED_FEATURES}. */
  name: string;
  /** Whether the file names its feature space (false: `name` is {@link UNNAMED_FEATURES}). */
  named: boolean;
}

/** Read a feature file (tensor `features` `[N, D]`, float). */
export async function readFeatures(path: string): Promise<FeatureFile> {
  const file = await readSafetensors(path);
  const t = file.tensors.get("features");
  if (!t) {
    throw new Error(
      `${path}: no tensor "features" (found: ${[...file.tensors.keys()].join(", ") || "none"})`,
    );
  }
  if (t.shape.length !== 2 || !(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
    throw new Error(`${path}: "features" must be float [N,D], got ${t.dtype} [${t.shape}]`);
  }
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  const name = file.metadata[FEATURES_KEY];
  return {
    data,
    count: t.shape[0],
    dim: t.shape[1],
    name: name ?? UNNAMED_FEATURES,
    named: name !== undefined,
  };
}
