/**
 * The artifact classifier of the correction method: three classes (artifact, normal, real) from a frozen feature
 * extractor and one trained fully connected layer.
 *
 *     logits = fc(mean_hw(featureMap(images)))         featureMap frozen; fc: [D, 3] weight and [3] bias
 *
 * Because only `fc` is trained, training runs on the pooled features, computed once (a softmax regression, Adam,
 * full batch, L2 weight decay, classes weighted to balance them). The features are standardised while training
 * and the standardisation is folded back into `fc`, so the model stays "pool + fc" and Grad-CAM can take the
 * gradient of the artifact logit with respect to the frozen feature map.
 *
 * Backbones: the project's domain networks (`scenes_net`, `fashion_net`; {@link classifierBackbone}) or a
 * torchvision ResNet-18 (`lib/models/resnet18.ts`), anything with a `featureMap`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { ArtifactClassifier, trainHead } from "./artifact_classifier.ts";
 * await initBackend({ backend: "cpu" });
 * // Pooled features of six images (D = 2) and their classes (0 artifact, 1 normal, 2 real).
 * const train = { features: Float32Array.from([0, 1, 0, 2, 1, 0, 2, 0, 1, 1, 2, 2]), labels: Int32Array.from([0, 0, 1, 1, 2, 2]), dim: 2 };
 * const fc = trainHead(train, { steps: 200 });
 * const backbone = { name: "identity", featureMap: (x: tf.Tensor4D) => tf.clone(x) };
 * const model = new ArtifactClassifier(backbone, fc);
 * const logits = model.head(tf.ones([1, 1, 1, 2]) as tf.Tensor4D);
 * assert.deepEqual(logits.shape, [1, 3]); // one logit per class
 * tf.dispose(logits);
 * model.dispose();
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { concatFloat32 } from "../tensor/host.ts";
import { type Classifier, featureMap } from "../models/classifier.ts";
import { readParamFile, saveParamFile } from "../models/param_file.ts";
import { Rng } from "../tensor/rng.ts";
import { assertImageBatch } from "../tensor/shape.ts";
import { variableFrom } from "../tensor/variable.ts";

/** The classes, in logit order. */
export const ARTIFACT_CLASSES = ["artifact", "normal", "real"] as const;

/** Class ids: 0 artifact, 1 normal, 2 real. */
export const ARTIFACT = 0, NORMAL = 1, REAL = 2;

/** A frozen feature extractor: its last conv map. */
export interface FrozenBackbone {
  /** What it is, recorded with the trained layer (e.g. `"scenes-net"`, `"resnet18"`). */
  name: string;
  /** The last conv map `[N, h, w, D]` of images `[N, H, W, C]` in [-1, 1]; differentiable; caller disposes. */
  featureMap(images: tf.Tensor4D): tf.Tensor4D;
}

/** One of the project's classifiers (`lib/models/classifier.ts`) as a frozen backbone. */
export function classifierBackbone(model: Classifier, name: string): FrozenBackbone {
  return { name, featureMap: (images) => featureMap(model, images) };
}

/** Pooled features with their class ids: `count` rows of `dim` values. */
export interface LabelledFeatures {
  /** Row-major `[count, dim]`. */
  features: Float32Array;
  /** Class id of each row. */
  labels: Int32Array;
  dim: number;
}

/** The trained layer: `weight` `[dim, 3]` row-major, `bias` `[3]`. */
export interface ArtifactHead {
  weight: Float32Array;
  bias: Float32Array;
  dim: number;
  /** Training loss after every step. */
  losses?: number[];
}

/**
 * The pooled features `[N, D]` (row-major) of a frozen backbone for images `[N, H, W, C]`, `batch` at a time.
 */
export async function pooledFeatures(
  backbone: FrozenBackbone,
  images: tf.Tensor4D,
  options: { batch?: number } = {},
): Promise<Float32Array> {
  const { n } = assertImageBatch(images, "images");
  const batch = options.batch ?? 64;
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += batch) {
    const pooled = tf.tidy(() => {
      const part = tf.slice(images, [start, 0, 0, 0], [Math.min(batch, n - start), -1, -1, -1]);
      return tf.mean(backbone.featureMap(part), [1, 2]); // [n, D]
    });
    parts.push((await pooled.data()) as Float32Array);
    pooled.dispose();
  }
  return concatFloat32(parts);
}

