/**
 * The feature/classification network of a data set, in one readable file: trained on real images, its
 * penultimate features are the domain features of FD/KID/precision/recall, and it is the frozen feature
 * extractor of the artifact classifier (its last conv map feeds Grad-CAM).
 *
 * ResNet-like, so a ResNet-18 layout can join later under the same names:
 *
 * - `stem.conv`: 3x3 conv to `widths[0]` (stride `stemStride`), ReLU.
 * - `stage{s}.block{b}`: residual blocks; the first block of every stage after the first halves the size.
 *   `out = relu(shortcut(x) + gain · conv2(relu(conv1(x))))`, with 3x3 convs, a 1x1 `shortcut` conv where the
 *   width or size changes (identity elsewhere), and a scalar `gain` that starts at 0 (SkipInit, De & Smith
 *   2020): every block starts as the identity, which keeps the network trainable without batch normalisation,
 *   so the forward pass of a sample never depends on the rest of its batch and there are no running
 *   statistics to keep.
 * - global average pool → `features` `[N, D]` (`D = widths.at(-1)`) → `fc` → one logit per output.
 *
 * Two kinds of outputs: `multiclass` (softmax over the classes, e.g. Fashion-MNIST's 10) and `multilabel`
 * (one independent sigmoid per attribute, e.g. "has door" for each scene class).
 *
 * This file is the network (parameters, forward pass, loss, files); its labelled data are
 * `classifier_data.ts` and its held-out evaluation `classifier_eval.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createClassifier, disposeClassifier, features, forward } from "./classifier.ts";
 * await initBackend({ backend: "cpu" });
 * const net = createClassifier({
 *   resolution: 16, channels: 1, widths: [8, 16], outputs: ["a", "b", "c"], kind: "multiclass",
 * });
 * const images = tf.zeros([2, 16, 16, 1]);
 * const logits = forward(net, images);
 * const f = features(net, images); // the pooled features: the last width
 * assert.deepEqual([logits.shape, f.shape], [[2, 3], [2, 16]]);
 * tf.dispose([images, logits, f]);
 * disposeClassifier(net);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { HostTensor } from "../io/dtype.ts";
import { Rng } from "../tensor/rng.ts";
import { readParamFile, saveParamFile, type SaveParamOptions } from "./param_file.ts";
import { variablesFromWeights } from "./weights.ts";

/** Shape and outputs of a classifier. */
export interface ClassifierConfig {
  /** Input resolution (square). */
  resolution: number;
  /** Input channels (3 for RGB, 1 for grey). */
  channels: number;
  /** Width of each stage; stage `s > 0` halves the size. The last width is the feature dimension `D`. */
  widths: number[];
  /** Residual blocks per stage; default 1. */
  blocksPerStage?: number;
  /** Stride of the stem conv; default 1. */
  stemStride?: number;
  /** Names of the outputs (classes or attributes), one logit each. */
  outputs: string[];
  /** `multiclass`: one class per image (softmax); `multilabel`: independent yes/no per output (sigmoid). */
  kind: "multiclass" | "multilabel";
}

/** Options of {@link createClassifier} and {@link loadClassifier}. */
export interface ClassifierOptions {
  /** Seed of the initial weights; default 0. */
  seed?: number;
  /**
   * Prefix of the variable names (unique in a process); default `"classifier"` for the first model of the
   * process, `"classifier#1"`, … for later ones.
   */
  scope?: string;
}

/** A classifier: its config and its variables by parameter name. */
export interface Classifier {
  config: ClassifierConfig;
  params: Record<string, tf.Variable>;
}

function checkConfig(config: ClassifierConfig): void {
  const { resolution, widths, outputs } = config;
  const stem = config.stemStride ?? 1;
  const blocks = config.blocksPerStage ?? 1;
  if (widths.length < 1 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new Error(`classifier: widths must be ≥ 1 positive integers, got [${widths}]`);
  }
  if (!Number.isInteger(blocks) || blocks < 1) {
    throw new Error(`classifier: blocksPerStage must be ≥ 1, got ${blocks}`);
  }
  if (resolution % (stem * 2 ** (widths.length - 1)) !== 0) {
    throw new Error(
      `classifier: resolution ${resolution} is not divisible by the stem stride ${stem} times 2^${
        widths.length - 1
      }`,
    );
  }
  if (outputs.length < 1) throw new Error("classifier: needs at least one output");
  if (config.kind !== "multiclass" && config.kind !== "multilabel") {
    throw new Error(
      `classifier: kind must be "multiclass" or "multilabel", got ${JSON.stringify(config.kind)}`,
    );
  }
}

