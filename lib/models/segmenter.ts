/**
 * The scenes segmenter: per-pixel classes of {@link SCENE_CLASSES}, GAN Dissection's "segmentation model" for the
 * procedural scenes, in one readable file.
 *
 * A small U-Net at the input resolution (64x64 for the scenes). With `widths = [w0, w1, …, wL]`:
 *
 * - encoder level 0 (full size): two 3x3 convs to `w0`; level `i > 0`: a 3x3 stride-2 conv (halving the size)
 *   to `wi`, then a 3x3 conv.
 * - decoder level `i` from `L − 1` down to 0: nearest 2x upsampling of the level below, concatenated with the
 *   encoder's level `i` output (skip connection), then a 3x3 conv to `wi`.
 * - head: a 1x1 conv to one logit per class.
 *
 * ReLU after every conv but the head; He-normal weights, zero biases. Parameters are plain named variables
 * (`enc0.conv1.weight`, `dec1.conv.bias`, `head.weight`, …; HWIO conv kernels, NHWC activations), saved as
 * safetensors with the config in the metadata (`ganatomy.config`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createSegmenter, disposeSegmenter, segment } from "./segmenter.ts";
 * await initBackend({ backend: "cpu" });
 * const model = createSegmenter({ channels: 3, classes: 11, widths: [8, 16] });
 * const images = tf.zeros([2, 16, 16, 3]);
 * const labels = segment(model, images); // int32 [2, 16, 16]
 * tf.dispose([images, labels]);
 * disposeSegmenter(model);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { readParamFile, saveParamFile, type SaveParamOptions } from "./param_file.ts";
import type { HostTensor } from "../io/dtype.ts";
import { NUM_SCENE_CLASSES, SCENE_CLASSES } from "../data/scene_classes.ts";
import { sceneBatch } from "../data/scenes.ts";
import { Rng } from "../tensor/rng.ts";
import { upsampleNearest } from "../tensor/upsample.ts";
import { variablesFromWeights } from "./weights.ts";

/** Shape of a segmenter. */
export interface SegmenterConfig {
  /** Input channels (3 for RGB). */
  channels: number;
  /** Output classes (11 for the scenes). */
  classes: number;
  /** Widths per level, from full size down; level `i` runs at `size / 2^i`. At least one. */
  widths: number[];
}

/** Options of {@link createSegmenter} and {@link loadSegmenter}. */
export interface SegmenterOptions {
  /** Seed of the initial weights; default 0. */
  seed?: number;
  /**
   * Prefix of the variable names (they must be unique in a process); default `"segmenter"` for the first
   * model of the process, `"segmenter#1"`, `"segmenter#2"`, … for later ones.
   */
  scope?: string;
}

/** A segmenter: its config and its variables by parameter name. */
export interface Segmenter {
  config: SegmenterConfig;
  params: Record<string, tf.Variable>;
}

/** The parameter shapes of a config, in a fixed order (also the order of the optimiser's slots). */
export function segmenterShapes(config: SegmenterConfig): Record<string, number[]> {
  const { channels, classes, widths } = config;
  if (widths.length < 1 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new Error(`segmenter: widths must be ≥ 1 positive integers, got [${widths}]`);
  }
  const shapes: Record<string, number[]> = {};
  const conv = (name: string, k: number, cin: number, cout: number) => {
    shapes[`${name}.weight`] = [k, k, cin, cout];
    shapes[`${name}.bias`] = [cout];
  };
  conv("enc0.conv1", 3, channels, widths[0]);
  conv("enc0.conv2", 3, widths[0], widths[0]);
  for (let i = 1; i < widths.length; i++) {
    conv(`enc${i}.down`, 3, widths[i - 1], widths[i]);
    conv(`enc${i}.conv`, 3, widths[i], widths[i]);
  }
  for (let i = widths.length - 2; i >= 0; i--) conv(`dec${i}.conv`, 3, widths[i + 1] + widths[i], widths[i]);
  conv("head", 1, widths[0], classes);
  return shapes;
}