function checkLabelled(data: LabelledFeatures, what: string): number {
  const count = data.labels.length;
  if (data.features.length !== count * data.dim) {
    throw new Error(
      `${what}: ${count} labels need ${count * data.dim} feature values, got ${data.features.length}`,
    );
  }
  for (const l of data.labels) {
    if (l !== ARTIFACT && l !== NORMAL && l !== REAL) {
      throw new Error(`${what}: class id ${l} is not 0, 1 or 2`);
    }
  }
  return count;
}

/** Options of {@link trainHead}. */
export interface TrainHeadOptions {
  /** Full-batch Adam steps; default 500. */
  steps?: number;
  /** Adam's learning rate; default 0.05. */
  learningRate?: number;
  /** L2 penalty on the (standardised) weights; default 1e-3. */
  weightDecay?: number;
  /** Weight each class by the inverse of its frequency; default true. */
  balanced?: boolean;
  /** Seed of the initial weights; default 0. */
  seed?: number;
}

let headsTrained = 0;

/** Train the fully connected layer on pooled features (see the module documentation). */
export function trainHead(train: LabelledFeatures, options: TrainHeadOptions = {}): ArtifactHead {
  const count = checkLabelled(train, "train");
  const { dim } = train;
  const k = ARTIFACT_CLASSES.length;
  // Standardisation, folded back into the weights at the end.
  const mean = new Float64Array(dim), sd = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dim; d++) mean[d] += train.features[i * dim + d] / count;
  }
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dim; d++) sd[d] += (train.features[i * dim + d] - mean[d]) ** 2 / count;
  }
  for (let d = 0; d < dim; d++) sd[d] = Math.sqrt(sd[d]) || 1;
  const standardized = Float32Array.from(train.features, (v, i) => (v - mean[i % dim]) / sd[i % dim]);
  const frequency = new Float64Array(k);
  for (const l of train.labels) frequency[l]++;
  const classWeight = Float32Array.from(
    frequency,
    (f) => (options.balanced ?? true) ? (f > 0 ? count / (k * f) : 0) : 1,
  );
  const rng = new Rng(options.seed ?? 0);
  const id = headsTrained++;
  const w = variableFrom(
    Float32Array.from({ length: dim * k }, () => 0.01 * rng.normal()),
    [dim, k],
    `artifact_head${id}/w`,
  );
  const b = variableFrom(new Float32Array(k), [k], `artifact_head${id}/b`);
  const optimizer = tf.train.adam(options.learningRate ?? 0.05);
  const losses: number[] = [];
  try {
    const x = tf.tensor2d(standardized, [count, dim]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels, "int32"), k)); // [N, K]
    const sampleWeight = tf.tensor1d(Array.from(train.labels, (l) => classWeight[l]));
    const decay = options.weightDecay ?? 1e-3;
    for (let step = 0; step < (options.steps ?? 500); step++) {
      const loss = optimizer.minimize(() => {
        const logits = tf.add(tf.matMul(x, w), b); // [N, K]
        const nll = tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, y), 1)); // [N]
        const data = tf.div(tf.sum(tf.mul(nll, sampleWeight)), tf.sum(sampleWeight));
        return tf.add(data, tf.mul(decay, tf.sum(tf.square(w)))) as tf.Scalar;
      }, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    tf.dispose([x, y, sampleWeight]);
    const ws = w.dataSync(), bs = b.dataSync();
    // logits = ((f − mean)/sd)·W + b = f·(W/sd) + (b − Σ_d mean_d/sd_d · W_d)
    const weight = Float32Array.from(ws, (v, i) => v / sd[Math.floor(i / k)]);
    const bias = Float32Array.from(bs, (v, c) => {
      let shift = 0;
      for (let d = 0; d < dim; d++) shift += (mean[d] / sd[d]) * ws[d * k + c];
      return v - shift;
    });
    return { weight, bias, dim, losses };
  } finally {
    optimizer.dispose();
    tf.dispose([w, b]);
  }
}

/** Held-out quality of the head. */
export interface HeadMetrics {
  count: number;
  /** Mean cross-entropy (unweighted). */
  loss: number;
  accuracy: number;
  /** `confusion[true][predicted]` counts, classes in {@link ARTIFACT_CLASSES} order. */
  confusion: number[][];
  /** Recall of each class by name. */
  perClassAccuracy: Record<string, number>;
}

