/**
 * Test helpers for lib/dissect (not re-exported by `mod.ts`): exact stand-in segmenters, a hand-made
 * generator whose units have known effects, and the inputs and counts of a dissection computed directly.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { TfjsGenerator } from "../engine/tfjs.ts";
import type { GeneratorDescription } from "../models/stages.ts";
import { quantiles } from "../tensor/quantile.ts";
import { latents } from "../tensor/rng.ts";
import { resizeBilinear } from "../tensor/upsample.ts";

/** Concepts of {@link channelSegmenter}. */
export const CHANNEL_CONCEPTS = ["red", "green", "blue", "dark"];

/**
 * An exact stand-in segmenter: the label of a pixel is its strongest channel (0 red, 1 green, 2 blue), or 3
 * ("dark") where no channel is positive. Returns int32 `[N, H, W]`.
 */
export function channelSegmenter(images: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const strongest = tf.cast(tf.argMax(images, 3), "int32"); // [N, H, W]
    const dark = tf.lessEqual(tf.max(images, 3), 0);
    return tf.where(
      dark,
      tf.fill([images.shape[0], images.shape[1], images.shape[2]], 3, "int32"),
      strongest,
    ) as tf.Tensor3D;
  });
}

/**
 * Soft class scores of {@link channelSegmenter} as logits `[N, H, W, 4]`: `sharpness · (r, g, b, 0)`, so the
 * softmax favours the strongest positive channel, and "dark" where all are negative. Differentiable.
 */
export function channelLogits(images: tf.Tensor4D, sharpness = 8): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w] = images.shape;
    return tf.concat([tf.mul(images, sharpness), tf.zeros([n, h, w, 1])], 3) as tf.Tensor4D;
  });
}

/**
 * A two-stage generator with known unit effects: `feat` is a 4x4 map of 4 units, each unit i equal to
 * `relu(z_i)` everywhere (z of dimension 4); the 1x1 output stage paints unit 0 into red (weight 3), unit 1
 * into green (weight 3), units 2 and 3 into blue (weight 0.5), on a bias of −1 in every channel.
 * So ablating unit 0 removes red, inserting a large value into unit 0 makes images red.
 */
export function knownGenerator(): GeneratorDescription {
  const conv = new Float32Array(4 * 4 * 4 * 4); // HWIO [4, 4, 4, 4]: z_i → unit i at every one of the 4x4 taps
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) for (let i = 0; i < 4; i++) conv[((y * 4 + x) * 4 + i) * 4 + i] = 1;
  }
  const out = new Float32Array([
    3,
    0,
    0,
    /* unit 1 */ 0,
    3,
    0,
    /* unit 2 */ 0,
    0,
    0.5,
    /* unit 3 */ 0,
    0,
    0.5,
  ]);
  return {
    arch: "test",
    zDim: 4,
    resolution: 4,
    outputChannels: 3,
    weights: {
      "feat.weight": { shape: [4, 4, 4, 4], data: conv },
      "out.weight": { shape: [1, 1, 4, 3], data: out },
      "out.bias": { shape: [3], data: new Float32Array([-1, -1, -1]) },
    },
    stages: [
      {
        name: "feat",
        channels: 4,
        size: 4,
        ops: [
          { kind: "latent_to_map" },
          // A 4x4 kernel with padding 3 on a 1x1 map: every output pixel sees the input through one tap.
          { kind: "conv2d", weight: "feat.weight", stride: 1, pad: 3, activation: { kind: "relu" } },
        ],
      },
      {
        name: "output_4x4",
        channels: 3,
        size: 4,
        ops: [{ kind: "conv2d", weight: "out.weight", bias: "out.bias", stride: 1, pad: 0 }],
      },
    ],
  };
}

/**
 * The {@link channelSegmenter} label of {@link knownGenerator}'s (constant) image for unit values `units`
 * (`relu(z)`, or edited values), computed in JavaScript: the output formula, clamped to [-1, 1] as runs with
 * `clamp: true` do, then the first strongest channel, or 3 ("dark") when none is positive.
 */
export function knownLabel(units: readonly number[]): number {
  const rgb = [3 * units[0] - 1, 3 * units[1] - 1, 0.5 * (units[2] + units[3]) - 1].map((v) =>
    Math.min(1, Math.max(-1, Math.fround(v)))
  );
  const top = Math.max(...rgb);
  return top <= 0 ? 3 : rgb.indexOf(top);
}

/** What {@link dissectionReference} computes, in JavaScript arrays. */
export interface DissectionReference {
  /** The layer's activations `[N, h, w, U]`, row-major. */
  acts: Float32Array;
  /** The activations upsampled (bilinear) to the image size: `[N·H·W, U]`. */
  up: Float32Array;
  /** {@link channelSegmenter}'s labels of the clamped images `[N·H·W]`. */
  labels: Int32Array;
  /** Each unit's exact 0.99 quantile over all positions of all images `[U]`. */
  levels: Float32Array;
}

/** The inputs of a dissection of `layer` over `seeds` with {@link channelSegmenter}, computed directly. */
export function dissectionReference(
  model: GeneratorDescription,
  layer: string,
  seeds: number[],
): DissectionReference {
  const gen = new TfjsGenerator(model);
  const z = latents(seeds, model.zDim);
  const { output, traces } = gen.run(z, { trace: [layer], clamp: true });
  const labels = channelSegmenter(output);
  const up = resizeBilinear(traces[layer], [output.shape[1], output.shape[2]]);
  const levels = quantiles(traces[layer], 0.99);
  const result = {
    acts: traces[layer].dataSync().slice() as Float32Array,
    up: up.dataSync() as Float32Array,
    labels: labels.dataSync() as Int32Array,
    levels: levels.dataSync() as Float32Array,
  };
  tf.dispose([z, output, traces[layer], labels, up, levels]);
  gen.dispose();
  return result;
}

/**
 * Unit–concept counts by loops: `intersection` `[U·K]`, `unitArea` `[U]`, `conceptArea` `[K]` of upsampled
 * activations `up` `[P, U]` above `levels` `[U]` against `labels` `[P]` of `k` concepts.
 */
export function bruteCounts(up: Float32Array, labels: Int32Array, levels: ArrayLike<number>, k: number): {
  intersection: Float64Array;
  unitArea: Float64Array;
  conceptArea: Float64Array;
} {
  const units = levels.length;
  const intersection = new Float64Array(units * k);
  const unitArea = new Float64Array(units);
  const conceptArea = new Float64Array(k);
  for (let p = 0; p < labels.length; p++) {
    conceptArea[labels[p]]++;
    for (let u = 0; u < units; u++) {
      if (up[p * units + u] > levels[u]) {
        unitArea[u]++;
        intersection[u * k + labels[p]]++;
      }
    }
  }
  return { intersection, unitArea, conceptArea };
}