/** Create a segmenter with He-normal weights and zero biases (the head starts at N(0, 1/fan_in)). */
export function createSegmenter(config: SegmenterConfig, options: SegmenterOptions = {}): Segmenter {
  const rng = new Rng(options.seed ?? 0);
  const weights: Record<string, HostTensor> = {};
  for (const [name, shape] of Object.entries(segmenterShapes(config))) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith(".weight")) {
      const fanIn = shape[0] * shape[1] * shape[2];
      const std = Math.sqrt((name === "head.weight" ? 1 : 2) / fanIn);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    }
    weights[name] = { dtype: "F32", shape, data };
  }
  return segmenterFromWeights(config, weights, options);
}

/** A segmenter holding `weights` (checked against the config's shapes). */
export function segmenterFromWeights(
  config: SegmenterConfig,
  weights: Record<string, HostTensor> | Map<string, HostTensor>,
  options: SegmenterOptions = {},
): Segmenter {
  return {
    config,
    params: variablesFromWeights("segmenter", segmenterShapes(config), weights, options.scope),
  };
}

/** Free the segmenter's variables. */
export function disposeSegmenter(model: Segmenter): void {
  tf.dispose(Object.values(model.params));
}

function conv(model: Segmenter, x: tf.Tensor4D, name: string, stride = 1, relu = true): tf.Tensor4D {
  const y = tf.add(
    tf.conv2d(x, model.params[`${name}.weight`] as tf.Tensor4D, stride, "same"),
    model.params[`${name}.bias`],
  ) as tf.Tensor4D;
  return relu ? tf.relu(y) : y;
}

/**
 * The forward pass: class logits `[N, H, W, classes]` for images `[N, H, W, channels]` in [-1, 1]. `H` and `W`
 * must be multiples of `2^(levels − 1)`. Differentiable in the images and the params; the caller disposes the
 * result.
 */
export function forward(model: Segmenter, images: tf.Tensor): tf.Tensor4D {
  const { channels, widths } = model.config;
  const step = 2 ** (widths.length - 1);
  const [n, h, w, c] = images.shape;
  if (images.rank !== 4 || c !== channels) {
    throw new Error(`segmenter: Expected [N,H,W,${channels}], got [${images.shape}]`);
  }
  if (h % step !== 0 || w % step !== 0) {
    throw new Error(`segmenter: height and width must be multiples of ${step}, got [${n},${h},${w},${c}]`);
  }
  return tf.tidy(() => {
    let x = conv(model, conv(model, images as tf.Tensor4D, "enc0.conv1"), "enc0.conv2");
    const skips = [x]; // skips[i]: [N, H/2^i, W/2^i, widths[i]]
    for (let i = 1; i < widths.length; i++) {
      x = conv(model, conv(model, x, `enc${i}.down`, 2), `enc${i}.conv`);
      skips.push(x);
    }
    for (let i = widths.length - 2; i >= 0; i--) {
      x = conv(model, tf.concat([upsampleNearest(x), skips[i]], 3), `dec${i}.conv`);
    }
    return conv(model, x, "head", 1, false);
  });
}

/** The most likely class of every pixel: int32 `[N, H, W]` for images `[N, H, W, C]`; the caller disposes it. */
export function segment(model: Segmenter, images: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => tf.argMax(forward(model, images), 3) as tf.Tensor3D);
}

/**
 * Mean per-pixel cross-entropy of logits `[N, H, W, K]` against class ids int32 `[N, H, W]`; a scalar the caller
 * disposes.
 */
export function segmentationLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const [n, h, w, k] = logits.shape;
  if (logits.rank !== 4 || labels.rank !== 3 || labels.shape.some((d, i) => d !== [n, h, w][i])) {
    throw new Error(
      `segmentationLoss: Expected logits [N,H,W,K] and labels [N,H,W], got [${logits.shape}] and [${labels.shape}]`,
    );
  }
  return tf.tidy(() => {
    const flat = tf.reshape(logits, [-1, k]); // [N·H·W, K]
    const target = tf.oneHot(tf.reshape(labels, [-1]), k); // [N·H·W, K]
    return tf.mean(tf.sub(tf.logSumExp(flat, 1), tf.sum(tf.mul(flat, target), 1))) as tf.Scalar;
  });
}

/** Save the parameters and the config (see `param_file.ts`; default float32, `dtype: "F16"` halves it). */
export function saveSegmenter(path: string, model: Segmenter, options: SaveParamOptions = {}): Promise<void> {
  return saveParamFile(path, "segmenter", model.config, model.params, options);
}