/** The parameter shapes of a config, in a fixed order (also the order of the optimiser's slots). */
export function classifierShapes(config: ClassifierConfig): Record<string, number[]> {
  checkConfig(config);
  const { channels, widths, outputs } = config;
  const shapes: Record<string, number[]> = {};
  const conv = (name: string, k: number, cin: number, cout: number) => {
    shapes[`${name}.weight`] = [k, k, cin, cout];
    shapes[`${name}.bias`] = [cout];
  };
  conv("stem.conv", 3, channels, widths[0]);
  let cin = widths[0];
  widths.forEach((w, s) => {
    for (let b = 0; b < (config.blocksPerStage ?? 1); b++) {
      const name = `stage${s}.block${b}`;
      conv(`${name}.conv1`, 3, cin, w);
      conv(`${name}.conv2`, 3, w, w);
      if (cin !== w || (s > 0 && b === 0)) conv(`${name}.shortcut`, 1, cin, w);
      shapes[`${name}.gain`] = [];
      cin = w;
    }
  });
  shapes["fc.weight"] = [cin, outputs.length];
  shapes["fc.bias"] = [outputs.length];
  return shapes;
}

/** Create a classifier: He-normal conv weights, zero biases and residual gains, fc at N(0, 1/D). */
export function createClassifier(config: ClassifierConfig, options: ClassifierOptions = {}): Classifier {
  const rng = new Rng(options.seed ?? 0);
  const weights: Record<string, HostTensor> = {};
  for (const [name, shape] of Object.entries(classifierShapes(config))) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith(".weight")) {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const std = Math.sqrt((name === "fc.weight" ? 1 : 2) / fanIn);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    }
    weights[name] = { dtype: "F32", shape, data };
  }
  return classifierFromWeights(config, weights, options);
}

/** A classifier holding `weights` (checked against the config's shapes). */
export function classifierFromWeights(
  config: ClassifierConfig,
  weights: Record<string, HostTensor> | Map<string, HostTensor>,
  options: ClassifierOptions = {},
): Classifier {
  return {
    config,
    params: variablesFromWeights("classifier", classifierShapes(config), weights, options.scope),
  };
}

/** Free the classifier's variables. */
export function disposeClassifier(model: Classifier): void {
  tf.dispose(Object.values(model.params));
}

function conv(model: Classifier, x: tf.Tensor4D, name: string, stride = 1): tf.Tensor4D {
  return tf.add(
    tf.conv2d(x, model.params[`${name}.weight`] as tf.Tensor4D, stride, "same"),
    model.params[`${name}.bias`],
  ) as tf.Tensor4D;
}

function checkImages(model: Classifier, images: tf.Tensor): void {
  const { resolution: r, channels: c } = model.config;
  const [, h, w, ch] = images.shape;
  if (images.rank !== 4 || h !== r || w !== r || ch !== c) {
    throw new Error(`classifier: Expected [N,${r},${r},${c}], got [${images.shape}]`);
  }
}

/**
 * The last conv activation map (the output of the last stage, after its ReLU): `[N, h, w, D]` for images
 * `[N, R, R, C]` in [-1, 1], with `h = R / (stemStride · 2^(stages − 1))`. This is the map Grad-CAM weighs.
 * Differentiable; the caller disposes the result.
 */