/** Loss, accuracy and confusion matrix of a head on pooled features. */
export function evaluateHead(head: ArtifactHead, data: LabelledFeatures): HeadMetrics {
  const count = checkLabelled(data, "data");
  if (data.dim !== head.dim) throw new Error(`data: Expected ${head.dim} features, got ${data.dim}`);
  const k = ARTIFACT_CLASSES.length;
  const confusion = ARTIFACT_CLASSES.map(() => new Array<number>(k).fill(0));
  let loss = 0;
  for (let i = 0; i < count; i++) {
    const logits = Array.from({ length: k }, (_, c) => {
      let s = head.bias[c];
      for (let d = 0; d < head.dim; d++) s += data.features[i * head.dim + d] * head.weight[d * k + c];
      return s;
    });
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += lse - logits[data.labels[i]];
    confusion[data.labels[i]][logits.indexOf(max)]++;
  }
  const right = confusion.reduce((s, row, c) => s + row[c], 0);
  return {
    count,
    loss: loss / count,
    accuracy: right / count,
    confusion,
    perClassAccuracy: Object.fromEntries(ARTIFACT_CLASSES.map((name, c) => {
      const total = confusion[c].reduce((a, b) => a + b, 0);
      return [name, total ? confusion[c][c] / total : NaN];
    })),
  };
}

/** The architecture name of saved heads. */
const ARCH = "artifact_head";

/**
 * The artifact classifier: a frozen backbone and a trained head. It is a CAM model (`featureMap`, `head`), so
 * Grad-CAM of the artifact class needs nothing else.
 */
export class ArtifactClassifier {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;

  constructor(readonly backbone: FrozenBackbone, head: ArtifactHead) {
    this.weight = tf.tensor2d(head.weight, [head.dim, ARTIFACT_CLASSES.length]);
    this.bias = tf.tensor1d(head.bias);
  }

  /** The backbone's last conv map `[N, h, w, D]`; the caller disposes it. */
  featureMap(images: tf.Tensor4D): tf.Tensor4D {
    return this.backbone.featureMap(images);
  }

  /** Logits `[N, 3]` of a map `[N, h, w, D]` (global average pool, fc); differentiable in the map. */
  head(map: tf.Tensor4D): tf.Tensor2D {
    if (map.rank !== 4 || map.shape[3] !== this.weight.shape[0]) {
      throw new Error(
        `artifact classifier head: Expected [N,h,w,${this.weight.shape[0]}], got [${map.shape}]`,
      );
    }
    return tf.tidy(() => tf.add(tf.matMul(tf.mean(map, [1, 2]) as tf.Tensor2D, this.weight), this.bias));
  }

  /** Class probabilities `[N, 3]` of images; the caller disposes them. */
  probabilities(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.head(this.featureMap(images))));
  }

  /** The probability of the artifact class of each image, `[N]` (e.g. a per-image score of an evaluation). */
  async artifactProbability(images: tf.Tensor4D): Promise<Float32Array> {
    const p = tf.tidy(() => tf.squeeze(tf.slice(this.probabilities(images), [0, ARTIFACT], [-1, 1]), [1]));
    try {
      return (await p.data()) as Float32Array;
    } finally {
      p.dispose();
    }
  }

  /** Save the head (the backbone is named, not stored) atomically. */
  save(path: string): Promise<void> {
    return saveParamFile(path, ARCH, { classes: ARTIFACT_CLASSES, backbone: this.backbone.name }, {
      "fc.weight": this.weight,
      "fc.bias": this.bias,
    });
  }

  /** Load a head saved by {@link save} onto `backbone`; throws naming the file on a mismatch. */
  static async load(path: string, backbone: FrozenBackbone): Promise<ArtifactClassifier> {
    const { config, tensors } = await readParamFile<{ backbone: string }>(path, ARCH);
    if (config.backbone !== backbone.name) {
      throw new Error(`${path}: a head for backbone "${config.backbone}", not "${backbone.name}"`);
    }
    const w = tensors.get("fc.weight"), b = tensors.get("fc.bias");
    if (!w || !b || w.shape.length !== 2 || w.shape[1] !== 3 || b.shape[0] !== 3) {
      throw new Error(`${path}: Expected fc.weight [D,3] and fc.bias [3]`);
    }
    return new ArtifactClassifier(backbone, {
      weight: Float32Array.from(w.data as Float32Array),
      bias: Float32Array.from(b.data as Float32Array),
      dim: w.shape[0],
    });
  }

  /** Free the head's tensors (the backbone is the caller's). */
  dispose(): void {
    tf.dispose([this.weight, this.bias]);
  }
}
