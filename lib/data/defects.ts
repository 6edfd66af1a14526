/**
 * Defect maps: the pixels of an image that the scene grammar cannot explain, given a segmentation of it
 * (the ground truth, or a segmenter's output on a generated image).
 *
 * The score of a pixel is the larger of
 * - its colour score: the distance from its colour to the allowed colours of its class under the image's
 *   estimated lighting, or to its region's own robust colour, whichever is larger ({@link colorDistance}),
 *   mapped linearly from 0 at `colorLow` (default 12, just above the data set's noise) to 1 at `colorHigh`
 *   (default 36);
 * - its grammar score: 1 where a rule of {@link grammarViolations} is broken (a door off its wall, a
 *   window outside a wall, a roof not on a wall, a cloud or sun below the horizon, ground above sky, a
 *   floating tree or wall, speckle), else 0.
 *
 * The binary map is `score ≥ threshold` (default 0.5, i.e. a colour distance of 24 or a broken rule). On
 * clean scenes with their true labels both maps are empty but for rare occlusion corner cases; see
 * `data/scenes/README.md` for measured rates and the limits of the method.
 *
 * @example
 * ```ts
 * import { Rng } from "../tensor/rng.ts";
 * import { corruptScene } from "./corrupt.ts";
 * import { defectMap } from "./defects.ts";
 * import { renderScene, sceneImage } from "./scenes.ts";
 * const scene = renderScene(3);
 * defectMap(sceneImage(scene), scene.labels).fraction; // ≈ 0
 * const bad = corruptScene(scene, new Rng(1));
 * defectMap(sceneImage(bad), bad.labels).fraction; // clearly more
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkRawImage, type RawImage, toRawImages } from "../io/raw_image.ts";
import { assertImageBatch, assertShape } from "../tensor/shape.ts";
import { colorDistance, type ColorDistanceOptions } from "./scene_color.ts";
import { type GrammarOptions, grammarViolations } from "./scene_rules.ts";

/** Options of {@link defectMap} and {@link defectMapBatch}. */
export interface DefectOptions extends ColorDistanceOptions, GrammarOptions {
  /** Colour distance (0..255 units) at which the colour score starts above 0; default 12. */
  colorLow?: number;
  /** Colour distance at which the colour score reaches 1; default 36. */
  colorHigh?: number;
  /** A pixel is defective when its score is at least this; default 0.5. */
  threshold?: number;
}

/** The defect map of one image (arrays row-major [H*W]). */
export interface DefectMap {
  /** Defect score in [0, 1]: the larger of the colour and grammar scores. */
  score: Float32Array;
  /** 1 where `score ≥ threshold`, else 0. */
  binary: Uint8Array;
  /** The colour part of the score, in [0, 1]. */
  colorScore: Float32Array;
  /** Bitmask of broken {@link GRAMMAR_RULES} per pixel. */
  violations: Uint8Array;
  /** The lighting gain the colours were judged under. */
  gain: readonly [number, number, number];
  /** The horizon row the grammar check used. */
  horizon: number;
  /** Fraction of defective pixels (mean of `binary`). */
  fraction: number;
}

/**
 * The defect map of an RGB image and a segmentation of it (see the module comment).
 *
 * @param image An 8-bit RGB {@link RawImage} (e.g. {@link sceneImage} of a scene).
 * @param labels Class ids, row-major, `height * width` of them.
 * @param opts Thresholds, the colour check's and the grammar check's options.
 *
 * @example
 * ```ts
 * import { defectMap } from "./defects.ts";
 * import { renderScene, sceneImage } from "./scenes.ts";
 * const scene = renderScene(11, { size: 32 });
 * const { binary, fraction } = defectMap(sceneImage(scene), scene.labels); // fraction ≈ 0
 * ```
 */
export function defectMap(image: RawImage, labels: Uint8Array, opts: DefectOptions = {}): DefectMap {
  checkRawImage(image, "defectMap image");
  const { height, width } = image;
  if (labels.length !== height * width) {
    throw new Error(
      `defectMap: Expected ${height}*${width} = ${height * width} labels, got ${labels.length}`,
    );
  }
  const low = opts.colorLow ?? 12;
  const high = opts.colorHigh ?? 36;
  const threshold = opts.threshold ?? 0.5;
  if (!(high > low)) throw new Error(`defectMap: Expected colorHigh > colorLow, got ${high} ≤ ${low}`);
  const { violations, horizon } = grammarViolations(labels, { height, width }, opts);
  const { distance, gain } = colorDistance(image, labels, opts);
  const n = height * width;
  const score = new Float32Array(n);
  const colorScore = new Float32Array(n);
  const binary = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const c = Math.min(1, Math.max(0, (distance[i] - low) / (high - low)));
    colorScore[i] = c;
    score[i] = violations[i] ? 1 : c;
    if (score[i] >= threshold) {
      binary[i] = 1;
      count++;
    }
  }
  return { score, binary, colorScore, violations, gain, horizon, fraction: count / n };
}

/**
 * Defect maps of a batch of images (e.g. generator output) and their segmentations.
 *
 * @param images float [N, H, W, 3] in [-1, 1]; the caller keeps ownership.
 * @param labels int32 class ids [N, H, W] (e.g. a segmenter's argmax); the caller keeps ownership.
 * @param opts As for {@link defectMap}.
 * @returns `score` float32 [N, H, W] in [0, 1] and `binary` float32 [N, H, W] of 0/1; the caller disposes
 *   both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { defectMapBatch } from "./defects.ts";
 * import { sceneBatch } from "./scenes.ts";
 * await initBackend({ backend: "cpu" });
 * const { images, labels } = sceneBatch([0, 1]);
 * const { score, binary } = defectMapBatch(images, labels);
 * assert.deepEqual([score.shape, binary.shape], [[2, 64, 64], [2, 64, 64]]);
 * tf.dispose([images, labels, score, binary]);
 * ```
 */
export function defectMapBatch(
  images: tf.Tensor4D,
  labels: tf.Tensor3D,
  opts: DefectOptions = {},
): { score: tf.Tensor3D; binary: tf.Tensor3D } {
  const { n, h, w } = assertImageBatch(images, "images", { channels: 3 });
  assertShape(labels, [n, h, w], { name: "labels" });
  const raws = toRawImages(images, { range: "-1,1" });
  const ids = Uint8Array.from(labels.dataSync()); // [N, H, W]
  const score = new Float32Array(n * h * w);
  const binary = new Float32Array(n * h * w);
  raws.forEach((raw, k) => {
    const map = defectMap(raw, ids.subarray(k * h * w, (k + 1) * h * w), opts);
    score.set(map.score, k * h * w);
    binary.set(map.binary, k * h * w);
  });
  return { score: tf.tensor3d(score, [n, h, w]), binary: tf.tensor3d(binary, [n, h, w]) };
}