/** Load a segmenter saved by {@link saveSegmenter}; throws naming the file when it is not one. */
export async function loadSegmenter(path: string, options: SegmenterOptions = {}): Promise<Segmenter> {
  const { config, tensors } = await readParamFile<SegmenterConfig>(path, "segmenter");
  try {
    return segmenterFromWeights(config, tensors, options);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Held-out quality of a segmenter. */
export interface SegmentationMetrics {
  /** Fraction of pixels whose predicted class is right. */
  pixelAccuracy: number;
  /** Mean of the per-class IoUs over the classes that occur (in the labels or the predictions). */
  meanIoU: number;
  /** IoU of each class by name; null for a class that neither the labels nor the predictions hold. */
  perClassIoU: Record<string, number | null>;
  /** Pixels counted. */
  pixels: number;
}

/**
 * Add the pixels of one batch to a confusion matrix `counts[label * K + predicted]` (K classes).
 *
 * @param counts float64 `[K * K]`, updated in place.
 * @param predicted Predicted class ids `[N, H, W]` (or any shape, same as labels).
 * @param labels True class ids, same shape.
 */
export async function addConfusion(
  counts: Float64Array,
  predicted: tf.Tensor,
  labels: tf.Tensor,
): Promise<void> {
  const k = Math.round(Math.sqrt(counts.length));
  if (predicted.shape.join() !== labels.shape.join()) {
    throw new Error(`addConfusion: predictions [${predicted.shape}] and labels [${labels.shape}] differ`);
  }
  const [p, l] = await Promise.all([predicted.data(), labels.data()]);
  for (let i = 0; i < p.length; i++) {
    if (l[i] < 0 || l[i] >= k || p[i] < 0 || p[i] >= k) {
      throw new Error(`addConfusion: class id out of 0..${k - 1}`);
    }
    counts[l[i] * k + p[i]]++;
  }
}

/** Pixel accuracy and IoUs from a confusion matrix `counts[label * K + predicted]`. */
export function confusionMetrics(counts: Float64Array, names: readonly string[]): SegmentationMetrics {
  const k = names.length;
  if (counts.length !== k * k) {
    throw new Error(`confusionMetrics: Expected ${k}x${k} counts, got ${counts.length}`);
  }
  let total = 0;
  let right = 0;
  const perClassIoU: Record<string, number | null> = {};
  const ious: number[] = [];
  for (let c = 0; c < k; c++) {
    let row = 0; // pixels labelled c
    let col = 0; // pixels predicted c
    for (let j = 0; j < k; j++) {
      row += counts[c * k + j];
      col += counts[j * k + c];
    }
    const hit = counts[c * k + c];
    total += row;
    right += hit;
    const union = row + col - hit;
    perClassIoU[names[c]] = union > 0 ? hit / union : null;
    if (union > 0) ious.push(hit / union);
  }
  return {
    pixelAccuracy: total > 0 ? right / total : NaN,
    meanIoU: ious.length ? ious.reduce((a, b) => a + b, 0) / ious.length : NaN,
    perClassIoU,
    pixels: total,
  };
}

/**
 * Segment the scenes of `seeds` (see `sceneBatch`) and score the result against their true labels.
 *
 * @param seeds Scene seeds, e.g. held-out ones from `SCENES_HELDOUT_OFFSET` on.
 * @param options `batch`: scenes per forward pass (default 64).
 */
export async function evaluateSegmenter(
  model: Segmenter,
  seeds: readonly number[],
  options: { batch?: number } = {},
): Promise<SegmentationMetrics> {
  if (model.config.classes !== NUM_SCENE_CLASSES) {
    throw new Error(
      `evaluateSegmenter: the scenes have ${NUM_SCENE_CLASSES} classes, the model ${model.config.classes}`,
    );
  }
  const batch = options.batch ?? 64;
  const counts = new Float64Array(NUM_SCENE_CLASSES * NUM_SCENE_CLASSES);
  for (let i = 0; i < seeds.length; i += batch) {
    const { images, labels } = sceneBatch(seeds.slice(i, i + batch));
    const predicted = segment(model, images);
    await addConfusion(counts, predicted, labels);
    tf.dispose([images, labels, predicted]);
  }
  return confusionMetrics(counts, SCENE_CLASSES.map((c) => c.name));
}