export function featureMap(model: Classifier, images: tf.Tensor): tf.Tensor4D {
  checkImages(model, images);
  const { widths } = model.config;
  return tf.tidy(() => {
    let x = tf.relu(conv(model, images as tf.Tensor4D, "stem.conv", model.config.stemStride ?? 1));
    widths.forEach((_, s) => {
      for (let b = 0; b < (model.config.blocksPerStage ?? 1); b++) {
        const name = `stage${s}.block${b}`;
        const stride = s > 0 && b === 0 ? 2 : 1;
        const branch = conv(model, tf.relu(conv(model, x, `${name}.conv1`, stride)), `${name}.conv2`);
        const shortcut = model.params[`${name}.shortcut.weight`]
          ? conv(model, x, `${name}.shortcut`, stride)
          : x;
        x = tf.relu(tf.add(shortcut, tf.mul(model.params[`${name}.gain`], branch)));
      }
    });
    return x;
  });
}

/**
 * The logits `[N, outputs]` of a last conv map `[N, h, w, D]` (global average pool, then `fc`): the part of
 * the network Grad-CAM differentiates. The caller disposes the result.
 */
export function head(model: Classifier, map: tf.Tensor): tf.Tensor2D {
  const d = model.params["fc.weight"].shape[0];
  if (map.rank !== 4 || map.shape[3] !== d) {
    throw new Error(`classifier head: Expected [N,h,w,${d}], got [${map.shape}]`);
  }
  return tf.tidy(() =>
    tf.add(tf.matMul(tf.mean(map, [1, 2]), model.params["fc.weight"]), model.params["fc.bias"])
  );
}

/**
 * The forward pass: logits `[N, outputs]` for images `[N, R, R, C]` in [-1, 1]. Differentiable in the images
 * and the params; the caller disposes the result.
 */
export function forward(model: Classifier, images: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => head(model, featureMap(model, images)));
}

/**
 * The penultimate features `[N, D]` (the globally averaged last conv map), the domain features of the
 * distribution metrics. The caller disposes the result.
 */
export function features(model: Classifier, images: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.mean(featureMap(model, images), [1, 2]) as tf.Tensor2D);
}

/**
 * Predictions for images `[N, R, R, C]`: multiclass, the class ids int32 `[N]`; multilabel, 0/1 int32
 * `[N, outputs]` (probability > 0.5). The caller disposes the result.
 */
export function predict(model: Classifier, images: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const logits = forward(model, images);
    return model.config.kind === "multiclass"
      ? tf.argMax(logits, 1)
      : tf.cast(tf.greater(logits, 0), "int32");
  });
}

/**
 * The training loss of logits `[N, K]`: multiclass, the mean cross-entropy against class ids int32 `[N]`;
 * multilabel, the mean binary cross-entropy against 0/1 targets `[N, K]`. A scalar the caller disposes.
 */
export function classifierLoss(model: Classifier, logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const [n, k] = logits.shape;
  const multiclass = model.config.kind === "multiclass";
  const expected = multiclass ? [n] : [n, k];
  if (logits.rank !== 2 || targets.shape.join() !== expected.join()) {
    throw new Error(
      `classifierLoss: Expected logits [N,K] and targets [${
        multiclass ? "N" : "N,K"
      }], got [${logits.shape}] and [${targets.shape}]`,
    );
  }
  return tf.tidy(() => {
    if (multiclass) {
      const onehot = tf.oneHot(tf.cast(targets, "int32") as tf.Tensor1D, k); // [N, K]
      return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, onehot), 1))) as tf.Scalar;
    }
    // Stable BCE with logits: max(z, 0) − z·y + log(1 + exp(−|z|)).
    const y = tf.cast(targets, "float32");
    return tf.mean(
      tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.softplus(tf.neg(tf.abs(logits)))),
    ) as tf.Scalar;
  });
}

/** Save the parameters and the config (see `param_file.ts`; default float32, `dtype: "F16"` halves it). */
export function saveClassifier(
  path: string,
  model: Classifier,
  options: SaveParamOptions = {},
): Promise<void> {
  return saveParamFile(path, "classifier", model.config, model.params, options);
}

/** Load a classifier saved by {@link saveClassifier}; throws naming the file when it is not one. */
export async function loadClassifier(path: string, options: ClassifierOptions = {}): Promise<Classifier> {
  const { config, tensors } = await readParamFile<ClassifierConfig>(path, "classifier");
  try {
    return classifierFromWeights(config, tensors, options);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
