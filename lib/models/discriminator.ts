/**
 * The discriminator used to train the project's generators: a small PGGAN-style critic in one readable file.
 *
 * `fromRGB` (1x1 conv) → per resolution: 3x3 conv, 3x3 stride-2 conv (halving the size) → at 4x4: minibatch
 * standard deviation (one extra channel), 3x3 conv, dense → 1 logit. LeakyReLU 0.2 after every conv. Weights are
 * N(0, 1) and scaled at run time by `sqrt(2 / fan_in)` (equalised learning rate, as PGGAN does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/backend.ts";
 * import { createDiscriminator, discriminate, disposeDiscriminator } from "./discriminator.ts";
 * await initBackend({ backend: "cpu" });
 * const d = createDiscriminator({ resolution: 16, channels: 3, widths: [16, 32] });
 * const images = tf.zeros([2, 16, 16, 3]);
 * const logits = discriminate(d, images);
 * assert.deepEqual(logits.shape, [2, 1]); // one real/fake logit per image
 * tf.dispose([images, logits]);
 * disposeDiscriminator(d);
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../tensor/rng.ts";
import { variableFrom } from "../tensor/variable.ts";

/** Shape of a discriminator. */
export interface DiscriminatorConfig {
  /** Input resolution (square, a power of two ≥ 8). */
  resolution: number;
  /** Input channels (3 for RGB, 1 for grey). */
  channels: number;
  /**
   * Widths from the input resolution down: `widths[i]` is used at `resolution / 2^i`; one entry per halving down
   * to 8x8, the last also at 4x4. E.g. 32x32 with `[64, 128, 256]`: 64 at 32, 128 at 16, 256 at 8 and 4.
   */
  widths: number[];
  /** Group size of the minibatch standard deviation; default 4. */
  mbstdGroup?: number;
  /** Seed of the initial weights; default 0. */
  seed?: number;
}

/** A discriminator: its config and its variables (named `D/...`). */
export interface Discriminator {
  config: DiscriminatorConfig;
  params: Record<string, tf.Variable>;
}

/** Free the discriminator's variables. */
export function disposeDiscriminator(d: Discriminator): void {
  tf.dispose(Object.values(d.params));
}

/** Create a discriminator with N(0, 1) weights and zero biases. */
export function createDiscriminator(config: DiscriminatorConfig): Discriminator {
  const halvings = Math.log2(config.resolution / 4);
  if (!Number.isInteger(halvings) || halvings < 1) {
    throw new Error(`discriminator: resolution must be a power of two ≥ 8, got ${config.resolution}`);
  }
  if (config.widths.length !== halvings) {
    throw new Error(
      `discriminator: ${config.resolution}x${config.resolution} needs ${halvings} widths (one per halving), got ${config.widths.length}`,
    );
  }
  const rng = new Rng(config.seed ?? 0);
  const params: Record<string, tf.Variable> = {};
  const add = (name: string, shape: number[], std: number) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (std > 0) { for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std; }
    params[name] = variableFrom(data, shape, `D/${name}`);
  };
  const w = config.widths;
  add("from_rgb.weight", [1, 1, config.channels, w[0]], 1);
  add("from_rgb.bias", [w[0]], 0);
  for (let i = 0; i < halvings; i++) {
    const next = w[Math.min(i + 1, halvings - 1)];
    add(`block${i}.conv.weight`, [3, 3, w[i], w[i]], 1);
    add(`block${i}.conv.bias`, [w[i]], 0);
    add(`block${i}.down.weight`, [3, 3, w[i], next], 1);
    add(`block${i}.down.bias`, [next], 0);
  }
  const last = w[halvings - 1];
  add("final.conv.weight", [3, 3, last + 1, last], 1);
  add("final.conv.bias", [last], 0);
  add("final.dense.weight", [4 * 4 * last, 1], 1);
  add("final.dense.bias", [1], 0);
  return { config, params };
}

function conv(d: Discriminator, x: tf.Tensor4D, name: string, stride: number): tf.Tensor4D {
  const w = d.params[`${name}.weight`] as tf.Tensor4D;
  const [kh, kw, cin] = w.shape;
  const scale = Math.sqrt(2 / (kh * kw * cin));
  return tf.leakyRelu(
    tf.add(tf.conv2d(x, tf.mul(w, scale) as tf.Tensor4D, stride, "same"), d.params[`${name}.bias`]),
    0.2,
  );
}

/** Append the minibatch standard deviation as one channel (groups of `group` samples, as in PGGAN). */
export function minibatchStd(x: tf.Tensor4D, group: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = Math.min(group, n);
  if (n % g !== 0) throw new Error(`minibatch std: batch ${n} is not a multiple of the group size ${g}`);
  const grouped = tf.reshape(x, [g, n / g, h, w, c]); // [G, M, H, W, C]
  const centred = tf.sub(grouped, tf.mean(grouped, 0, true));
  const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8)); // [M, H, W, C]
  const perGroup = tf.mean(std, [1, 2, 3]); // [M]; sample s = g·M + m gets perGroup[m]
  const perSample = tf.reshape(tf.tile(perGroup, [g]), [n, 1, 1, 1]); // [N, 1, 1, 1]
  return tf.concat([x, tf.tile(perSample, [1, h, w, 1]) as tf.Tensor4D], 3);
}

/** Logits `[N, 1]` for images `[N, R, R, C]` in [-1, 1]. Differentiable in the images and the params. */
export function discriminate(d: Discriminator, images: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const { resolution, channels, widths } = d.config;
    const [n, h, w, c] = images.shape;
    if (images.rank !== 4 || h !== resolution || w !== resolution || c !== channels) {
      throw new Error(
        `discriminator: Expected [N,${resolution},${resolution},${channels}], got [${images.shape}]`,
      );
    }
    let x = conv(d, images as tf.Tensor4D, "from_rgb", 1);
    for (let i = 0; i < widths.length; i++) {
      x = conv(d, x, `block${i}.conv`, 1);
      x = conv(d, x, `block${i}.down`, 2);
    }
    x = conv(d, minibatchStd(x, d.config.mbstdGroup ?? 4), "final.conv", 1);
    const flat = tf.reshape(x, [n, -1]); // [N, 4·4·C]
    const dense = d.params["final.dense.weight"];
    return tf.add(
      tf.matMul(flat, tf.mul(dense, Math.sqrt(1 / dense.shape[0]))),
      d.params["final.dense.bias"],
    );
  });
}
