/**
 * The labelled data of the project's feature networks (`classifier.ts`), drawn by index: Fashion-MNIST with
 * its 10 classes, and the procedural scenes with the presence of each scene class as attributes.
 *
 * A {@link LabelledData} says what a classifier of it outputs (`outputs`, `kind`) and draws any batch of
 * indices deterministically, so training (`experiments/train_classifier.ts`) and evaluation
 * (`classifier_eval.ts`) share one source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { labelledData } from "./classifier_data.ts";
 * await initBackend({ backend: "cpu" });
 * const scenes = await labelledData("scenes", { split: "test" });
 * const { images, targets } = scenes.batch([0, 1]); // targets: 0/1 per scene class
 * assert.deepEqual([scenes.kind, scenes.outputs.length], ["multilabel", 11]);
 * assert.deepEqual([images.shape, targets.shape], [[2, 64, 64, 3], [2, 11]]);
 * tf.dispose([images, targets]);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { FASHION_CLASSES, fashionImages, fashionLabels, loadFashion } from "../data/fashion.ts";
import { NUM_SCENE_CLASSES, SCENE_CLASSES } from "../data/scene_classes.ts";
import { sceneBatch } from "../data/scenes.ts";
import { SCENES_HELDOUT_OFFSET } from "../data/source.ts";
import type { ClassifierConfig } from "./classifier.ts";

/** A batch of images with their targets (class ids int32 `[N]`, or 0/1 float32 `[N, K]`). */
export interface LabelledBatch {
  images: tf.Tensor4D;
  targets: tf.Tensor;
}

/** Labelled images of a data set, drawn by index. */
export interface LabelledData {
  name: string;
  /** What the images and targets are, for model cards. */
  description: string;
  /** Number of distinct samples; indices run from 0 to size − 1. */
  size: number;
  /** Names of the targets, and their kind (what a classifier of these data outputs). */
  outputs: string[];
  kind: ClassifierConfig["kind"];
  resolution: number;
  channels: number;
  /** The batch of these indices; the caller disposes both tensors. */
  batch(indices: readonly number[]): LabelledBatch;
}

/**
 * 0/1 presence of each class in label maps: float32 `[N, classes]` for class ids `[N, H, W]` (a class is
 * present when at least one pixel has it). The caller disposes the result.
 */
export function presenceTargets(labels: tf.Tensor, classes: number): tf.Tensor2D {
  if (labels.rank !== 3) throw new Error(`presenceTargets: Expected [N,H,W], got [${labels.shape}]`);
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.cast(tf.reshape(labels, [labels.shape[0], -1]), "int32"), classes); // [N, H·W, K]
    return tf.cast(tf.max(onehot, 1), "float32") as tf.Tensor2D;
  });
}

/**
 * The labelled data of a feature network: `fashion` (Fashion-MNIST, 10 classes; `train` or `test` split) or
 * `scenes` (procedural scenes with the presence of each scene class as attributes; index `i` is the scene of
 * seed `i`, from `SCENES_HELDOUT_OFFSET` on in the `test` split).
 *
 * @param options `split`: `"train"` (default) or `"test"`; `dir`: Fashion-MNIST's folder (default Debian's).
 */
export async function labelledData(
  name: string,
  options: { split?: "train" | "test"; dir?: string } = {},
): Promise<LabelledData> {
  const split = options.split ?? "train";
  if (name === "fashion") {
    const data = await loadFashion({ split, dir: options.dir });
    return {
      name,
      description: `Fashion-MNIST ${
        split === "train" ? "training" : "test"
      } images (32x32 grey, padded) and classes`,
      size: data.labels.length,
      outputs: [...FASHION_CLASSES],
      kind: "multiclass",
      resolution: 32,
      channels: 1,
      batch: (indices) => ({ images: fashionImages(data, indices), targets: fashionLabels(data, indices) }),
    };
  }
  if (name === "scenes") {
    const offset = split === "train" ? 0 : SCENES_HELDOUT_OFFSET;
    return {
      name,
      description:
        `procedural scenes (64x64 RGB), ${
          split === "train" ? "training seeds [0, 1e6)" : `held-out seeds from ${offset}`
        }; ` +
        "targets: presence (≥ 1 pixel) of each scene class in the true label map",
      size: 1_000_000,
      outputs: SCENE_CLASSES.map((c) => c.name),
      kind: "multilabel",
      resolution: 64,
      channels: 3,
      batch(indices) {
        const { images, labels } = sceneBatch(indices.map((i) => offset + i));
        const targets = presenceTargets(labels, NUM_SCENE_CLASSES);
        labels.dispose();
        return { images, targets };
      },
    };
  }
  throw new Error(`labelledData: unknown data set "${name}"; known: fashion, scenes`);
}
